"""The support report: read-only aggregates of a period, as data, as JSON and as one HTML page.

Definitions (every number of the report follows them; times are UTC epoch seconds, days are
local calendar days in the report's time zone):

- Window: an interaction, feedback vote or outage report belongs to the report when its ``ts``
  is in ``[since, until)``; a ticket when its ``created_at`` is (all its durations and its CSAT
  go with it, wherever they fall).
- Question: a row of ``interactions`` other than ``banned`` (a banned subscriber's messages are
  kept for the record but are not handled). Smalltalk ("thanks") counts as a question.
- Conversation: one subscriber on one local day, having asked a question or got a ticket
  created (``/operator`` and the operator button open tickets without a question). A
  conversation has exactly one outcome, the first that holds of:

  1. ``handed_off``: a ticket was created for the subscriber that day;
  2. ``answered``: the bot answered (an ``answer`` decision) and there was no hand-off;
  3. ``clarified``: the bot offered "did you mean" choices (``clarify``), and neither answered
     directly nor handed off (picking a choice shows an answer but is not logged as a question);
  4. ``abandoned``: none of these: only misses, smalltalk, or a ``handoff`` decision that opened
     no ticket; the subscriber got no answer, no choices and no human that day.

  A conversation that crosses local midnight counts once on each day.
- First-line resolution: ``answered / conversations`` (None without conversations).
- Bot latency: ``interactions.latency_ms`` of questions.
- Ticket durations (seconds, see ``handoff.tickets.Ticket``): ``time_to_handoff`` (first
  message to the bot → hand-off), ``wait_until_claim`` (hand-off → first claim),
  ``first_response_time`` (hand-off → first agent message), ``handling_time`` (first claim →
  close), ``resolution_time`` (hand-off → close); a ticket still lacking an end is left out of
  that duration. Per day: by the local day of ``created_at``. Per agent: by who did it — the
  first response for whoever sent it, handling for whoever held the ticket (each holder their
  own stretch, claim or transfer to release, transfer or close), a close for whoever closed
  it, CSAT for the agent who had it then; a ticket closed by the system (``user``,
  ``blocked``, ``timeout``, ``migrated``) is nobody's close and nobody's handling.
- Percentiles: nearest-rank: ``pN`` of n sorted values is the value of rank ``ceil(N/100 * n)``
  (always a measured value, never interpolated); None when there are no values.
- CSAT: the 1..5 ratings of the window's tickets; average and count per score.
- Topics: answers per topic (``answer`` decisions) with the 👍/👎 votes given in the window.
- Outages: reports per district (None: "somewhere else") and per local hour of day.
- Days: every local day of the window is listed, empty ones too; a window of more than
  ``MAX_LISTED_DAYS`` days (e.g. "since the beginning") lists from its first to its last day
  with data.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, is_dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from handoff.tickets import SYSTEM_CLOSE_REASONS

DEFAULT_TZ = "Asia/Dushanbe"
OUTCOMES: tuple[str, ...] = ("answered", "clarified", "handed_off", "abandoned")
DURATIONS: tuple[str, ...] = (
    "time_to_handoff",
    "wait_until_claim",
    "first_response_time",
    "handling_time",
    "resolution_time",
)
MAX_LISTED_DAYS = 366
DISLIKED_LIMIT = 10

# -- the report ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Percentiles:
    """p50 and p90 (nearest-rank) of ``count`` values; None when there are none."""

    p50: float | None
    p90: float | None
    count: int

    @classmethod
    def of(cls, values: Iterable[float | None]) -> Percentiles:
        ordered = sorted(v for v in values if v is not None)
        return cls(percentile(ordered, 50), percentile(ordered, 90), len(ordered))


@dataclass(frozen=True, slots=True)
class Outcomes:
    conversations: int
    answered: int
    clarified: int
    handed_off: int
    abandoned: int
    first_line_resolution: float | None  # answered / conversations

    @classmethod
    def of(cls, counts: Counter[str]) -> Outcomes:
        total = sum(counts[o] for o in OUTCOMES)
        return cls(
            total,
            counts["answered"],
            counts["clarified"],
            counts["handed_off"],
            counts["abandoned"],
            counts["answered"] / total if total else None,
        )


@dataclass(frozen=True, slots=True)
class TicketTimes:
    """Percentiles of each ticket duration, in seconds."""

    time_to_handoff: Percentiles
    wait_until_claim: Percentiles
    first_response_time: Percentiles
    handling_time: Percentiles
    resolution_time: Percentiles

    @classmethod
    def of(cls, tickets: Sequence[dict[str, Any]]) -> TicketTimes:
        return cls(*(Percentiles.of(t[name] for t in tickets) for name in DURATIONS))


@dataclass(frozen=True, slots=True)
class DayStats:
    date: date  # local
    outcomes: Outcomes
    questions: int
    bot_latency_ms: Percentiles
    tickets: int  # created that day
    times: TicketTimes  # of the tickets created that day


@dataclass(frozen=True, slots=True)
class TicketCounts:
    created: int
    claimed: int  # ever claimed
    responded: int  # got an agent's message
    closed: int
    open: int  # still waiting or claimed
    rated: int


@dataclass(frozen=True, slots=True)
class AgentStats:
    agent_id: int
    agent_name: str  # as on their latest ticket; their id when they kept none
    tickets: int
    closed: int
    first_response_time: Percentiles
    handling_time: Percentiles
    csat_average: float | None
    csat_count: int


@dataclass(frozen=True, slots=True)
class Csat:
    average: float | None
    count: int
    distribution: tuple[int, ...]  # how many 1s, 2s, 3s, 4s, 5s


@dataclass(frozen=True, slots=True)
class TopicStats:
    topic: str
    answers: int
    helpful: int  # 👍
    unhelpful: int  # 👎


@dataclass(frozen=True, slots=True)
class DislikedQuestion:
    """A question whose answer got 👎, with how many 👎 that (topic, question) got."""

    topic: str
    question: str
    votes: int


@dataclass(frozen=True, slots=True)
class LanguageStats:
    lang: str | None  # as detected in the question; None: not detected
    questions: int
    share: float


@dataclass(frozen=True, slots=True)
class DistrictStats:
    district: str | None  # None: "somewhere else"
    reports: int


@dataclass(frozen=True, slots=True)
class OutageStats:
    total: int
    by_district: tuple[DistrictStats, ...]  # most reports first
    by_hour: tuple[int, ...]  # 24 counts, local hour 0..23


@dataclass(frozen=True, slots=True)
class Report:
    since: float
    until: float
    tz: str
    days: tuple[DayStats, ...]
    outcomes: Outcomes
    questions: int
    bot_latency_ms: Percentiles
    tickets: TicketCounts
    times: TicketTimes
    agents: tuple[AgentStats, ...]  # most tickets first
    csat: Csat
    topics: tuple[TopicStats, ...]  # most answered first
    disliked: tuple[DislikedQuestion, ...]  # most 👎 first, at most DISLIKED_LIMIT
    languages: tuple[LanguageStats, ...]  # most questions first
    outages: OutageStats

    @property
    def is_empty(self) -> bool:
        return not (
            self.outcomes.conversations or self.topics or self.outages.total or self.csat.count
        )


def percentile(ordered: Sequence[float], p: int) -> float | None:
    """Nearest-rank percentile of values sorted ascending: the value of rank ceil(p/100 * n)."""
    if not 0 < p <= 100:
        raise ValueError(f"percentile must be in 1..100, got {p}")
    if not ordered:
        return None
    rank = (p * len(ordered) + 99) // 100  # integer ceil: no float rounding at the edges
    return ordered[rank - 1]


# -- building it --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReportRows:
    """What a report is aggregated from, as the read model (``storage.views``) gives it: plain
    rows (dicts) of the window's questions, tickets (``Ticket.metrics()``), the tickets'
    events, 👍/👎 per topic, the most disliked questions and outage reports."""

    questions: list[dict[str, Any]]
    tickets: list[dict[str, Any]]
    events: list[dict[str, Any]]
    votes: list[dict[str, Any]]
    disliked: list[dict[str, Any]]
    outages: list[dict[str, Any]]


class ReportSource(Protocol):
    """Anything with the read model's ``report_rows`` (the store's ``reports``)."""

    async def report_rows(self, since: float, until: float) -> ReportRows: ...


class HasReports(Protocol):
    reports: ReportSource


async def build_report(
    store: HasReports, since: float, until: float, tz: str = DEFAULT_TZ
) -> Report:
    """Read the window's rows from the store's read model and aggregate them."""
    return aggregate(await store.reports.report_rows(since, until), since, until, tz)


def aggregate(rows: ReportRows, since: float, until: float, tz: str = DEFAULT_TZ) -> Report:
    """The report of ``[since, until)`` from its rows: pure, no I/O."""
    zone = ZoneInfo(tz)

    def day_of(ts: float) -> date:
        return datetime.fromtimestamp(ts, zone).date()

    questions = rows.questions
    tickets = rows.tickets

    kinds: dict[tuple[date, int], set[str]] = defaultdict(set)
    day_latency: dict[date, list[float]] = defaultdict(list)
    answers: Counter[str] = Counter()
    langs: Counter[str | None] = Counter()
    for q in questions:
        day = day_of(q["ts"])
        kinds[(day, q["user_id"])].add(q["decision"])
        day_latency[day].append(q["latency_ms"])
        langs[q["lang"]] += 1
        if q["decision"] == "answer" and q["topic"]:
            answers[q["topic"]] += 1
    day_tickets: dict[date, list[dict[str, Any]]] = defaultdict(list)
    for t in tickets:
        day = day_of(t["created_at"])
        kinds[(day, t["user_id"])].add("ticket")
        day_tickets[day].append(t)

    day_outcomes: dict[date, Counter[str]] = defaultdict(Counter)
    for (day, _), seen in kinds.items():
        day_outcomes[day][_outcome(seen)] += 1

    outages = rows.outages
    days = _listed_days(since, until, zone, set(day_outcomes) | {day_of(o["ts"]) for o in outages})
    day_stats = tuple(
        DayStats(
            day,
            Outcomes.of(day_outcomes.get(day, Counter())),
            len(day_latency.get(day, ())),
            Percentiles.of(day_latency.get(day, ())),
            len(day_tickets.get(day, ())),
            TicketTimes.of(day_tickets.get(day, ())),
        )
        for day in days
    )

    votes = {r["topic"]: (int(r["helpful"]), int(r["unhelpful"])) for r in rows.votes}
    topics = sorted(
        (
            TopicStats(topic, answers[topic], *votes.get(topic, (0, 0)))
            for topic in set(answers) | set(votes)
        ),
        key=lambda s: (-s.answers, -(s.helpful + s.unhelpful), s.topic),
    )
    disliked = rows.disliked

    by_district = Counter(o["district"] for o in outages)
    by_hour = Counter(datetime.fromtimestamp(o["ts"], zone).hour for o in outages)

    total_outcomes: Counter[str] = Counter()
    for counts in day_outcomes.values():
        total_outcomes.update(counts)
    ratings = [t["csat"] for t in tickets if t["csat"] is not None]
    return Report(
        since=since,
        until=until,
        tz=tz,
        days=day_stats,
        outcomes=Outcomes.of(total_outcomes),
        questions=len(questions),
        bot_latency_ms=Percentiles.of(q["latency_ms"] for q in questions),
        tickets=TicketCounts(
            created=len(tickets),
            claimed=sum(t["claimed_at"] is not None for t in tickets),
            responded=sum(t["first_response_at"] is not None for t in tickets),
            closed=sum(t["status"] == "closed" for t in tickets),
            open=sum(t["status"] != "closed" for t in tickets),
            rated=len(ratings),
        ),
        times=TicketTimes.of(tickets),
        agents=_agents(tickets, rows.events),
        csat=_csat(ratings),
        topics=tuple(topics),
        disliked=tuple(
            DislikedQuestion(r["topic"], r["question"], int(r["votes"])) for r in disliked
        ),
        languages=tuple(
            LanguageStats(lang, n, n / len(questions))
            for lang, n in sorted(langs.items(), key=lambda kv: (-kv[1], kv[0] or "\uffff"))
        ),
        outages=OutageStats(
            total=len(outages),
            by_district=tuple(
                DistrictStats(d, n)
                for d, n in sorted(by_district.items(), key=lambda kv: (-kv[1], kv[0] or "\uffff"))
            ),
            by_hour=tuple(by_hour[h] for h in range(24)),
        ),
    )


def today_window(now: float, tz: str = DEFAULT_TZ) -> tuple[float, float]:
    """``(since, until)`` of the local day that ``now`` is in: its midnight and the next."""
    zone = ZoneInfo(tz)
    today = datetime.fromtimestamp(now, zone).date()
    start = datetime.combine(today, time(0), zone)
    end = datetime.combine(today + timedelta(days=1), time(0), zone)
    return start.timestamp(), end.timestamp()


def headline(report: Report) -> dict[str, Any]:
    """The few numbers of ``/stats`` (build the report with ``today_window`` for "today");
    rates are 0..1, times seconds (latency ms), None when there is nothing to measure."""
    return {
        "since": _finite(report.since),
        "until": _finite(report.until),
        "conversations": report.outcomes.conversations,
        "answered_by_bot": report.outcomes.answered,
        "handed_off": report.outcomes.handed_off,
        "first_line_resolution": report.outcomes.first_line_resolution,
        "median_bot_latency_ms": report.bot_latency_ms.p50,
        "median_wait_until_claim": report.times.wait_until_claim.p50,
        "csat_average": report.csat.average,
        "csat_count": report.csat.count,
    }


def report_json(report: Report) -> dict[str, Any]:
    """The whole report as plain JSON values; keys follow the dataclasses' fields, in order."""
    return {"format": 1, **_plain(report)}


