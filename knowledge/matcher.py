"""Fuzzy matching of a subscriber's question to a topic, with an explained Decision.

How a question is matched:
1. Variants of the text are made: as typed; for Latin text also its Cyrillic transliteration and
   what it means on a Russian keyboard ("rfr gjgjkybnm" → "как пополнить"); for Cyrillic text
   what it means on an English keyboard. Each variant belongs to one language index.
2. Words become keys: normalized, stemmed for the language, spelled loosely (``phonetic``).
3. Each query key is looked up in the index vocabulary exactly, then fuzzily (rapidfuzz), so a
   typo still finds its word. Triggers that share a content word are the candidates.
4. A candidate trigger scores a soft F1 of IDF-weighted words: how much of the question it
   explains (precision) and how much of the trigger the question contains (recall). A topic
   scores its best trigger.
5. The best variant's scores give the Decision: answer, clarify ("did you mean"), handoff or none.
"""

from __future__ import annotations

import gc
import heapq
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from rapidfuzz import fuzz, process

from knowledge.lang import FOLDED_STOPWORDS, LANGS, is_stopword, stem
from knowledge.loader import KnowledgeBase
from knowledge.text import (
    has_tajik_letters,
    layout_en_to_ru,
    layout_ru_to_en,
    normalize,
    phonetic,
    script,
    translit_to_cyrillic,
)

DecisionKind = Literal["answer", "clarify", "handoff", "smalltalk", "none"]
STOPWORD_WEIGHT = 0.4
UNKNOWN_WEIGHT = 1.0
MAX_CANDIDATE_TRIGGERS = 120
MAX_NEW_CANDIDATES = 1500
LOOKUP_CACHE = 50_000
FUZZY_MAX = 0.9
FUZZY_POWER = 2.0
TOPIC_BLEND = 0.5
PREFIX_MIN = 4
PREFIX_SIM = 0.85


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Score cut-offs (0..1) that turn scores into a decision; set in config.yaml."""

    answer: float = 0.55
    margin: float = 0.06
    confident: float = 0.85
    clarify: float = 0.42
    clarify_window: float = 0.2
    max_candidates: int = 4
    single: float = 0.5  # answer a lone candidate from this score instead of asking


@dataclass(frozen=True, slots=True)
class Candidate:
    """A topic or intent and how well the question matched it."""

    id: str
    score: float
    trigger: str
    lang: str
    matched: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do with a question, with the evidence behind it.

    ``kind`` says what it is: ``answer`` (``topic``), ``clarify`` ("did you mean", ``candidates``),
    ``handoff`` (``intent`` is the hand-off intent), ``smalltalk`` (``intent``: greeting, thanks,
    bye, ack...) or ``none``: a miss, nothing in the knowledge base fits. ``also`` is a second
    ask found in the same message, offered as a button under the answer.
    """

    kind: DecisionKind
    lang: str | None
    topic: str | None = None
    score: float = 0.0
    candidates: tuple[Candidate, ...] = ()
    intent: str | None = None
    normalized: str = ""
    variant: str = ""
    explanation: tuple[str, ...] = field(default=(), compare=False)
    runner_up: Candidate | None = None  # the best other topic or intent
    also: Candidate | None = None  # a second ask in the same message

    @property
    def candidate_ids(self) -> list[str]:
        return [c.id for c in self.candidates]


@dataclass(slots=True)
class _Trigger:
    entry: str
    text: str
    keys: tuple[int, ...]
    weights: tuple[float, ...]
    total: float
    keyset: frozenset[int]


@dataclass
class _LangIndex:
    lang: str
    vocab: dict[str, int] = field(default_factory=dict)
    words: list[str] = field(default_factory=list)
    weight: list[float] = field(default_factory=list)
    stop: list[bool] = field(default_factory=list)
    postings: list[list[int]] = field(default_factory=list)
    triggers: list[_Trigger] = field(default_factory=list)
    by_length: dict[int, list[str]] = field(default_factory=dict)
    # unstemmed (loosely spelled) forms → key id: a typo in an ending changes the stem
    surface: dict[str, int] = field(default_factory=dict)
    surface_by_length: dict[int, list[str]] = field(default_factory=dict)
    entry_keys: dict[str, set[int]] = field(default_factory=dict)
    # key prefixes (4+ letters) → keys: Snowball stems of one root differ in length
    prefixes: dict[str, list[int]] = field(default_factory=dict)
    max_weight: float = 1.0
    lookups: dict[tuple[str, str], dict[int, float]] = field(default_factory=dict)

    def key_id(self, key: str, is_stop: bool, surface: str) -> int:
        kid = self.vocab.get(key)
        if kid is None:
            kid = len(self.words)
            self.vocab[key] = kid
            self.words.append(key)
            self.weight.append(1.0)
            self.stop.append(is_stop)
            self.postings.append([])
        elif is_stop:
            self.stop[kid] = True
        self.surface.setdefault(surface, kid)
        return kid


