"""The daily digest: when it runs, which day it covers, what it says and in which words."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

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
