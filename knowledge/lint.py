"""Warnings that need the matcher: triggers that would be answered with another topic."""

from __future__ import annotations

from knowledge.lang import LANGS
from knowledge.loader import KnowledgeBase, Problem
from knowledge.matcher import Matcher

CLOSE = 0.8  # a runner-up this close to an exact trigger match means near-duplicate triggers


def ambiguous_triggers(kb: KnowledgeBase, matcher: Matcher) -> list[Problem]:
    """A trigger the bot would not answer with its own topic is a likely mis-answer later:
    it sits too close to another topic's triggers (or is too vague to decide). One it does
    answer is a near-duplicate only when each of the two topics knows every word of the other's
    trigger (in that trigger's language): "tariffs" and "my tariff" score close, yet "my"
    tells them apart (the tariff list never says it), and the bot does too."""
    problems = []
    vocab = _Vocabulary(kb, matcher)
    for topic in kb.topics.values():
        file, line = kb.sources.get(topic.id, ("?", 1))
        for lang in LANGS:
            for phrase in getattr(topic.triggers, lang):
                d = matcher.match(phrase, lang)
                rival = d.runner_up
                if d.kind == "answer" and d.topic == topic.id:
                    if rival is None or rival.score < CLOSE or rival.id == topic.id:
                        continue
                    if rival.id in kb.topics and not vocab.interchangeable(
                        topic.id, phrase, lang, rival.id, rival.trigger, rival.lang
                    ):
                        continue
                    what = (
                        f'is almost a trigger of "{rival.id}" too ({rival.score:.2f} via '
                        f'"{rival.trigger}"): similar questions may get either answer'
                    )
                elif d.kind == "answer":
                    what = f'is answered with "{d.topic}" ({d.score:.2f})'
                elif d.kind == "clarify":
                    others = ", ".join(c for c in d.candidate_ids if c != topic.id)
                    what = f"is too close to {others} (the bot would ask which one)"
                else:
                    what = f"is read as {d.kind} {d.intent or ''}".rstrip()
                problems.append(
                    Problem(
                        file,
                        line,
                        f'topic "{topic.id}": trigger "{phrase}" ({lang}) {what}',
                        "warning",
                    )
                )
    return problems


class _Vocabulary:
    """The words the matcher reads in triggers, and in all of a topic's triggers."""

    def __init__(self, kb: KnowledgeBase, matcher: Matcher) -> None:
        self.kb = kb
        self.matcher = matcher
        self.words: dict[tuple[str, str, str], frozenset[str]] = {}
        self.topics: dict[tuple[str, str], frozenset[str]] = {}

    def read_as(self, phrase: str, lang: str, topic_id: str) -> frozenset[str]:
        """The words read in a trigger, matching it against its own topic."""
        key = (phrase, lang, topic_id)
        if key not in self.words:
            d = self.matcher.match(phrase, lang)
            own = [c for c in d.candidates if c.id == topic_id and c.trigger == phrase]
            self.words[key] = frozenset(own[0].matched) if own else frozenset()
        return self.words[key]

    def knows(self, topic_id: str, lang: str) -> frozenset[str]:
        """Every word read in a topic's triggers in ``lang``."""
        if (topic_id, lang) not in self.topics:
            phrases = getattr(self.kb.topics[topic_id].triggers, lang)
            self.topics[topic_id, lang] = frozenset().union(
                *(self.read_as(phrase, lang, topic_id) for phrase in phrases)
            )
        return self.topics[topic_id, lang]

    def interchangeable(
        self, one: str, phrase: str, lang: str, other: str, their: str, their_lang: str
    ) -> bool:
        """Whether each topic knows every word of the other's trigger."""
        return self.read_as(phrase, lang, one) <= self.knows(other, lang) and self.read_as(
            their, their_lang, other
        ) <= self.knows(one, their_lang)
