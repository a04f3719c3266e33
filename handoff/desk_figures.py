"""The desk's figures for the lead's report that come from the desk's own records: tickets per
hour on shift (``/shift on`` … ``/shift off`` events) and the tickets by priority and by label
with their SLA attainment. ``handoff.insights`` reads them into its ``Insights``.

Definitions: an agent's closes in the window ÷ their hours on shift in it (a shift begun before
the window counts from the window's start, one still on up to its end); a ticket with two
labels is in both labels' rows, by the priority and labels it carries now."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from handoff.hours import WorkingHours
from handoff.labels import PRIORITIES
from handoff.reports import DEFAULT_TZ, ReportRows
from handoff.sla import Attainment, SlaTargets, sla_of

# -- tickets per hour on shift ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ShiftRate:
    """An agent's closes per hour on shift in the window (``/shift on`` … ``/shift off``)."""

    agent_id: int
    agent_name: str
    hours_on_shift: float
    closed: int  # their closes in the window, on shift or not
    per_hour: float | None  # closed / hours_on_shift; None with no time on shift


class ShiftSource(Protocol):
    async def shift_rows(
        self, since: float, until: float
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]: ...

    async def names(self) -> dict[int, str]: ...


class HasShifts(Protocol):
    agents: ShiftSource


async def read_shift_rates(store: HasShifts, since: float, until: float) -> tuple[ShiftRate, ...]:
    """Read the shift events and closes of ``[since, until)`` and compute the rates."""
    shifts, closes = await store.agents.shift_rows(since, until)
    return shift_rates(shifts, closes, since, until, await store.agents.names())


def shift_rates(
    shifts: Sequence[Mapping[str, Any]],
    closes: Sequence[Mapping[str, Any]],
    since: float,
    until: float,
    names: Mapping[int, str],
) -> tuple[ShiftRate, ...]:
    """Per agent: the hours of ``[since, until)`` they were on shift (``shifts``: every
    ``shift_on``/``shift_off`` event before ``until``, oldest first; a shift begun before the
    window counts from its start, one not ended by ``until`` up to it), the closes
    (``closes``: "closed" events by an agent in the window) and closes per hour on shift.
    Agents with neither are left out; by name."""
    seconds: Counter[int] = Counter()
    on_since: dict[int, float] = {}
    for e in shifts:
        agent = e["agent_id"]
        if e["name"] == "shift_on":
            on_since.setdefault(agent, e["ts"])
        elif agent in on_since:
            seconds[agent] += _overlap(on_since.pop(agent), e["ts"], since, until)
    for agent, start in on_since.items():
        seconds[agent] += _overlap(start, until, since, until)
    closed = Counter(e["agent_id"] for e in closes)
    rates = []
    for agent in {a for a, s in seconds.items() if s > 0} | set(closed):
        hours = seconds[agent] / 3600
        per_hour = closed[agent] / hours if hours > 0 else None
        rates.append(
            ShiftRate(agent, names.get(agent) or str(agent), hours, closed[agent], per_hour)
        )
    return tuple(sorted(rates, key=lambda r: (r.agent_name, r.agent_id)))


def _overlap(start: float, end: float, since: float, until: float) -> float:
    return max(0.0, min(end, until) - max(start, since))


# -- by priority and by label -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Segment:
    key: str  # a priority or a label
    tickets: int
    first_response: Attainment
    resolution: Attainment


@dataclass(frozen=True, slots=True)
class Triage:
    by_priority: tuple[Segment, ...]  # urgent first, only priorities the window's tickets have
    by_label: tuple[Segment, ...]  # most tickets first


def triage_of(
    rows: ReportRows,
    labels: Mapping[int, Sequence[str]],
    until: float,
    tz: str = DEFAULT_TZ,
    sla: SlaTargets | None = None,
    hours: WorkingHours | None = None,
) -> Triage:
    """The window's tickets and their SLA attainment by priority and by label (``labels``:
    ticket id → its labels)."""
    sla = sla or SlaTargets()
    clock, zone = sla.clock(hours), ZoneInfo(tz)

    def segment(key: str, group: list[dict[str, Any]]) -> Segment:
        judged = sla_of(group, rows.events, until, sla, clock, zone)
        return Segment(key, len(group), judged.first_response, judged.resolution)

    by_priority: dict[str, list[dict[str, Any]]] = defaultdict(list)
    by_label: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for t in rows.tickets:
        by_priority[t.get("priority") or "normal"].append(t)
        for label in labels.get(t["id"], ()):
            by_label[label].append(t)
    order = {p: n for n, p in enumerate(PRIORITIES)}
    priorities = sorted(by_priority, key=lambda p: (order.get(p, len(order)), p))
    labelled = sorted(by_label, key=lambda label: (-len(by_label[label]), label))
    return Triage(
        tuple(segment(p, by_priority[p]) for p in priorities),
        tuple(segment(label, by_label[label]) for label in labelled),
    )
