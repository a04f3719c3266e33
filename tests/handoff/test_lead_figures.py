"""The lead's figures added in issue 15's lead half — the "did you mean" click-through and the
low ratings with the subscriber's comment — against plain SQL over a generated week."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from pathlib import Path

import pytest

from handoff.insights import CSAT_COMMENT, LOW_CSAT, Insights, build_insights
from handoff.storage import Store
from tests.handoff.conftest import Clock
from tests.handoff.test_reports import DAY, DAY0, TOPICS, TZ, fill_scenario, sql
from tests.pg import on_postgres, on_store

SINCE = DAY0 + DAY
UNTIL = DAY0 + 5 * DAY
TOPIC_OFFSET = 900  # a commented ticket's forum topic: this plus its id
COMMENTS = ("оператор ответил через час", "<b>грубо</b> & не помогли", "ничего не решили")


@dataclass(frozen=True)
class Week:
    path: Path
    insights: Insights
    forged: int  # presses on someone else's "did you mean": each must change nothing


async def choose_and_comment(store: Store, seed: int = 15) -> int:
    """What the bot records on top of ``fill_scenario``: about half the "did you mean"s get a
    choice pressed by their subscriber, as many presses name someone else's question (forged:
    nothing happens), and most low ratings get the subscriber's "what went wrong". Returns the
    number of forged presses that were refused."""
    rng = random.Random(seed)
    clarifies = [
        (r["id"], r["user_id"])
        for r in await store.reports._rows(  # the read model's own helper: tests may read
            "SELECT id, user_id FROM interactions WHERE kind = 'clarify' ORDER BY id", ()
        )
    ]
    refused = 0
    for interaction, user in clarifies:
        topic = rng.choice(list(TOPICS))
        if rng.random() < 0.5:
            assert await store.interactions.chose(user, interaction, topic)
        elif not await store.interactions.chose(user + 1, interaction, topic):
            refused += 1
    low = await store.reports._rows(
        "SELECT id FROM tickets WHERE csat <= ? ORDER BY id", (LOW_CSAT,)
    )
    for n, row in enumerate(low):
        if n % 3 != 2:
            await store.add_event(row["id"], CSAT_COMMENT, detail=COMMENTS[n % len(COMMENTS)])
            await store.tickets.set_thread(row["id"], TOPIC_OFFSET + row["id"])  # its topic
    return refused


@pytest.fixture(scope="module")
def week(tmp_path_factory: pytest.TempPathFactory) -> Week:
    path = tmp_path_factory.mktemp("lead") / "db.sqlite3"

    found, forged = asyncio.run(on_store(path, _week, DAY0))
    return Week(path, found, forged)


async def _week(store: Store, clock: Clock) -> tuple[Insights, int]:
    await fill_scenario(store, clock, days=6, per_day=70, seed=151, hostile=False)
    forged = await choose_and_comment(store)
    return await build_insights(store, SINCE, UNTIL, TZ), forged


async def test_postgresql_gives_the_same_figures(week: Week) -> None:
    """The week on PostgreSQL: click-through and comments (checked against SQL here) come
    out the same."""
    assert await on_postgres(_week, DAY0) == (week.insights, week.forged)


def test_the_choice_click_through_against_sql(week: Week) -> None:
    ((clarified, chosen),) = sql(
        week.path,
        "SELECT COUNT(*), COUNT(chosen) FROM interactions"
        " WHERE kind = 'clarify' AND ts >= ? AND ts < ?",
        SINCE,
        UNTIL,
    )
    ct = week.insights.click_through
    assert ct is not None and clarified > 10 and 0 < chosen < clarified
    assert (ct.clarified, ct.chosen) == (clarified, chosen)
    assert ct.share == pytest.approx(chosen / clarified)


def test_a_forged_choice_records_nothing(week: Week) -> None:
    ((pressed, timed),) = sql(
        week.path,
        "SELECT COUNT(chosen), COUNT(chosen_at) FROM interactions WHERE kind = 'clarify'",
    )
    ((clarified,),) = sql(week.path, "SELECT COUNT(*) FROM interactions WHERE kind = 'clarify'")
    assert week.forged > 0
    assert pressed == timed == clarified - week.forged  # every forged press left its row alone


def test_low_ratings_carry_the_subscribers_comment(week: Week) -> None:
    expected = sql(
        week.path,
        "SELECT t.id, t.csat, (SELECT e.detail FROM events e WHERE e.ticket_id = t.id"
        " AND e.name = ? ORDER BY e.id DESC LIMIT 1), t.thread_id FROM tickets t"
        " WHERE t.csat <= ? AND t.created_at >= ? AND t.created_at < ?"
        " ORDER BY t.created_at DESC, t.id LIMIT 20",
        CSAT_COMMENT,
        LOW_CSAT,
        SINCE,
        UNTIL,
    )
    got = [(r.ticket_id, r.score, r.comment, r.thread_id) for r in week.insights.low_ratings]
    assert got == expected
    assert any(c for _, _, c, _ in got) and any(c is None for _, _, c, _ in got), got
