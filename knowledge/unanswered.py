"""Groups what the bot could not answer into clusters of similar questions (rapidfuzz)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz, process

from knowledge.lang import is_stopword
from knowledge.matcher import Matcher, word_key
from knowledge.text import layout_en_to_ru, normalize, script, translit_to_cyrillic

SIMILAR = 72.0  # token_set_ratio over stemmed content words; paraphrases land above it
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


def question_keys(text: str) -> list[str]:
    """The key of the text as typed and, for Latin text, of its translit and layout readings."""
    keys = [question_key(text)]
    if script(text) == "latin":
        keys += [question_key(translit_to_cyrillic(text)), question_key(layout_en_to_ru(text))]
    return [k for k in dict.fromkeys(keys) if k]


def question_key(text: str) -> str:
    """Content words, stemmed and loosely spelled, sorted: paraphrases get near keys."""
    norm = normalize(text)
    lang = "en" if script(norm) == "latin" else "ru"
    words = {
        word_key(w, lang)
        for w in norm.split()
        if not (is_stopword(w, lang) or is_stopword(w, "tg") or is_stopword(w, "en"))
    }
    return " ".join(sorted(words))


def cluster(
    items: Iterable[Mapping[str, Any]],
    matcher: Matcher | None = None,
    similar: float = SIMILAR,
    examples: int = 3,
) -> list[Cluster]:
    """Single-link clustering: a question joins the group of the most similar question seen
    so far if similar enough, else starts a group. Items are dicts with ``text``, ``ts`` and
    ``kind``."""
    keys: list[str] = []  # every reading of every question seen
    owner: list[int] = []  # keys[i] belongs to group owner[i]
    members: list[list[Mapping[str, Any]]] = []
    for item in sorted(items, key=lambda i: i["ts"]):
        readings = question_keys(item["text"])
        if not readings:
            continue
        best = None
        for key in readings:
            found = process.extractOne(key, keys, scorer=fuzz.token_set_ratio, score_cutoff=similar)
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
