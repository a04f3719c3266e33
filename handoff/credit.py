"""Who did what on a ticket, from its events: the per-agent credit the reports show.

A first response counts for whoever sent it, handling for whoever held the ticket while it was
handled (each holder their own stretch), a close for whoever closed it, a rating for the agent
who had the ticket when it closed. A ticket the system closed (the subscriber blocked the bot
or closed it, a timeout) is nobody's close and nobody's handling.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from handoff.tickets import SYSTEM_CLOSE_REASONS


@dataclass
class AgentWork:
    name: str | None = None  # as on their latest ticket
    tickets: set[int] = field(default_factory=set)
    first_responses: list[float] = field(default_factory=list)
    handling: list[float] = field(default_factory=list)
    closed: int = 0
    ratings: list[int] = field(default_factory=list)


def credit(
    tickets: Sequence[dict[str, Any]], events: Sequence[dict[str, Any]]
) -> dict[int, AgentWork]:
    """Each agent's part in ``tickets`` (rows of ``Ticket.metrics()``), given the tickets'
    ``events`` (rows with ticket_id, name, ts, agent_id, detail; in order)."""
    by_ticket: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for e in events:
        by_ticket[e["ticket_id"]].append(e)
    work: dict[int, AgentWork] = defaultdict(AgentWork)
    for t in tickets:
        steps = by_ticket.get(t["id"], [])
        if t["agent_id"] is not None:
            agent = work[t["agent_id"]]
            agent.tickets.add(t["id"])
            agent.name = t["agent_name"] or agent.name
            if t["csat"] is not None:
                agent.ratings.append(t["csat"])
        for e in steps:
            if e["name"] == "first_response" and e["agent_id"] is not None:
                work[e["agent_id"]].first_responses.append(t["first_response_time"])
                work[e["agent_id"]].tickets.add(t["id"])
        if t["status"] != "closed" or t["close_reason"] in SYSTEM_CLOSE_REASONS:
            continue
        for agent_id, seconds in held(steps).items():
            work[agent_id].handling.append(seconds)
            work[agent_id].tickets.add(t["id"])
        closer = next((e["agent_id"] for e in reversed(steps) if e["name"] == "closed"), None)
        closer = closer if closer is not None else t["agent_id"]
        if closer is not None:
            work[closer].closed += 1
            work[closer].tickets.add(t["id"])
    return dict(work)


def held(events: Sequence[dict[str, Any]]) -> dict[int, float]:
    """Seconds each agent held a ticket, from its events in order: a claim, a take-over or a
    transfer to them starts a stretch; a release, a transfer, a take-over or the close ends it."""
    seconds: dict[int, float] = defaultdict(float)
    holder: int | None = None
    since = 0.0
    for e in events:
        name, ts = e["name"], e["ts"]
        if holder is not None and name in ("released", "transferred", "taken_over", "closed"):
            seconds[holder] += ts - since
            holder = None
        if name in ("claimed", "taken_over"):
            holder, since = e["agent_id"], ts
        elif name == "transferred" and e["detail"]:
            holder, since = int(e["detail"]), ts
    return dict(seconds)
