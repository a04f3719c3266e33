"""Fuzzy matching of a subscriber's message to a topic, with an explained Decision.

How a message is read, the way an agent reads it:
1. Readings (``knowledge.reading``): the text as typed and on the other keyboard layout. In a
   reading each word is looked up in every language it may be (Russian and Tajik for Cyrillic,
   English and translit for Latin), so one message may mix languages.
2. Each word is looked up in the trigger vocabulary (``knowledge.index``): exactly, by root,
   or fuzzily, so a typo still finds its word. A word found nowhere is either context
   (``knowledge.lexicon``: "вчера", "мама", "в Кулябе"), which weighs little, or unknown
   ("Steam", "hotel"), which is evidence that the message is about something else.
3. A candidate trigger is scored on the part of the message it explains: the clauses from the
   first to the last word it matched (a clause that points back, "как её заблокировать", takes
   the clause before it along). Greetings and stories in other clauses do not dilute it;
   unknown words there still count against it, at half weight. The score is a soft F1 of
   IDF-weighted words: how much of that part the trigger (and its topic) explains, and how
   much of the trigger the part contains. A topic scores its best trigger.
4. The best reading's scores give the Decision: answer (with a second ask in another clause
   offered as ``also``), clarify ("did you mean"), handoff, smalltalk or none.
"""

from __future__ import annotations

import dataclasses
import gc
import heapq
from collections import defaultdict

from knowledge import lexicon
from knowledge.decide import DecisionRules
from knowledge.decision import Candidate, Decision, DecisionKind, Thresholds, reply_language
from knowledge.index import (
    Index,
    Trigger,
    build_index,
    kb_phrases,
    word_key,
    word_keys,
)
from knowledge.lang import LANGS, detect_language
from knowledge.loader import KnowledgeBase
from knowledge.reading import REFERRING, readings
from knowledge.readout import _UNSEEN, _Frame, _KeyHits, _Read, _Shared, _Words
from knowledge.text import normalize
from knowledge.weigh import WordReader

__all__ = [
    "Candidate",
    "Decision",
    "DecisionKind",
    "Matcher",
    "Thresholds",
    "reply_language",
    "word_key",
    "word_keys",
]

CONTEXT_FOCUS = 0.35
CLAUSE_FOCUS = 0.7  # another clause of the sentence that asks
PAST_FOCUS = 0.5  # a clause of that sentence that tells what happened
OUTSIDE_UNKNOWN = 0.5  # an unknown word outside the clauses read still counts, at this share
TOLD_ONLY = 0.8  # a topic found only in what happened, against one that is asked
SPAN_SHARE = 0.8  # a match read on its own clauses only, against one on the whole message
SPAN_STORY = 0.6  # ... when those clauses do not ask
LAYOUT_COVERAGE = 0.6  # as typed, a share of known words this high rules out a layout slip
GIBBERISH_COVERAGE = 0.2  # as typed, a share of known words this low is no language
MAX_CANDIDATE_TRIGGERS = 40
MAX_NEW_CANDIDATES = 1500
TOPIC_BLEND = 0.5
_OWN_BLEND = 1 - TOPIC_BLEND
BETA2 = 1.0  # F-beta²: below 1 precision (explaining the message) counts more than recall


# a word an entry explains: its index, weight, focus, clause, and its similarity's share
_Term = tuple[int, float, float, int, float]
# a trigger's score (rounded), its matched keys' words, the clauses it asks, its content clauses
_Scored = tuple[float, tuple[str, ...], tuple[int, int], list[int]]


