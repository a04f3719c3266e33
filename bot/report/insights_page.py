"""The lead's sections of the report page: SLA, queue, trends, heatmaps, hand-off reasons,
bot decisions, agents' activity and low ratings (``handoff.insights``), as HTML; and the same
tables as CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.report.format import DASH, format_count, format_csat, format_duration, format_share
from bot.report.page import _e, _none, _section, _table
from handoff.insights import Insights, Segment, Trend
from handoff.sla import Attainment
from knowledge.unanswered import spreadsheet_cell

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
SHARE_KPIS = frozenset({"first_line_resolution", "first_response_sla"})
TIME_KPIS = frozenset({"median_wait_until_claim"})
KPI_LABELS = {
    "conversations": "Conversations",
    "first_line_resolution": "First-line resolution",
    "handed_off": "Handed off",
    "median_wait_until_claim": "Median wait until claim",
    "csat_average": "CSAT",
    "first_response_sla": "First response within target",
}


def insight_sections(insights: Insights, tz: str) -> list[str]:
    """The sections, in the order a lead reads them."""
    return [
        _section(
            "Against the period before",
            _trends_table(insights.trends) or _none("No earlier period to compare with."),
            "trends",
            note="Each figure of this period and of the period of the same length just before.",
        ),
        _section("Service levels", _sla_block(insights), "sla", note=_sla_note(insights)),
        _section("By priority and label", _triage_block(insights), "triage", note=TRIAGE_NOTE),
        _section("Queue", _queue_block(insights), "queue"),
        _section(
            "When subscribers write",
            _heatmap(insights.heatmap.conversations, "conversations")
            + _heatmap(insights.heatmap.handoffs, "hand-offs"),
            "heatmap",
            note="Conversations and hand-offs by local weekday and hour.",
        ),
        '<div class="grid">',
        _section("Why tickets were opened", _pairs(insights.handoff_reasons, "Reason"), "reasons"),
        _section(
            "Asked just before a hand-off",
            _pairs(insights.before_handoff, "Topic or decision"),
            "before-handoff",
            note="The subscriber's last question that day before the ticket: the list the "
            "knowledge-base team fixes first.",
        ),
        "</div>",
        _section("Bot decisions", _pairs(insights.decisions, "Decision"), "decisions"),
        _section(
            "Agents' activity", _activity_table(insights) + _shift_table(insights), "activity"
        ),
        _section("Low ratings", _low_table(insights, tz), "low-ratings"),
    ]


def _trend_value(kpi: str, value: float | None) -> str:
    if value is None:
        return DASH
    if kpi in SHARE_KPIS:
        return format_share(value)
    if kpi in TIME_KPIS:
        return format_duration(value)
    if kpi == "csat_average":
        return format_csat(value)
    return format_count(round(value))


def _arrow(trend: Trend) -> str:
    if trend.change is None or trend.change == 0:
        return "="
    return "▲" if trend.change > 0 else "▼"


def _trends_table(trends: Sequence[Trend]) -> str:
    if not trends:
        return ""
    rows = [
        [
            _e(KPI_LABELS.get(t.kpi, t.kpi)),
            _e(_trend_value(t.kpi, t.current)),
            _e(_trend_value(t.kpi, t.previous)),
            f'<span data-kpi="{_e(t.kpi)}">{_arrow(t)}</span>',
        ]
        for t in trends
    ]
    return _table(["Figure", "This period", "Before", ""], rows)


def _sla_note(insights: Insights) -> str:
    t = insights.sla.targets
    if t.first_response is None and t.resolution is None:
        return "No targets set: add reports.sla to config.yaml."
    clock = "business hours" if t.business_hours else "round the clock"
    return (
        f"Targets: first response {format_duration(t.first_response)}, resolution "
        f"{format_duration(t.resolution)}, counted {clock}."
    )


def _att(a: Attainment) -> str:
    if a.target is None:
        return DASH
    return f"{format_share(a.share)} ({format_count(a.met)} met, {format_count(a.breached)} late)"


def _sla_block(insights: Insights) -> str:
    sla = insights.sla
    rows = [["All", _att(sla.first_response), _att(sla.resolution)]]
    rows += [[_e(d.date.isoformat()), _att(d.first_response), _att(d.resolution)] for d in sla.days]
    rows += [[_e(a.agent_name), _att(a.first_response), _att(a.resolution)] for a in sla.agents]
    table = _table(["", "First response", "Resolution"], rows)
    if sla.breaches:
        late = [
            [
                f"#{b.ticket_id}",
                _e(b.target.replace("_", " ")),
                format_duration(b.over),
                _e(b.agent_name or DASH),
            ]
            for b in sla.breaches
        ]
        table += _table(["Ticket", "Target", "Over by", "Agent"], late)
    return table


def _queue_block(insights: Insights) -> str:
    q = insights.queue
    rows = [
        ["Open at the start", format_count(q.backlog_start)],
        ["Open at the end", format_count(q.backlog_end)],
        *[[f"… open {_e(label)}", format_count(n)] for label, n in q.ageing],
        [
            "Gave up while waiting",
            f"{format_count(q.abandoned_waiting)} ({format_share(q.abandoned_share)})",
        ],
    ]
    return _table(["", "Tickets"], rows)


def _heatmap(grid: Sequence[Sequence[int]], what: str) -> str:
    biggest = max((n for row in grid for n in row), default=0)
    head = "".join(f"<th>{h}</th>" for h in range(24))
    body = ""
    for day, row in zip(WEEKDAYS, grid, strict=True):
        cells = "".join(
            f'<td title="{n}" style="background:rgba(69,123,157,{_shade(n, biggest):.2f})">'
            f"{n or ''}</td>"
            for n in row
        )
        body += f"<tr><th>{day}</th>{cells}</tr>"
    return (
        f'<table class="heat" data-testid="heat-{_e(what)}"><caption>{_e(what)}</caption>'
        f"<thead><tr><th></th>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


def _shade(n: int, biggest: int) -> float:
    return n / biggest if biggest else 0.0


def _pairs(pairs: Sequence[tuple[str, int]], label: str) -> str:
    if not pairs:
        return _none("Nothing in this period.")
    return _table([label, "Count"], [[_e(k), format_count(n)] for k, n in pairs])


def _activity_table(insights: Insights) -> str:
    if not insights.agents:
        return _none("No agent work in this period.")
    rows = [
        [
            _e(a.agent_name),
            *(format_count(n) for n in (a.first_replies, a.closes, a.transfers, a.reopened)),
        ]
        for a in insights.agents
    ]
    return _table(["Agent", "First replies", "Closes", "Transfers", "Reopened after close"], rows)


def _shift_table(insights: Insights) -> str:
    """Tickets per hour on shift (``handoff.insights.shift_rates``): only with shifts kept."""
    if not insights.shift_rates:
        return ""
    rows = [
        [_e(r.agent_name), f"{r.hours_on_shift:.1f}", format_count(r.closed), _rate(r.per_hour)]
        for r in insights.shift_rates
    ]
    return _table(["Agent", "Hours on shift", "Closes", "Tickets per hour on shift"], rows)


def _rate(per_hour: float | None) -> str:
    return DASH if per_hour is None else f"{per_hour:.2f}"


def _low_table(insights: Insights, tz: str) -> str:
    if not insights.low_ratings:
        return _none("No rating of 1 or 2 in this period.")
    zone = ZoneInfo(tz)
    rows = [
        [
            f"#{r.ticket_id}",
            str(r.score),
            _e(r.agent_name or DASH),
            _e(datetime.fromtimestamp(r.created_at, zone).strftime("%Y-%m-%d %H:%M")),
        ]
        for r in insights.low_ratings
    ]
    return _table(["Ticket", "Score", "Agent", "Opened"], rows)


def insights_csv(insights: Insights) -> dict[str, str]:
    """The tables as CSV files (name → text), for a spreadsheet."""
    out: dict[str, list[list[object]]] = {
        "sla_days": [
            [
                "date",
                "first_response_met",
                "first_response_late",
                "resolution_met",
                "resolution_late",
            ]
        ]
        + [
            [
                d.date.isoformat(),
                d.first_response.met,
                d.first_response.breached,
                d.resolution.met,
                d.resolution.breached,
            ]
            for d in insights.sla.days
        ],
        "sla_agents": [
            [
                "agent",
                "first_response_met",
                "first_response_late",
                "resolution_met",
                "resolution_late",
            ]
        ]
        + [
            [
                a.agent_name,
                a.first_response.met,
                a.first_response.breached,
                a.resolution.met,
                a.resolution.breached,
            ]
            for a in insights.sla.agents
        ],
        "handoff_reasons": [["reason", "tickets"], *map(list, insights.handoff_reasons)],
        "before_handoff": [["topic_or_decision", "tickets"], *map(list, insights.before_handoff)],
        "decisions": [["decision", "questions"], *map(list, insights.decisions)],
        "agents": [["agent", "first_replies", "closes", "transfers", "reopened"]]
        + [
            [a.agent_name, a.first_replies, a.closes, a.transfers, a.reopened]
            for a in insights.agents
        ],
        "shift_rates": [["agent", "hours_on_shift", "closes", "per_hour"]]
        + [[r.agent_name, r.hours_on_shift, r.closed, r.per_hour] for r in insights.shift_rates],
        "low_ratings": [["ticket", "score", "agent", "created_at"]]
        + [[r.ticket_id, r.score, r.agent_name or "", r.created_at] for r in insights.low_ratings],
        "heatmap_conversations": [["weekday", *range(24)]]
        + [[d, *row] for d, row in zip(WEEKDAYS, insights.heatmap.conversations, strict=True)],
    }
    return {name: _csv(rows) for name, rows in out.items()}


def _csv(rows: list[list[object]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    for row in rows:
        # an agent's name a spreadsheet would run as a formula stays text
        writer.writerow([spreadsheet_cell(c) if isinstance(c, str) else c for c in row])
    return buf.getvalue()


TRIAGE_NOTE = (
    "The period's tickets by the priority and the labels they carry now (a ticket with two "
    "labels is in both rows), with their service levels."
)


def _triage_block(insights: Insights) -> str:
    triage = insights.triage
    if triage is None or not triage.by_priority:
        return _none("No tickets in this period.")
    head = ["", "Tickets", "First response", "Resolution"]
    table = _table(["Priority", *head[1:]], [_segment(s) for s in triage.by_priority])
    if triage.by_label:
        table += _table(["Label", *head[1:]], [_segment(s, "#") for s in triage.by_label])
    else:
        table += _none("No ticket has a label.")
    return table


def _segment(s: Segment, mark: str = "") -> list[str]:
    return [_e(mark + s.key), format_count(s.tickets), _att(s.first_response), _att(s.resolution)]
