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
  that duration. Per day: by the local day of ``created_at``; per agent: by the agent the ticket
  has now (who closed it, or holds it), so a transferred ticket counts for its last agent.
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

import html
import io
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, is_dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from handoff.store import Store

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
    agent_name: str  # as on their latest ticket
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

_QUESTIONS_SQL = (
    "SELECT user_id, ts, decision, topic, lang, latency_ms FROM interactions"
    " WHERE ts >= ? AND ts < ? AND decision != 'banned'"
)
_VOTES_SQL = (
    "SELECT topic, SUM(helpful), SUM(1 - helpful) FROM feedback"
    " WHERE ts >= ? AND ts < ? GROUP BY topic"
)
_DISLIKED_SQL = (
    "SELECT topic, question, COUNT(*) AS votes FROM feedback"
    " WHERE ts >= ? AND ts < ? AND helpful = 0 AND question != ''"
    " GROUP BY topic, question ORDER BY votes DESC, MAX(ts) DESC, topic LIMIT ?"
)
_OUTAGES_SQL = "SELECT district, ts FROM outages WHERE ts >= ? AND ts < ?"


async def build_report(store: Store, since: float, until: float, tz: str = DEFAULT_TZ) -> Report:
    """Aggregate what happened in ``[since, until)``; reads only, never writes."""
    zone = ZoneInfo(tz)

    def day_of(ts: float) -> date:
        return datetime.fromtimestamp(ts, zone).date()

    questions = await _fetch(store, _QUESTIONS_SQL, (since, until))
    tickets = await store.ticket_metrics(since, until)

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

    outages = await _fetch(store, _OUTAGES_SQL, (since, until))
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

    votes = {r[0]: (int(r[1]), int(r[2])) for r in await _fetch(store, _VOTES_SQL, (since, until))}
    topics = sorted(
        (
            TopicStats(topic, answers[topic], *votes.get(topic, (0, 0)))
            for topic in set(answers) | set(votes)
        ),
        key=lambda s: (-s.answers, -(s.helpful + s.unhelpful), s.topic),
    )
    disliked = await _fetch(store, _DISLIKED_SQL, (since, until, DISLIKED_LIMIT))

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
        agents=_agents(tickets),
        csat=_csat(ratings),
        topics=tuple(topics),
        disliked=tuple(DislikedQuestion(r[0], r[1], int(r[2])) for r in disliked),
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


async def _fetch(store: Store, sql: str, params: tuple[Any, ...]) -> list[Any]:
    async with store.db.execute(sql, params) as cur:
        return list(await cur.fetchall())


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


def _agents(tickets: Sequence[dict[str, Any]]) -> tuple[AgentStats, ...]:
    mine: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for t in tickets:
        if t["agent_id"] is not None:
            mine[t["agent_id"]].append(t)
    stats = []
    for agent_id, rows in mine.items():
        ratings = [t["csat"] for t in rows if t["csat"] is not None]
        stats.append(
            AgentStats(
                agent_id=agent_id,
                agent_name=rows[-1]["agent_name"] or str(agent_id),
                tickets=len(rows),
                closed=sum(t["status"] == "closed" for t in rows),
                first_response_time=Percentiles.of(t["first_response_time"] for t in rows),
                handling_time=Percentiles.of(t["handling_time"] for t in rows),
                csat_average=sum(ratings) / len(ratings) if ratings else None,
                csat_count=len(ratings),
            )
        )
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


# -- how the page writes numbers ---------------------------------------------------------------

DASH = "—"


def format_count(n: int) -> str:
    """1234567 → "1 234 567" (narrow no-break spaces)."""
    return f"{n:,}".replace(",", "\u202f")


def format_share(x: float | None) -> str:
    """0.6234 → "62.3%"."""
    return DASH if x is None else f"{x * 100:.1f}%"


def format_duration(seconds: float | None) -> str:
    """42 → "42 s", 245 → "4 min 05 s", 4000 → "1 h 07 min", 100000 → "1 d 4 h"."""
    if seconds is None:
        return DASH
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    if s < 86400:
        m = round(s / 60)
        return f"{m // 60} h {m % 60:02d} min"
    h = round(s / 3600)
    return f"{h // 24} d {h % 24} h"


def format_latency(ms: float | None) -> str:
    """12.3 → "12 ms", 1530 → "1.5 s"."""
    if ms is None:
        return DASH
    return f"{ms:.0f} ms" if ms < 999.5 else f"{ms / 1000:.1f} s"


