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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from knowledge.index import STOPWORD_WEIGHT, Index, build_index, key_of, word_key, word_keys
from knowledge.lang import LANGS, stem
from knowledge.lexicon import CONTEXT_WORDS, FOREIGN_WORDS, is_denied_after_not, is_story_word
from knowledge.loader import KnowledgeBase
from knowledge.reading import REFERRING, Reading, readings
from knowledge.text import has_tajik_letters, normalize, script

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

DecisionKind = Literal["answer", "clarify", "handoff", "smalltalk", "none"]
_NOT = frozenset({"не", "ни"})
OPENINGS = frozenset({"greeting"})  # small talk that opens a question rather than ends one
UNKNOWN_WEIGHT = 1.2
NAME_WEIGHT = 2.0
STORY_WEIGHT = 0.6  # a verb or adjective no topic knows ("кидала", "вытащили")
STORY_MIN_WORDS = 4
CLEAN_BONUS = 0.0  # a lone choice in a message with no unknown word is answered this much sooner
CONTEXT_WEIGHT = 0.15
CONTEXT_FOCUS = 0.35
CLAUSE_FOCUS = 0.7  # another clause of the sentence that asks
OUTSIDE_UNKNOWN = 0.5  # an unknown word outside the clauses read still counts, at this share
SPAN_SHARE = 0.8  # a match read on its own clauses only, against one on the whole message
SPAN_STORY = 0.6  # ... when those clauses do not ask
SENTENCE_SHARE = 0.9  # a question read as a sentence on its own, against the whole message
SECOND = 0.3  # a second ask is offered when its score is within this of the first
HANDOFF_LEAD = 0.1  # a request for a person wins unless a topic is clearly the better reading
FOREIGN_CLARIFY = 0.2  # a choice in a message naming another company's product needs this more
CONTEXT_OVER_FUZZY = 0.85
STORY_OVER_FUZZY = 0.7  # a context word is not taken for a KB word it only resembles
LAYOUT_COVERAGE = 0.6  # as typed, a share of known words this high rules out a layout slip
MAX_CANDIDATE_TRIGGERS = 40
MAX_NEW_CANDIDATES = 1500
TOPIC_BLEND = 0.5
BETA2 = 1.0  # F-beta²: below 1 precision (explaining the message) counts more than recall


# what a word found in no trigger weighs (times the heaviest word), and how far it is unknown
_KIND_WEIGHT = {
    "foreign": NAME_WEIGHT,
    "stop": STOPWORD_WEIGHT,
    "context": CONTEXT_WEIGHT,
    "story": STORY_WEIGHT,
    "unknown": UNKNOWN_WEIGHT,
}
_KIND_UNKNOWN = {"foreign": 1.0, "stop": 0.0, "context": 0.0, "story": 0.0, "unknown": 1.0}


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Score cut-offs (0..1) that turn scores into a decision; set in config.yaml."""

    answer: float = 0.5
    margin: float = 0.06
    confident: float = 0.85
    clarify: float = 0.42
    clarify_window: float = 0.2
    max_candidates: int = 4
    single: float = 0.43  # answer a lone candidate from this score instead of asking


@dataclass(frozen=True, slots=True)
class Candidate:
    """A topic or intent and how well the message matched it."""

    id: str
    score: float
    trigger: str
    lang: str
    matched: tuple[str, ...] = ()
    span: tuple[int, int] = (0, 0)  # the clauses it matched, first and last
    clauses: tuple[int, ...] = ()  # every clause with a word it matched


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
class _Words:
    """One reading's words as the indexes see them."""

    reading: Reading
    found: dict[str, list[dict[int, float]]]  # lang → per word: key id → similarity
    weight: list[float]
    kind: list[str]  # "kb", "stop", "context", "story", "foreign", "unknown"
    unknown: list[float]  # 1 for a word found nowhere, 1 - similarity for a near match
    context: list[bool]  # a context word ("now", "сегодня"): never a topic's evidence alone
    coverage: dict[str, float]  # lang → share of words that language's index knows


@dataclass(slots=True)
class _Read:
    words: _Words
    ranked: list[Candidate]
    top: float