def _outcome(seen: set[str]) -> str:
    if "ticket" in seen:
        return "handed_off"
    if "answer" in seen:
        return "answered"
    if "clarify" in seen:
        return "clarified"
    return "abandoned"


def _listed_days(since: float, until: float, zone: ZoneInfo, with_data: set[date]) -> list[date]:
    if math.isfinite(since) and math.isfinite(until) and until - since <= MAX_LISTED_DAYS * 86400:
        if until <= since:
            return []
        first = datetime.fromtimestamp(since, zone).date()
        end = datetime.fromtimestamp(until, zone)
        # until is exclusive: a window ending at midnight ends the day before
        last = end.date() - timedelta(days=1 if end.time() == time(0) else 0)
    elif with_data:
        first, last = min(with_data), max(with_data)
    else:
        return []
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _agents(
    tickets: Sequence[dict[str, Any]], events: Sequence[dict[str, Any]]
) -> tuple[AgentStats, ...]:
    """Per agent, what they did: a first response counts for whoever sent it, handling for
    whoever held the ticket while it was handled (each holder their own stretch), a close for
    whoever closed it, a rating for the agent who had the ticket when it closed. A ticket the
    system closed (the subscriber blocked the bot or closed it, a timeout) is nobody's close
    and nobody's handling."""
    by_ticket: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for e in events:
        by_ticket[e["ticket_id"]].append(e)
    worked: dict[int, set[int]] = defaultdict(set)  # agent → tickets
    names: dict[int, str] = {}
    first: dict[int, list[float]] = defaultdict(list)
    handling: dict[int, list[float]] = defaultdict(list)
    closed: Counter[int] = Counter()
    ratings: dict[int, list[int]] = defaultdict(list)
    for t in tickets:
        steps = by_ticket.get(t["id"], [])
        if t["agent_id"] is not None:
            worked[t["agent_id"]].add(t["id"])
            names[t["agent_id"]] = t["agent_name"] or str(t["agent_id"])
            if t["csat"] is not None:
                ratings[t["agent_id"]].append(t["csat"])
        for e in steps:
            if e["name"] == "first_response" and e["agent_id"] is not None:
                first[e["agent_id"]].append(t["first_response_time"])
                worked[e["agent_id"]].add(t["id"])
        by_agent = t["status"] == "closed" and t["close_reason"] not in SYSTEM_CLOSE_REASONS
        if not by_agent:
            continue
        for agent_id, seconds in held(steps).items():
            handling[agent_id].append(seconds)
            worked[agent_id].add(t["id"])
        closer = next((e["agent_id"] for e in reversed(steps) if e["name"] == "closed"), None)
        closer = closer if closer is not None else t["agent_id"]
        if closer is not None:
            closed[closer] += 1
            worked[closer].add(t["id"])
    stats = [
        AgentStats(
            agent_id=agent_id,
            agent_name=names.get(agent_id, str(agent_id)),
            tickets=len(ids),
            closed=closed[agent_id],
            first_response_time=Percentiles.of(first[agent_id]),
            handling_time=Percentiles.of(handling[agent_id]),
            csat_average=(
                sum(ratings[agent_id]) / len(ratings[agent_id]) if ratings[agent_id] else None
            ),
            csat_count=len(ratings[agent_id]),
        )
        for agent_id, ids in worked.items()
    ]
    return tuple(sorted(stats, key=lambda a: (-a.tickets, a.agent_name, a.agent_id)))


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


def _csat(ratings: Sequence[int]) -> Csat:
    counts = Counter(ratings)
    return Csat(
        sum(ratings) / len(ratings) if ratings else None,
        len(ratings),
        tuple(counts[score] for score in range(1, 6)),
    )


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return _finite(value)
    return value
