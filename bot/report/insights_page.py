"""The lead's sections of the report page: SLA, queue, trends, heatmaps, hand-off reasons,
bot decisions, agents' activity and low ratings (``handoff.insights``), as HTML; and the same
tables as CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.report.format import (
    DASH,
    format_count,
    format_csat,
    format_duration,
    format_share,
    topic_link,
)
from bot.report.page import _e, _heads, _none, _section, _table, topic_cell
from bot.report.words import tr, weekdays
from handoff.desk_figures import Segment
from handoff.insights import Insights, Trend
from handoff.sla import Attainment
from knowledge.unanswered import spreadsheet_cell

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")  # the CSV's; the page's: words
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
REASONS = {  # a ticket's reason, as the page names it
    "asked": "asked for a person",
    "button": "the Operator button",
    "command": "the /operator command",
    "bot_failed": "the bot could not answer",
    "outage": "an outage report",
}
KINDS = {  # a decision's kind
    "answer": "answered",
    "clarify": "“did you mean”",
    "handoff": "asked for a person",
    "smalltalk": "small talk",
    "none": "nothing found",
}


def insight_sections(insights: Insights, tz: str, group_id: int | None = None) -> list[str]:
    """The sections, in the order a lead reads them; ``group_id`` links tickets to topics."""
    return [
        _section(
            tr("Against the period before"),
            _trends_table(insights.trends) or _none(tr("No earlier period to compare with.")),
            "trends",
            note=tr("Each figure of this period and of the period of the same length just before."),
        ),
        _section(tr("Service levels"), _sla_block(insights), "sla", note=_sla_note(insights)),
        _section(
            tr("By priority and label"), _triage_block(insights), "triage", note=tr(TRIAGE_NOTE)
        ),
        _section(tr("Queue"), _queue_block(insights), "queue"),
        _section(
            tr("When subscribers write"),
            _heatmap(insights.heatmap.conversations, "conversations")
            + _heatmap(insights.heatmap.handoffs, "hand-offs"),
            "heatmap",
            note=tr("Conversations and hand-offs by local weekday and hour."),
        ),
        '<div class="grid">',
        _section(
            tr("Why tickets were opened"),
            _pairs(insights.handoff_reasons, "Reason", _reason),
            "reasons",
        ),
        _section(
            tr("Asked just before a hand-off"),
            _pairs(insights.before_handoff, "Topic or decision", _topic_or_kind),
            "before-handoff",
            note=tr(
                "The subscriber's last question that day before the ticket: the list the "
                "knowledge-base team fixes first."
            ),
        ),
        "</div>",
        _section(
            tr("Bot decisions"),
            _pairs(insights.decisions, "Decision", _kind) + _click_through(insights),
            "decisions",
        ),
        _section(
            tr("Agents' activity"),
            _activity_table(insights) + _shift_table(insights),
            "activity",
        ),
        _section(tr("Low ratings"), _low_table(insights, tz, group_id), "low-ratings"),
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
            _e(tr(KPI_LABELS[t.kpi]) if t.kpi in KPI_LABELS else t.kpi),
            _e(_trend_value(t.kpi, t.current)),
            _e(_trend_value(t.kpi, t.previous)),
            f'<span data-kpi="{_e(t.kpi)}">{_arrow(t)}</span>',
        ]
        for t in trends
    ]
    return _table([*_heads(["Figure", "This period", "Before"]), ""], rows)


def _sla_note(insights: Insights) -> str:
    t = insights.sla.targets
    if t.first_response is None and t.resolution is None:
        return tr("No targets set: add reports.sla to config.yaml.")
    clock = tr("business hours") if t.business_hours else tr("round the clock")
    return tr(
        "Targets: first response {first}, resolution {resolution}, counted {clock}.",
        first=format_duration(t.first_response),
        resolution=format_duration(t.resolution),
        clock=clock,
    )


def _att(a: Attainment) -> str:
    if a.target is None:
        return DASH
    return tr(
        "{share} ({met} met, {late} late)",
        share=format_share(a.share),
        met=format_count(a.met),
        late=format_count(a.breached),
    )


def _sla_block(insights: Insights) -> str:
    sla = insights.sla
    rows = [[_e(tr("All")), _att(sla.first_response), _att(sla.resolution)]]
    rows += [[_e(d.date.isoformat()), _att(d.first_response), _att(d.resolution)] for d in sla.days]
    rows += [[_e(a.agent_name), _att(a.first_response), _att(a.resolution)] for a in sla.agents]
    table = _table(["", *_heads(["First response", "Resolution"])], rows)
    if sla.breaches:
        late = [
            [
                f"#{b.ticket_id}",
                _e(tr(b.target.replace("_", " "))),
                format_duration(b.over),
                _e(b.agent_name or DASH),
            ]
            for b in sla.breaches
        ]
        table += _table(_heads(["Ticket", "Target", "Over by", "Agent"]), late)
    return table


def _queue_block(insights: Insights) -> str:
    q = insights.queue
    rows = [
        [_e(tr("Open at the start")), format_count(q.backlog_start)],
        [_e(tr("Open at the end")), format_count(q.backlog_end)],
        *[[_e(tr("… open {age}", age=tr(label))), format_count(n)] for label, n in q.ageing],
        [
            _e(tr("Gave up while waiting")),
            f"{format_count(q.abandoned_waiting)} ({format_share(q.abandoned_share)})",
        ],
    ]
    return _table(["", *_heads(["Tickets"])], rows)


def _heatmap(grid: Sequence[Sequence[int]], what: str) -> str:
    biggest = max((n for row in grid for n in row), default=0)
    head = "".join(f"<th>{h}</th>" for h in range(24))
    body = ""
    for day, row in zip(weekdays(), grid, strict=True):
        cells = "".join(
            f'<td title="{n}" style="background:rgba(69,123,157,{_shade(n, biggest):.2f})">'
            f"{n or ''}</td>"
            for n in row
        )
        body += f"<tr><th>{_e(day)}</th>{cells}</tr>"
    return (
        f'<table class="heat" data-testid="heat-{_e(what)}"><caption>{_e(tr(what))}</caption>'
        f"<thead><tr><th></th>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


def _shade(n: int, biggest: int) -> float:
    return n / biggest if biggest else 0.0


def _pairs(pairs: Sequence[tuple[str, int]], label: str, name: Callable[[str], str] = _e) -> str:
    """``name``: a key as HTML (a reason, a decision, a topic by its KB title)."""
    if not pairs:
        return _none(tr("Nothing in this period."))
    return _table(_heads([label, "Count"]), [[name(k), format_count(n)] for k, n in pairs])


def _reason(reason: str) -> str:
    return _e(tr(REASONS[reason])) if reason in REASONS else _e(reason)


def _kind(kind: str) -> str:
    return _e(tr(KINDS[kind])) if kind in KINDS else _e(kind)


def _topic_or_kind(key: str) -> str:
    return _kind(key) if key in KINDS else topic_cell(key)


def _click_through(insights: Insights) -> str:
    """Of the "did you mean"s, how many got a choice pressed."""
    ct = insights.click_through
    if ct is None or not ct.clarified:
        return ""
    return (
        '<p class="big" data-testid="click-through">'
        f"<strong>{_e(format_share(ct.share))}</strong> "
        + _e(
            tr(
                "choice click-through: {chosen} of {clarified} “did you mean” questions got a "
                "choice pressed",
                chosen=format_count(ct.chosen),
                clarified=format_count(ct.clarified),
            )
        )
        + "</p>"
    )


def _activity_table(insights: Insights) -> str:
    if not insights.agents:
        return _none(tr("No agent work in this period."))
    rows = [
        [
            _e(a.agent_name),
            *(format_count(n) for n in (a.first_replies, a.closes, a.transfers, a.reopened)),
        ]
        for a in insights.agents
    ]
    head = ["Agent", "First replies", "Closes", "Transfers", "Reopened after close"]
    return _table(_heads(head), rows)


def _shift_table(insights: Insights) -> str:
    """Tickets per hour on shift (``handoff.insights.shift_rates``): only with shifts kept."""
    if not insights.shift_rates:
        return ""
    rows = [
        [_e(r.agent_name), f"{r.hours_on_shift:.1f}", format_count(r.closed), _rate(r.per_hour)]
        for r in insights.shift_rates
    ]
    return _table(_heads(["Agent", "Hours on shift", "Closes", "Tickets per hour on shift"]), rows)


def _rate(per_hour: float | None) -> str:
    return DASH if per_hour is None else f"{per_hour:.2f}"


def _low_table(insights: Insights, tz: str, group_id: int | None) -> str:
    if not insights.low_ratings:
        return _none(tr("No rating of 1 or 2 in this period."))
    zone = ZoneInfo(tz)
    rows = [
        [
            _ticket_cell(r.ticket_id, topic_link(group_id, r.thread_id)),
            f'<span class="stars">{"★" * r.score}</span> {r.score}',
            f'<span class="comment">{_e(r.comment)}</span>' if r.comment else DASH,
            _e(r.agent_name or DASH),
            _e(datetime.fromtimestamp(r.created_at, zone).strftime("%Y-%m-%d %H:%M")),
        ]
        for r in insights.low_ratings
    ]
    return _table(_heads(["Ticket", "Score", "What went wrong", "Agent", "Opened"]), rows, 5)


def _ticket_cell(ticket_id: int, link: str | None) -> str:
    if link is None:
        return f'<span id="ticket-{ticket_id}">#{ticket_id}</span>'
    return f'<a id="ticket-{ticket_id}" href="{_e(link)}">#{ticket_id}</a>'


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
        "low_ratings": [["ticket", "score", "agent", "created_at", "comment"]]
        + [
            [r.ticket_id, r.score, r.agent_name or "", r.created_at, r.comment or ""]
            for r in insights.low_ratings
        ],
        "heatmap_conversations": [["weekday", *range(24)]]
        + [[d, *row] for d, row in zip(WEEKDAYS, insights.heatmap.conversations, strict=True)],
    }
    return {name: csv_text(rows) for name, rows in out.items()}


def csv_text(rows: list[list[object]]) -> str:
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
        return _none(tr("No tickets in this period."))
    table = _table(
        _heads(["Priority", "Tickets", "First response", "Resolution"]),
        [_segment(tr(PRIORITY_NAMES.get(s.key, s.key)), s) for s in triage.by_priority],
    )
    if triage.by_label:
        table += _table(
            _heads(["Label", "Tickets", "First response", "Resolution"]),
            [_segment("#" + s.key, s) for s in triage.by_label],
        )
    else:
        table += _none(tr("No ticket has a label."))
    return table


# a priority's name on the page (``tr`` gives it in the page's language)
PRIORITY_NAMES = {"urgent": "urgent", "high": "high", "normal": "normal", "low": "low"}


def _segment(name: str, s: Segment) -> list[str]:
    return [_e(name), format_count(s.tickets), _att(s.first_response), _att(s.resolution)]
