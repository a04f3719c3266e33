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

from handoff.credit import credit

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
    """What a report is aggregated from, as the read model (``handoff.storage.views``) gives
    it: plain rows (dicts) of the window's questions, tickets (``Ticket.metrics()``), the
    tickets' events, 👍/👎 per topic, the most disliked questions and outage reports."""

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
    questions, tickets = rows.questions, rows.tickets
    days, total_outcomes = _days(rows, since, until, zone)
    ratings = [t["csat"] for t in tickets if t["csat"] is not None]
    return Report(
        since=since,
        until=until,
        tz=tz,
        days=days,
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
        topics=_topics(rows),
        disliked=tuple(
            DislikedQuestion(r["topic"], r["question"], int(r["votes"])) for r in rows.disliked
        ),
        languages=_languages(questions),
        outages=_outages(rows.outages, zone),
    )


def _days(
    rows: ReportRows, since: float, until: float, zone: ZoneInfo
) -> tuple[tuple[DayStats, ...], Counter[str]]:
    """Each listed day (its conversations' outcomes, bot latency and tickets), and the
    outcomes of all conversations."""

    def day_of(ts: float) -> date:
        return datetime.fromtimestamp(ts, zone).date()

    kinds: dict[tuple[date, int], set[str]] = defaultdict(set)
    day_latency: dict[date, list[float]] = defaultdict(list)
    for q in rows.questions:
        day = day_of(q["ts"])
        kinds[(day, q["user_id"])].add(q["kind"])
        day_latency[day].append(q["latency_ms"])
    day_tickets: dict[date, list[dict[str, Any]]] = defaultdict(list)
    for t in rows.tickets:
        day = day_of(t["created_at"])
        kinds[(day, t["user_id"])].add("ticket")
        day_tickets[day].append(t)
    day_outcomes: dict[date, Counter[str]] = defaultdict(Counter)
    for (day, _), seen in kinds.items():
        day_outcomes[day][_outcome(seen)] += 1
    with_data = set(day_outcomes) | {day_of(o["ts"]) for o in rows.outages}
    total: Counter[str] = Counter()
    for counts in day_outcomes.values():
        total.update(counts)
    days = tuple(
        DayStats(
            day,
            Outcomes.of(day_outcomes.get(day, Counter())),
            len(day_latency.get(day, ())),
            Percentiles.of(day_latency.get(day, ())),
            len(day_tickets.get(day, ())),
            TicketTimes.of(day_tickets.get(day, ())),
        )
        for day in _listed_days(since, until, zone, with_data)
    )
    return days, total


def _topics(rows: ReportRows) -> tuple[TopicStats, ...]:
    answers = Counter(q["topic"] for q in rows.questions if q["kind"] == "answer" and q["topic"])
    votes = {r["topic"]: (int(r["helpful"]), int(r["unhelpful"])) for r in rows.votes}
    return tuple(
        sorted(
            (
                TopicStats(topic, answers[topic], *votes.get(topic, (0, 0)))
                for topic in set(answers) | set(votes)
            ),
            key=lambda s: (-s.answers, -(s.helpful + s.unhelpful), s.topic),
        )
    )


def _languages(questions: Sequence[dict[str, Any]]) -> tuple[LanguageStats, ...]:
    langs = Counter(q["lang"] for q in questions)
    return tuple(
        LanguageStats(lang, n, n / len(questions))
        for lang, n in sorted(langs.items(), key=lambda kv: (-kv[1], kv[0] or "\uffff"))
    )


def _outages(outages: Sequence[dict[str, Any]], zone: ZoneInfo) -> OutageStats:
    by_district = Counter(o["district"] for o in outages)
    by_hour = Counter(datetime.fromtimestamp(o["ts"], zone).hour for o in outages)
    return OutageStats(
        total=len(outages),
        by_district=tuple(
            DistrictStats(d, n)
            for d, n in sorted(by_district.items(), key=lambda kv: (-kv[1], kv[0] or "\uffff"))
        ),
        by_hour=tuple(by_hour[h] for h in range(24)),
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
    return {"format": 1, **plain(report)}


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
    """Per agent, what they did (``handoff.credit``)."""
    stats = [
        AgentStats(
            agent_id=agent_id,
            agent_name=work.name or str(agent_id),
            tickets=len(work.tickets),
            closed=work.closed,
            first_response_time=Percentiles.of(work.first_responses),
            handling_time=Percentiles.of(work.handling),
            csat_average=sum(work.ratings) / len(work.ratings) if work.ratings else None,
            csat_count=len(work.ratings),
        )
        for agent_id, work in credit(tickets, events).items()
    ]
    return tuple(sorted(stats, key=lambda a: (-a.tickets, a.agent_name, a.agent_id)))


def _csat(ratings: Sequence[int]) -> Csat:
    counts = Counter(ratings)
    return Csat(
        sum(ratings) / len(ratings) if ratings else None,
        len(ratings),
        tuple(counts[score] for score in range(1, 6)),
    )


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def plain(value: Any) -> Any:
    """A dataclass (and what it holds) as plain JSON values: dates ISO, infinities None."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return _finite(value)
    return value
