"""The lead's figures (SLA, queue, heatmaps, reasons, decisions, agents, low ratings, trends)
against plain SQL over the generated week of ``test_reports``, and the SLA clock in business
hours across a weekend and a holiday against a minute-by-minute count."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass
from pathlib import Path

import pytest

from handoff.hours import WorkingHours
from handoff.insights import AGE_BUCKETS, Insights, build_insights
from handoff.reports import build_report, headline
from handoff.sla import SlaTargets
from handoff.storage import Store
from tests.handoff.conftest import Clock
from tests.handoff.test_reports import DAY, DAY0, OFFSET, TZ, fill_scenario, sql
from tests.pg import on_postgres, on_store

SINCE = DAY0 + 2 * DAY  # Wednesday and Thursday; the window before is Monday and Tuesday
UNTIL = DAY0 + 4 * DAY
FIRST_RESPONSE = 240.0
RESOLUTION = 1800.0
TARGETS = SlaTargets(first_response=FIRST_RESPONSE, resolution=RESOLUTION)


@dataclass(frozen=True)
class Week:
    path: Path
    insights: Insights
    previous_headline: dict
    whole: Insights  # the five days of test_reports' window


@pytest.fixture(scope="module")
def week(tmp_path_factory: pytest.TempPathFactory) -> Week:
    path = tmp_path_factory.mktemp("insights") / "db.sqlite3"

    found, before, whole = asyncio.run(on_store(path, _week, DAY0))
    return Week(path, found, before, whole)


async def _week(store: Store, clock: Clock) -> tuple[Insights, dict, Insights]:
    await fill_scenario(store, clock, days=6, per_day=45, seed=20250616, hostile=False)
    await _gave_up(store, clock)
    found = await build_insights(store, SINCE, UNTIL, TZ, TARGETS)
    before = headline(await build_report(store, SINCE - (UNTIL - SINCE), SINCE, TZ))
    whole = await build_insights(store, DAY0, DAY0 + 5 * DAY, TZ, TARGETS)
    return found, before, whole


async def test_postgresql_gives_the_same_insights(week: Week) -> None:
    """The week on PostgreSQL: the insights (checked against SQL here) come out the same."""
    assert await on_postgres(_week, DAY0) == (week.insights, week.previous_headline, week.whole)


async def _gave_up(store: Store, clock: Clock) -> None:
    """Two subscribers who cancelled before any agent wrote, one who was answered then left."""
    for n, (start, reason) in enumerate(
        [(SINCE + 10 * 3600, "user"), (SINCE + 30 * 3600, "timeout"), (SINCE + 31 * 3600, "user")]
    ):
        clock.now = start
        ticket, _ = await store.open_ticket(30_000 + n, "asked", "жду", "ru")
        if n == 2:
            await store.claim(ticket.id, 501, "Мадина")
            clock.now = start + 60
            await store.record_message(ticket.id, "out")
        clock.now = start + 600
        await store.close_ticket(ticket.id, reason=reason)


def _in_window(where: str = "") -> str:
    return f"FROM tickets WHERE created_at >= {SINCE!r} AND created_at < {UNTIL!r} {where}"


def test_first_response_sla_matches_sql(week: Week) -> None:
    [(met, breached)] = sql(
        week.path,
        f"""SELECT
            SUM(first_response_at IS NOT NULL AND first_response_at - created_at <= :t),
            SUM((first_response_at IS NOT NULL AND first_response_at - created_at > :t)
                OR (first_response_at IS NULL
                    AND MIN({UNTIL!r}, COALESCE(closed_at, {UNTIL!r})) - created_at > :t))
            {_in_window()}""".replace(":t", repr(FIRST_RESPONSE)),
    )
    got = week.insights.sla.first_response
    assert (got.met, got.breached) == (met, breached)
    assert met >= 3 and breached >= 3  # the target splits the scenario, so neither is trivial
    assert got.share == met / (met + breached)


def test_resolution_sla_matches_sql(week: Week) -> None:
    system = "('user', 'blocked', 'timeout', 'migrated')"
    resolved = f"status = 'closed' AND closed_at < {UNTIL!r} AND close_reason NOT IN {system}"
    [(met, breached)] = sql(
        week.path,
        f"""SELECT
            SUM(({resolved}) AND closed_at - created_at <= :t),
            SUM((({resolved}) AND closed_at - created_at > :t)
                OR (NOT ({resolved})
                    AND MIN({UNTIL!r}, COALESCE(closed_at, {UNTIL!r})) - created_at > :t))
            {_in_window()}""".replace(":t", repr(RESOLUTION)),
    )
    got = week.insights.sla.resolution
    assert (got.met, got.breached) == (met, breached) and met >= 3 and breached > 0


def test_sla_per_day_and_per_agent_add_up(week: Week) -> None:
    sla = week.insights.sla
    assert len(sla.days) == 2
    assert sum(d.first_response.met for d in sla.days) == sla.first_response.met
    assert sum(d.resolution.breached for d in sla.days) == sla.resolution.breached
    rows = sql(
        week.path,
        f"""SELECT e.agent_id, SUM(t.first_response_at - t.created_at <= {FIRST_RESPONSE!r})
            FROM events e JOIN tickets t ON t.id = e.ticket_id
            WHERE e.name = 'first_response' AND t.created_at >= {SINCE!r}
              AND t.created_at < {UNTIL!r} GROUP BY e.agent_id""",
    )
    assert {a.agent_id: a.first_response.met for a in sla.agents} == dict(rows)
    assert [b.over for b in sla.breaches] == sorted((b.over for b in sla.breaches), reverse=True)


def test_queue_matches_sql(week: Week) -> None:
    def open_at(ts: float) -> int:
        [(n,)] = sql(
            week.path,
            "SELECT COUNT(*) FROM tickets WHERE created_at < ? AND (closed_at IS NULL"
            " OR closed_at >= ?)",
            ts,
            ts,
        )
        return n

    q = week.insights.queue
    assert (q.backlog_start, q.backlog_end) == (open_at(SINCE), open_at(UNTIL))
    ages = sql(
        week.path,
        "SELECT ? - created_at FROM tickets WHERE created_at < ? AND (closed_at IS NULL"
        " OR closed_at >= ?)",
        UNTIL,
        UNTIL,
        UNTIL,
    )
    expected = [sum(lo <= a < hi for (a,) in ages) for lo, hi in _bounds()]
    assert [n for _, n in q.ageing] == expected
    [(abandoned, created)] = sql(
        week.path,
        "SELECT SUM(close_reason IN ('user', 'timeout') AND first_response_at IS NULL), COUNT(*)"
        " FROM tickets WHERE created_at >= ? AND created_at < ?",
        DAY0,
        DAY0 + 5 * DAY,
    )
    whole = week.whole.queue
    assert whole.abandoned_waiting == abandoned > 0
    assert whole.abandoned_share == abandoned / created


def _bounds() -> list[tuple[float, float]]:
    edges = [0.0, *(upto for _, upto in AGE_BUCKETS)]
    return list(itertools.pairwise(edges))


def test_heatmaps_match_sql(week: Week) -> None:
    # SQLite's %w counts from Sunday; the heatmap's rows start on Monday
    local = f"(ts + {OFFSET})"
    rows = sql(
        week.path,
        f"""WITH activity AS (
                SELECT user_id, ts FROM interactions
                WHERE kind <> 'banned' AND ts >= {SINCE!r} AND ts < {UNTIL!r}
                UNION ALL SELECT user_id, created_at {_in_window()}
            ), first AS (
                SELECT MIN(ts) AS ts FROM activity
                GROUP BY user_id, date(ts + {OFFSET}, 'unixepoch')
            )
            SELECT (CAST(strftime('%w', {local}, 'unixepoch') AS INTEGER) + 6) % 7,
                   CAST(strftime('%H', {local}, 'unixepoch') AS INTEGER), COUNT(*)
            FROM first GROUP BY 1, 2""",
    )
    heat = week.insights.heatmap.conversations
    assert {(d, h): n for d, h, n in rows} == {
        (d, h): heat[d][h] for d in range(7) for h in range(24) if heat[d][h]
    }
    handoffs = sql(
        week.path,
        f"SELECT CAST(strftime('%H', created_at + {OFFSET}, 'unixepoch') AS INTEGER), COUNT(*)"
        f" {_in_window()} GROUP BY 1",
    )
    by_hour = [sum(week.insights.heatmap.handoffs[d][h] for d in range(7)) for h in range(24)]
    assert dict(handoffs) == {h: n for h, n in enumerate(by_hour) if n}


def test_reasons_and_what_came_before_a_handoff_match_sql(week: Week) -> None:
    reasons = sql(week.path, f"SELECT reason, COUNT(*) {_in_window()} GROUP BY reason")
    assert dict(week.insights.handoff_reasons) == dict(reasons)
    before = sql(
        week.path,
        f"""SELECT CASE WHEN i.kind = 'answer' AND i.topic IS NOT NULL THEN i.topic
                        ELSE i.kind END, COUNT(*)
            FROM tickets t JOIN interactions i ON i.id = (
                SELECT id FROM interactions
                WHERE user_id = t.user_id AND ts <= t.created_at
                  AND kind IN ('answer', 'clarify', 'none')
                  AND date(ts + {OFFSET}, 'unixepoch') = date(t.created_at + {OFFSET}, 'unixepoch')
                ORDER BY ts DESC, id DESC LIMIT 1)
            WHERE t.created_at >= {SINCE!r} AND t.created_at < {UNTIL!r}
            GROUP BY 1""",
    )
    assert dict(week.insights.before_handoff) == dict(before)
    assert "none" in dict(before)  # the bot failing first is in the scenario


def test_decisions_match_sql(week: Week) -> None:
    rows = sql(
        week.path,
        "SELECT kind, COUNT(*) FROM interactions WHERE kind <> 'banned' AND ts >= ? AND ts < ?"
        " GROUP BY kind",
        SINCE,
        UNTIL,
    )
    assert dict(week.insights.decisions) == dict(rows)
    counts = [n for _, n in week.insights.decisions]
    assert counts == sorted(counts, reverse=True)


def test_agents_and_low_ratings_match_sql(week: Week) -> None:
    rows = sql(
        week.path,
        f"""SELECT e.agent_id, SUM(e.name = 'first_response'), SUM(e.name = 'closed'),
                   SUM(e.name = 'transferred')
            FROM events e JOIN tickets t ON t.id = e.ticket_id
            WHERE e.agent_id IS NOT NULL AND t.created_at >= {SINCE!r}
              AND t.created_at < {UNTIL!r} GROUP BY e.agent_id""",
    )
    got = {a.agent_id: (a.first_replies, a.closes, a.transfers) for a in week.insights.agents}
    assert got == {r[0]: tuple(r[1:]) for r in rows}
    low = sql(
        week.path,
        "SELECT id, csat " + _in_window("AND csat <= 2 ORDER BY created_at DESC, id LIMIT 20"),
    )
    assert [(r.ticket_id, r.score) for r in week.insights.low_ratings] == low and low


def test_trends_compare_with_the_window_before(week: Week) -> None:
    trends = {t.kpi: t for t in week.insights.trends}
    before = week.previous_headline
    assert trends["conversations"].previous == before["conversations"] > 0
    assert trends["first_line_resolution"].previous == before["first_line_resolution"]
    [(now,)] = sql(
        week.path,
        f"""SELECT COUNT(*) FROM (
                SELECT DISTINCT user_id, date(ts + {OFFSET}, 'unixepoch') FROM interactions
                WHERE kind <> 'banned' AND ts >= {SINCE!r} AND ts < {UNTIL!r}
                UNION SELECT DISTINCT user_id, date(created_at + {OFFSET}, 'unixepoch')
                {_in_window()})""",
    )
    assert trends["conversations"].current == now
    c = trends["conversations"]
    assert c.change == c.current - c.previous


# -- the SLA clock in business hours --------------------------------------------------------

HOURS = WorkingHours.from_config(
    {
        "timezone": TZ,
        "mon": "08:00-18:00",
        "tue": "08:00-18:00",
        "wed": "08:00-18:00",
        "thu": "08:00-18:00",
        "fri": "08:00-18:00",
        "sat": "09:00-13:00",
        "sun": None,
        "holidays": ["2025-06-23"],  # a Monday
    }
)
FRIDAY = DAY0 + 4 * DAY  # 2025-06-20, local midnight


def _business_minutes(start: float, end: float) -> float:
    return 60.0 * sum(HOURS.is_open(start + 60 * i + 30) for i in range(int((end - start) // 60)))


async def test_business_hours_stop_the_sla_clock_over_a_weekend_and_a_holiday(
    tmp_path: Path,
) -> None:
    clock = Clock(FRIDAY + 17.5 * 3600)  # Friday 17:30 local
    store = await Store.open(tmp_path / "db.sqlite3", clock=clock)
    try:
        late, _ = await store.open_ticket(1, "asked", "вопрос", "ru")
        clock.now = FRIDAY + 4 * DAY + 8.25 * 3600  # Tuesday 08:15 (Monday is a holiday)
        await store.claim(late.id, 7, "Мадина")
        await store.record_message(late.id, "out")
        until = clock.now + 3600
        # Friday 17:30-18:00 and Saturday 09:00-13:00 and Tuesday 08:00-08:15: 4 h 45 min
        business = _business_minutes(late.created_at, clock.now)
        assert business == 4.75 * 3600
        targets = {"first_response": 5 * 3600, "business_hours": True}
        office = await build_insights(
            store, FRIDAY, until, TZ, SlaTargets.from_config(targets), HOURS
        )
        assert (office.sla.first_response.met, office.sla.first_response.breached) == (1, 0)
        round_the_clock = await build_insights(
            store, FRIDAY, until, TZ, SlaTargets(first_response=5 * 3600), HOURS
        )
        assert round_the_clock.sla.first_response.breached == 1
        (breach,) = round_the_clock.sla.breaches
        assert breach.over == clock.now - late.created_at - 5 * 3600
    finally:
        await store.close()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"first_response": "fast"}, "reports.sla.first_response: expected seconds"),
        ({"first_response": 0}, "more than 0"),
        ({"resolve": "4h"}, "reports.sla.resolve: unknown key"),
        ({"business_hours": "yes"}, "expected true or false"),
        ("15m", "expected a mapping"),
    ],
)
def test_sla_config_errors_name_the_key(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SlaTargets.from_config(value)


def test_sla_config_reads_durations() -> None:
    got = SlaTargets.from_config({"first_response": "15m", "resolution": "4h"})
    assert (got.first_response, got.resolution, got.business_hours) == (900, 14400, False)
    assert SlaTargets.from_config(None) == SlaTargets()


async def test_the_leads_sections_escape_names_and_write_safe_csv(tmp_path: Path) -> None:
    from bot.report.insights_page import insights_csv
    from bot.report.page import render_html

    hostile = '=HYPERLINK("x")<b>Ольга</b>'
    clock = Clock(DAY0 + 10 * 3600)
    store = await Store.open(tmp_path / "db.sqlite3", clock=clock)
    try:
        ticket, _ = await store.open_ticket(1, "asked", "вопрос", "ru")
        clock.now += 60
        await store.claim(ticket.id, 7, hostile)
        await store.record_message(ticket.id, "out")
        await store.close_ticket(ticket.id, 7, hostile)
        await store.set_csat(ticket.id, 1)
        await store.log_interaction(1, "q", "q", "none", None, [], 0.1, "ru", 5.0)
        window = (DAY0, DAY0 + DAY)
        report = await build_report(store, *window, TZ)
        found = await build_insights(store, *window, TZ, TARGETS)
    finally:
        await store.close()
    page = render_html(report, insights=found)
    assert "<b>Ольга</b>" not in page and "&lt;b&gt;Ольга&lt;/b&gt;" in page
    assert 'data-testid="low-ratings"' in page and f"#{ticket.id}" in page
    assert "'=HYPERLINK" in insights_csv(found)["low_ratings"]


async def test_a_window_without_an_end_ages_open_tickets_in_the_oldest_bucket(
    tmp_path: Path,
) -> None:
    """``since the beginning, until forever`` (a caller's unbounded window) still reads: an open
    ticket's age is unbounded, so it is in the open-ended bucket (it raised StopIteration)."""
    clock = Clock(DAY0 + 10 * 3600)
    store = await Store.open(tmp_path / "db.sqlite3", clock=clock)
    try:
        await store.open_ticket(1, "asked", "вопрос", "ru")
        found = await build_insights(store, 0.0, float("inf"), TZ, TARGETS)
    finally:
        await store.close()
    assert dict(found.queue.ageing)[AGE_BUCKETS[-1][0]] == 1
    assert found.queue.backlog_end == 1