def format_csat(x: float | None) -> str:
    return DASH if x is None else f"{x:.2f}"


# -- the page -----------------------------------------------------------------------------------

COLORS = {
    "answered": "#2a9d8f",
    "clarified": "#8ecae6",
    "handed_off": "#f4a261",
    "abandoned": "#c3c8d1",
}
OUTCOME_LABELS = {
    "answered": "Answered by the bot",
    "clarified": "Clarified",
    "handed_off": "Handed off",
    "abandoned": "Abandoned",
}
LANGUAGE_NAMES = {"ru": "Russian", "tg": "Tajik", "en": "English"}
_TIME_SERIES = (
    ("wait_until_claim", "Wait until claim", "#457b9d"),
    ("first_response_time", "First response", "#e76f51"),
    ("handling_time", "Handling", "#2a9d8f"),
)


def render_html(report: Report, title: str = "Dono support report") -> str:
    """One self-contained HTML page (inline CSS and SVG charts, no scripts, nothing fetched)."""
    o = report.outcomes
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        "<main>",
        "<header>",
        f'<h1 data-testid="title">{_e(title)}</h1>',
        f'<p class="period" data-testid="period">{_e(_period(report))}</p>',
        "</header>",
        _headline_cards(report),
    ]
    if report.is_empty:
        parts.append(
            '<section class="card empty" data-testid="no-data">'
            "<h2>No data for this period</h2>"
            "<p>Nobody wrote to the bot, no ticket was opened and no outage was reported.</p>"
            "</section>"
        )
    else:
        parts += [
            _section(
                "Conversations per day",
                _outcome_chart(report)
                if o.conversations
                else _none("No conversations in this period."),
                "chart-outcomes",
                note="One conversation is one subscriber on one day; its outcome is the best "
                "the subscriber got: a human, an answer, choices, or nothing.",
            ),
            _section(
                "Hand-off times per day",
                _times_chart(report) + _times_table(report)
                if _has_times(report)
                else _none("No hand-offs in this period."),
                "chart-times",
                note="Hand-off → an agent claims the ticket, hand-off → the first reply, "
                "claim → close; of the tickets opened that day.",
            ),
            _section("Day by day", _days_table(report), "days"),
            _section("Agents", _agents_table(report), "agents"),
            '<div class="grid">',
            _section("Top topics", _topics_table(report), "topics"),
            '<div class="stack">',
            _section("Languages", _languages_table(report), "languages"),
            _section("Customer satisfaction", _csat_block(report), "csat"),
            "</div>",
            "</div>",
            _section("Answers marked 👎", _disliked_table(report), "disliked"),
            _section("Outage reports", _outages_block(report), "outages"),
        ]
    parts += [_footer(report), "</main>", "</body>", "</html>", ""]
    return "\n".join(parts)


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _period(report: Report) -> str:
    days = report.days
    if days:
        first, last = days[0].date, days[-1].date
        span = (
            _long_date(first)
            if first == last
            else f"{_long_date(first)} – {_long_date(last)} · {len(days)} days"
        )
    else:
        span = "no days with data"
    return f"{span} · {report.tz}"


def _long_date(d: date) -> str:
    return f"{d.strftime('%a')} {d.day} {d.strftime('%b %Y')}"


def _headline_cards(report: Report) -> str:
    o, times, csat = report.outcomes, report.times, report.csat
    cards = [
        (
            "conversations",
            "Conversations",
            format_count(o.conversations),
            f"{format_count(report.questions)} questions to the bot",
        ),
        (
            "first_line_resolution",
            "First-line resolution",
            format_share(o.first_line_resolution),
            f"{format_count(o.answered)} answered by the bot · "
            f"{format_count(o.handed_off)} handed off",
        ),
        (
            "bot_latency",
            "Median bot answer time",
            format_latency(report.bot_latency_ms.p50),
            f"p90 {format_latency(report.bot_latency_ms.p90)}",
        ),
        (
            "wait_until_claim",
            "Median wait until claim",
            format_duration(times.wait_until_claim.p50),
            f"p90 {format_duration(times.wait_until_claim.p90)} · "
            f"{format_count(report.tickets.created)} tickets",
        ),
        (
            "csat",
            "CSAT",
            format_csat(csat.average) + (" / 5" if csat.average is not None else ""),
            f"{format_count(csat.count)} ratings",
        ),
    ]
    items = "".join(
        f'<div class="kpi" data-metric="{key}"><div class="label">{_e(label)}</div>'
        f'<div class="value" data-testid="kpi-{key}">{_e(value)}</div>'
        f'<div class="sub">{_e(sub)}</div></div>'
        for key, label, value, sub in cards
    )
    return f'<section class="kpis" data-testid="headline">{items}</section>'