class Matcher(WordReader, DecisionRules):
    """Matches messages against one knowledge base; build once per KB version."""

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
            self.indexes: dict[str, Index] = {
                lang: build_index(lang, kb_phrases(kb, lang), kb.normalized, len(self.actions))
                for lang in LANGS
            }
        finally:
            if gc_was_enabled:
                gc.enable()
        self.max_weight = max(idx.max_weight for idx in self.indexes.values())
        # by word and stem, not by the loose spelling key: "раз" and "Россию" share one
        self.context = {
            lang: lexicon.roots(words, lang) for lang, words in lexicon.CONTEXT_WORDS.items()
        }
        self.context_lemmas = lexicon.context_lemmas()
        self.context_prefixes = {w[:3] for w in self.context_lemmas}
        self.foreign = {lang: lexicon.roots(lexicon.FOREIGN_WORDS, lang) for lang in LANGS}
        talk = {e for e, action in self.actions.items() if action == "smalltalk"}
        self.talk_keys = {lang: self.indexes[lang].keys_only_of(talk) for lang in LANGS}
        # asked once per trigger scored: which entries are topics, and which small talk
        self.topic_ids = frozenset(e for e, action in self.actions.items() if action == "answer")
        self.talk_ids = frozenset(talk)
        self.seen = {}
        lexicon.load_dictionary()

    # -- scoring ---------------------------------------------------------------------------

    def _candidates(
        self, words: _Words
    ) -> tuple[list[tuple[str, Trigger]], dict[str, dict[int, list[tuple[int, float]]]]]:
        """(lang, trigger) of the triggers worth scoring, and per language: key →
        [(word, similarity)]."""
        qw = words.weight
        qtotal = sum(qw)
        shares: list[tuple[str, list[int], list[float]]] = []
        by_kid_of: dict[str, dict[int, list[tuple[int, float]]]] = {}
        for lang, per_word in words.found.items():
            idx = self.indexes[lang]
            by_kid: dict[int, list[tuple[int, float]]] = defaultdict(list)
            for i, found in enumerate(per_word):
                for kid, sim in found.items():
                    by_kid[kid].append((i, sim))
            by_kid_of[lang] = by_kid
            cand = _gather(idx, by_kid, qw)
            totals = idx.totals
            shares.append((lang, list(cand), [g / (qtotal + totals[t]) for t, g in cand.items()]))
        # the best by (share, lang, trigger id): only those at the cut's share or above can be
        # among them, so only those are compared as tuples
        every = [share for _, _, of_lang in shares for share in of_lang]
        if len(every) > MAX_CANDIDATE_TRIGGERS:
            cut = sorted(every, reverse=True)[MAX_CANDIDATE_TRIGGERS - 1]
        else:
            cut = float("-inf")
        pool = [
            (share, lang, tid)
            for lang, tids, of_lang in shares
            for tid, share in zip(tids, of_lang, strict=True)
            if share >= cut
        ]
        top = heapq.nlargest(MAX_CANDIDATE_TRIGGERS, pool)
        return [(lang, self.indexes[lang].triggers[tid]) for _, lang, tid in top], by_kid_of

    def _entry_sims(self, words: _Words, entry: str) -> list[tuple[int, float]]:
        """(word, similarity) for each word any trigger of ``entry``, in any language,
        explains; found once per message."""
        cached = words.entry_sims.get(entry)
        if cached is not None:
            return cached
        best: dict[int, float] = {}
        for lang, by_kid in words.by_kid_of.items():
            ekeys = self.indexes[lang].entry_keys.get(entry)
            if not ekeys:
                continue
            for kid in by_kid.keys() & ekeys:
                for i, sim in by_kid[kid]:
                    if sim > best.get(i, 0.0):
                        best[i] = sim
        out = words.entry_sims[entry] = list(best.items())
        return out

    def _score(self, words: _Words, sentence: int | None = None) -> list[Candidate]:
        """Topics and intents, best first, each scored on the whole message (its story around
        the question weighing less) and on the clauses its trigger matched; or, given a
        ``sentence``, on that sentence alone, unknown words elsewhere still counting."""
        frame = self._frame(words, sentence)
        best_by_entry: dict[str, tuple[float, str, Trigger, _Scored]] = {}
        shared_of = frame.shared
        weight = words.reading.weight
        for (lang, trig), group in zip(frame.candidates, words.groups, strict=True):
            shared = shared_of[group]
            if shared is _UNSEEN:
                shared = shared_of[group] = self._shared(words, frame, lang, trig)
            if shared is None or not trig.total:
                continue
            scored = _score_trigger(shared, trig.total, weight)
            if scored is None:
                continue
            prev = best_by_entry.get(trig.entry)
            if prev is None or scored[0] > prev[0]:
                best_by_entry[trig.entry] = (scored[0], lang, trig, scored)
        # a Candidate only for each entry's best trigger: most triggers scored lose
        ranked = [
            Candidate(
                trig.entry,
                score,
                trig.text,
                lang,
                matched,
                asked,
                tuple(sorted(set(content_units))),
            )
            for score, lang, trig, (_, matched, asked, content_units) in best_by_entry.values()
        ]
        return sorted(ranked, key=lambda c: c.score, reverse=True)

    def _frame(self, words: _Words, sentence: int | None) -> _Frame:
        """What every trigger of one message is scored against."""
        qw, units = words.weight, words.reading.units
        n = len(qw)
        past: set[int] = set()
        if sentence is None:
            past = lexicon.past_clauses(words.reading)
            focus = words.reading.focus(CONTEXT_FOCUS, CLAUSE_FOCUS, past, PAST_FOCUS)
            q_all = sum(f * q for f, q in zip(focus, qw, strict=True))
        else:
            of = words.reading.sentences
            focus = [1.0 if of[u] == sentence else 0.0 for u in units]
            q_all = sum(
                q if f else u * self.max_weight * OUTSIDE_UNKNOWN
                for f, q, u in zip(focus, qw, words.unknown, strict=True)
            )
        # per clause (as prefix sums): its words' weight, and what its unknown words weigh
        # when outside a span
        n_units = units[-1] + 1 if n else 0
        unit_q = [0.0] * (n_units + 1)
        unit_out = [0.0] * (n_units + 1)
        unit_focus = [0.0] * n_units
        for i in range(n):
            unit_q[units[i] + 1] += qw[i]
            unit_out[units[i] + 1] += words.unknown[i] * self.max_weight * OUTSIDE_UNKNOWN
            unit_focus[units[i]] = max(unit_focus[units[i]], focus[i])
        for u in range(n_units):
            unit_q[u + 1] += unit_q[u]
            unit_out[u + 1] += unit_out[u]
        if words.candidates is None:
            words.candidates, words.by_kid_of = self._candidates(words)
            words.groups, words.n_groups = _groups(words.candidates, words.by_kid_of)
        by_kid_of = words.by_kid_of
        return _Frame(
            sentence,
            focus,
            q_all,
            unit_q,
            unit_out,
            unit_focus,
            {units[i] for i, w in enumerate(words.reading.words) if w in REFERRING},
            past,
            words.candidates,
            by_kid_of,
            {
                lang: self._key_hits(words, focus, lang, by_kid)
                for lang, by_kid in by_kid_of.items()
            },
            [_UNSEEN] * words.n_groups,
        )

    def _key_hits(
        self,
        words: _Words,
        focus: list[float],
        lang: str,
        by_kid: dict[int, list[tuple[int, float]]],
    ) -> dict[int, _KeyHits]:
        """What each key found in the message finds there, worked out once for all the
        triggers that have it."""
        idx = self.indexes[lang]
        kinds, context, units = words.kind, words.context, words.reading.units
        out: dict[int, _KeyHits] = {}
        for k, pairs in by_kid.items():
            if not pairs:
                continue
            any_units: list[int] = []
            topic_units: list[int] = []
            if not idx.stop[k]:
                for i, _ in pairs:
                    if kinds[i] == "kb" and focus[i] > 0:
                        any_units.append(units[i])
                        if not context[i]:
                            topic_units.append(units[i])
            best = max(sim * (focus[i] > 0) for i, sim in pairs)
            out[k] = (idx.words[k], best, pairs, topic_units, any_units)
        return out

    def _shared(self, words: _Words, frame: _Frame, lang: str, trig: Trigger) -> _Shared | None:
        """What ``trig``'s matched keys find in the message: the recall's numerator, the
        precision, the read on its own clauses (its share, precision and recall's numerator)
        when it has one, the matched words, the clauses asked, the content clauses, and
        whether they only tell what happened; None when no content word matches."""
        keys = frame.keys[lang]
        topic = trig.entry in self.topic_ids
        per_word: dict[int, float] = {}
        content_units: list[int] = []
        n_content = 0
        r_num = 0.0
        pairs_of: list[tuple[float, list[tuple[int, float]]]] = []
        matched: list[str] = []
        for k, w in zip(trig.keys, trig.weights, strict=True):
            hit = keys.get(k)
            if hit is None:
                continue
            word, best, pairs, topic_units, any_units = hit
            matched.append(word)
            pairs_of.append((w, pairs))
            r_num += w * best
            for i, sim in pairs:
                if sim > per_word.get(i, 0.0):
                    per_word[i] = sim
            mine = topic_units if topic else any_units
            if mine:
                content_units.extend(mine)
                n_content += 1
        if not content_units:
            return None
        terms = frame.terms.get(trig.entry)
        if terms is None:
            terms = frame.terms[trig.entry] = self._terms(words, frame, trig.entry)
        asked = (min(content_units), max(content_units))
        first, last = asked
        if first > 0 and first in frame.referring:
            first -= 1  # "как её заблокировать" is about the clause before it
        p_all = p_span = 0.0
        for i, q, f, u, blended in terms:  # only words the topic explains add to precision
            explained = q * (_OWN_BLEND * per_word.get(i, 0.0) + blended)
            p_all += f * explained
            if first <= u <= last:
                p_span += explained
        span = None
        # small talk is often one word in its own clause ("Ташаккур, ..."); a topic or a
        # hand-off read on part of a message needs two of its words there
        if frame.sentence is None and n_content >= (1 if trig.entry in self.talk_ids else 2):
            share, weighs, r_span = _span_parts(frame, words.reading.units, first, last, pairs_of)
            span = (share, p_span / weighs, r_span)
        told = frame.past.issuperset(content_units)
        return r_num, p_all / frame.q_all, span, tuple(matched), asked, content_units, told

    def _terms(self, words: _Words, frame: _Frame, entry: str) -> list[_Term]:
        """Per word ``entry`` explains: what its precision term needs of the frame."""
        qw, focus, units = words.weight, frame.focus, words.reading.units
        return [
            (i, qw[i], focus[i], units[i], TOPIC_BLEND * sim)
            for i, sim in self._entry_sims(words, entry)
        ]

    # -- the decision ----------------------------------------------------------------------

    def match(self, text: str, lang_hint: str | None = None, *, detail: bool = False) -> Decision:
        """Decide what to do with a message. Never raises on any string. The explanation
        says which part was read and why; ``detail`` adds how every word counted."""
        norm = normalize(text)
        if not norm:
            return Decision("none", lang_hint, normalized=norm, explanation=("no words",))
        th = self.thresholds
        best: _Read | None = None
        notes: list[str] = []
        typed_coverage = 1.0
        for reading in readings(text):
            if best is not None and best.top >= th.confident:
                break  # clearly meant as typed: no need to try the other layout
            if reading.label != "as typed" and typed_coverage < GIBBERISH_COVERAGE:
                # as typed it is no language at all: the other layout is what was meant
                reading = dataclasses.replace(reading, weight=1.0)
            words = self._words(reading)
            if reading.label == "as typed":
                typed_coverage = max(words.coverage.values(), default=0.0)
            ranked = self._score(words)
            top = ranked[0].score if ranked else 0.0
            notes.append(f"{reading.label}: {' '.join(reading.words)!r} top={top:.3f}")
            if best is None or top > best.top + 1e-9:
                best = _Read(words, ranked, top)
            if reading.label == "as typed" and max(words.coverage.values()) >= LAYOUT_COVERAGE:
                break  # words of a language as typed: not another layout
        if best is None or not best.ranked:
            cov = best.words.coverage if best is not None else {}
            return Decision(
                "none",
                detect_language(text, cov, lang_hint, None),
                normalized=norm,
                variant=best.words.reading.label if best else "",
                explanation=(*notes, "no trigger shares a word with the message"),
            )
        lang = detect_language(text, best.words.coverage, lang_hint, best.ranked[0].lang)
        return self._decide(best, lang, norm, notes, detail)


