"""Every table of ``dono report`` as CSV (``--csv DIR``): the report's own (days, agents,
topics, languages, CSAT, outages) next to the lead's (``insights_page.insights_csv``) and the
ones only the page showed (queue ageing, trends, the choice click-through, the hand-offs
heatmap, SLA by priority and by label). Times are seconds, shares 0..1, keys in English."""

from __future__ import annotations

from bot.report.insights_page import WEEKDAYS, csv_text, insights_csv
from handoff.desk_figures import Segment
from handoff.insights import Insights
from handoff.reports import Report


def report_csv(report: Report, insights: Insights | None = None) -> dict[str, str]:
    """The report's tables (name → CSV text), the lead's with them when ``insights``."""
    tables = {name: csv_text(rows) for name, rows in _report_tables(report).items()}
    if insights is not None:
        tables |= insights_csv(insights)
        tables |= {name: csv_text(rows) for name, rows in _page_tables(insights).items()}
    return tables


def _report_tables(report: Report) -> dict[str, list[list[object]]]:
    return {
        "days": _days(report),
        "agent_times": _agent_times(report),
        "topics": [["topic", "answers", "helpful", "unhelpful"]]
        + [[t.topic, t.answers, t.helpful, t.unhelpful] for t in report.topics],
        "languages": [["lang", "questions", "share"]]
        + [[x.lang or "", x.questions, x.share] for x in report.languages],
        "csat": [["stars", "ratings"]]
        + [[n, count] for n, count in enumerate(report.csat.distribution, start=1)],
        "outages_by_district": [["district", "reports"]]
        + [[d.district or "", d.reports] for d in report.outages.by_district],
        "outages_by_hour": [["hour", "reports"]]
        + [list(x) for x in enumerate(report.outages.by_hour)],
    }


DAY_COLUMNS = [
    "date",
    "conversations",
    "answered",
    "clarified",
    "handed_off",
    "abandoned",
    "first_line_resolution",
    "questions",
    "tickets",
    "wait_until_claim_p50",
    "first_response_p50",
]
AGENT_COLUMNS = [
    "agent",
    "tickets",
    "closed",
    "first_response_p50",
    "handling_p50",
    "csat_average",
    "csat_count",
]


def _days(report: Report) -> list[list[object]]:
    rows: list[list[object]] = [list(DAY_COLUMNS)]
    for d in report.days:
        o, times = d.outcomes, d.times
        rows.append(
            [
                d.date.isoformat(),
                *(o.conversations, o.answered, o.clarified, o.handed_off, o.abandoned),
                o.first_line_resolution,
                d.questions,
                d.tickets,
                times.wait_until_claim.p50,
                times.first_response_time.p50,
            ]
        )
    return rows


def _agent_times(report: Report) -> list[list[object]]:
    rows: list[list[object]] = [list(AGENT_COLUMNS)]
    for a in report.agents:
        rows.append(
            [
                *(a.agent_name, a.tickets, a.closed),
                *(a.first_response_time.p50, a.handling_time.p50),
                *(a.csat_average, a.csat_count),
            ]
        )
    return rows


def _page_tables(insights: Insights) -> dict[str, list[list[object]]]:
    tables: dict[str, list[list[object]]] = {
        "queue_ageing": [["age", "tickets"], *map(list, insights.queue.ageing)],
        "trends": [["kpi", "current", "previous", "change"]]
        + [[x.kpi, x.current, x.previous, x.change] for x in insights.trends],
        "heatmap_handoffs": [["weekday", *range(24)]]
        + [[d, *row] for d, row in zip(WEEKDAYS, insights.heatmap.handoffs, strict=True)],
    }
    if insights.click_through is not None:
        c = insights.click_through
        tables["click_through"] = [
            ["clarified", "chosen", "share"],
            [c.clarified, c.chosen, c.share],
        ]
    if insights.triage is not None:
        tables["sla_by_priority"] = _segments("priority", insights.triage.by_priority)
        tables["sla_by_label"] = _segments("label", insights.triage.by_label)
    return tables


def _segments(key: str, segments: tuple[Segment, ...]) -> list[list[object]]:
    head = [key, "tickets", "first_response_met", "first_response_late"]
    return [[*head, "resolution_met", "resolution_late"]] + [
        [
            s.key,
            s.tickets,
            s.first_response.met,
            s.first_response.breached,
            s.resolution.met,
            s.resolution.breached,
        ]
        for s in segments
    ]