def _section(title: str, body: str, testid: str, note: str = "") -> str:
    note_html = f'<p class="note">{_e(note)}</p>' if note else ""
    return (
        f'<section class="card" data-testid="{testid}"><h2>{_e(title)}</h2>'
        f"{note_html}{body}</section>"
    )


def _none(text: str) -> str:
    return f'<p class="none">{_e(text)}</p>'


def _table(head: Sequence[str], rows: Sequence[Sequence[str]], numeric_from: int = 1) -> str:
    """Cells are already HTML (escaped by the caller); columns from ``numeric_from`` align right."""

    def cls(i: int) -> str:
        return ' class="num"' if i >= numeric_from else ""

    thead = "".join(f"<th{cls(i)}>{h}</th>" for i, h in enumerate(head))
    body = "".join(
        "<tr>" + "".join(f"<td{cls(i)}>{c}</td>" for i, c in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{thead}</tr></thead><tbody>{body}</tbody></table>"


def _bar(value: int, biggest: int, color: str = "#457b9d") -> str:
    width = 100 * value / biggest if biggest else 0
    return (
        f'<span class="bar"><span style="width:{width:.1f}%;background:{color}"></span></span>'
        f'<span class="n">{format_count(value)}</span>'
    )


def _days_table(report: Report) -> str:
    rows = [
        [
            _e(d.date.isoformat()),
            format_count(d.outcomes.conversations),
            format_count(d.outcomes.answered),
            format_count(d.outcomes.clarified),
            format_count(d.outcomes.handed_off),
            format_count(d.outcomes.abandoned),
            format_share(d.outcomes.first_line_resolution),
            format_latency(d.bot_latency_ms.p50),
            format_duration(d.times.wait_until_claim.p50),
            format_duration(d.times.first_response_time.p50),
            format_duration(d.times.handling_time.p50),
        ]
        for d in report.days
    ]
    head = [
        "Day",
        "Conversations",
        "Answered",
        "Clarified",
        "Handed off",
        "Abandoned",
        "First-line",
        "Bot p50",
        "Wait p50",
        "First reply p50",
        "Handling p50",
    ]
    return _scroll(_table(head, rows))


_DURATION_LABELS = {
    "time_to_handoff": "First message to the bot → hand-off",
    "wait_until_claim": "Hand-off → an agent claims it",
    "first_response_time": "Hand-off → the agent's first reply",
    "handling_time": "Claim → close",
    "resolution_time": "Hand-off → close",
}


def _times_table(report: Report) -> str:
    rows = []
    for name in DURATIONS:
        p: Percentiles = getattr(report.times, name)
        rows.append(
            [
                _e(_DURATION_LABELS[name]),
                format_duration(p.p50),
                format_duration(p.p90),
                format_count(p.count),
            ]
        )
    head = ["Whole period", "Median (p50)", "p90", "Tickets"]
    return f'<div class="scroll" data-testid="times-total">{_table(head, rows)}</div>'


def _scroll(table: str) -> str:
    return f'<div class="scroll">{table}</div>'


def _agents_table(report: Report) -> str:
    if not report.agents:
        return _none("No ticket was claimed in this period.")
    rows = [
        [
            _e(a.agent_name),
            format_count(a.tickets),
            format_count(a.closed),
            format_duration(a.first_response_time.p50),
            format_duration(a.first_response_time.p90),
            format_duration(a.handling_time.p50),
            format_duration(a.handling_time.p90),
            format_csat(a.csat_average),
            format_count(a.csat_count),
        ]
        for a in report.agents
    ]
    head = [
        "Agent",
        "Tickets",
        "Closed",
        "First reply p50",
        "First reply p90",
        "Handling p50",
        "Handling p90",
        "CSAT",
        "Ratings",
    ]
    return _scroll(_table(head, rows))


def _topics_table(report: Report, limit: int = 15) -> str:
    if not report.topics:
        return _none("The bot answered nothing in this period.")
    shown = report.topics[:limit]
    biggest = max(t.answers for t in shown)
    rows = [
        [
            f"<code>{_e(t.topic)}</code>",
            _bar(t.answers, biggest, COLORS["answered"]),
            format_count(t.helpful),
            format_count(t.unhelpful),
        ]
        for t in shown
    ]
    more = len(report.topics) - len(shown)
    tail = _none(f"… and {format_count(more)} more topics.") if more > 0 else ""
    return _table(["Topic", "Answers", "👍", "👎"], rows) + tail


def _languages_table(report: Report) -> str:
    if not report.languages:
        return _none("No questions in this period.")
    biggest = max(x.questions for x in report.languages)
    rows = [
        [
            _e(LANGUAGE_NAMES.get(x.lang or "", x.lang or "not detected")),
            _bar(x.questions, biggest),
            format_share(x.share),
        ]
        for x in report.languages
    ]
    return _table(["Language", "Questions", "Share"], rows)


def _csat_block(report: Report) -> str:
    csat = report.csat
    if not csat.count:
        return _none("No ratings in this period.")
    biggest = max(csat.distribution)
    rows = [
        [f'<span class="stars">{"★" * score}</span>', _bar(n, biggest, "#e9c46a")]
        for score, n in sorted(zip(range(1, 6), csat.distribution, strict=True), reverse=True)
    ]
    average = (
        f'<p class="big"><strong>{_e(format_csat(csat.average))}</strong> / 5 '
        f"from {format_count(csat.count)} ratings</p>"
    )
    return average + _table(["Score", "Ratings"], rows)


def _disliked_table(report: Report) -> str:
    if not report.disliked:
        return _none("No answer got a 👎 in this period.")
    rows = [
        [_e(d.question), f"<code>{_e(d.topic)}</code>", format_count(d.votes)]
        for d in report.disliked
    ]
    return _table(["Question", "Answered with", "👎"], rows, numeric_from=2)


def _outages_block(report: Report) -> str:
    outages = report.outages
    if not outages.total:
        return _none("No outage reports in this period.")
    biggest = max(d.reports for d in outages.by_district)
    rows = [
        [
            _e(d.district if d.district is not None else "somewhere else"),
            _bar(d.reports, biggest, "#e07a5f"),
        ]
        for d in outages.by_district
    ]
    districts = _table(["District", "Reports"], rows) + _none(
        f"{format_count(outages.total)} reports in all."
    )
    most = max(outages.by_hour)
    bars = "".join(
        f'<td title="{h:02d}:00–{h:02d}:59: {format_count(n)}">'
        f'<span style="height:{100 * n / most:.1f}%"></span></td>'
        for h, n in enumerate(outages.by_hour)
    )
    counts = "".join(f"<td>{format_count(n) if n else ''}</td>" for n in outages.by_hour)
    hours = "".join(f"<th>{h:02d}</th>" for h in range(24))
    by_hour = (
        '<table class="hours"><tbody>'
        f'<tr class="bars">{bars}</tr><tr class="counts">{counts}</tr><tr>{hours}</tr>'
        "</tbody></table>"
    )
    return (
        '<div class="split">'
        f'<div data-testid="outages-district"><h3>By district</h3>{districts}</div>'
        f'<div data-testid="outages-hour"><h3>By hour of day</h3>{_scroll(by_hour)}</div>'
        "</div>"
    )


def _footer(report: Report) -> str:
    return (
        "<footer>"
        "<p><strong>Conversation</strong>: a subscriber's questions (and tickets) "
        "on one local day. "
        "<strong>Answered</strong>: the bot answered and nobody was handed off; "
        "<strong>clarified</strong>: only “did you mean” choices; "
        "<strong>handed off</strong>: a ticket was opened; "
        "<strong>abandoned</strong>: none of these. "
        "<strong>First-line resolution</strong> = answered ÷ conversations. "
        "Percentiles are nearest-rank. Ticket times belong to the day the ticket was opened.</p>"
        f"<p>Days in {_e(report.tz)} · generated by Dono</p>"
        "</footer>"
    )


# -- charts (matplotlib, SVG, no pyplot: no global figure state, safe in a server) -------------


def _has_times(report: Report) -> bool:
    return any(getattr(report.times, name).count for name, _, _ in _TIME_SERIES)


def _day_labels(days: Sequence[date]) -> list[str]:
    if len(days) <= 14:
        return [f"{d.strftime('%a')}\n{d.day} {d.strftime('%b')}" for d in days]
    return [d.strftime("%d.%m") for d in days]


def _style_axes(ax: Any) -> None:
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.spines["bottom"].set_color("#9aa3af")
    ax.tick_params(colors="#4b5563", labelsize=9, length=0)
    ax.yaxis.grid(True, color="#e5e7eb", linewidth=0.8)
    ax.set_axisbelow(True)


def _thin_ticks(ax: Any, labels: list[str], most: int = 16) -> None:
    step = max(1, math.ceil(len(labels) / most))
    ticks = list(range(0, len(labels), step))
    ax.set_xticks(ticks, [labels[i] for i in ticks])
    ax.set_xlim(-0.6, len(labels) - 0.4)


def _outcome_chart(report: Report) -> str:
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    days = report.days
    fig = Figure(figsize=(10, 3.4))
    ax = fig.add_subplot()
    x = list(range(len(days)))
    bottom = [0] * len(days)
    for name in OUTCOMES:
        values = [getattr(d.outcomes, name) for d in days]
        ax.bar(x, values, 0.66, bottom=bottom, color=COLORS[name], label=OUTCOME_LABELS[name])
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    if len(days) <= 31:
        for i, d in enumerate(days):
            if d.outcomes.conversations:
                ax.annotate(
                    format_count(d.outcomes.conversations),
                    (i, d.outcomes.conversations),
                    xytext=(0, 3),
                    textcoords="offset points",
                    ha="center",
                    va="bottom",
                    fontsize=8.5,
                    color="#374151",
                )
    _style_axes(ax)
    _thin_ticks(ax, _day_labels([d.date for d in days]))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=5))
    ax.margins(y=0.12)
    ax.legend(
        loc="lower left",
        bbox_to_anchor=(0, 1.0),
        ncols=4,
        frameon=False,
        fontsize=9,
        handlelength=1,
        handleheight=1,
    )
    return _svg(fig, "outcomes")


