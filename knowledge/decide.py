"""The decision rules: which candidate a message gets — a hand-off, small talk, an answer
(with a second ask), "did you mean" or none — and the explanation of why. A mixin of
``Matcher``, which scores; this module decides."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from knowledge.decision import Candidate, Decision, DecisionKind, Thresholds
from knowledge.index import STOPWORD_WEIGHT, word_key
from knowledge.lang import LANGS
from knowledge.reading import QUESTION_WORDS
from knowledge.text import normalize

if TYPE_CHECKING:
    from knowledge.index import Index
    from knowledge.loader import KnowledgeBase
    from knowledge.matcher import _Read, _Words

OPENINGS = frozenset({"greeting"})  # small talk that opens a question rather than ends one
SENTENCE_SHARE = 0.9  # a question read as a sentence on its own, against the whole message
SECOND = 0.3  # a second ask is offered when its score is within this of the first
HANDOFF_LEAD = 0.1  # a request for a person wins unless a topic is clearly the better reading
CLOSE = 0.85  # a word a topic explains closely enough to tell two topics apart
FOREIGN_CLARIFY = 0.2  # a choice in a message naming another company's product needs this more
LONG_WORDS = 14  # a message this long is a chat message: a story around its question
LONG_ANSWER = 0.34  # ... whose leader, with nothing against it, is answered from this score
# the question words as keys: what a trigger asks ("где", "как", "сколько")
QUESTION_KEYS = frozenset(word_key(normalize(w), lang) for w in QUESTION_WORDS for lang in LANGS)


class DecisionRules:
    """Turns a reading's ranked candidates into a Decision."""

    thresholds: Thresholds
    kb: KnowledgeBase
    indexes: dict[str, Index]
    actions: dict[str, str]
    max_weight: float

    def _score(self, words: _Words, sentence: int | None = None) -> list[Candidate]:
        raise NotImplementedError

    def _talk_only(self, found: dict[str, list[dict[int, float]]], i: int) -> bool:
        raise NotImplementedError

    def _entry_sims(self, words: _Words, entry: str) -> list[tuple[int, float]]:
        raise NotImplementedError

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

    def _is_small_talk(self, talk: Candidate, best: Candidate | None, words: _Words) -> bool:
        """ "Добрый день! Как проверить баланс?" asks; "Спасибо, всё заработало!" thanks.
        A greeting yields to any question; a thanks or a goodbye wins when nothing else in
        the message asks, or when it beats the best topic."""
        th = self.thresholds
        reading, reading_kinds = words.reading, words.kind
        asks_elsewhere = any(
            asks and u not in talk.clauses for u, asks in enumerate(reading.clause_asks)
        )
        if talk.id in OPENINGS:
            # "Салом! Баланс чанд монд?" asks: it is not answered with a greeting
            return (
                talk.score >= th.answer
                and (
                    best is None or best.score < th.clarify or self._greets_only(words, best, talk)
                )
                and not self._asks_a_topic(words, talk)
            )
        if not asks_elsewhere:
            # "Ташаккур, бисёр кӯмак кардед!" is thanks; "посоветуй хороший фильм" is not "ok"
            bar = th.answer if "unknown" in reading_kinds else th.clarify
            return talk.score >= bar and (best is None or talk.score >= best.score - 0.2)
        return talk.score >= th.answer and (best is None or talk.score > best.score)

    def _positions(self, words: _Words, c: Candidate) -> set[int]:
        """The message's words that ``c``'s matched keys found."""
        idx = self.indexes[c.lang]
        by_kid = words.by_kid_of.get(c.lang, {})
        return {i for w in c.matched for i, _ in by_kid.get(idx.vocab[w], ())}

    def _greets_only(self, words: _Words, best: Candidate, talk: Candidate) -> bool:
        """The best topic found only words the greeting has ("Hello! | How are you?" and the
        "hello tune"): no question of its own."""
        floor = self.max_weight * STOPWORD_WEIGHT
        content = {i for i in self._positions(words, best) if words.weight[i] > floor}
        return content <= self._positions(words, talk)

    def _linked(self, best: Candidate, rival: Candidate) -> bool:
        """The answer of ``best`` links to ``rival`` (a related topic), ``best`` explains more
        of the message's words (one word both share, "интернет", is still a choice), and
        both read the same question: ``rival`` matched no question word ``best`` did not
        ("где ловит 4g" asks where it works, not how to turn it on)."""
        topic = self.kb.topics.get(best.id)
        if topic is None or rival.id not in topic.related:
            return False
        more = len(self._content(best)) > len(self._content(rival))
        return more and _asked(rival) <= _asked(best)

    def _explains(self, read: _Read, entry: str) -> set[int]:
        """The message's content words (a KB word, not a function or context word) that
        some trigger of ``entry`` has, closely."""
        words = read.words
        floor = self.max_weight * STOPWORD_WEIGHT
        return {
            i
            for i, sim in self._entry_sims(words, entry)
            if sim >= CLOSE
            and words.kind[i] == "kb"
            and words.weight[i] > floor
            and not words.context[i]
        }

    def _undominated(
        self, read: _Read, best: Candidate, rivals: list[Candidate]
    ) -> tuple[Candidate, list[Candidate]]:
        """A close rival whose topic explains only words the best one's topic explains too is
        no other reading of the message: "Купил Samsung, ... какую точку доступа прописать?"
        is Android's access point, whose topic also knows "Samsung", not the iPhone's. When
        the best is so dominated by a close rival, the rival leads, unless the best's answer
        links to it ("интернет не работает на андроиде": the Android settings one tap away)."""
        close = [c for c in rivals if best.score - c.score < self.thresholds.margin]
        if not close:
            return best, rivals
        mine = self._explains(read, best.id)
        topic = self.kb.topics.get(best.id)
        related = topic.related if topic is not None else ()
        for c in close:
            if c.id in related:
                break  # the answer links to it: one tap away, as it is
            theirs = self._explains(read, c.id)
            if mine < theirs:
                best, rivals, mine = c, [best, *(r for r in rivals if r != c)], theirs
                break
        kept = [
            c
            for c in rivals
            if best.score - c.score >= self.thresholds.margin
            or not self._explains(read, c.id) < mine
        ]
        return best, kept

    def _own_clauses(self, read: _Read, c: Candidate, other: Candidate) -> set[int]:
        """The clauses of the words ``c`` matched and ``other`` did not."""
        units = read.words.reading.units
        theirs = self._positions(read.words, other)
        return {units[i] for i in self._positions(read.words, c) - theirs}

    def _asked_apart(self, read: _Read, other: Candidate, first: Candidate) -> bool:
        """Two asks that share a word ("Как включить 4G | и где посмотреть, есть ли 4G в
        Турсунзаде?"): the words each matched that the other did not lie in clauses apart,
        and one of ``other``'s asks."""
        asks, units = read.words.reading.clause_asks, read.words.reading.units
        if not units or units[-1] == 0 or other.score < first.score - SECOND:
            return False  # one clause; or too far behind to be offered or to be a choice
        theirs = self._own_clauses(read, other, first)
        mine = self._own_clauses(read, first, other)
        return bool(theirs and mine) and not theirs & mine and any(asks[u] for u in theirs)

    def _asked_first(self, read: _Read, a: Candidate, b: Candidate) -> bool:
        """``a`` is asked before ``b``: its span starts earlier, or, on the same clauses, the
        words only it matched come first."""
        if a.span != b.span:
            return a.span < b.span
        mine, theirs = self._own_clauses(read, a, b), self._own_clauses(read, b, a)
        return bool(mine and theirs) and min(mine) < min(theirs)

    def _content(self, c: Candidate) -> set[str]:
        idx = self.indexes[c.lang]
        return {w for w in c.matched if not idx.stop[idx.vocab[w]]}

    def _asks_a_topic(self, words: _Words, talk: Candidate) -> bool:
        """Another clause asks about a word a topic has as such ("Салом! |
        Баланс чанд монд?"); "Добрый день! | Можно задать вопрос?" only asks to ask."""
        reading = words.reading
        floor = self.max_weight * STOPWORD_WEIGHT
        return any(
            reading.clause_asks[u]
            and u not in talk.clauses
            and words.kind[i] == "kb"
            and words.unknown[i] == 0.0
            and words.weight[i] > floor
            and not words.context[i]
            and not self._talk_only(words.found, i)  # "Салом, | хубед?" asks how we are
            for i, u in enumerate(reading.units)
        )

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
        before = next(i for i, (c, _) in enumerate(found) if c.id == best.id)
        if len(self._content(best)) < 2 and any(
            c.score * SENTENCE_SHARE >= th.clarify for c, _ in found[:before]
        ):
            # "Ба Макси гузаштан мехоҳам, чӣ тавр? | Пулаш чанд?": one word of a topic in a
            # later sentence does not overrule what the message asked first
            return None
        return dataclasses.replace(best, score=round(best.score * SENTENCE_SHARE, 4))

    def _code_switched(self, read: _Read) -> bool:
        """Russian and Tajik words in one message ("барои писарам новую симку гирифтан
        мехоҳам"): some Cyrillic content words are found as such in Russian only, others in
        Tajik only, so no one trigger can have them all."""
        words = read.words
        floor = self.max_weight * STOPWORD_WEIGHT
        only: set[str] = set()
        for i, kind in enumerate(words.kind):
            if (
                kind != "kb"
                or words.weight[i] <= floor
                or words.context[i]
                or words.reading.words[i].isascii()
            ):
                continue
            ru = max(words.found["ru"][i].values(), default=0.0)
            tg = max(words.found["tg"][i].values(), default=0.0)
            if max(ru, tg) == 1.0 and min(ru, tg) < CLOSE:
                only.add("ru" if ru > tg else "tg")
        return len(only) == 2

    def _diluted(self, read: _Read, best: Candidate, topics: list[Candidate]) -> bool:
        """A long chat message ("Интернет вдруг перестал работать, деньги на счету есть,
        пакет есть, телефон перезагружала — не помогает. Что ещё проверить?") with no word
        against its best topic (none unknown, none another company's) and that topic clearly
        ahead of the next: answered, though the story lowers its score under ``answer``."""
        th = self.thresholds
        kinds = read.words.kind
        second = topics[1].score if len(topics) > 1 else 0.0
        return (
            (len(kinds) >= LONG_WORDS or self._code_switched(read))
            and th.answer > best.score >= LONG_ANSWER
            and best.score - second >= th.margin
            and not any(k in ("unknown", "foreign") for k in kinds)
        )

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
        if talk is not None and self._is_small_talk(talk, best, read.words):
            return "smalltalk", talk, {"score": talk.score, "intent": talk.id}
        # another company's product in the message: never an answer about ours, at most a
        # choice when our topic is clearly asked about
        foreign = "foreign" in read.words.kind
        if best is not None and self._diluted(read, best, topics):
            # a long message whose every word the KB knows or takes for context: its lower
            # score is the story around the question, not evidence of something else
            return "answer", best, _answer(best, None)
        if best is None or best.score < (th.clarify + FOREIGN_CLARIFY if foreign else th.clarify):
            return "none", first, {"score": first.score}
        # a topic asked in other clauses is a second question, not a rival of this one
        asks = read.words.reading.clause_asks
        others = [
            c for c in topics[1:] if _second_ask(c, best, asks) or self._asked_apart(read, c, best)
        ]
        rivals = [c for c in topics[1:] if c not in others]
        best, rivals = self._undominated(read, best, rivals)
        second = rivals[0].score if rivals else 0.0
        clear = best.score >= th.confident or best.score - second >= th.margin
        if not clear and rivals and self._linked(best, rivals[0]):
            # the answer links to the close rival: one tap away, no "did you mean" needed
            clear = len(rivals) == 1 or best.score - rivals[1].score >= th.margin
        if best.score >= th.answer and clear and not foreign:
            # a second ask in other clauses: the one asked first is answered, the other offered
            floor = max(th.clarify, best.score - SECOND)
            also = next((c for c in others if c.score >= floor), None)
            if also is not None and self._asked_first(read, also, best):
                best, also = also, best
            return "answer", best, _answer(best, also)
        floor = max(th.clarify, best.score - th.clarify_window)
        options = [c for c in [best, *rivals] if c.score >= floor]
        if len(options) == 1 and best.score >= th.single and not foreign:
            # nothing else comes close: "did you mean X?" with one button only slows people
            return "answer", best, _answer(best, None)
        options = options[: th.max_candidates]
        return "clarify", best, {"score": best.score, "candidates": tuple(options)}


def _asked(c: Candidate) -> set[str]:
    return {w for w in c.matched if w in QUESTION_KEYS}


def _answer(topic: Candidate, also: Candidate | None) -> dict:
    return {"topic": topic.id, "score": topic.score, "candidates": (topic,), "also": also}


def _second_ask(other: Candidate, first: Candidate, asks: tuple[bool, ...]) -> bool:
    """``other`` is asked in clauses of its own, one of which asks ("Как проверить баланс |
    и пополнить его с карты?"); "Мне не гигабайты, а ..." asks nothing about gigabytes."""
    own = set(other.clauses) - set(first.clauses)
    return any(asks[u] for u in own)
