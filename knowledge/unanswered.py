"""Groups what the bot could not answer into clusters of similar questions (rapidfuzz).

Two questions are similar when half of their content words are the same (stemmed, loosely
spelled, a typo allowed): ``similarity``. Small talk is not a question: a message the
knowledge base reads as small talk is left out, and greeting or thanks words ("здравствуйте,
...", "салом, ...") are not content words, so they do not make unrelated questions alike."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz, process

from knowledge.lang import LANGS, is_stopword
from knowledge.loader import KnowledgeBase
from knowledge.matcher import Matcher, word_key
from knowledge.text import layout_en_to_ru, normalize, script, translit_to_cyrillic

SIMILAR = 50.0  # percent of the content words two questions share; paraphrases share half
WORD_SIMILAR = 85.0  # two word keys this close (rapidfuzz ratio) are one word with a typo
STEM = 4  # a word key this long that starts another is its stem
# A spreadsheet reads a cell starting with one of these as a formula (OWASP: CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Cluster:
    """Similar unanswered questions: what to add to the knowledge base, and how often asked."""

    representative: str
    count: int
    examples: tuple[str, ...]
    kinds: Mapping[str, int]  # none / clarify / dislike
    first_seen: float
    last_seen: float
    suggestion: str | None = None  # the topic that came closest, if any: maybe a trigger to add


def spreadsheet_cell(value: object) -> str:
    """A CSV cell a spreadsheet shows as text: a leading formula character gets a ``'``
    before it (OWASP's rule), so ``=HYPERLINK(...)`` from a subscriber stays words."""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def question_keys(text: str, asides: frozenset[str] = frozenset()) -> list[str]:
    """The key of the text as typed and, for Latin text, of its translit and layout readings;
    ``asides``, word keys that are no content (greetings)."""
    keys = [question_key(text, asides)]
    if script(text) == "latin":
        keys += [
            question_key(translit_to_cyrillic(text), asides),
            question_key(layout_en_to_ru(text), asides),
        ]
    return [k for k in dict.fromkeys(keys) if k]


def question_key(text: str, asides: frozenset[str] = frozenset()) -> str:
    """Content words, stemmed and loosely spelled, sorted: paraphrases get near keys."""
    norm = normalize(text)
    lang = "en" if script(norm) == "latin" else "ru"
    words = {
        word_key(w, lang)
        for w in norm.split()
        if not (is_stopword(w, lang) or is_stopword(w, "tg") or is_stopword(w, "en"))
    }
    return " ".join(sorted(words - asides))


def aside_words(kb: KnowledgeBase) -> frozenset[str]:
    """The word keys of the small-talk intents' one-word triggers ("привет", "салом", "hi",
    "спасибо"): said around a question, they are not what it is about."""
    words: set[str] = set()
    for intent in kb.intents.values():
        if intent.action != "smalltalk":
            continue
        for lang in LANGS:
            for trigger in getattr(intent.triggers, lang):
                key = question_key(trigger)
                if key and " " not in key:
                    words.add(key)
    return frozenset(words)


def similarity(a: str, b: str) -> float:
    """Percent of the two keys' words that both have (Jaccard; a word with a typo counts as
    the same word): "сим карта не читается" and "заблокировать сим карту" share 2 of 5."""
    left, right = a.split(), b.split()
    if not left or not right:
        return 0.0
    if len(left) < len(right):
        left, right = right, left
    shared = sum(1 for word in right if any(_same_word(word, other) for other in left))
    return 100.0 * shared / (len(left) + len(right) - shared)


def cluster(
    items: Iterable[Mapping[str, Any]],
    matcher: Matcher | None = None,
    similar: float = SIMILAR,
    examples: int = 3,
) -> list[Cluster]:
    """Single-link clustering: a question joins the group of the most similar question seen
    so far if similar enough (``similarity``), else starts a group. Items are dicts with
    ``text``, ``ts`` and ``kind``; with a ``matcher``, small talk is left out."""
    asides = aside_words(matcher.kb) if matcher is not None else frozenset()
    keys: list[str] = []  # every reading of every question seen
    owner: list[int] = []  # keys[i] belongs to group owner[i]
    members: list[list[Mapping[str, Any]]] = []
    for item in sorted(items, key=lambda i: i["ts"]):
        readings = question_keys(item["text"], asides)
        if not readings or (matcher is not None and _small_talk(matcher, item["text"])):
            continue
        best = None
        for key in readings:
            found = process.extractOne(key, keys, scorer=_scorer, score_cutoff=similar)
            if found is not None and (best is None or found[1] > best[1]):
                best = found
        if best is None:
            group = len(members)
            members.append([item])
        else:
            group = owner[best[2]]
            members[group].append(item)
        keys.extend(readings)
        owner.extend([group] * len(readings))
    out = []
    for group in members:
        texts = Counter(i["text"].strip() for i in group)
        representative = texts.most_common(1)[0][0]
        suggestion = None
        if matcher is not None:
            d = matcher.match(representative)
            best = d.topic or (d.candidate_ids[0] if d.candidates else None)
            suggestion = best
        out.append(
            Cluster(
                representative=representative,
                count=len(group),
                examples=tuple(t for t, _ in texts.most_common(examples)),
                kinds=dict(Counter(i["kind"] for i in group)),
                first_seen=min(i["ts"] for i in group),
                last_seen=max(i["ts"] for i in group),
                suggestion=suggestion,
            )
        )
    out.sort(key=lambda c: (-c.count, -c.last_seen))
    return out


def _same_word(a: str, b: str) -> bool:
    """One word: a typo apart, or one the other's stem ("стоит" / "стоимость")."""
    if len(a) >= STEM and len(b) >= STEM and (a.startswith(b) or b.startswith(a)):
        return True
    return fuzz.ratio(a, b) >= WORD_SIMILAR


def _scorer(a: str, b: str, **_: Any) -> float:
    return similarity(a, b)


def _small_talk(matcher: Matcher, text: str) -> bool:
    return matcher.match(text).kind == "smalltalk"
