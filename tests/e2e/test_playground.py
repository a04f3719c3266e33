"""The playground page in headless Chromium, with the real Dono behind it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.playground import start_playground
from emulator.client import EmulatorClient
from tests.e2e.conftest import ROOT, make_config

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DOCS = Path(__file__).resolve().parents[2] / "docs"
needs_chromium = pytest.mark.skipif(
    shutil.which("chromium") is None, reason="needs Debian's chromium (bash .ci/setup --browser)"
)


async def test_dono_playground_keeps_its_database_and_logs_no_line_per_update(
    tmp_path: Path,
) -> None:
    """`dono playground --db FILE` as a process: a subscriber is there to write, the answer's
    decision stays in FILE after SIGTERM, and the console has no line per update."""
    db = tmp_path / "kept.sqlite3"
    proc = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "bot.cli", "playground", "--port", "0", "--db", str(db)),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "DONO_LOG_LEVEL": "INFO"},
        cwd=str(ROOT),
    )
    assert proc.stdout is not None and proc.stderr is not None
    try:
        url = ""
        while not url:
            line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
            assert line, "the playground exited early"
            url = next((w for w in line.split() if w.startswith("http://")), "")
        async with EmulatorClient(url.rstrip("/")) as client:
            state = await client.state()
            agents = {m for c in state["chats"] if c["type"] != "private" for m in c["members"]}
            (person,) = [u for u in state["users"] if u["id"] not in agents]
            await client.send_text(person["id"], "как проверить баланс")
            answer = await client.wait_for_bot_message(person["id"], timeout=15)
            assert "*100#" in answer["message"]["text"]
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 15)
    assert proc.returncode == 0, err.decode()
    with contextlib.closing(sqlite3.connect(db)) as conn:
        kinds = conn.execute("SELECT kind FROM interactions").fetchall()
    assert kinds == [("answer",)]
    assert "Update id=" not in err.decode(), err.decode()


@pytest.fixture
async def page(tmp_path: Path) -> AsyncIterator[Any]:
    """The playground (emulator + bot + page) open in Chromium, online, with no page errors."""
    from playwright.async_api import async_playwright, expect

    emu, dono = await start_playground(make_config(tmp_path), port=0)
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(
                executable_path=CHROMIUM,
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            page = await browser.new_page(viewport={"width": 1400, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            await page.goto(emu.base_url)
            await expect(page.get_by_test_id("connection-status")).to_have_attribute(
                "data-state", "online"
            )
            yield page
            assert errors == []
            await browser.close()
    finally:
        await dono.stop()
        await emu.stop()


async def new_subscriber(page: Any, name: str, lang: str) -> None:
    await page.get_by_test_id("new-user-name").fill(name)
    await page.get_by_test_id("new-user-lang").select_option(lang)
    await page.get_by_test_id("new-user-create").click()


async def say(page: Any, text: str) -> None:
    await page.get_by_test_id("user-input").fill(text)
    await page.get_by_test_id("user-send").click()


@needs_chromium
async def test_type_a_question_see_the_answer_press_a_button(page: Any, tmp_path: Path) -> None:
    from playwright.async_api import expect

    await new_subscriber(page, "Фарход", "ru")
    await say(page, "kak proverit balans")
    chat = page.get_by_test_id("user-messages")
    answer = chat.get_by_test_id("bot-message").last
    await expect(answer.get_by_test_id("message-text")).to_contain_text("*100#")

    # a related-topic button under the answer opens that topic's answer
    related = answer.locator('[data-testid="inline-button"][data-callback-data^="t:"]')
    await related.first.click()
    await expect(chat.get_by_test_id("bot-message")).to_have_count(2)
    await expect(
        chat.get_by_test_id("bot-message").last.get_by_test_id("message-text")
    ).not_to_be_empty()

    # 👍 answers the press with a toast
    await answer.locator('[data-callback-data^="f:"]').first.click()
    await expect(page.get_by_test_id("callback-toast")).to_contain_text("Спасибо")
    # ... and the buttons show the choice (one vote per answer)
    await expect(answer.locator('[data-callback-data^="f:"]').first).to_contain_text("✓")
    await expect(answer.get_by_test_id("message-text")).to_contain_text("*100#")
    await page.screenshot(path=str(tmp_path / "playground.png"), full_page=True)


@needs_chromium
async def test_operator_side_by_side(page: Any, tmp_path: Path) -> None:
    """Hand-off in the subscriber pane, the agent answers from the group pane."""
    from playwright.async_api import expect

    await new_subscriber(page, "Malika", "tg")
    await say(page, "Бо оператор пайваст кунед")
    chat = page.get_by_test_id("user-messages")
    await expect(chat.get_by_test_id("bot-message").last).to_contain_text("навбат")

    await page.get_by_test_id("topic-tab").filter(has_text="Malika").click()
    await expect(page.get_by_test_id("group-messages")).to_contain_text("Обращение #1")
    await page.get_by_test_id("group-input").fill("Салом! Чӣ ёрӣ лозим?")
    await page.get_by_test_id("group-send").click()
    await expect(chat.get_by_test_id("bot-message").last).to_contain_text("Салом!")
    await page.screenshot(path=str(tmp_path / "desk.png"))
