"""The vocabulary of one language's triggers, with IDF weights and typo-tolerant word lookup.

A word becomes a key: normalized, stemmed for the language, spelled loosely (``phonetic``).
``Index.lookup`` finds the keys a query word may be: the same key, a key sharing its root
(one stem a prefix of the other), or a near spelling (rapidfuzz), each with a similarity 0..1.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

from rapidfuzz import fuzz, process

from knowledge import synonyms
from knowledge.lang import FOLDED_STOPWORDS, LANGS, is_stopword, stem
from knowledge.text import normalize, phonetic

if TYPE_CHECKING:
    from knowledge.loader import KnowledgeBase

STOPWORD_WEIGHT = 0.4
LOOKUP_CACHE = 50_000
FUZZY_MAX = 0.9
FUZZY_POWER = 2.0
PREFIX_MIN = 4
FUZZY_SHORT = 4
FUZZY_SHORT_CUTOFF = 80.0
PREFIX_SIM = 0.85


@lru_cache(maxsize=200_000)
def word_key(word: str, lang: str) -> str:
    """The matching key of one normalized word: stemmed for the language, spelled loosely
    by that language's rules (Tajik keeps о and а apart; Russian folds them)."""
    key = phonetic(stem(word, lang), lang)
    return _SYNONYM_KEYS[lang].get(key, key)


def _synonym_keys(lang: str) -> dict[str, str]:
    """A group's words' keys → its key word's key (``knowledge.synonyms``). A word whose key
    is a function word's ("менять" and "меня" are both "миня") stays out: it would make the
    group a function word, or "меня" a verb."""

    def base(word: str) -> str:
        return phonetic(stem(normalize(word), lang), lang)

    stop = {base(w) for w in FOLDED_STOPWORDS[lang]}
    out: dict[str, str] = {}
    for group in synonyms.groups(lang):
        keys = [k for k in map(base, group) if k not in stop]
        for key in keys[1:]:
            out.setdefault(key, keys[0])
    return out


_SYNONYM_KEYS = {lang: _synonym_keys(lang) for lang in LANGS}
STOP_KEYS = {lang: frozenset(word_key(w, lang) for w in FOLDED_STOPWORDS[lang]) for lang in LANGS}


def word_keys(text: str, lang: str, normalized: str | None = None) -> list[tuple[str, bool, str]]:
    """(key, is_stopword, surface form) for each word of ``text`` in ``lang``."""
    out = []
    for word in (normalize(text) if normalized is None else normalized).split():
        out.append(key_of(word, lang))
    return out


@lru_cache(maxsize=200_000)
def key_of(word: str, lang: str) -> tuple[str, bool, str]:
    """(key, is_stopword, loose surface form) of one normalized word."""
    key = word_key(word, lang)
    # a lone letter ("я", "s" from "what's") is a function word at most, never a topic's
    stop = (
        key in STOP_KEYS[lang] or is_stopword(word, lang) or (len(word) == 1 and not word.isdigit())
    )
    return key, stop, phonetic(word, lang)


def _fuzzy_cutoff(key: str) -> float | None:
    n = len(key)
    if n <= 3 or key.isdigit():
        return None
    if n <= FUZZY_SHORT:
        return FUZZY_SHORT_CUTOFF  # one letter of four changed is another word ("хаво", "авар")
    return 75.0 if n <= 7 else 70.0


@dataclass(slots=True)
class Trigger:
    entry: str
    text: str
    lang: str
    keys: tuple[int, ...]
    weights: tuple[float, ...]
    total: float
    keyset: frozenset[int]


