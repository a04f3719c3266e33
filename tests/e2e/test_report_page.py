"""The report page in headless Chromium, in the desk's language (Russian): headline visible,
charts drawn, the lead's figures there, a screenshot taken (``DONO_REPORT_PNG=docs/report.png``
writes it where the README shows it)."""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path
from typing import Any

import pytest

from bot.report.format import format_count
from bot.report.page import render_html
from handoff.insights import build_insights
from handoff.reports import build_report
from handoff.sla import SlaTargets
from handoff.storage import Store
from knowledge.loader import load
from knowledge.search import topic_title
from tests.handoff.conftest import Clock
from tests.handoff.test_lead_figures import choose_and_comment
from tests.handoff.test_reports import AGENTS, DAY, DAY0, TZ, fill_scenario

ROOT = Path(__file__).resolve().parent.parent.parent
GROUP = -1001234567890  # the operators' group the low ratings link into

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
pytestmark = pytest.mark.skipif(
    shutil.which("chromium") is None, reason="needs Debian's chromium (bash .ci/setup --browser)"
)


async def write_report_page(
    path: Path,
    *,
    days: int = 7,
    per_day: int = 60,
    seed: int = 7,
    hostile: bool = True,
    lang: str = "ru",
) -> int:
    """Fill a new store with generated days (choices pressed, low ratings commented), write
    their report page in ``lang`` with the KB's titles to ``path``; returns how many
    conversations the report counted."""
    db = path.with_suffix(".sqlite3")
    if db.exists():
        raise FileExistsError(f"{db}: the scenario needs a new database")
    clock = Clock(DAY0)
    store = await Store.open(db, clock=clock)
    try:
        await fill_scenario(store, clock, days=days, per_day=per_day, seed=seed, hostile=hostile)
        await choose_and_comment(store)
        await triage_and_shifts(store, days)
        report = await build_report(store, DAY0, DAY0 + days * DAY, TZ)
        targets = SlaTargets(first_response=240, resolution=1800)
        found = await build_insights(store, DAY0, DAY0 + days * DAY, TZ, targets)
    finally:
        await store.close()
    kb = load(ROOT / "kb")
    titles = {i: topic_title(t, lang) for i, t in kb.topics.items()}
    page = render_html(
        report,
        title="Dono · отчёт поддержки",
        insights=found,
        lang=lang,
        titles=titles,
        group_id=GROUP,
    )
    path.write_text(page, encoding="utf-8")
    return report.outcomes.conversations


async def triage_and_shifts(store: Store, days: int, seed: int = 5) -> None:
    """What the desk records on top: some tickets raised or lowered and labelled by their
    agents, and each agent's shifts (08:00–16:00 local, every day)."""
    rng = random.Random(seed)
    rows = await store.reports._rows("SELECT id, agent_id FROM tickets ORDER BY id", ())
    for row in rows:
        if rng.random() < 0.25:
            level = rng.choice(["urgent", "high", "high", "low"])
            await store.labels.set_priority(row["id"], level, row["agent_id"])
        if rng.random() < 0.4:
            chosen = rng.sample(["роуминг", "баланс", "интернет", "vip"], rng.randint(1, 2))
            await store.labels.set_labels(row["id"], chosen, row["agent_id"])
    for day in range(days):
        for agent_id, name, _ in AGENTS:
            start = DAY0 + day * DAY + 8 * 3600
            await store.agents.set_shift(agent_id, name, True, now=start)
            await store.agents.set_shift(agent_id, name, False, now=start + 8 * 3600)


async def chart_areas_and_screenshot(page: Any, png: Path) -> dict[str, float]:
    """The drawn area (px²) of each chart by its test id, then a full-page screenshot."""
    areas = {}
    for figure in await page.locator("figure.chart").all():
        box = await figure.locator("svg").bounding_box()
        assert box is not None
        areas[await figure.get_attribute("data-testid") or ""] = box["width"] * box["height"]
    await page.screenshot(path=str(png), full_page=True)
    return areas


