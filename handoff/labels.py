"""A ticket's triage, as rules: its priority (low, normal, high, urgent) and its labels — how a
label is written, which are allowed, how many a ticket may carry — and the queue's order.

The queue is served by priority, then by how long a ticket has waited: urgent and high
tickets go first, low ones last. A subscriber is told their place in that same order, so the
number counts the tickets that would be served before them at that moment; a ticket raised
to high later overtakes them (nobody is told again: that would be a message for every raise).
"""

from __future__ import annotations

import dataclasses
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from handoff.tickets import QueueEntry

PRIORITIES: tuple[str, ...] = ("urgent", "high", "normal", "low")  # served in this order
DEFAULT_PRIORITY = "normal"
RAISED: frozenset[str] = frozenset({"urgent", "high"})  # marked in /queue and on the card
MAX_LABEL_CHARS = 32
MAX_LABELS = 10
_LABEL_PUNCTUATION = frozenset("_-")


class LabelRefused(ValueError):
    """A label that can't be stored; ``code`` names why (``empty``, ``too_long``,
    ``bad_chars``, ``mixed_scripts``, ``not_allowed``, ``too_many``) and ``label`` is the
    one refused."""

    def __init__(self, code: str, label: str) -> None:
        super().__init__(f"label {label!r}: {code}")
        self.code = code
        self.label = label


def parse_priority(text: str) -> str | None:
    """``"High"`` → ``"high"``; None for anything that is not a priority."""
    value = text.strip().lower()
    return value if value in PRIORITIES else None


def normalize_label(text: str) -> str:
    """How a label is stored: NFKC, case-folded, without a leading ``#`` (``"#Роуминг"`` →
    ``"роуминг"``; fullwidth ``ｂｉｌｌｉｎｇ`` and the ligature in ``ﬁle`` are the plain
    letters). Raises ``LabelRefused`` for an empty, over-long or oddly written one: letters
    (with their accents) and digits of any script, ``_`` and ``-`` only, and the letters of
    one script in each word (``bіlling`` with a Cyrillic ``і`` looks like ``billing`` and
    would split it)."""
    folded = unicodedata.normalize("NFKC", text.strip()).lstrip("#").casefold()
    label = unicodedata.normalize("NFC", folded)
    if not label:
        raise LabelRefused("empty", text)
    if len(label) > MAX_LABEL_CHARS:
        raise LabelRefused("too_long", text)
    if not all(_label_char(c, i) for i, c in enumerate(label)):
        raise LabelRefused("bad_chars", text)
    words = label.replace("-", "_").split("_")  # "интернет_4g": each word its own script
    if any(len({_script(c) for c in word if c.isalpha()}) > 1 for word in words):
        raise LabelRefused("mixed_scripts", text)
    return label


def _label_char(c: str, at: int) -> bool:
    # a combining accent after a letter is part of it ("i̇" is how İ folds)
    return c.isalnum() or c in _LABEL_PUNCTUATION or (at > 0 and unicodedata.category(c) == "Mn")


def _script(letter: str) -> str:
    """A letter's script, by the first word of its Unicode name (LATIN, CYRILLIC, ARABIC...)."""
    return unicodedata.name(letter, "?").split(" ")[0]


@dataclass(frozen=True, slots=True)
class LabelChange:
    """What ``/label`` asked for: labels to add and labels to remove (normalized)."""

    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.add and not self.remove


def parse_labels(words: Iterable[str], allowed: Sequence[str] = ()) -> LabelChange:
    """``["billing", "-roaming"]``: add billing, remove roaming. A label to add must be in
    ``allowed`` when that list is not empty; removing is always possible (a label taken off
    the list can still be removed)."""
    allowed_set = {normalize_label(a) for a in allowed}
    add: list[str] = []
    remove: list[str] = []
    for word in words:
        if word.startswith("-"):
            _append(remove, normalize_label(word[1:]))
            continue
        label = normalize_label(word)
        if allowed_set and label not in allowed_set:
            raise LabelRefused("not_allowed", label)
        _append(add, label)
    return LabelChange(tuple(add), tuple(remove))


def _append(into: list[str], label: str) -> None:
    if label not in into:
        into.append(label)


def apply_labels(current: Sequence[str], change: LabelChange) -> tuple[str, ...]:
    """The ticket's labels after ``change``, in the order they were added; more than
    ``MAX_LABELS`` raises ``LabelRefused("too_many", <the first label over>)``."""
    labels = [label for label in current if label not in change.remove]
    for label in change.add:
        if label in change.remove or label in labels:
            continue
        if len(labels) >= MAX_LABELS:
            raise LabelRefused("too_many", label)
        labels.append(label)
    return tuple(labels)


def priority_rank(priority: str | None) -> int:
    """0 for urgent … 3 for low; an unknown value counts as normal."""
    value = priority if priority in PRIORITIES else DEFAULT_PRIORITY
    return PRIORITIES.index(value)


def in_priority_order(queue: Sequence[QueueEntry]) -> list[QueueEntry]:
    """The waiting tickets in the order they are served: by priority, then as they were
    (longest waiting first); positions renumbered from 1."""
    ordered = sorted(
        enumerate(queue), key=lambda item: (priority_rank(item[1].ticket.priority), item[0])
    )
    return [
        dataclasses.replace(entry, position=position)
        for position, (_, entry) in enumerate(ordered, start=1)
    ]