def _gather(
    idx: Index, by_kid: dict[int, list[tuple[int, float]]], qw: list[float]
) -> dict[int, float]:
    """Trigger id → the weight of the message's content words it has. Rarest words first;
    once there are plenty of candidates, common words only add to the ones found, which
    keeps a 10,000-topic KB fast."""
    cand: dict[int, float] = {}
    content = sorted((k for k in by_kid if not idx.stop[k]), key=lambda k: len(idx.postings[k]))
    for kid in content:
        gain = max(qw[i] * sim for i, sim in by_kid[kid])
        postings = idx.postings[kid]
        if not cand:
            cand = dict.fromkeys(postings, gain)  # a trigger has each key once
        elif len(cand) + len(postings) <= MAX_NEW_CANDIDATES:
            for tid in postings:
                cand[tid] = cand.get(tid, 0.0) + gain
        else:
            for tid in cand.keys() & idx.posting_set(kid):
                cand[tid] += gain
    return cand


def _groups(
    candidates: list[tuple[str, Trigger]], by_kid_of: dict[str, dict[int, list[tuple[int, float]]]]
) -> tuple[list[int], int]:
    """Per candidate trigger, its group: the triggers of one entry whose keys found in the
    message are the same ("баланс", "проверить баланс"), in one language. A key's weight in
    a trigger is the index's, so what they find is the same (``Matcher._shared``) and only
    their totals differ. Also the number of groups."""
    ids: dict[tuple[str, str, tuple[int, ...]], int] = {}
    groups = []
    for lang, trig in candidates:
        by_kid = by_kid_of[lang]
        sig = (trig.entry, lang, tuple([k for k in trig.keys if k in by_kid]))
        groups.append(ids.setdefault(sig, len(ids)))
    return groups, len(ids)


