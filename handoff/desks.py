"""Which desk (operators' group) a new ticket goes to: a pure choice over the desks' rules and
their load at that moment.

A desk matches a ticket when the subscriber's language is one of its ``languages`` and the
ticket's KB category one of its ``categories`` (an empty list takes any; a ticket whose
category is unknown matches only desks that take any). Among the matching desks the most
specific wins (a rule that names the language or the category beats one that takes any), and
among equals the one with the most spare budget, then the fewest waiting tickets, then the
first in the configuration.

Overflow: a desk whose outgoing queue would keep a message waiting more than
``overflow_after`` seconds is busy. A busy desk is passed over for the next matching one (in
the order above); when every matching desk is busy the ticket goes to any desk that is not
(most spare budget first) — agents of another desk see it rather than nobody for minutes; when
every desk is busy, to the matching desk that would keep it waiting the least. No matching
desk at all: the same rule over every desk.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from handoff.tickets import Ticket


@dataclass(frozen=True, slots=True)
class DeskRule:
    """A desk's name and what it serves (empty: any)."""

    name: str
    languages: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()

    def matches(self, lang: str | None, category: str | None) -> bool:
        lang_ok = not self.languages or lang in self.languages
        category_ok = not self.categories or category in self.categories
        return lang_ok and category_ok

    def specificity(self) -> int:
        return bool(self.languages) + bool(self.categories)


@dataclass(frozen=True, slots=True)
class DeskLoad:
    """A desk's load now: how long a message to its group would wait (``wait``, seconds), how
    many more it may send at once (``spare``), and its waiting tickets."""

    wait: float = 0.0
    spare: float = 0.0
    waiting: int = 0


def choose_desk(
    rules: Sequence[DeskRule],
    loads: dict[str, DeskLoad],
    lang: str | None,
    category: str | None,
    overflow_after: float,
) -> str | None:
    """The name of the desk a new ticket goes to (None: there are no desks)."""
    if not rules:
        return None
    matching = [r for r in rules if r.matches(lang, category)] or list(rules)
    order = {r.name: i for i, r in enumerate(rules)}

    def load(rule: DeskRule) -> DeskLoad:
        return loads.get(rule.name, DeskLoad())

    def rank(rule: DeskRule) -> tuple:
        d = load(rule)
        return (-rule.specificity(), -d.spare, d.waiting, order[rule.name])

    def free(rule: DeskRule) -> bool:
        return load(rule).wait <= overflow_after

    for rule in sorted(matching, key=rank):
        if free(rule):
            return rule.name
    others = [r for r in rules if r not in matching and free(r)]
    if others:
        return min(others, key=lambda r: (-load(r).spare, load(r).waiting, order[r.name])).name
    return min(matching, key=lambda r: (load(r).wait, order[r.name])).name


def desk_names(name: str, default: bool) -> tuple[str, ...]:
    """The values of ``tickets.desk`` that mean this desk: its name, and for the default desk
    also "" (a ticket from before desks, or of the one ``agents.group_id``)."""
    return (name, "") if default else (name,)


@dataclass(frozen=True, slots=True)
class DeskFigures:
    """A desk's day (per-desk ``/stats``): tickets handed off to it, how many are waiting
    and being handled now, closed, the median wait until claimed, the average rating."""

    handed_off: int = 0
    waiting: int = 0
    claimed: int = 0
    closed: int = 0
    median_wait: float | None = None
    csat: float | None = None


def desk_figures(tickets: Sequence[Ticket], waiting: int) -> DeskFigures:
    """The figures of one desk's ``tickets`` handed off in the period, with its ``waiting``
    tickets now (of any day)."""
    waits = sorted(t.claimed_at - t.created_at for t in tickets if t.claimed_at is not None)
    rated = [t.csat for t in tickets if t.csat is not None]
    return DeskFigures(
        handed_off=len(tickets),
        waiting=waiting,
        claimed=sum(t.status == "claimed" for t in tickets),
        closed=sum(t.status == "closed" for t in tickets),
        median_wait=statistics.median(waits) if waits else None,
        csat=sum(rated) / len(rated) if rated else None,
    )