class Matcher:
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
                lang: build_index(lang, self._phrases(lang), kb.normalized, len(self.actions))
                for lang in LANGS
            }
        finally:
            if gc_was_enabled:
                gc.enable()
        self.max_weight = max(idx.max_weight for idx in self.indexes.values())
        # by stem, not by the loose spelling key: "раз" and "Россию" share a loose key. A word
        # and its stem both: Tajik suffix rules cut a bare "инстаграм" to "инстагр", while
        # "Инстаграмамро" comes down to "инстаграм"
        self.context = {lang: _roots(words, lang) for lang, words in CONTEXT_WORDS.items()}
        self.foreign = {lang: _roots(FOREIGN_WORDS, lang) for lang in LANGS}

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

    # -- words -----------------------------------------------------------------------------

    def _words(self, reading: Reading) -> _Words:
        n = len(reading.words)
        found: dict[str, list[dict[int, float]]] = {lang: [{} for _ in range(n)] for lang in LANGS}
        weight: list[float] = []
        kinds: list[str] = []
        unknown: list[float] = []
        context: list[bool] = []
        known = dict.fromkeys(LANGS, 0)
        top = self.max_weight
        for i, (word, options) in enumerate(zip(reading.words, reading.options, strict=True)):
            is_stop = is_foreign = False
            is_context = word.isdigit()
            best: tuple[float, float, bool] | None = None  # similarity, key weight, key is stop
            for lang, form, conf in options:
                key, stop, surface = key_of(form, lang)
                is_stop = is_stop or stop
                root = stem(form, lang)
                is_context = is_context or root in self.context[lang]
                is_foreign = is_foreign or root in self.foreign[lang]
                idx = self.indexes[lang]
                slot = found[lang][i]
                for kid, sim in idx.lookup(key, surface).items():
                    if sim < 1.0 and idx.stop[kid]:
                        continue  # a function word is the word itself or nothing
                    sim *= conf
                    if sim > slot.get(kid, 0.0):
                        slot[kid] = sim
                    cand = (sim, idx.weight[kid], idx.stop[kid])
                    if best is None or cand[:2] > best[:2]:
                        best = cand
            story = n >= STORY_MIN_WORDS and not reading.names[i] and is_story_word(word)
            denied = (
                i > 0
                and reading.words[i - 1] in _NOT
                and reading.units[i - 1] == reading.units[i]
                and is_denied_after_not(word)
            )
            if best is not None and (
                ((is_context or is_foreign) and best[0] < CONTEXT_OVER_FUZZY)
                or (is_foreign and (best[2] or best[0] < 1.0))  # "zoo" is not the Russian "за"
                or denied  # "Мне не деньги перевести, а звонки": not about money
            ):
                best = None  # "мама" is family, not the "мало" it resembles
                for lang in LANGS:
                    found[lang][i] = {}
            for lang in LANGS:
                known[lang] += bool(found[lang][i])
            context.append(is_context)
            if best is not None:
                sim, w, key_stop = best
                if is_stop or key_stop:
                    w = min(w, top * STOPWORD_WEIGHT)
                else:
                    # a far fuzzy match is partly an unknown word: weigh it partly as one
                    w = sim * w + (1 - sim) * top * UNKNOWN_WEIGHT
                kinds.append("kb")
                unknown.append(1 - sim)
            else:
                if is_foreign:
                    kind = "foreign"
                elif denied:
                    kind = "story"
                elif is_stop:
                    kind = "stop"
                elif is_context:
                    kind = "context"
                elif story:  # in a short question every word is the question
                    kind = "story"
                else:
                    kind = "unknown"
                # a name the knowledge base has never seen ("Steam", "Алиф") says most clearly
                # that the message is about something else
                name = kind == "unknown" and reading.names[i]
                w = top * (NAME_WEIGHT if name else _KIND_WEIGHT[kind])
                kinds.append(kind)
                unknown.append(_KIND_UNKNOWN[kind])
            weight.append(w)
        coverage = {lang: (known[lang] / n if n else 0.0) for lang in LANGS}
        return _Words(reading, found, weight, kinds, unknown, context, coverage)

    # -- scoring ---------------------------------------------------------------------------

    def _candidates(
        self, words: _Words
    ) -> tuple[list[tuple[str, int]], dict[str, dict[int, list[tuple[int, float]]]]]:
        """(lang, trigger id) of the triggers worth scoring, and per language: key →
        [(word, similarity)]."""
        qw = words.weight
        qtotal = sum(qw)
        pool: list[tuple[float, str, int]] = []
        by_kid_of: dict[str, dict[int, list[tuple[int, float]]]] = {}
        for lang, per_word in words.found.items():
            idx = self.indexes[lang]
            by_kid: dict[int, list[tuple[int, float]]] = defaultdict(list)
            for i, found in enumerate(per_word):
                for kid, sim in found.items():
                    by_kid[kid].append((i, sim))
            by_kid_of[lang] = by_kid
            triggers = idx.triggers
            cand: dict[int, float] = defaultdict(float)
            # Rarest words first; once there are plenty of candidates, common words only add
            # to the ones found, which keeps a 10,000-topic KB fast.
            content = sorted(
                (k for k in by_kid if not idx.stop[k]), key=lambda k: len(idx.postings[k])
            )
            for kid in content:
                gain = max(qw[i] * sim for i, sim in by_kid[kid])
                postings = idx.postings[kid]
                if not cand or len(cand) + len(postings) <= MAX_NEW_CANDIDATES:
                    for tid in postings:
                        cand[tid] += gain
                else:
                    for tid in cand:
                        if kid in triggers[tid].keyset:
                            cand[tid] += gain
            pool.extend((g / (qtotal + triggers[t].total), lang, t) for t, g in cand.items())
        top = heapq.nlargest(MAX_CANDIDATE_TRIGGERS, pool)
        return [(lang, tid) for _, lang, tid in top], by_kid_of

    def _entry_sims(
        self, by_kid_of: dict[str, dict[int, list[tuple[int, float]]]], entry: str
    ) -> list[tuple[int, float]]:
        """(word, similarity) for each word any trigger of ``entry``, in any language,
        explains."""
        best: dict[int, float] = {}
        for lang, by_kid in by_kid_of.items():
            ekeys = self.indexes[lang].entry_keys.get(entry)
            if not ekeys:
                continue
            for kid in by_kid.keys() & ekeys:
                for i, sim in by_kid[kid]:
                    if sim > best.get(i, 0.0):
                        best[i] = sim
        return list(best.items())

    def _score(self, words: _Words, sentence: int | None = None) -> list[Candidate]:
        """Topics and intents, best first, each scored on the whole message (its story around
        the question weighing less) and on the clauses its trigger matched; or, given a
        ``sentence``, on that sentence alone, unknown words elsewhere still counting."""
        qw = words.weight
        units = words.reading.units
        n = len(qw)
        if sentence is None:
            focus = words.reading.focus(CONTEXT_FOCUS, CLAUSE_FOCUS)
            q_all = sum(f * q for f, q in zip(focus, qw, strict=True))
        else:
            of = words.reading.sentences
            focus = [1.0 if of[u] == sentence else 0.0 for u in units]
            q_all = sum(
                q if f else u * self.max_weight * OUTSIDE_UNKNOWN
                for f, q, u in zip(focus, qw, words.unknown, strict=True)
            )
        # per clause: its words' weight, and what its unknown words weigh when outside a span
        n_units = units[-1] + 1 if n else 0
        unit_q = [0.0] * (n_units + 1)
        unit_out = [0.0] * (n_units + 1)
        out_share = self.max_weight * OUTSIDE_UNKNOWN
        for i in range(n):
            unit_q[units[i] + 1] += qw[i]
            unit_out[units[i] + 1] += words.unknown[i] * out_share
        for u in range(n_units):  # prefix sums
            unit_q[u + 1] += unit_q[u]
            unit_out[u + 1] += unit_out[u]
        unit_focus = [0.0] * n_units
        for i in range(n):
            unit_focus[units[i]] = max(unit_focus[units[i]], focus[i])
        referring = {units[i] for i, w in enumerate(words.reading.words) if w in REFERRING}
        entry_sims: dict[str, list[tuple[int, float]]] = {}
        best_by_entry: dict[str, Candidate] = {}
        candidates, by_kid_of = self._candidates(words)
        for lang, tid in candidates:
            by_kid = by_kid_of[lang]
            idx = self.indexes[lang]
            trig = idx.triggers[tid]
            topic = self.actions.get(trig.entry) == "answer"
            per_word: dict[int, float] = {}
            content_units: list[int] = []
            content_keys: set[int] = set()
            r_num = 0.0
            hits: list[tuple[float, list[tuple[int, float]]]] = []
            matched: list[str] = []
            for k, w in zip(trig.keys, trig.weights, strict=True):
                pairs = by_kid.get(k)
                if not pairs:
                    continue
                matched.append(idx.words[k])
                hits.append((w, pairs))
                r_num += w * max(sim * (focus[i] > 0) for i, sim in pairs)
                for i, sim in pairs:
                    if sim > per_word.get(i, 0.0):
                        per_word[i] = sim
                    if (
                        not idx.stop[k]
                        and words.kind[i] == "kb"
                        and focus[i] > 0
                        and not (topic and words.context[i])  # "now" alone asks no topic
                    ):
                        content_units.append(units[i])
                        content_keys.add(k)
            if not content_units or not trig.total:
                continue
            sims = entry_sims.get(trig.entry)
            if sims is None:
                sims = entry_sims[trig.entry] = self._entry_sims(by_kid_of, trig.entry)
            asked = (min(content_units), max(content_units))
            first, last = asked
            if first > 0 and first in referring:
                first -= 1  # "как её заблокировать" is about the clause before it
            p_all = p_span = 0.0
            for i, sim in sims:  # only words the topic explains add to precision
                explained = qw[i] * ((1 - TOPIC_BLEND) * per_word.get(i, 0.0) + TOPIC_BLEND * sim)
                p_all += focus[i] * explained
                if first <= units[i] <= last:
                    p_span += explained
            r = r_num / trig.total
            score = _f(p_all / q_all, r)
            # small talk is often one word in its own clause ("Ташаккур, ..."); a topic or a
            # hand-off read on part of a message needs two of its words there
            if sentence is not None:
                pass
            elif len(content_keys) >= (1 if self.actions.get(trig.entry) == "smalltalk" else 2):
                inside = unit_q[last + 1] - unit_q[first]
                outside = unit_out[n_units] - (unit_out[last + 1] - unit_out[first])
                # clauses that only tell the story are a weaker reading than the question
                share = SPAN_SHARE if unit_focus[first : last + 1].count(1.0) else SPAN_STORY
                # ... and contain only what they contain: the trigger's words found elsewhere
                # do not count for them
                r_span = sum(
                    w * max((sim for i, sim in pairs if first <= units[i] <= last), default=0.0)
                    for w, pairs in hits
                )
                score = max(score, share * _f(p_span / (inside + outside), r_span / trig.total))
            prev = best_by_entry.get(trig.entry)
            score *= words.reading.weight  # a reading on another layout is less likely
            if score > 0 and (prev is None or score > prev.score):
                best_by_entry[trig.entry] = Candidate(
                    trig.entry,
                    round(score, 4),
                    trig.text,
                    lang,
                    tuple(matched),
                    asked,
                    tuple(sorted(set(content_units))),
                )
        return sorted(best_by_entry.values(), key=lambda c: c.score, reverse=True)

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
        for reading in readings(text):
            if best is not None and best.top >= th.confident:
                break  # clearly meant as typed: no need to try the other layout
            words = self._words(reading)
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
                self._language(text, cov, lang_hint, None),
                normalized=norm,
                variant=best.words.reading.label if best else "",
                explanation=(*notes, "no trigger shares a word with the message"),
            )
        lang = self._language(text, best.words.coverage, lang_hint, best.ranked[0].lang)
        return self._decide(best, lang, norm, notes, detail)

    def _language(
        self, text: str, coverage: Mapping[str, float], hint: str | None, matched: str | None
    ) -> str | None:
        if has_tajik_letters(text):
            return "tg"
        kind = script(text)
        if kind == "latin":
            if matched in ("ru", "tg"):
                # Russian and Tajik in Latin letters share words: the one that knows more wins
                ru, tg = coverage.get("ru", 0.0), coverage.get("tg", 0.0)
                return "tg" if tg > ru else "ru" if ru > tg else matched
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

    def _explain(self, read: _Read, first: Candidate, every_word: bool) -> list[str]:
        words = read.words
        r = words.reading
        a, b = first.span
        part = [w for w, u in zip(r.words, r.units, strict=True) if a <= u <= b]
        lines = [f"read: {' '.join(part)!r} (clauses {a}-{b} of {r.units[-1] + 1})"]
        against = [
            w for w, k in zip(r.words, words.kind, strict=True) if k in ("unknown", "foreign")
        ]
        if against:
            lines.append(f"against: {', '.join(against)} (no topic knows them)")
        if not every_word:
            return lines
        for i, word in enumerate(r.words):
            where = "in" if a <= r.units[i] <= b else "out"
            near = []
            for lang, per_word in words.found.items():
                idx = self.indexes[lang]
                near += [f"{lang}:{idx.words[k]}:{s:.2f}" for k, s in per_word[i].items()][:3]
            lines.append(
                f"  word {word} [{where}] {words.kind[i]} w={words.weight[i]:.2f}"
                f" → {', '.join(near) or '?'}"
            )
        return lines

    def _is_small_talk(
        self, talk: Candidate, best: Candidate | None, reading: Reading, reading_kinds: list[str]
    ) -> bool:
        """ "Добрый день! Как проверить баланс?" asks; "Спасибо, всё заработало!" thanks.
        A greeting yields to any question; a thanks or a goodbye wins when nothing else in
        the message asks, or when it beats the best topic."""
        th = self.thresholds
        asks_elsewhere = any(
            asks and u not in talk.clauses for u, asks in enumerate(reading.clause_asks)
        )
        if talk.id in OPENINGS:
            return talk.score >= th.answer and (best is None or best.score < th.clarify)
        if not asks_elsewhere:
            # "Ташаккур, бисёр кӯмак кардед!" is thanks; "посоветуй хороший фильм" is not "ok"
            bar = th.answer if "unknown" in reading_kinds else th.clarify
            return talk.score >= bar and (best is None or talk.score >= best.score - 0.2)
        return talk.score >= th.answer and (best is None or talk.score > best.score)

    def _decide(
        self, read: _Read, lang: str | None, norm: str, notes: list[str], every_word: bool
    ) -> Decision:
        kind, chosen, fields = self._choose(read)
        if kind in ("none", "clarify"):
            # the whole message was not clear: perhaps one of its questions is, on its own
            alone = self._sentence_answer(read)
            if alone is not None:
                kind, chosen, fields = "answer", alone, _answer(alone, None)
        ranked = read.ranked
        why = (
            *notes,
            *self._explain(read, chosen, every_word),
            f"chosen: {chosen.id} {chosen.score:.3f} via {chosen.trigger!r} "
            f"(words {', '.join(chosen.matched)})",
            *(f"other: {c.id} {c.score:.3f} via {c.trigger!r}" for c in ranked[:4] if c != chosen),
        )
        return Decision(
            kind,
            lang,
            normalized=norm,
            variant=read.words.reading.label,
            explanation=why,
            runner_up=next((c for c in ranked if c.id != chosen.id), None),
            **fields,
        )

    def _sentence_answer(self, read: _Read) -> Candidate | None:
        """A topic that one asking sentence, read alone, answers clearly ("Утром кидала 15
        сомони. | Как глянуть, сколько сейчас на номере?")."""
        th = self.thresholds
        reading = read.words.reading
        if len(reading.asks) < 2 or "foreign" in read.words.kind:
            return None
        found: list[tuple[Candidate, float]] = []
        for sentence, asks in enumerate(reading.asks):
            if not asks:
                continue
            ranked = self._score(read.words, sentence)
            topics = [c for c in ranked if self.actions.get(c.id) == "answer"]
            if not topics:
                continue
            if self.actions.get(ranked[0].id) != "answer":
                continue  # that sentence is small talk or asks for a person
            second = topics[1].score if len(topics) > 1 else 0.0
            found.append((topics[0], topics[0].score * SENTENCE_SHARE - second * SENTENCE_SHARE))
        good = [
            c for c, lead in found if c.score * SENTENCE_SHARE >= th.answer and lead >= th.margin
        ]
        if len({c.id for c in good}) != 1:
            return None  # none, or sentences that disagree
        best = good[0]
        return dataclasses.replace(best, score=round(best.score * SENTENCE_SHARE, 4))

    def _choose(self, read: _Read) -> tuple[DecisionKind, Candidate, dict]:
        """The decision's kind, the candidate it rests on, and its other fields."""
        th = self.thresholds
        ranked = read.ranked
        first = ranked[0]
        topics = [c for c in ranked if self.actions.get(c.id) == "answer"]
        handoff = next((c for c in ranked if self.actions.get(c.id) == "handoff"), None)
        talk = next((c for c in ranked if self.actions.get(c.id) == "smalltalk"), None)
        best = topics[0] if topics else None
        if (
            handoff is not None
            and handoff.score >= th.answer
            and (best is None or handoff.score >= best.score - HANDOFF_LEAD)
        ):
            # Asking for a human needs no margin: a topic close behind is no reason to refuse.
            return "handoff", handoff, {"score": handoff.score, "intent": handoff.id}
        if talk is not None and self._is_small_talk(
            talk, best, read.words.reading, read.words.kind
        ):
            return "smalltalk", talk, {"score": talk.score, "intent": talk.id}
        # another company's product in the message: never an answer about ours, at most a
        # choice when our topic is clearly asked about
        foreign = "foreign" in read.words.kind
        if best is None or best.score < (th.clarify + FOREIGN_CLARIFY if foreign else th.clarify):
            return "none", first, {"score": first.score}
        # a topic asked in other clauses is a second question, not a rival of this one
        asks = read.words.reading.clause_asks
        others = [c for c in topics[1:] if _second_ask(c, best, asks)]
        rivals = [c for c in topics[1:] if c not in others]
        second = rivals[0].score if rivals else 0.0
        clear = best.score >= th.confident or best.score - second >= th.margin
        if best.score >= th.answer and clear and not foreign:
            # a second ask in other clauses: the one asked first is answered, the other offered
            floor = max(th.clarify, best.score - SECOND)
            also = next((c for c in others if c.score >= floor), None)
            if also is not None and also.span < best.span:
                best, also = also, best
            return "answer", best, _answer(best, also)
        floor = max(th.clarify, best.score - th.clarify_window)
        options = [c for c in [best, *rivals] if c.score >= floor]
        clean = not foreign and "unknown" not in read.words.kind
        single = th.single - CLEAN_BONUS if clean else th.single
        if len(options) == 1 and best.score >= single and not foreign:
            # nothing else comes close: "did you mean X?" with one button only slows people
            return "answer", best, _answer(best, None)
        options = options[: th.max_candidates]
        return "clarify", best, {"score": best.score, "candidates": tuple(options)}


def _answer(topic: Candidate, also: Candidate | None) -> dict:
    return {"topic": topic.id, "score": topic.score, "candidates": (topic,), "also": also}


def _roots(words: Iterable[str], lang: str) -> frozenset[str]:
    normalized = normalize(" ".join(words)).split()
    return frozenset(normalized) | {stem(w, lang) for w in normalized}


def reply_language(decision: Decision, chosen: str) -> str:
    """The language to reply in: the message's own when the bot understood it, else the one
    the subscriber chose. A miss is said in the subscriber's language, not in the language
    of a reading that scored too low to be trusted."""
    if decision.kind == "none" or decision.lang not in LANGS:
        return chosen
    return decision.lang


def _f(p: float, r: float) -> float:
    return (1 + BETA2) * p * r / (BETA2 * p + r) if p > 0 and r > 0 else 0.0


def _second_ask(other: Candidate, first: Candidate, asks: tuple[bool, ...]) -> bool:
    """``other`` is asked in clauses of its own, one of which asks ("Как проверить баланс |
    и пополнить его с карты?"); "Мне не гигабайты, а ..." asks nothing about gigabytes."""
    own = set(other.clauses) - set(first.clauses)
    return any(asks[u] for u in own)
