"""The report page in headless Chromium: headline visible, charts drawn, a screenshot taken."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from handoff.reports import build_report, format_count, render_html
from handoff.store import Store
from tests.handoff.conftest import Clock
from tests.handoff.test_reports import DAY, DAY0, TZ, fill_scenario

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(
    shutil.which("chromium") is None, reason="needs Debian's chromium (bash .ci/setup --browser)"
)


async def write_report_page(
    path: Path, *, days: int = 7, per_day: int = 60, seed: int = 7, hostile: bool = True
) -> int:
    """Fill a store with a generated week, write its report page to ``path``; returns how many
    conversations the report counted."""
    clock = Clock(DAY0)
    store = await Store.open(path.parent / "report.sqlite3", clock=clock)
    try:
        await fill_scenario(store, clock, days=days, per_day=per_day, seed=seed, hostile=hostile)
        report = await build_report(store, DAY0, DAY0 + days * DAY, TZ)
    finally:
        await store.close()
    path.write_text(render_html(report, title="Dono · support report"), encoding="utf-8")
    return report.outcomes.conversations


async def screenshot(page_path: Path, png: Path, width: int = 1280) -> dict[str, float]:
    """Open the page in Chromium (offline) and save a full-page screenshot; returns the drawn
    size of each chart by its test id."""
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = await browser.new_page(viewport={"width": width, "height": 900})
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            await page.goto(page_path.as_uri())
            sizes = {}
            for figure in await page.locator("figure.chart").all():
                box = await figure.locator("svg").bounding_box()
                assert box is not None
                sizes[await figure.get_attribute("data-testid") or ""] = (
                    box["width"] * box["height"]
                )
            await page.screenshot(path=str(png), full_page=True)
            assert requests == [page_path.as_uri()], "the page fetched something"
            return sizes
        finally:
            await browser.close()


async def test_the_report_page_in_a_browser(tmp_path: Path) -> None:
    from playwright.async_api import async_playwright, expect

    html_path = tmp_path / "report.html"
    conversations = await write_report_page(html_path, days=5, per_day=40)

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        await page.goto(html_path.as_uri())
        await expect(page.get_by_test_id("title")).to_have_text("Dono · support report")
        await expect(page.get_by_test_id("headline")).to_be_visible()
        await expect(page.get_by_test_id("kpi-conversations")).to_have_text(
            format_count(conversations)
        )
        await expect(page.get_by_test_id("kpi-first_line_resolution")).to_contain_text("%")
        await browser.close()

    png = tmp_path / "report.png"
    sizes = await screenshot(html_path, png)
    assert set(sizes) == {"svg-outcomes", "svg-times", "svg-hours"}
    assert all(area > 10_000 for area in sizes.values()), sizes
    assert png.stat().st_size > 50_000