async def test_the_report_page_in_a_browser(tmp_path: Path) -> None:
    from playwright.async_api import async_playwright, expect

    html_path = tmp_path / "report.html"
    conversations = await write_report_page(html_path, days=7, per_day=70)

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 900})
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            await page.goto(html_path.as_uri())
            await expect(page.get_by_test_id("title")).to_have_text("Dono · отчёт поддержки")
            await expect(page.locator("html")).to_have_attribute("lang", "ru")
            await expect(page.get_by_test_id("chart-outcomes").locator("h2")).to_have_text(
                "Разговоры по дням"
            )
            await expect(page.get_by_test_id("topics")).to_contain_text("Проверить баланс")
            await expect(page.get_by_test_id("headline")).to_be_visible()
            await expect(page.get_by_test_id("kpi-conversations")).to_have_text(
                format_count(conversations)
            )
            await expect(page.get_by_test_id("kpi-first_line_resolution")).to_contain_text("%")
            await expect(page.get_by_test_id("agents").locator("tbody tr")).not_to_have_count(0)
            # the lead's sections: targets met, the queue, when people write, why handed off
            await expect(page.get_by_test_id("sla").locator("h2")).to_have_text("Уровень сервиса")
            await expect(page.get_by_test_id("sla")).to_contain_text("в срок")
            await expect(page.get_by_test_id("sla")).to_contain_text("Цели: первый ответ 4 мин")
            await expect(page.get_by_test_id("queue")).to_contain_text("Не дождались оператора")
            heat = page.get_by_test_id("heat-conversations")
            await expect(heat.locator("tbody tr")).to_have_count(7)
            assert int(await heat.locator("td[title]").first.get_attribute("title") or -1) >= 0
            await expect(page.get_by_test_id("reasons")).to_contain_text("бот не смог ответить")
            # the bot's quality: how often a "did you mean" got a choice pressed
            click = page.get_by_test_id("click-through")
            await expect(click).to_contain_text("%")
            await expect(click).to_contain_text("переходы по вариантам")
            # a low score with the subscriber's "what went wrong", by its ticket
            low = page.get_by_test_id("low-ratings")
            await expect(low.locator("h2")).to_have_text("Низкие оценки")
            await expect(low.locator("th").nth(2)).to_have_text("Что пошло не так")
            row = low.locator("tbody tr").filter(has_text="оператор ответил через час")
            ticket = row.first.locator("td").first.locator("a")
            await expect(ticket).to_contain_text("#")
            assert (await ticket.get_attribute("href") or "").startswith(
                "https://t.me/c/1234567890/"
            )
            await expect(row.first.locator(".stars")).to_contain_text("★")
            await expect(
                page.get_by_test_id("before-handoff").locator("tbody tr")
            ).not_to_have_count(0)
            await expect(page.get_by_test_id("trends")).to_contain_text("Разговоры")
            # the desk's own records: priorities and labels, tickets per hour on shift
            triage = page.get_by_test_id("triage")
            await expect(triage.locator("h2")).to_have_text("По приоритету и меткам")
            await expect(triage).to_contain_text("срочный")
            await expect(triage).to_contain_text("#роуминг")
            activity = page.get_by_test_id("activity")
            await expect(activity).to_contain_text("Обращений в час на смене")
            await expect(activity).to_contain_text("Мадина")

            png = Path(os.environ.get("DONO_REPORT_PNG") or tmp_path / "report.png")
            areas = await chart_areas_and_screenshot(page, png)
            assert set(areas) == {"svg-outcomes", "svg-times"}
            assert all(area > 10_000 for area in areas.values()), areas
            for chart in areas:  # each chart has drawn marks and a legend, not just a frame
                marks = page.get_by_test_id(chart).locator("rect, path, polyline, line")
                assert await marks.count() > 5, chart
                assert (await page.get_by_test_id(chart).text_content() or "").strip(), chart
            assert requests == [html_path.as_uri()], "the page fetched something"
        finally:
            await browser.close()
