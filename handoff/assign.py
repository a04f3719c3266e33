"""Automatic assignment: which agent on shift a waiting ticket goes to (pure; no I/O).

Policies (``agents.assignment`` in config.yaml): ``none`` (nobody is picked: agents claim),
``round_robin`` (the agent on shift given a ticket longest ago — never before counts as
longest — ties by the smaller id) and ``least_loaded`` (the fewest open claimed tickets, then
as round-robin). An agent holding ``max_open`` open tickets or more is skipped; when every
agent on shift is, nobody is picked and the ticket waits in the queue.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Policy = Literal["none", "round_robin", "least_loaded"]
POLICIES: tuple[str, ...] = ("none", "round_robin", "least_loaded")


@dataclass(frozen=True, slots=True)
class OnShift:
    """An agent on shift as assignment sees them."""

    agent_id: int
    name: str
    last_assigned_at: float | None  # when assignment last gave them a ticket
    open_tickets: int  # claimed by them and not closed


def _round_robin_key(agent: OnShift) -> tuple[float, int]:
    last = -math.inf if agent.last_assigned_at is None else agent.last_assigned_at
    return (last, agent.agent_id)


def choose(policy: str, agents: Iterable[OnShift], max_open: int | None = None) -> OnShift | None:
    """The agent the next waiting ticket goes to, or None (policy ``none``, nobody on shift,
    or everyone at ``max_open``)."""
    if policy == "none":
        return None
    if policy not in POLICIES:
        raise ValueError(f"unknown assignment policy {policy!r}; expected one of {POLICIES}")
    free = [a for a in agents if max_open is None or a.open_tickets < max_open]
    if not free:
        return None
    if policy == "least_loaded":
        return min(free, key=lambda a: (a.open_tickets, *_round_robin_key(a)))
    return min(free, key=_round_robin_key)
