"""What a support lead reads after the headline numbers: SLA attainment, queue health, when
people write, why they were handed off, how the bot decided, what agents did, the low ratings,
and every KPI against the period before.

Definitions (on top of ``handoff.reports``'; times are UTC epoch seconds, local days and hours
in the report's time zone):

- SLA targets (``reports.sla`` in config.yaml): ``first_response`` (hand-off → first agent
  message) and ``resolution`` (hand-off → close), in seconds. With ``business_hours`` the
  clock runs only while the desk is open (``agents.working_hours``: nights, weekends and
  holidays don't count). A window's ticket **met** a target when it reached the milestone
  within it, **breached** it when it reached it later, or had not reached it by the report's
  end (or its close) after the target had run out; a ticket still inside its target is
  neither. Attainment = met / (met + breached). Per day by the ticket's local day; per agent
  by who sent the first response (first-response target) or closed it (resolution).
- Queue: the backlog is the tickets open at an instant (created before it and not closed by
  then; a reopened ticket counts by its last close). Ageing: the tickets open at the report's
  end by how long they have been open. Abandoned while waiting: the window's tickets closed by
  the subscriber or a timeout before any agent's message.
- Heatmaps: conversations (one subscriber on one local day, placed at its first message or
  ticket) and hand-offs (tickets, at their creation), by local weekday × hour.
- Hand-off reasons: the tickets' ``reason`` (asked, button, bot_failed, command, ...). Before
  a hand-off: the subscriber's last question that day before the ticket, by its topic, or by
  the decision when it had none (``none``, ``clarify``).
- Bot decisions: the window's questions by decision kind.
- Agents: first replies and closes as in the report; transfers they made; reopens of tickets
  they had closed.
- Tickets per hour on shift: an agent's closes in the window ÷ their hours on shift in it
  (``shift_on``/``shift_off`` events; a shift still on counts up to the window's end).
- Low ratings: the window's tickets rated 1 or 2, newest first, with their agent and the
  subscriber's answer to "what went wrong?" (their next message, a ``csat_comment`` event).
- Choice click-through: of the window's "did you mean" questions (clarify), the share whose
  subscriber pressed one of the choices (``interactions.chosen``).
- Trends: each KPI of this window and of the window of the same length just before it.
- By priority and by label: the window's tickets by their priority and by each label they
  carry as the report is made (a ticket with two labels counts under both; one without
  labels under none), each group's SLA attainment judged as above.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from handoff.desk_figures import ShiftRate, ShiftSource, Triage, read_shift_rates, triage_of
from handoff.hours import WorkingHours
from handoff.reports import DEFAULT_TZ, ReportRows, aggregate, headline
from handoff.sla import Sla, SlaTargets, sla_of

AGE_BUCKETS: tuple[tuple[str, float], ...] = (
    ("< 15 min", 900),
    ("15–60 min", 3600),
    ("1–4 h", 4 * 3600),
    ("4–24 h", 86400),
    ("> 24 h", math.inf),
)
LOW_CSAT = 2
LOW_CSAT_LIMIT = 20
CSAT_COMMENT = "csat_comment"  # the event keeping the subscriber's answer to a low rating
TOP_BEFORE_HANDOFF = 10
ABANDON_REASONS = frozenset({"user", "timeout"})


# -- the figures --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Queue:
    backlog_start: int
    backlog_end: int
    ageing: tuple[tuple[str, int], ...]  # AGE_BUCKETS' labels, tickets open at the end
    abandoned_waiting: int
    abandoned_share: float | None  # of the window's tickets


@dataclass(frozen=True, slots=True)
class Heatmap:
    conversations: tuple[tuple[int, ...], ...]  # 7 weekdays (Monday first) × 24 hours
    handoffs: tuple[tuple[int, ...], ...]


@dataclass(frozen=True, slots=True)
class AgentActivity:
    agent_id: int
    agent_name: str
    first_replies: int
    closes: int
    transfers: int
    reopened: int  # of the tickets they closed


@dataclass(frozen=True, slots=True)
class LowRating:
    ticket_id: int
    score: int
    agent_name: str | None
    created_at: float
    comment: str | None = None  # what went wrong, in the subscriber's words
    thread_id: int | None = None  # the ticket's topic in the operators' group


@dataclass(frozen=True, slots=True)
class Trend:
    kpi: str
    current: float | None
    previous: float | None
    change: float | None  # current - previous

    @classmethod
    def of(cls, kpi: str, current: float | None, previous: float | None) -> Trend:
        change = None if current is None or previous is None else current - previous
        return cls(kpi, current, previous, change)


@dataclass(frozen=True, slots=True)
class Insights:
    sla: Sla
    queue: Queue
    heatmap: Heatmap
    handoff_reasons: tuple[tuple[str, int], ...]  # most first
    before_handoff: tuple[tuple[str, int], ...]  # topic or decision, most first
    decisions: tuple[tuple[str, int], ...]  # decision kind → questions, most first
    agents: tuple[AgentActivity, ...]
    low_ratings: tuple[LowRating, ...]
    trends: tuple[Trend, ...]
    shift_rates: tuple[ShiftRate, ...] = ()  # agents' closes per hour on shift
    triage: Triage | None = None  # by priority and by label
    click_through: ClickThrough | None = None


class InsightSource(Protocol):
    async def report_rows(self, since: float, until: float) -> ReportRows: ...

    async def tickets_alive(self, since: float, until: float) -> list[dict[str, Any]]: ...


class LabelSource(Protocol):
    async def labels_of_tickets(self, since: float, until: float) -> dict[int, list[str]]: ...


class HasInsights(Protocol):
    reports: InsightSource
    agents: ShiftSource
    labels: LabelSource


async def build_insights(
    store: HasInsights,
    since: float,
    until: float,
    tz: str = DEFAULT_TZ,
    sla: SlaTargets | None = None,
    hours: WorkingHours | None = None,
    rows: ReportRows | None = None,
) -> Insights:
    """Read what the figures need and compute them; the previous period only for a finite
    window."""
    rows = rows if rows is not None else await store.reports.report_rows(since, until)
    alive = await store.reports.tickets_alive(since, until) if math.isfinite(since) else []
    previous = None
    if math.isfinite(since) and math.isfinite(until) and until > since:
        previous = await store.reports.report_rows(since - (until - since), since)
    found = insights(rows, alive, since, until, tz, sla or SlaTargets(), hours, previous)
    labels = await store.labels.labels_of_tickets(since, until)
    return replace(
        found,
        shift_rates=await read_shift_rates(store, since, until),
        triage=triage_of(rows, labels, until, tz, sla, hours),
    )


def insights(
    rows: ReportRows,
    alive: Sequence[dict[str, Any]],
    since: float,
    until: float,
    tz: str = DEFAULT_TZ,
    sla: SlaTargets | None = None,
    hours: WorkingHours | None = None,
    previous: ReportRows | None = None,
) -> Insights:
    """The figures of ``[since, until)``: pure, no I/O. ``alive``: tickets open at some time
    in the window, wherever created; ``previous``: the rows of the window before."""
    zone = ZoneInfo(tz)
    sla = sla or SlaTargets()
    clock = hours if (sla.business_hours and hours is not None) else WorkingHours()
    tickets = rows.tickets
    return Insights(
        sla=sla_of(tickets, rows.events, until, sla, clock, zone),
        queue=_queue(tickets, alive, since, until),
        heatmap=_heatmap(rows, zone),
        handoff_reasons=_most(Counter(t["reason"] for t in tickets)),
        before_handoff=_before_handoff(rows, zone)[:TOP_BEFORE_HANDOFF],
        decisions=_most(Counter(q["kind"] for q in rows.questions)),
        agents=_activity(tickets, rows.events),
        low_ratings=_low_ratings(tickets, rows.events),
        trends=_trends(rows, previous, since, until, tz, sla, clock),
        click_through=click_through(rows.questions),
    )


# -- the queue, the heatmaps, the reasons -----------------------------------------------------


def _open_at(t: Mapping[str, Any], ts: float) -> bool:
    return t["created_at"] < ts and (t["closed_at"] is None or t["closed_at"] >= ts)


def _queue(
    tickets: Sequence[dict[str, Any]], alive: Sequence[dict[str, Any]], since: float, until: float
) -> Queue:
    open_end = [t for t in alive if _open_at(t, until)]
    ageing = Counter[str]()
    for t in open_end:
        age = until - t["created_at"]
        # the oldest bucket is open-ended: a window ending at infinity ages its tickets there
        oldest = AGE_BUCKETS[-1][0]
        ageing[next((label for label, upto in AGE_BUCKETS if age < upto), oldest)] += 1
    abandoned = sum(
        t["close_reason"] in ABANDON_REASONS
        and t["first_response_at"] is None
        and t["closed_at"] is not None
        for t in tickets
    )
    return Queue(
        backlog_start=sum(_open_at(t, since) for t in alive),
        backlog_end=len(open_end),
        ageing=tuple((label, ageing[label]) for label, _ in AGE_BUCKETS),
        abandoned_waiting=abandoned,
        abandoned_share=abandoned / len(tickets) if tickets else None,
    )


def _heatmap(rows: ReportRows, zone: ZoneInfo) -> Heatmap:
    first: dict[tuple[date, int], datetime] = {}
    moments = [(q["ts"], q["user_id"]) for q in rows.questions]
    moments += [(t["created_at"], t["user_id"]) for t in rows.tickets]
    for ts, user in moments:
        local = datetime.fromtimestamp(ts, zone)
        key = (local.date(), user)
        if key not in first or local < first[key]:
            first[key] = local
    conversations = [[0] * 24 for _ in range(7)]
    for local in first.values():
        conversations[local.weekday()][local.hour] += 1
    handoffs = [[0] * 24 for _ in range(7)]
    for t in rows.tickets:
        local = datetime.fromtimestamp(t["created_at"], zone)
        handoffs[local.weekday()][local.hour] += 1
    return Heatmap(tuple(map(tuple, conversations)), tuple(map(tuple, handoffs)))


def _before_handoff(rows: ReportRows, zone: ZoneInfo) -> tuple[tuple[str, int], ...]:
    asked: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for q in rows.questions:
        if q["kind"] in ("answer", "clarify", "none"):
            asked[q["user_id"]].append(q)
    found: Counter[str] = Counter()
    for t in rows.tickets:
        day = datetime.fromtimestamp(t["created_at"], zone).date()
        before = [
            q
            for q in asked.get(t["user_id"], ())
            if q["ts"] <= t["created_at"] and datetime.fromtimestamp(q["ts"], zone).date() == day
        ]
        if before:
            last = max(before, key=lambda q: q["ts"])
            found[
                last["topic"] if last["kind"] == "answer" and last["topic"] else last["kind"]
            ] += 1
    return _most(found)


def _most(counts: Counter[str]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0]))))


# -- agents, ratings, trends ------------------------------------------------------------------


def _activity(
    tickets: Sequence[dict[str, Any]], events: Sequence[dict[str, Any]]
) -> tuple[AgentActivity, ...]:
    names = {t["agent_id"]: t["agent_name"] for t in tickets if t["agent_id"] is not None}
    counts: dict[int, Counter[str]] = defaultdict(Counter)
    last_closer: dict[int, int] = {}
    for e in events:
        agent = e["agent_id"]
        if e["name"] == "reopened" and e["ticket_id"] in last_closer:
            counts[last_closer[e["ticket_id"]]]["reopened"] += 1
        if agent is None:
            continue
        if e["name"] == "first_response":
            counts[agent]["first_replies"] += 1
        elif e["name"] == "closed":
            counts[agent]["closes"] += 1
            last_closer[e["ticket_id"]] = agent
        elif e["name"] == "transferred":
            counts[agent]["transfers"] += 1
    return tuple(
        AgentActivity(
            a,
            names.get(a) or str(a),
            c["first_replies"],
            c["closes"],
            c["transfers"],
            c["reopened"],
        )
        for a, c in sorted(counts.items(), key=lambda kv: (names.get(kv[0]) or "", kv[0]))
    )


def _low_ratings(
    tickets: Sequence[dict[str, Any]], events: Sequence[dict[str, Any]] = ()
) -> tuple[LowRating, ...]:
    low = [t for t in tickets if t["csat"] is not None and t["csat"] <= LOW_CSAT]
    low.sort(key=lambda t: (-t["created_at"], t["id"]))
    comments = {e["ticket_id"]: e["detail"] for e in events if e["name"] == CSAT_COMMENT}
    return tuple(
        LowRating(
            t["id"],
            t["csat"],
            t["agent_name"],
            t["created_at"],
            comments.get(t["id"]),
            t.get("thread_id"),
        )
        for t in low[:LOW_CSAT_LIMIT]
    )


TREND_KPIS: tuple[str, ...] = (
    "conversations",
    "first_line_resolution",
    "handed_off",
    "median_wait_until_claim",
    "csat_average",
    "first_response_sla",
)


def _trends(
    rows: ReportRows,
    previous: ReportRows | None,
    since: float,
    until: float,
    tz: str,
    sla: SlaTargets,
    clock: WorkingHours,
) -> tuple[Trend, ...]:
    if previous is None:
        return ()
    length = until - since
    now = _kpis(rows, since, until, tz, sla, clock)
    before = _kpis(previous, since - length, since, tz, sla, clock)
    return tuple(Trend.of(k, now[k], before[k]) for k in TREND_KPIS)


def _kpis(
    rows: ReportRows, since: float, until: float, tz: str, sla: SlaTargets, clock: WorkingHours
) -> dict[str, float | None]:
    head = headline(aggregate(rows, since, until, tz))
    attained = sla_of(rows.tickets, rows.events, until, sla, clock, ZoneInfo(tz)).first_response
    return {**{k: head.get(k) for k in TREND_KPIS}, "first_response_sla": attained.share}


# -- the bot's "did you mean" ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClickThrough:
    clarified: int  # "did you mean" questions
    chosen: int  # of them, those whose subscriber pressed a choice
    share: float | None  # chosen / clarified


def click_through(questions: Sequence[Mapping[str, Any]]) -> ClickThrough:
    """How often a "did you mean" got a choice pressed."""
    clarified = [q for q in questions if q["kind"] == "clarify"]
    chosen = sum(1 for q in clarified if q.get("chosen"))
    return ClickThrough(len(clarified), chosen, chosen / len(clarified) if clarified else None)