@dataclass
class Index:
    """One language's trigger vocabulary: keys, their weights and postings."""

    lang: str
    vocab: dict[str, int] = field(default_factory=dict)
    words: list[str] = field(default_factory=list)
    weight: list[float] = field(default_factory=list)
    stop: list[bool] = field(default_factory=list)
    postings: list[list[int]] = field(default_factory=list)
    triggers: list[Trigger] = field(default_factory=list)
    by_length: dict[int, list[str]] = field(default_factory=dict)
    # unstemmed (loosely spelled) forms → key id: a typo in an ending changes the stem
    surface: dict[str, int] = field(default_factory=dict)
    surface_by_length: dict[int, list[str]] = field(default_factory=dict)
    entry_keys: dict[str, set[int]] = field(default_factory=dict)
    # key prefixes (4+ letters) → keys: Snowball stems of one root differ in length
    prefixes: dict[str, list[int]] = field(default_factory=dict)
    max_weight: float = 1.0
    lookups: dict[tuple[str, str], dict[int, float]] = field(default_factory=dict)
    totals: list[float] = field(default_factory=list)  # each trigger's total weight
    # a common key's postings as a set, made the first time a message needs it (at most one
    # per key of this index)
    posting_sets: dict[int, frozenset[int]] = field(default_factory=dict)

    def posting_set(self, kid: int) -> frozenset[int]:
        """The triggers that have key ``kid``, as a set."""
        found = self.posting_sets.get(kid)
        if found is None:
            found = self.posting_sets[kid] = frozenset(self.postings[kid])
        return found

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

    def keys_only_of(self, entries: set[str]) -> frozenset[int]:
        """The keys only these entries' phrases have ("утро" of small talk's "доброе утро")."""
        mine: set[int] = set()
        others: set[int] = set()
        for entry, keys in self.entry_keys.items():
            (mine if entry in entries else others).update(keys)
        return frozenset(mine - others)

    def lookup(self, key: str, surface: str) -> dict[int, float]:
        """Vocabulary keys close to a query word → similarity 0..1 (1 for the same key)."""
        cached = self.lookups.get((key, surface))
        if cached is not None:
            return cached
        found = self._lookup(key, surface)
        if len(self.lookups) >= LOOKUP_CACHE:
            self.lookups.clear()  # subscribers' words repeat; a full reset keeps it simple
        self.lookups[(key, surface)] = found
        return found

    def _lookup(self, key: str, surface: str) -> dict[int, float]:
        found: dict[int, float] = {}
        exact = self.vocab.get(key)
        if exact is None:
            exact = self.surface.get(surface)
        if exact is not None:
            found[exact] = 1.0
            return found
        # one stem a prefix of the other: "замен" and "заме" are one root
        for kid in self.prefixes.get(key, ()):
            found[kid] = max(found.get(kid, 0.0), PREFIX_SIM)
        for n in range(len(key) - 1, PREFIX_MIN - 1, -1):
            kid = self.vocab.get(key[:n])
            if kid is not None:
                found[kid] = max(found.get(kid, 0.0), PREFIX_SIM)
        for probe, by_length, ids in (
            (key, self.by_length, self.vocab),
            (surface, self.surface_by_length, self.surface),
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


def kb_phrases(kb: KnowledgeBase, lang: str) -> Iterable[tuple[str, str]]:
    """(entry id, phrase) of a language: topics' triggers and keywords, intents' triggers."""
    for topic in kb.topics.values():
        for phrase in getattr(topic.triggers, lang):
            yield topic.id, phrase
        keywords = dict.fromkeys(getattr(topic.keywords, lang))
        # one-word Latin keywords (xiaomi, iphone, apn, lte, esim) are typed as such in any
        # language
        for other in LANGS:
            keywords.update(
                dict.fromkeys(
                    k for k in getattr(topic.keywords, other) if k.isascii() and " " not in k
                )
            )
        yield from ((topic.id, phrase) for phrase in keywords)
    for intent in kb.intents.values():
        for phrase in getattr(intent.triggers, lang):
            yield intent.id, phrase


def build_index(
    lang: str, phrases: Iterable[tuple[str, str]], normalized: dict[str, str], n_entries: int
) -> Index:
    """The index of one language from (entry id, phrase) pairs; IDF over ``n_entries``."""
    idx = Index(lang)
    raw: list[tuple[str, str, list[int]]] = []
    entries_of: dict[int, set[str]] = {}
    for entry, phrase in phrases:
        text = normalized.get(phrase)
        if text is None:
            text = normalize(phrase)
        keys = [idx.key_id(*key_of(w, lang)) for w in text.split()]
        if not keys:
            continue
        raw.append((entry, phrase, keys))
        idx.entry_keys.setdefault(entry, set()).update(keys)
        for k in keys:
            entries_of.setdefault(k, set()).add(entry)
    n_entries = max(1, n_entries)
    for kid, entries in entries_of.items():
        idf = math.log(1.0 + n_entries / len(entries))
        idx.weight[kid] = idf * (STOPWORD_WEIGHT if idx.stop[kid] else 1.0)
    for entry, phrase, keys in raw:
        uniq = tuple(dict.fromkeys(keys))
        weights = tuple(idx.weight[k] for k in uniq)
        tid = len(idx.triggers)
        idx.triggers.append(
            Trigger(entry, phrase, lang, uniq, weights, sum(weights), frozenset(uniq))
        )
        idx.totals.append(idx.triggers[-1].total)
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
