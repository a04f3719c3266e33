"""What the matcher holds while it reads one message: its words as the indexes see them, the
scored reading, and the scoring context shared by every candidate trigger."""

from __future__ import annotations

from dataclasses import dataclass, field

from knowledge.decision import Candidate
from knowledge.index import Trigger
from knowledge.reading import Reading

# a key's matches in one frame: its word, its best similarity in a word read, its
# (word, similarity) pairs, and the clauses of the content words it matched, for a topic
# (context words left out) and for an intent
_KeyHits = tuple[str, float, list[tuple[int, float]], list[int], list[int]]
# what a trigger's matched keys find (Matcher._shared): the recall's numerator, the
# precision, the read on its own clauses (share, precision, recall's numerator) if it has
# one, the matched words, the clauses asked, the content clauses, whether they only tell
# what happened; all its score needs but its total
_Shared = tuple[
    float,
    float,
    tuple[float, float, float] | None,
    tuple[str, ...],
    tuple[int, int],
    list[int],
    bool,
]
_UNSEEN = object()  # a group of candidates not scored yet in a frame


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
    # per language: key → [(word, similarity)], once the whole message is scored
    by_kid_of: dict[str, dict[int, list[tuple[int, float]]]] = field(default_factory=dict)
    # the triggers worth scoring, (lang, trigger): the same for the whole message and for
    # each of its sentences, so found once
    candidates: list[tuple[str, Trigger]] | None = None
    # per candidate, its group (matcher._groups): an entry's triggers that find the same
    # keys in the message, scored alike but for their totals; and how many groups there are
    groups: list[int] = field(default_factory=list)
    n_groups: int = 0
    # entry → (word, similarity) of each word any of its triggers explains
    entry_sims: dict[str, list[tuple[int, float]]] = field(default_factory=dict)


@dataclass(slots=True)
class _Read:
    words: _Words
    ranked: list[Candidate]
    top: float


@dataclass(slots=True)
class _Frame:
    """One message's scoring context, shared by all its candidate triggers."""

    sentence: int | None
    focus: list[float]
    q_all: float
    unit_q: list[float]  # prefix sums of the words' weights per clause
    unit_out: list[float]  # prefix sums of what unknown words weigh outside a span
    unit_focus: list[float]
    referring: set[int]  # clauses that point back ("как её заблокировать")
    past: set[int]  # clauses that tell what happened, in a sentence that asks
    candidates: list[tuple[str, Trigger]]
    by_kid_of: dict[str, dict[int, list[tuple[int, float]]]]
    # per language: key → what it finds in the message, the same for every trigger with it
    keys: dict[str, dict[int, _KeyHits]]
    # per group of candidates (_Words.groups): what their matched keys find, all their
    # scores need but their totals; None when no content word matches, _UNSEEN until asked
    shared: list[_Shared | object | None]
    # entry → per word it explains: (word, weight, focus, clause, blended similarity)
    terms: dict[str, list[tuple[int, float, float, int, float]]] = field(default_factory=dict)