@lru_cache(maxsize=200_000)
def word_key(word: str, lang: str) -> str:
    """The matching key of one normalized word: stemmed for the language, spelled loosely."""
    return phonetic(stem(word, lang))


STOP_KEYS = {lang: frozenset(word_key(w, lang) for w in FOLDED_STOPWORDS[lang]) for lang in LANGS}


def word_keys(text: str, lang: str, normalized: str | None = None) -> list[tuple[str, bool, str]]:
    """(key, is_stopword, surface form) for each word of ``text`` in ``lang``."""
    out = []
    for word in (normalize(text) if normalized is None else normalized).split():
        key = word_key(word, lang)
        out.append((key, key in STOP_KEYS[lang] or is_stopword(word, lang), phonetic(word)))
    return out


def _fuzzy_cutoff(key: str) -> float | None:
    n = len(key)
    if n <= 3 or key.isdigit():
        return None
    return 75.0 if n <= 7 else 70.0


class Matcher:
    """Matches questions against one knowledge base; build once per KB version."""

    def __init__(self, kb: KnowledgeBase, thresholds: Thresholds | None = None) -> None:
        self.kb = kb
        self.thresholds = thresholds or Thresholds()
        self.actions: dict[str, str] = {tid: "answer" for tid in kb.topics}
        self.actions.update({iid: intent.action for iid, intent in kb.intents.items()})
        # Building makes many small objects that hold no cycles: the cyclic collector would
        # only rescan them over and over.
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            self.indexes = {lang: self._build(lang) for lang in LANGS}
        finally:
            if gc_was_enabled:
                gc.enable()
        self._latin_vocab = {
            lang: {w for w in idx.vocab if w.isascii()} for lang, idx in self.indexes.items()
        }

    # -- index -----------------------------------------------------------------------------

    def _phrases(self, lang: str) -> Iterable[tuple[str, str]]:
        for topic in self.kb.topics.values():
            for phrase in getattr(topic.triggers, lang):
                yield topic.id, phrase
            keywords = dict.fromkeys(getattr(topic.keywords, lang))
            # one-word Latin keywords (xiaomi, iphone, apn, lte, esim) are typed as such in
            # any language
            for other in LANGS:
                keywords.update(
                    dict.fromkeys(
                        k for k in getattr(topic.keywords, other) if k.isascii() and " " not in k
                    )
                )
            yield from ((topic.id, phrase) for phrase in keywords)
        for intent in self.kb.intents.values():
            for phrase in getattr(intent.triggers, lang):
                yield intent.id, phrase

    def _build(self, lang: str) -> _LangIndex:
        idx = _LangIndex(lang)
        raw: list[tuple[str, str, list[int]]] = []
        entries_of: dict[int, set[str]] = defaultdict(set)
        for entry, phrase in self._phrases(lang):
            norm = self.kb.normalized.get(phrase)
            keys = [idx.key_id(k, s, f) for k, s, f in word_keys(phrase, lang, norm)]
            if not keys:
                continue
            raw.append((entry, phrase, keys))
            idx.entry_keys.setdefault(entry, set()).update(keys)
            for k in keys:
                entries_of[k].add(entry)
        n_entries = max(1, len(self.actions))
        for kid, entries in entries_of.items():
            idf = math.log(1.0 + n_entries / len(entries))
            idx.weight[kid] = idf * (STOPWORD_WEIGHT if idx.stop[kid] else 1.0)
        for entry, phrase, keys in raw:
            uniq = tuple(dict.fromkeys(keys))
            weights = tuple(idx.weight[k] for k in uniq)
            tid = len(idx.triggers)
            idx.triggers.append(
                _Trigger(entry, phrase, uniq, weights, sum(weights), frozenset(uniq))
            )
            for k in uniq:
                idx.postings[k].append(tid)
        for kid, word in enumerate(idx.words):
            idx.by_length.setdefault(len(word), []).append(word)
            for n in range(PREFIX_MIN, len(word)):
                idx.prefixes.setdefault(word[:n], []).append(kid)
        content = [w for w, stop in zip(idx.weight, idx.stop, strict=True) if not stop]
        idx.max_weight = max(content, default=1.0)
        for form in idx.surface:
            idx.surface_by_length.setdefault(len(form), []).append(form)
        return idx

    # -- matching --------------------------------------------------------------------------

    def _lookup(self, idx: _LangIndex, key: str, surface: str) -> dict[int, float]:
        """Vocabulary keys close to a query word → similarity 0..1 (1 for the same key)."""
        cached = idx.lookups.get((key, surface))
        if cached is not None:
            return cached
        found = self._lookup_uncached(idx, key, surface)
        if len(idx.lookups) >= LOOKUP_CACHE:
            idx.lookups.clear()  # subscribers' words repeat; a full reset keeps it simple
        idx.lookups[(key, surface)] = found
        return found

    def _lookup_uncached(self, idx: _LangIndex, key: str, surface: str) -> dict[int, float]:
        found: dict[int, float] = {}
        exact = idx.vocab.get(key)
        if exact is None:
            exact = idx.surface.get(surface)
        if exact is not None:
            found[exact] = 1.0
            return found
        # one stem a prefix of the other: "замен" and "заме" are one root
        for kid in idx.prefixes.get(key, ()):
            found[kid] = max(found.get(kid, 0.0), PREFIX_SIM)
        for n in range(len(key) - 1, PREFIX_MIN - 1, -1):
            kid = idx.vocab.get(key[:n])
            if kid is not None:
                found[kid] = max(found.get(kid, 0.0), PREFIX_SIM)
        for probe, by_length, ids in (
            (key, idx.by_length, idx.vocab),
            (surface, idx.surface_by_length, idx.surface),
        ):
            cutoff = _fuzzy_cutoff(probe)
            if cutoff is None:
                continue
            n = len(probe)
            for length in range(max(1, n - 2), n + 3):
                words = by_length.get(length)
                if not words:
                    continue
                for word, sim, _ in process.extract(
                    probe, words, scorer=fuzz.ratio, score_cutoff=cutoff, limit=5
                ):
                    kid = ids[word]
                    # A near word counts less than the word itself, the less the further it is.
                    found[kid] = max(found.get(kid, 0.0), FUZZY_MAX * (sim / 100.0) ** FUZZY_POWER)
        return found

    def _score_variant(self, text: str, lang: str) -> tuple[list[Candidate], float, list[str]]:
        """Candidates (best first) of one language index, the share of words it knows, and
        how each word was read (for explanations)."""
        idx = self.indexes[lang]
        qkeys = list({k: (k, st, f) for k, st, f in word_keys(text, lang)}.values())
        if not qkeys:
            return [], 0.0, []
        matches: list[dict[int, float]] = []
        qweights: list[float] = []
        known = 0
        for key, is_stop, surface in qkeys:
            found = self._lookup(idx, key, surface)
            matches.append(found)
            if found:
                known += 1
                best = max(found, key=found.__getitem__)
                w = idx.weight[best]
                if is_stop or idx.stop[best]:
                    w = min(w, idx.max_weight * STOPWORD_WEIGHT)
                else:
                    # a far fuzzy match is partly an unknown word: weigh it partly as one
                    sim = found[best]
                    w = sim * w + (1 - sim) * idx.max_weight * UNKNOWN_WEIGHT
            else:
                # A word no trigger has: the question may be about something we don't cover.
                w = idx.max_weight * (STOPWORD_WEIGHT if is_stop else UNKNOWN_WEIGHT)
            qweights.append(w)
        coverage = known / len(matches)
        words = []
        for (_, is_stop, surface), found, w in zip(qkeys, matches, qweights, strict=True):
            near = ",".join(f"{idx.words[k]}:{sim:.2f}" for k, sim in found.items()) or "?"
            words.append(f"{surface}{'(stop)' if is_stop else ''} w={w:.2f} → {near}")

        # kid → [(query word index, similarity)]: scoring a trigger walks its own few keys
        by_kid: dict[int, list[tuple[int, float]]] = defaultdict(list)
        for i, found in enumerate(matches):
            for kid, sim in found.items():
                by_kid[kid].append((i, sim))
        recall_sim = {kid: max(sim for _, sim in pairs) for kid, pairs in by_kid.items()}

        triggers = idx.triggers
        cand: dict[int, float] = defaultdict(float)
        # Rarest words first; once there are plenty of candidates, common words only add to
        # the ones found, which keeps a 10,000-topic KB fast.
        content = sorted((k for k in by_kid if not idx.stop[k]), key=lambda k: len(idx.postings[k]))
        for kid in content:
            gain = max(qweights[i] * sim for i, sim in by_kid[kid])
            postings = idx.postings[kid]
            if not cand or len(cand) + len(postings) <= MAX_NEW_CANDIDATES:
                for tid in postings:
                    cand[tid] += gain
            else:
                for tid in cand:
                    if kid in triggers[tid].keyset:
                        cand[tid] += gain
        if not cand:
            return [], coverage, words
        qtotal = sum(qweights)
        # Rank by an F1 estimate from content words, then score the best few exactly.
        top = heapq.nlargest(
            MAX_CANDIDATE_TRIGGERS, cand, key=lambda t: cand[t] / (qtotal + triggers[t].total)
        )

        topic_precision: dict[str, float] = {}
        best_by_entry: dict[str, Candidate] = {}
        for tid in top:
            trig = triggers[tid]
            per_word = [0.0] * len(qweights)
            r_num = 0.0
            matched_words: list[str] = []
            for k, w in zip(trig.keys, trig.weights, strict=True):
                pairs = by_kid.get(k)
                if not pairs:
                    continue
                matched_words.append(idx.words[k])
                r_num += w * recall_sim[k]
                for i, sim in pairs:
                    if sim > per_word[i]:
                        per_word[i] = sim
            # precision: how much of the question this trigger explains ...
            p_trig = sum(w * sim for w, sim in zip(qweights, per_word, strict=True))
            # ... and how much all the triggers of its topic together explain
            p_topic = topic_precision.get(trig.entry)
            if p_topic is None:
                ekeys = idx.entry_keys[trig.entry]
                best = [0.0] * len(qweights)
                for kid, pairs in by_kid.items():
                    if kid in ekeys:
                        for i, sim in pairs:
                            if sim > best[i]:
                                best[i] = sim
                p_topic = sum(w * sim for w, sim in zip(qweights, best, strict=True))
                topic_precision[trig.entry] = p_topic
            p = ((1 - TOPIC_BLEND) * p_trig + TOPIC_BLEND * p_topic) / qtotal
            r = r_num / trig.total if trig.total else 0.0
            if p <= 0 or r <= 0:
                continue
            score = 2 * p * r / (p + r)
            prev = best_by_entry.get(trig.entry)
            if prev is None or score > prev.score:
                best_by_entry[trig.entry] = Candidate(
                    trig.entry, round(score, 4), trig.text, idx.lang, tuple(matched_words)
                )
        ranked = sorted(best_by_entry.values(), key=lambda c: c.score, reverse=True)
        return ranked, coverage, words

    def _variants(self, text: str) -> list[tuple[str, str, str, float]]:
        """(label, text, index language, weight) for each way the text may have been meant."""
        kind = script(text)
        if kind == "latin":
            cyr = translit_to_cyrillic(text)
            lay = layout_en_to_ru(text)
            return [
                ("as typed", text, "en", 1.0),
                ("translit", cyr, "ru", 0.97),
                ("translit", cyr, "tg", 0.95),
                ("keyboard layout", lay, "ru", 0.97),
                ("keyboard layout", lay, "tg", 0.93),
            ]
        if kind == "cyrillic":
            return [
                ("as typed", text, "ru", 1.0),
                ("as typed", text, "tg", 1.0),
                ("keyboard layout", layout_ru_to_en(text), "en", 0.95),
            ]
        return []

    def _keep_known_latin(self, original: str, converted: str, lang: str) -> str:
        """Translit/layout converted every word; Latin words the index knows (apn, iphone) stay."""
        known = self._latin_vocab[lang]
        if not known:
            return converted
        orig_words = original.split()
        conv_words = converted.split()
        if len(orig_words) != len(conv_words):
            return converted
        vocab = self.indexes[lang].vocab
        out = []
        for o, c in zip(orig_words, conv_words, strict=True):
            key = normalize(o)
            latin_known = bool(key) and word_key(key, lang) in known
            converted = normalize(c)
            # "internet" → "интернет" is known too: then the Cyrillic reading was meant
            cyrillic_known = bool(converted) and word_key(converted, lang) in vocab
            out.append(o if latin_known and not cyrillic_known else c)
        return " ".join(out)

    def match(self, text: str, lang_hint: str | None = None) -> Decision:
        """Decide what to do with a question. Never raises on any string."""
        norm = normalize(text)
        if not norm:
            return Decision("none", lang_hint, normalized=norm, explanation=("no words",))
        best: tuple[float, str, str, list[Candidate], float] | None = None
        coverage_by_lang: dict[str, float] = {}
        notes: list[str] = []
        best_words: list[str] = []
        confident_as_typed = False
        understood_as_russian: set[str] = set()
        for label, variant, lang, weight in self._variants(text):
            if confident_as_typed and label != "as typed":
                break  # clearly meant as typed: no need to try translit or layout
            if lang == "tg" and label in understood_as_russian:
                continue  # every word read as Russian: no need for a Tajik reading of it
            if label != "as typed":
                variant = self._keep_known_latin(text, variant, lang)
            ranked, coverage, words = self._score_variant(variant, lang)
            coverage_by_lang[lang] = max(coverage_by_lang.get(lang, 0.0), coverage * weight)
            top = ranked[0].score * weight if ranked else 0.0
            notes.append(f"{label}/{lang}: {normalize(variant)!r} top={top:.3f}")
            if best is None or top > best[0] + 1e-9:
                best = (top, label, lang, ranked, weight)
                best_words = words
            if label == "as typed" and (
                best[0] >= self.thresholds.confident
                or (coverage >= 0.75 and top >= self.thresholds.clarify)
            ):
                # confident, or words of this language as typed: not translit or layout
                confident_as_typed = True
            if (
                lang == "ru"
                and label != "as typed"
                and coverage == 1.0
                and top >= self.thresholds.answer
            ):
                understood_as_russian.add(label)
        if best is None or not best[3]:
            return Decision(
                "none",
                self._language(text, coverage_by_lang, lang_hint, None),
                normalized=norm,
                explanation=(*notes, "no trigger shares a word with the question"),
            )
        _, label, lang, ranked, weight = best
        notes.extend(f"  word {w}" for w in best_words)
        ranked = [
            Candidate(c.id, round(c.score * weight, 4), c.trigger, c.lang, c.matched)
            for c in ranked
        ]
        detected = self._language(text, coverage_by_lang, lang_hint, lang)
        return self._decide(ranked, detected, norm, label, notes)

    def _language(
        self, text: str, coverage: Mapping[str, float], hint: str | None, matched: str | None
    ) -> str | None:
        if has_tajik_letters(text):
            return "tg"
        kind = script(text)
        if kind == "latin":
            if matched in ("ru", "tg"):
                return matched
            return "en" if coverage.get("en", 0) >= 0.5 or hint is None else hint
        if kind == "cyrillic":
            ru, tg = coverage.get("ru", 0.0), coverage.get("tg", 0.0)
            if matched == "en":
                return "en"
            if tg > ru:
                return "tg"
            if ru > tg:
                return "ru"
            if hint in ("ru", "tg"):
                return hint
            return matched or "ru"
        return hint

    def _decide(
        self,
        ranked: list[Candidate],
        lang: str | None,
        norm: str,
        variant: str,
        notes: list[str],
    ) -> Decision:
        th = self.thresholds
        first = ranked[0]
        second = ranked[1].score if len(ranked) > 1 else 0.0
        why = (
            *notes,
            f"best: {first.id} {first.score:.3f} via {first.trigger!r} "
            f"(words {', '.join(first.matched)})",
            *(f"next: {c.id} {c.score:.3f} via {c.trigger!r}" for c in ranked[1:4]),
        )
        base = {
            "lang": lang,
            "normalized": norm,
            "variant": variant,
            "explanation": why,
            "runner_up": ranked[1] if len(ranked) > 1 else None,
        }
        action = self.actions.get(first.id, "answer")
        clear = first.score >= th.confident or first.score - second >= th.margin
        if first.score >= th.answer and action == "handoff":
            # Asking for a human needs no margin: a topic close behind is no reason to refuse.
            return Decision("handoff", score=first.score, intent=first.id, **base)
        if first.score >= th.answer and clear:
            if action == "smalltalk":
                return Decision("smalltalk", score=first.score, intent=first.id, **base)
            return Decision(
                "answer", topic=first.id, score=first.score, candidates=(first,), **base
            )
        if first.score < th.clarify:
            return Decision("none", score=first.score, **base)
        floor = max(th.clarify, first.score - th.clarify_window)
        options = [c for c in ranked if c.score >= floor and self.actions.get(c.id) == "answer"]
        if not options:
            return Decision("none", score=first.score, **base)
        if len(options) == 1 and options[0] is first and first.score >= th.single:
            # nothing else comes close: "did you mean X?" with one button only slows people
            return Decision(
                "answer", topic=first.id, score=first.score, candidates=(first,), **base
            )
        options = options[: th.max_candidates]
        return Decision("clarify", score=first.score, candidates=tuple(options), **base)