def _score_trigger(shared: _Shared, total: float, weight: float) -> _Scored | None:
    """One trigger's score from what its matched keys find (``Matcher._shared``) and its
    ``total``: a soft F1 on the whole message, and on its own clauses; times the reading's
    ``weight``. None for a score of 0."""
    r_num, precision, span, matched, asked, content_units, told = shared
    score = _f(precision, r_num / total)
    if span is not None:
        share, span_precision, r_span = span
        score = max(score, share * _f(span_precision, r_span / total))
    if told:
        # "только купил симку, | не знаю какой номер": what happened is not what is asked
        score *= TOLD_ONLY
    score *= weight  # a reading on another layout is less likely
    if score <= 0:
        return None
    return round(score, 4), matched, asked, content_units


def _span_parts(
    frame: _Frame,
    units: tuple[int, ...],
    first: int,
    last: int,
    pairs_of: list[tuple[float, list[tuple[int, float]]]],
) -> tuple[float, float, float]:
    """A trigger read on its own clauses only (``first`` to ``last``): the share of its F1
    kept, what those clauses' words weigh (with the unknown words outside), and the
    numerator of its recall there."""
    inside = frame.unit_q[last + 1] - frame.unit_q[first]
    n_units = len(frame.unit_focus)
    outside = frame.unit_out[n_units] - (frame.unit_out[last + 1] - frame.unit_out[first])
    # clauses that only tell the story are a weaker reading than the question, and they
    # contain only what they contain: the trigger's words found elsewhere don't count
    share = SPAN_SHARE if frame.unit_focus[first : last + 1].count(1.0) else SPAN_STORY
    r_span = 0.0
    for w, pairs in pairs_of:
        inner = 0.0  # sims are positive: the best of none is 0
        for i, sim in pairs:
            if sim > inner and first <= units[i] <= last:
                inner = sim
        r_span += w * inner
    return share, inside + outside, r_span


def _f(p: float, r: float) -> float:
    return (1 + BETA2) * p * r / (BETA2 * p + r) if p > 0 and r > 0 else 0.0
