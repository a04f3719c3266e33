"""What the matcher decides: the decision's kind and evidence, the thresholds that make it,
and the language the bot replies in."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from knowledge.lang import LANGS

DecisionKind = Literal["answer", "clarify", "handoff", "smalltalk", "none"]


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


def reply_language(decision: Decision, chosen: str) -> str:
    """The language to reply in: the message's own when the bot understood it, else the one
    the subscriber chose. A miss is said in the subscriber's language, not in the language
    of a reading that scored too low to be trusted."""
    if decision.kind == "none" or decision.lang not in LANGS:
        return chosen
    return decision.lang