def _times_chart(report: Report) -> str:
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    days = report.days
    fig = Figure(figsize=(10, 2.9))
    axes = fig.subplots(1, len(_TIME_SERIES), sharex=True)
    x = list(range(len(days)))
    labels = [f"{d.strftime('%a')}\n{d.day}" for d in (day.date for day in days)]

    def minutes(v: float | None) -> float:
        return math.nan if v is None else v / 60

    for ax, (name, label, color) in zip(axes, _TIME_SERIES, strict=True):
        p50 = [minutes(getattr(d.times, name).p50) for d in days]
        p90 = [minutes(getattr(d.times, name).p90) for d in days]
        ax.plot(x, p90, color=color, linewidth=1.3, linestyle="--", alpha=0.85)
        ax.plot(x, p50, color=color, linewidth=2.2, marker="o", markersize=4)
        ax.set_title(label, loc="left", fontsize=10, color="#1f2937", fontweight="bold")
        _style_axes(ax)
        _thin_ticks(ax, labels, most=8)
        ax.set_ylim(0, max([v for v in p90 + p50 if not math.isnan(v)] or [1.0]) * 1.15)
    axes[0].set_ylabel("minutes", color="#4b5563", fontsize=9)
    fig.legend(
        [
            Line2D([], [], color="#4b5563", linewidth=2.2, marker="o", markersize=4),
            Line2D([], [], color="#4b5563", linewidth=1.3, linestyle="--"),
        ],
        ["median (p50)", "90th percentile (p90)"],
        loc="outside upper right",
        ncols=2,
        frameon=False,
        fontsize=9,
    )
    return _svg(fig, "times")


