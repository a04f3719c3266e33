"""The report as one self-contained HTML page: headline cards, tables, the charts, the CSS."""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import date

from bot.report.charts import (
    COLORS,
    LANGUAGE_NAMES,
    has_times,
    outcome_chart,
    times_chart,
)
from bot.report.format import (
    format_count,
    format_csat,
    format_duration,
    format_latency,
    format_share,
)
from handoff.insights import Insights
from handoff.reports import DURATIONS, Percentiles, Report

# -- the page -----------------------------------------------------------------------------------


def render_html(
    report: Report, title: str = "Dono support report", insights: Insights | None = None
) -> str:
    """One self-contained HTML page (inline CSS and SVG charts, no scripts, nothing fetched);
    with ``insights``, the lead's sections too (``bot.report.insights_page``)."""
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
    parts += _empty_page() if report.is_empty else _sections(report)
    if insights is not None and not report.is_empty:
        from bot.report.insights_page import insight_sections  # it builds on this module

        parts += insight_sections(insights, report.tz)
    parts += [_footer(report), "</main>", "</body>", "</html>", ""]
    return "\n".join(parts)


def _empty_page() -> list[str]:
    return [
        '<section class="card empty" data-testid="no-data">'
        "<h2>No data for this period</h2>"
        "<p>Nobody wrote to the bot, no ticket was opened and no outage was reported.</p>"
        "</section>"
    ]


def _sections(report: Report) -> list[str]:
    return [
        _section(
            "Conversations per day",
            outcome_chart(report)
            if report.outcomes.conversations
            else _none("No conversations in this period."),
            "chart-outcomes",
            note="One conversation is one subscriber on one day; its outcome is the best "
            "the subscriber got: a human, an answer, choices, or nothing.",
        ),
        _section(
            "Hand-off times per day",
            times_chart(report) + _times_table(report)
            if has_times(report)
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
table.heat { font-size: 11px; margin-bottom: 12px; } table.heat td { text-align: center; }
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
