"""Tickets per hour on shift (``handoff.insights.shift_rates``) against plain SQL over the
generated week of ``test_reports`` with generated shifts: shifts across the window's edges,
one still on at its end, an agent who closes without ever being on shift."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from pathlib import Path

import pytest

from handoff.desk_figures import ShiftRate, shift_rates
from handoff.insights import build_insights
from handoff.storage import Store
from tests.handoff.conftest import Clock
from tests.handoff.test_reports import AGENTS, DAY, DAY0, TZ, fill_scenario, sql
from tests.pg import on_postgres, on_store

SINCE = DAY0 + 1 * DAY + 5 * 3600  # mid-morning Tuesday ...
UNTIL = DAY0 + 4 * DAY + 15 * 3600  # ... to Friday afternoon: shifts cross both edges
ON_SHIFT = [a for a, _, _ in AGENTS[:2]]  # the third agent closes tickets, never on shift


@dataclass(frozen=True)
class Scenario:
    path: Path
    rates: tuple[ShiftRate, ...]


async def _shifts(store: Store, seed: int) -> None:
    """Each agent of ``ON_SHIFT`` on shift some hours most days (each /shift on repeated a
    minute later, which changes nothing); the last one's Friday shift never ends."""
    rng = random.Random(seed)
    for agent in ON_SHIFT:
        name = dict((a, n) for a, n, _ in AGENTS)[agent]
        for day in range(6):
            last = agent == ON_SHIFT[-1] and day == 4  # Friday: on when the window ends
            if rng.random() < 0.2 and not last:
                continue
            start = DAY0 + day * DAY + rng.uniform(3, 12) * 3600
            await store.agents.set_shift(agent, name, True, now=start)
            await store.agents.set_shift(agent, name, True, now=start + 60)
            if last:
                break
            await store.agents.set_shift(agent, name, False, now=start + rng.uniform(2, 9) * 3600)


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    path = tmp_path_factory.mktemp("shifts") / "db.sqlite3"

    return Scenario(path, asyncio.run(on_store(path, _rates, DAY0)))


async def _rates(store: Store, clock: Clock) -> tuple[ShiftRate, ...]:
    await fill_scenario(store, clock, days=6, per_day=45, seed=20251201, hostile=False)
    await _shifts(store, seed=15)
    return (await build_insights(store, SINCE, UNTIL, TZ)).shift_rates


async def test_postgresql_gives_the_same_rates(scenario: Scenario) -> None:
    """The shifts on PostgreSQL: tickets per hour on shift (checked against SQL here) come
    out the same."""
    assert await on_postgres(_rates, DAY0) == scenario.rates


def _hours_by_sql(path: Path) -> dict[int, float]:
    """Each shift_on paired with the agent's next shift event (the off), clipped to the window."""
    rows = sql(
        path,
        """WITH s AS (
               SELECT agent_id, name, ts,
                      LEAD(ts) OVER (PARTITION BY agent_id ORDER BY ts, id) AS next_ts
               FROM events WHERE name IN ('shift_on', 'shift_off') AND ts < :until)
           SELECT agent_id,
                  SUM(MAX(0, MIN(COALESCE(next_ts, :until), :until) - MAX(ts, :since))) / 3600.0
           FROM s WHERE name = 'shift_on' GROUP BY agent_id""".replace(
            ":until", repr(UNTIL)
        ).replace(":since", repr(SINCE)),
    )
    return {agent: hours for agent, hours in rows if hours > 0}


def _closes_by_sql(path: Path) -> dict[int, int]:
    return dict(
        sql(
            path,
            "SELECT agent_id, COUNT(*) FROM events WHERE name = 'closed' AND agent_id IS NOT NULL"
            " AND ts >= ? AND ts < ? GROUP BY agent_id",
            SINCE,
            UNTIL,
        )
    )


def test_tickets_per_hour_on_shift_match_sql(scenario: Scenario) -> None:
    hours, closes = _hours_by_sql(scenario.path), _closes_by_sql(scenario.path)
    got = {r.agent_id: r for r in scenario.rates}
    assert set(got) == set(hours) | set(closes)
    assert set(hours) == set(ON_SHIFT) and all(closes.get(a, 0) > 0 for a in ON_SHIFT)
    for agent, rate in got.items():
        assert rate.closed == closes.get(agent, 0)
        assert rate.hours_on_shift == pytest.approx(hours.get(agent, 0.0))
        if agent in hours:
            assert rate.per_hour == pytest.approx(closes.get(agent, 0) / hours[agent])
        else:
            assert rate.per_hour is None  # closed tickets, never on shift
    assert [r.agent_name for r in scenario.rates] == sorted(r.agent_name for r in scenario.rates)


def test_a_shift_across_the_window_counts_only_its_part_inside() -> None:
    shifts = [
        {"agent_id": 1, "name": "shift_on", "ts": 0.0},
        {"agent_id": 1, "name": "shift_off", "ts": 7200.0},  # 1 h of it after since=3600
        {"agent_id": 1, "name": "shift_on", "ts": 9000.0},  # still on at until=10800
        {"agent_id": 2, "name": "shift_on", "ts": 100.0},
        {"agent_id": 2, "name": "shift_off", "ts": 200.0},  # entirely before the window
    ]
    closes = [{"agent_id": 1, "ticket_id": n, "ts": 4000.0} for n in range(3)]
    (rate,) = shift_rates(shifts, closes, 3600.0, 10800.0, {1: "Dilnoza"})
    assert (rate.agent_name, rate.closed) == ("Dilnoza", 3)
    assert rate.hours_on_shift == pytest.approx(1.5) and rate.per_hour == pytest.approx(2.0)


async def test_the_page_and_csv_show_tickets_per_hour_on_shift(tmp_path: Path) -> None:
    from bot.report.insights_page import insight_sections, insights_csv

    hostile = '=cmd|"/c"<b>Ольга</b>'
    clock = Clock(DAY0 + 9 * 3600)
    store = await Store.open(tmp_path / "db.sqlite3", clock=clock)
    try:
        await store.agents.set_shift(7, hostile, True)
        for n in range(3):
            ticket, _ = await store.open_ticket(100 + n, "asked", "?", "ru")
            await store.claim(ticket.id, 7, hostile)
            await store.close_ticket(ticket.id, 7, hostile)
        clock.now += 2 * 3600
        await store.agents.set_shift(7, hostile, False)
        found = await build_insights(store, DAY0, DAY0 + DAY, TZ)
    finally:
        await store.close()
    page = "".join(insight_sections(found, TZ))
    assert "Tickets per hour on shift" in page and "<b>Ольга</b>" not in page
    cells = '</td><td class="num">'.join(["&lt;b&gt;Ольга&lt;/b&gt;", "2.0", "3", "1.50"])
    assert cells in page  # 3 closes in 2 hours on shift
    assert insights_csv(found)["shift_rates"].splitlines()[1].startswith("\"'=cmd")  # text
