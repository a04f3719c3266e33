"""Warnings that need the matcher: triggers that would be answered with another topic."""

from __future__ import annotations

from knowledge.lang import LANGS
from knowledge.loader import KnowledgeBase, Problem
from knowledge.matcher import Matcher

CLOSE = 0.8  # a runner-up this close to an exact trigger match means near-duplicate triggers


def ambiguous_triggers(kb: KnowledgeBase, matcher: Matcher) -> list[Problem]:
    """A trigger the bot would not answer with its own topic is a likely mis-answer later:
    it sits too close to another topic's triggers (or is too vague to decide)."""
    problems = []
    for topic in kb.topics.values():
        file, line = kb.sources.get(topic.id, ("?", 1))
        for lang in LANGS:
            for phrase in getattr(topic.triggers, lang):
                d = matcher.match(phrase, lang)
                rival = d.runner_up
                if d.kind == "answer" and d.topic == topic.id:
                    if rival is None or rival.score < CLOSE or rival.id == topic.id:
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