_SVG_ID = re.compile(r'\bid="([^"]+)"')


def _svg(fig: Any, name: str) -> str:
    """The figure as an inline ``<svg>``: text as text (small, selectable), ids made unique to
    the chart so several charts can share a page, and sized by the page's CSS."""
    import matplotlib

    fig.set_layout_engine("constrained")
    buf = io.StringIO()
    with matplotlib.rc_context(
        {
            "svg.fonttype": "none",
            "svg.hashsalt": name,
            "font.family": "sans-serif",
            "font.sans-serif": ["DejaVu Sans", "Helvetica", "Arial", "sans-serif"],
        }
    ):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    svg = re.sub(r'<style type="text/css">.*?</style>\s*', "", svg, flags=re.S)
    for old in set(_SVG_ID.findall(svg)):
        new = f"{name}-{old}"
        svg = svg.replace(f'id="{old}"', f'id="{new}"')
        svg = svg.replace(f"url(#{old})", f"url(#{new})")
        svg = svg.replace(f'href="#{old}"', f'href="#{new}"')
    svg = re.sub(r'\swidth="[^"]*pt"\s+height="[^"]*pt"', "", svg, count=1)
    return f'<figure class="chart" data-testid="svg-{name}" role="img">{svg}</figure>'


_CSS = """
:root { --ink:#1f2937; --muted:#6b7280; --line:#e5e7eb; --bg:#f4f5f7; --card:#fff;
  --accent:#2a9d8f; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink);
  font: 15px/1.45 -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", Arial,
  sans-serif; }
main { max-width: 1160px; margin: 0 auto; padding: 28px 24px 40px; }
header { margin-bottom: 18px; }
h1 { font-size: 26px; margin: 0 0 4px; letter-spacing: -0.01em; }
h2 { font-size: 16px; margin: 0 0 10px; }
.period { margin: 0; color: var(--muted); }
.kpis { display: grid; grid-template-columns: repeat(5, 1fr); gap: 14px; margin-bottom: 16px; }
.kpi { background: var(--card); border-radius: 12px; padding: 14px 16px;
  box-shadow: 0 1px 2px rgba(0,0,0,.06); border-top: 4px solid var(--accent); }
.kpi:nth-child(2) { border-top-color: #8ecae6; }
.kpi:nth-child(3) { border-top-color: #457b9d; }
.kpi:nth-child(4) { border-top-color: #f4a261; }
.kpi:nth-child(5) { border-top-color: #e9c46a; }
.kpi .label { color: var(--muted); font-size: 13px; }
.kpi .value { font-size: 30px; font-weight: 700; margin: 2px 0; white-space: nowrap;
  font-variant-numeric: tabular-nums; }
.kpi .sub { color: var(--muted); font-size: 12.5px; }
.card { background: var(--card); border-radius: 12px; padding: 16px 18px; margin-bottom: 16px;
  box-shadow: 0 1px 2px rgba(0,0,0,.06); min-width: 0; }
.grid { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
.grid > .card, .stack > .card { margin-bottom: 0; }
.grid { margin-bottom: 16px; }
.split { display: grid; grid-template-columns: 2fr 3fr; gap: 28px; }
.split > div { min-width: 0; }
h3 { font-size: 13px; color: var(--muted); font-weight: 600; margin: 0 0 6px;
  text-transform: uppercase; letter-spacing: .04em; }
.stack { display: flex; flex-direction: column; gap: 16px; min-width: 0; }
.note { color: var(--muted); font-size: 13px; margin: -6px 0 8px; }
.none { color: var(--muted); font-style: italic; margin: 6px 0; }
.empty h2 { font-size: 18px; }
.chart { margin: 0; }
.chart svg { width: 100%; height: auto; display: block; }
.chart svg * { stroke-linejoin: round; stroke-linecap: butt; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th { text-align: left; color: var(--muted); font-weight: 600; font-size: 12.5px;
  border-bottom: 1px solid var(--line); padding: 6px 8px; white-space: nowrap; }
td { border-bottom: 1px solid var(--line); padding: 6px 8px; vertical-align: middle; }
tbody tr:last-child td { border-bottom: 0; }
tbody tr:hover { background: #fafafa; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
code { font: 13px/1.3 ui-monospace, "DejaVu Sans Mono", Menlo, monospace; background: #f3f4f6;
  padding: 1px 5px; border-radius: 4px; }
.bar { display: inline-block; width: 110px; height: 8px; background: #f1f2f4; border-radius: 4px;
  margin-right: 8px; vertical-align: middle; overflow: hidden; }
.bar > span { display: block; height: 100%; border-radius: 4px; }
.stars { color: #e9a23b; letter-spacing: 1px; }
.big { margin: 0 0 8px; color: var(--muted); }
.big strong { font-size: 26px; color: var(--ink); }
.bar + .n { display: inline-block; min-width: 3.2em; }
table.hours { font-size: 12px; table-layout: fixed; min-width: 480px; }
table.hours td, table.hours th { text-align: center; padding: 3px 0; border: 0; }
table.hours tr.bars td { height: 150px; vertical-align: bottom; padding: 0 2px;
  border-bottom: 1px solid #9aa3af; }
table.hours tr.bars span { display: block; background: #e07a5f; border-radius: 3px 3px 0 0;
  min-height: 0; }
table.hours tr.counts td { color: var(--ink); font-variant-numeric: tabular-nums; }
table.hours th { color: var(--muted); font-weight: 500; font-size: 11px; }
table.hours tbody tr:hover { background: none; }
footer { color: var(--muted); font-size: 12.5px; margin-top: 22px; }
footer p { margin: 4px 0; }
@media (max-width: 900px) {
  .kpis { grid-template-columns: repeat(2, 1fr); }
  .grid, .split { grid-template-columns: 1fr; }
}
"""
