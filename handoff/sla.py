"""SLA attainment: how many of a window's tickets got their first response and their
resolution within the targets, counted in business hours when the desk has them. The
definitions are in ``handoff.insights``."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from handoff.hours import WorkingHours
from handoff.tickets import SYSTEM_CLOSE_REASONS

BREACH_LIMIT = 20
DEFAULT_NUDGE = 0.8
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


# -- configuration ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SlaTargets:
    first_response: float | None = None  # seconds; None: no target
    resolution: float | None = None
    business_hours: bool = False
    nudge: float | None = DEFAULT_NUDGE  # share of first_response after which the desk is told

    @classmethod
    def from_config(cls, value: Any, where: str = "reports.sla") -> SlaTargets:
        """``{first_response: 15m, resolution: 4h, business_hours: true}``; a duration is
        seconds or a number with s, m, h or d. A wrong value raises ``ValueError`` naming
        its key."""
        if value is None:
            return cls()
        if not isinstance(value, Mapping):
            raise ValueError(f"{where}: expected a mapping, got {value!r}")
        unknown = set(value) - {"first_response", "resolution", "business_hours", "nudge"}
        if unknown:
            raise ValueError(
                f"{where}.{sorted(map(str, unknown))[0]}: unknown key;"
                " expected first_response, resolution, business_hours or nudge"
            )
        hours = value.get("business_hours", False)
        if not isinstance(hours, bool):
            raise ValueError(f"{where}.business_hours: expected true or false, got {hours!r}")
        return cls(
            _seconds(value.get("first_response"), f"{where}.first_response"),
            _seconds(value.get("resolution"), f"{where}.resolution"),
            hours,
            _share(value.get("nudge", DEFAULT_NUDGE), f"{where}.nudge"),
        )

    def clock(self, hours: WorkingHours | None) -> WorkingHours:
        """The clock the targets run on: the desk's hours with ``business_hours``, else
        round the clock."""
        return hours if (self.business_hours and hours is not None) else WorkingHours()


def _share(value: Any, where: str) -> float | None:
    """``nudge``: a share of the target, more than 0 and below 1; 0 or null: no nudge."""
    if value is None or (value == 0 and not isinstance(value, bool)):
        return None
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0 < value < 1:
        raise ValueError(
            f"{where}: expected a share of the target like 0.8 (0: off), got {value!r}"
        )
    return float(value)


def _seconds(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str) and value.strip()[:-1].isdigit() and value.strip()[-1] in _UNITS:
        text = value.strip()
        seconds = float(int(text[:-1]) * _UNITS[text[-1]])
    else:
        raise ValueError(f"{where}: expected seconds or like 15m, 4h, 1d; got {value!r}")
    if not 0 < seconds <= 366 * 86400:
        raise ValueError(f"{where}: expected more than 0 and at most a year, got {value!r}")
    return seconds


@dataclass(frozen=True, slots=True)
class Attainment:
    target: float | None
    met: int
    breached: int
    share: float | None  # met / (met + breached)

    @classmethod
    def of(cls, target: float | None, met: int, breached: int) -> Attainment:
        judged = met + breached
        return cls(target, met, breached, met / judged if judged else None)


@dataclass(frozen=True, slots=True)
class SlaDay:
    date: date
    first_response: Attainment
    resolution: Attainment


@dataclass(frozen=True, slots=True)
class SlaAgent:
    agent_id: int
    agent_name: str
    first_response: Attainment
    resolution: Attainment


@dataclass(frozen=True, slots=True)
class Breach:
    ticket_id: int
    target: str  # "first_response" | "resolution"
    over: float  # seconds past the target (business seconds with business hours)
    agent_name: str | None


@dataclass(frozen=True, slots=True)
class Sla:
    targets: SlaTargets
    first_response: Attainment
    resolution: Attainment
    days: tuple[SlaDay, ...]
    agents: tuple[SlaAgent, ...]
    breaches: tuple[Breach, ...]  # most over first, at most BREACH_LIMIT


# -- SLA --------------------------------------------------------------------------------------


def _judge(
    target: float | None, start: float, reached: float | None, end: float, clock: WorkingHours
) -> tuple[str | None, float]:
    """("met" | "breached" | None, business seconds over the target) of one ticket's clock
    from ``start`` to ``reached`` (None: not yet, counted until ``end``)."""
    if target is None:
        return None, 0.0
    if reached is not None:
        took = clock.open_seconds(start, reached)
        return ("met", 0.0) if took <= target else ("breached", took - target)
    waited = clock.open_seconds(start, end)
    return ("breached", waited - target) if waited > target else (None, 0.0)


_Counts = dict[str, Counter[str]]


def _counts() -> _Counts:
    return {"first_response": Counter(), "resolution": Counter()}


def sla_of(
    tickets: Sequence[dict[str, Any]],
    events: Sequence[dict[str, Any]],
    until: float,
    sla: SlaTargets,
    clock: WorkingHours,
    zone: ZoneInfo,
) -> Sla:
    """Every ticket's verdict on both targets, in total, per day and per agent."""
    responder = {
        e["ticket_id"]: e["agent_id"]
        for e in reversed(events)
        if e["name"] == "first_response" and e["agent_id"] is not None
    }
    closer = {
        e["ticket_id"]: e["agent_id"]
        for e in events
        if e["name"] == "closed" and e["agent_id"] is not None
    }
    total = _counts()
    by_day: dict[date, _Counts] = defaultdict(_counts)
    by_agent: dict[int, _Counts] = defaultdict(_counts)
    breaches: list[Breach] = []
    for t in tickets:
        # a ticket that never reached a milestone stops its clock when it closes
        end = min(until, t["closed_at"]) if t["closed_at"] is not None else until
        day = datetime.fromtimestamp(t["created_at"], zone).date()
        for which, target, reached, who in (
            ("first_response", sla.first_response, t["first_response_at"], responder),
            ("resolution", sla.resolution, _resolved(t, until), closer),
        ):
            verdict, over = _judge(target, t["created_at"], reached, end, clock)
            if verdict is None:
                continue
            total[which][verdict] += 1
            by_day[day][which][verdict] += 1
            if t["id"] in who:
                by_agent[who[t["id"]]][which][verdict] += 1
            if verdict == "breached":
                breaches.append(Breach(t["id"], which, over, t["agent_name"]))
    names = {t["agent_id"]: t["agent_name"] for t in tickets if t["agent_id"] is not None}
    return _assemble(sla, total, by_day, by_agent, names, breaches)


