"""The report as one self-contained HTML page: headline cards, tables, the charts, the CSS."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

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
from bot.report.style import CSS as _CSS
from bot.report.words import long_date, page_language, topic_title, tr
from handoff.insights import Insights
from handoff.reports import DURATIONS, Percentiles, Report

# -- the page -----------------------------------------------------------------------------------


def render_html(
    report: Report,
    title: str | None = None,
    insights: Insights | None = None,
    lang: str = "en",
    titles: Mapping[str, str] | None = None,
    group_id: int | None = None,
) -> str:
    """One self-contained HTML page (inline CSS and SVG charts, no scripts, nothing fetched);
    with ``insights``, the lead's sections too (``bot.report.insights_page``). In ``lang``
    (ru, tg, en: ``bot.report.words``), topics named by ``titles`` (topic id → KB title);
    ``group_id``, the operators' group, links a low rating to its ticket's topic."""
    with page_language(lang, titles):
        return _page(report, title or tr("Dono support report"), insights, lang, group_id)


def _page(
    report: Report, title: str, insights: Insights | None, lang: str, group_id: int | None
) -> str:
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{_e(lang)}">',
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

        parts += insight_sections(insights, report.tz, group_id)
    parts += [_footer(report), "</main>", "</body>", "</html>", ""]
    return "\n".join(parts)


def _empty_page() -> list[str]:
    return [
        '<section class="card empty" data-testid="no-data">'
        f"<h2>{_e(tr('No data for this period'))}</h2>"
        f"<p>{_e(tr(_NOBODY))}</p>"
        "</section>"
    ]


def _sections(report: Report) -> list[str]:
    return [
        _section(
            tr("Conversations per day"),
            outcome_chart(report, tr)
            if report.outcomes.conversations
            else _none(tr("No conversations in this period.")),
            "chart-outcomes",
            note=tr(
                "One conversation is one subscriber on one day; its outcome is the best "
                "the subscriber got: a human, an answer, choices, or nothing."
            ),
        ),
        _section(
            tr("Hand-off times per day"),
            times_chart(report, tr) + _times_table(report)
            if has_times(report)
            else _none(tr("No hand-offs in this period.")),
            "chart-times",
            note=tr(
                "Hand-off → an agent claims the ticket, hand-off → the first reply, "
                "claim → close; of the tickets opened that day."
            ),
        ),
        _section(tr("Day by day"), _days_table(report), "days"),
        _section(tr("Agents"), _agents_table(report), "agents"),
        '<div class="grid">',
        _section(tr("Top topics"), _topics_table(report), "topics"),
        '<div class="stack">',
        _section(tr("Languages"), _languages_table(report), "languages"),
        _section(tr("Customer satisfaction"), _csat_block(report), "csat"),
        "</div>",
        "</div>",
        _section(tr("Answers marked 👎"), _disliked_table(report), "disliked"),
        _section(tr("Outage reports"), _outages_block(report), "outages"),
    ]


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _period(report: Report) -> str:
    days = report.days
    if days:
        first, last = days[0].date, days[-1].date
        span = (
            long_date(first)
            if first == last
            else tr(
                "{first} – {last} · days: {days}",
                first=long_date(first),
                last=long_date(last),
                days=len(days),
            )
        )
    else:
        span = tr("no days with data")
    return f"{span} · {report.tz}"


def _headline_cards(report: Report) -> str:
    o, times, csat = report.outcomes, report.times, report.csat
    cards = [
        (
            "conversations",
            tr("Conversations"),
            format_count(o.conversations),
            tr("questions to the bot: {n}", n=format_count(report.questions)),
        ),
        (
            "first_line_resolution",
            tr("First-line resolution"),
            format_share(o.first_line_resolution),
            tr(
                "answered by the bot: {answered} · handed off: {handed}",
                answered=format_count(o.answered),
                handed=format_count(o.handed_off),
            ),
        ),
        (
            "bot_latency",
            tr("Median bot answer time"),
            format_latency(report.bot_latency_ms.p50),
            f"p90 {format_latency(report.bot_latency_ms.p90)}",
        ),
        (
            "wait_until_claim",
            tr("Median wait until claim"),
            format_duration(times.wait_until_claim.p50),
            tr(
                "p90 {p90} · tickets: {n}",
                p90=format_duration(times.wait_until_claim.p90),
                n=format_count(report.tickets.created),
            ),
        ),
        (
            "csat",
            tr("CSAT"),
            format_csat(csat.average) + (" / 5" if csat.average is not None else ""),
            tr("ratings: {n}", n=format_count(csat.count)),
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
    return _scroll(_table(_heads(head), rows))


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
                _e(tr(_DURATION_LABELS[name])),
                format_duration(p.p50),
                format_duration(p.p90),
                format_count(p.count),
            ]
        )
    head = _heads(["Whole period", "Median (p50)", "p90", "Tickets"])
    return f'<div class="scroll" data-testid="times-total">{_table(head, rows)}</div>'


def _scroll(table: str) -> str:
    return f'<div class="scroll">{table}</div>'


def _agents_table(report: Report) -> str:
    if not report.agents:
        return _none(tr("No ticket was claimed in this period."))
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
    return _scroll(_table(_heads(head), rows))


def _topics_table(report: Report, limit: int = 15) -> str:
    if not report.topics:
        return _none(tr("The bot answered nothing in this period."))
    shown = report.topics[:limit]
    biggest = max(t.answers for t in shown)
    rows = [
        [
            topic_cell(t.topic),
            _bar(t.answers, biggest, COLORS["answered"]),
            format_count(t.helpful),
            format_count(t.unhelpful),
        ]
        for t in shown
    ]
    more = len(report.topics) - len(shown)
    tail = _none(tr("… and more topics: {n}.", n=format_count(more))) if more > 0 else ""
    return _table(_heads(["Topic", "Answers", "👍", "👎"]), rows) + tail


def _languages_table(report: Report) -> str:
    if not report.languages:
        return _none(tr("No questions in this period."))
    biggest = max(x.questions for x in report.languages)
    rows = [
        [
            _e(
                tr(LANGUAGE_NAMES[x.lang])
                if x.lang in LANGUAGE_NAMES
                else x.lang or tr("not detected")
            ),
            _bar(x.questions, biggest),
            format_share(x.share),
        ]
        for x in report.languages
    ]
    return _table(_heads(["Language", "Questions", "Share"]), rows)


def _csat_block(report: Report) -> str:
    csat = report.csat
    if not csat.count:
        return _none(tr("No ratings in this period."))
    biggest = max(csat.distribution)
    rows = [
        [f'<span class="stars">{"★" * score}</span>', _bar(n, biggest, "#e9c46a")]
        for score, n in sorted(zip(range(1, 6), csat.distribution, strict=True), reverse=True)
    ]
    average = (
        f'<p class="big"><strong>{_e(format_csat(csat.average))}</strong> / 5 '
        f"{_e(tr('from {n} ratings', n=format_count(csat.count)))}</p>"
    )
    return average + _table(_heads(["Score", "Ratings"]), rows)


def _disliked_table(report: Report) -> str:
    if not report.disliked:
        return _none(tr("No answer got a 👎 in this period."))
    rows = [[_e(d.question), topic_cell(d.topic), format_count(d.votes)] for d in report.disliked]
    return _table(_heads(["Question", "Answered with", "👎"]), rows, numeric_from=2)


def _outages_block(report: Report) -> str:
    outages = report.outages
    if not outages.total:
        return _none(tr("No outage reports in this period."))
    biggest = max(d.reports for d in outages.by_district)
    rows = [
        [
            _e(d.district if d.district is not None else tr("somewhere else")),
            _bar(d.reports, biggest, "#e07a5f"),
        ]
        for d in outages.by_district
    ]
    districts = _table(_heads(["District", "Reports"]), rows) + _none(
        tr("reports in all: {n}.", n=format_count(outages.total))
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
        f'<div data-testid="outages-district"><h3>{_e(tr("By district"))}</h3>{districts}</div>'
        f'<div data-testid="outages-hour"><h3>{_e(tr("By hour of day"))}</h3>'
        f"{_scroll(by_hour)}</div>"
        "</div>"
    )


def _footer(report: Report) -> str:
    return (
        "<footer>"
        f"<p>{tr(DEFINITIONS)}</p>"
        f"<p>{_e(tr('Days in {tz}', tz=report.tz))} · {_e(tr('generated by Dono'))}</p>"
        "</footer>"
    )


def _heads(head: Sequence[str]) -> list[str]:
    """Column headings in the page's language, escaped."""
    return [_e(tr(h)) for h in head]


def topic_cell(topic: str) -> str:
    """A topic by its KB title, its id small beside it (what the KB team searches for)."""
    title = topic_title(topic)
    if title == topic:
        return f"<code>{_e(topic)}</code>"
    return f'{_e(title)} <code class="id">{_e(topic)}</code>'


_NOBODY = "Nobody wrote to the bot, no ticket was opened and no outage was reported."
DEFINITIONS = (  # HTML: the table's translations keep its <strong>s
    "<strong>Conversation</strong>: a subscriber's questions (and tickets) on one local day. "
    "<strong>Answered</strong>: the bot answered and nobody was handed off; "
    "<strong>clarified</strong>: only “did you mean” choices; "
    "<strong>handed off</strong>: a ticket was opened; "
    "<strong>abandoned</strong>: none of these. "
    "<strong>First-line resolution</strong> = answered ÷ conversations. "
    "Percentiles are nearest-rank. Ticket times belong to the day the ticket was opened."
)
