"""The daily digest: when it runs, which day it covers, what it says and in which words."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.digest import Digest, day_before, digest_text, next_run
from handoff.hours import WorkingHours
from handoff.insights import build_insights
from handoff.reports import build_report
from handoff.sla import SlaTargets
from handoff.storage import Store
from tests.handoff.conftest import Clock
from tests.handoff.test_reports import DAY, DAY0, TZ, fill_scenario

ZONE = ZoneInfo(TZ)


def test_it_runs_at_the_next_local_hour() -> None:
    seven = DAY0 + 7 * 3600  # Monday 07:00 local
    assert next_run(seven, 8, TZ) == DAY0 + 8 * 3600
    assert next_run(DAY0 + 8 * 3600, 8, TZ) == DAY0 + DAY + 8 * 3600  # just posted: tomorrow
    assert next_run(DAY0 + 9 * 3600, 8, TZ) == DAY0 + DAY + 8 * 3600


def test_it_covers_the_local_day_before() -> None:
    assert day_before(DAY0 + DAY + 8 * 3600, TZ) == (DAY0, DAY0 + DAY)


async def _week(path: Path) -> Store:
    clock = Clock(DAY0)
    store = await Store.open(path, clock=clock)
    await fill_scenario(store, clock, days=3, per_day=40, seed=11)
    return store


async def test_the_digest_says_the_days_figures_in_the_desks_words(tmp_path: Path) -> None:
    store = await _week(tmp_path / "db.sqlite3")
    try:
        day = (DAY0 + DAY, DAY0 + 2 * DAY)
        report = await build_report(store, *day, TZ)
        targets = SlaTargets(first_response=240)
        found = await build_insights(store, *day, TZ, targets)
    finally:
        await store.close()
    titles = {"balance_check": "Проверить баланс"}
    text = digest_text("ru", report, found, lambda k: titles.get(k, k))
    n = report.outcomes.conversations
    forms = {"one": "разговор ", "few": "разговора ", "many": "разговоров "}
    from bot.texts import plural_category

    assert f"{n} {forms[plural_category('ru', n)]}" in text
    assert "Итоги дня 2025-06-17" in text
    assert f"Передано операторам: {report.outcomes.handed_off}" in text
    assert "Первый ответ в срок (4 мин)" in text
    assert "m" not in text.split("медиана): ")[1].split("\n")[0]  # "2 мин 57 с", not "2m57s"
    english = digest_text("en", report, found)
    assert f"{n} conversations" in english and "Day summary" in english


async def test_it_posts_yesterday_at_the_hour(tmp_path: Path) -> None:
    store = await _week(tmp_path / "db.sqlite3")
    posted: list[str] = []
    start, t0 = DAY0 + 2 * DAY + 8 * 3600 - 0.2, time.monotonic()  # Wednesday 07:59:59.8
    digest = Digest(
        store,
        lambda text: asyncio.sleep(0, posted.append(text)),
        8,
        "ru",
        TZ,
        SlaTargets(),
        WorkingHours(),
        clock=lambda: start + time.monotonic() - t0,
    )
    task = asyncio.create_task(digest.run())
    try:
        for _ in range(100):
            if posted:
                break
            await asyncio.sleep(0.05)
    finally:
        task.cancel()
        await store.close()
    assert len(posted) == 1
    assert "2025-06-17" in posted[0]  # Tuesday's, posted on Wednesday morning
    assert datetime.fromtimestamp(start, ZONE).hour == 7


def _digest(
    store: Store,
    owner: str,
    now: list[float],
    posted: list[str],
    fail: int = 0,
    post: Callable[[str], Awaitable[None]] | None = None,
) -> Digest:
    """A digest at 08:00 local on ``store``'s ledger, on the clock ``now[0]``; its posts go
    to ``posted`` (the first ``fail`` posts raise, as Telegram refusing them would), or to
    ``post``."""
    failures = [fail]

    async def record(text: str) -> None:
        if failures[0]:
            failures[0] -= 1
            raise RuntimeError("Telegram refused it")
        posted.append(f"{owner}: {text}")

    return Digest(
        store,
        post or record,
        8,
        "ru",
        TZ,
        SlaTargets(),
        WorkingHours(),
        clock=lambda: now[0],
        ledger=store.digests,
        owner=owner,
    )


async def test_a_days_digest_goes_out_once_whichever_instance_or_leader_looks(
    tmp_path: Path,
) -> None:
    store = await _week(tmp_path / "db.sqlite3")
    now, posted = [DAY0 + 2 * DAY + 8 * 3600 + 5], []  # Wednesday 08:00:05
    try:
        a, b = _digest(store, "a", now, posted), _digest(store, "b", now, posted)
        assert await a.post_if_due() and not await b.post_if_due()
        assert not await _digest(store, "a", now, posted).post_if_due()  # a restarted: not again
        now[0] += 3 * 3600
        assert not await b.post_if_due()
        now[0] += DAY - 3 * 3600  # Thursday 08:00:05: Wednesday's, by either
        assert await b.post_if_due() and not await a.post_if_due()
    finally:
        await store.close()
    assert [p.split(":")[0] for p in posted] == ["a", "b"]
    assert "2025-06-17" in posted[0] and "2025-06-18" in posted[1]


async def test_a_digest_the_hour_missed_goes_out_that_morning_and_a_failed_one_again(
    tmp_path: Path,
) -> None:
    store = await _week(tmp_path / "db.sqlite3")
    posted: list[str] = []
    try:
        early = [DAY0 + 2 * DAY + 7 * 3600]  # 07:00: not due yet
        assert not await _digest(store, "a", early, posted).post_if_due()
        late = [DAY0 + 2 * DAY + 11 * 3600]  # the bot was down at 08:00: out at 11:00
        refused = _digest(store, "a", late, posted, fail=1)
        with pytest.raises(RuntimeError):
            await refused.post_if_due()
        assert await store.digests.posted_at("2025-06-17") is None  # given back
        assert await refused.post_if_due()  # the next look posts it
        assert await store.digests.posted_at("2025-06-17") is not None
        evening = [DAY0 + 3 * DAY + 15 * 3600]  # Thursday 15:00: too late for Wednesday's
        assert not await _digest(store, "b", evening, posted).post_if_due()
    finally:
        await store.close()
    assert len(posted) == 1 and "2025-06-17" in posted[0]


async def test_a_digest_claimed_by_an_instance_that_died_goes_out_from_another(
    tmp_path: Path,
) -> None:
    clock = Clock(DAY0)
    store = await Store.open(tmp_path / "db.sqlite3", clock=clock)
    await fill_scenario(store, clock, days=3, per_day=40, seed=11)
    now, posted = [DAY0 + 2 * DAY + 8 * 3600 + 5], []  # Wednesday 08:00:05
    clock.now = now[0]
    try:
        assert await store.digests.claim("2025-06-17", "a")  # a claimed it, then was killed
        b = _digest(store, "b", now, posted)
        now[0] += 40  # b leads 40 s later: a's claim may still be posting
        clock.now = now[0]
        assert not await b.post_if_due()
        now[0] += 600  # ten minutes on, it never was: b posts it
        clock.now = now[0]
        assert await b.post_if_due() and not await b.post_if_due()
    finally:
        await store.close()
    assert len(posted) == 1 and "2025-06-17" in posted[0]


def test_a_late_hours_digest_is_caught_up_past_midnight_for_the_right_day() -> None:
    digest = Digest(None, None, 23, "ru", TZ, SlaTargets(), WorkingHours())  # type: ignore[arg-type]
    wednesday = DAY0 + 2 * DAY
    assert digest.due(wednesday + 22 * 3600) is None  # 22:00: not yet
    day, window = digest.due(wednesday + 23 * 3600 + 60)  # type: ignore[misc]
    assert (day, window) == ("2025-06-17", (DAY0 + DAY, DAY0 + 2 * DAY))  # Tuesday's
    late = digest.due(wednesday + DAY + 1800)  # Thursday 00:30: still Tuesday's
    assert late == (day, window)
    assert digest.due(wednesday + DAY + 5 * 3600 + 60) is None  # past the catch-up


async def test_a_stop_ends_the_digest_loop_whatever_the_post_made_of_the_cancel(
    tmp_path: Path,
) -> None:
    store = await _week(tmp_path / "db.sqlite3")
    started = asyncio.Event()

    async def post(text: str) -> None:
        started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:  # as a driver on a cut connection does
            raise RuntimeError("connection closed") from None

    digest = _digest(store, "a", [DAY0 + 2 * DAY + 8 * 3600 + 5], [], post=post)
    task = asyncio.create_task(digest.run())
    try:
        await asyncio.wait_for(started.wait(), 5)
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=5)
        assert done == {task} and task.cancelled()
    finally:
        task.cancel()
        await store.close()