def _assemble(
    sla: SlaTargets,
    total: _Counts,
    by_day: dict[date, _Counts],
    by_agent: dict[int, _Counts],
    names: dict[int, str | None],
    breaches: list[Breach],
) -> Sla:
    def pair(c: _Counts) -> tuple[Attainment, Attainment]:
        return (
            _attained(sla.first_response, c["first_response"]),
            _attained(sla.resolution, c["resolution"]),
        )

    agents = sorted(by_agent.items(), key=lambda kv: (names.get(kv[0]) or "", kv[0]))
    return Sla(
        sla,
        *pair(total),
        tuple(SlaDay(d, *pair(c)) for d, c in sorted(by_day.items())),
        tuple(SlaAgent(a, names.get(a) or str(a), *pair(c)) for a, c in agents),
        tuple(sorted(breaches, key=lambda b: (-b.over, b.ticket_id))[:BREACH_LIMIT]),
    )


def _resolved(t: dict[str, Any], until: float) -> float | None:
    """When a ticket was resolved as the report sees it: closed by an agent by ``until``; a
    ticket the subscriber or the system closed was not resolved by anyone."""
    if t["status"] != "closed" or t["closed_at"] is None or t["closed_at"] >= until:
        return None
    return None if t["close_reason"] in SYSTEM_CLOSE_REASONS else t["closed_at"]


def _attained(target: float | None, counts: Counter[str]) -> Attainment:
    return Attainment.of(target, counts["met"], counts["breached"])


# -- when a clock runs out ----------------------------------------------------------------------

_LOOKAHEAD = 400 * 86400.0  # a due time further than this is no due time (a desk never open)


def due_at(clock: WorkingHours, start: float, target: float) -> float | None:
    """The moment ``target`` seconds of ``clock`` have run since ``start``: the same instant
    plus the target round the clock; with working hours, nights, weekends and holidays pass
    without counting. None when the desk does not open for that long within 400 days."""
    if target <= 0:
        return start
    if clock.always_open:
        return start + target
    low, high, step = start, start + target, max(target, 86400.0)
    while clock.open_seconds(start, high) < target:
        low, high = high, high + step
        if high - start > _LOOKAHEAD:
            return None
    while high - low > 1e-3:  # open_seconds never falls as the end moves on: halve the gap
        middle = (low + high) / 2
        if clock.open_seconds(start, middle) < target:
            low = middle
        else:
            high = middle
    return high


def nudge_at(sla: SlaTargets, clock: WorkingHours, start: float) -> float | None:
    """When a ticket created at ``start`` and not answered yet is worth a word to the desk:
    ``nudge`` of its first-response target gone (None: no target or no nudge)."""
    if sla.first_response is None or sla.nudge is None:
        return None
    return due_at(clock, start, sla.first_response * sla.nudge)
