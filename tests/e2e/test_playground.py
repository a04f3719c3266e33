"""The playground page in headless Chromium, with the real Dono behind it.

``DONO_DOCS_SCREENSHOTS=1`` writes the README's screenshot (docs/playground.png) too.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.playground import start_playground
from emulator.client import EmulatorClient
from tests.e2e.conftest import make_config
from tests.forkserver import spawn_dono

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
    log = tmp_path / "playground.log"  # its stdout and stderr
    env = {**os.environ, "DONO_LOG_LEVEL": "INFO"}
    proc = spawn_dono(["playground", "--port", "0", "--db", str(db)], env, log)
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while not (shown := re.search(r"open (http://\S+)", log.read_text())):
            assert proc.poll() is None, f"the playground exited early:\n{log.read_text()}"
            assert loop.time() < deadline, f"no address within 30 s:\n{log.read_text()}"
            await asyncio.sleep(0.05)
        async with EmulatorClient(shown[1].rstrip("/")) as client:
            state = await client.state()
            agents = {m for c in state["chats"] if c["type"] != "private" for m in c["members"]}
            (person,) = [u for u in state["users"] if u["id"] not in agents]
            await client.send_text(person["id"], "как проверить баланс")
            answer = await client.wait_for_bot_message(person["id"], timeout=15)
            assert "*100#" in answer["message"]["text"]
    finally:
        proc.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(proc.wait, 15)
    assert code == 0, log.read_text()
    with contextlib.closing(sqlite3.connect(db)) as conn:
        kinds = conn.execute("SELECT kind FROM interactions").fetchall()
    assert kinds == [("answer",)]
    assert "Update id=" not in log.read_text(), log.read_text()


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


def pane(page: Any, name: str) -> Any:
    return page.get_by_test_id(f"{name}-pane")


@needs_chromium
async def test_type_a_question_see_the_answer_press_a_button(page: Any, tmp_path: Path) -> None:
    """The page opens with a subscriber to type as; the answer, its buttons, its decision."""
    from playwright.async_api import expect

    await expect(page.get_by_test_id("page-title")).to_have_text("Dono playground")
    await expect(page.get_by_test_id("user-select")).to_contain_text("Фарход")
    # the bot serves only its configured group: no button making one it would ignore
    await expect(page.get_by_test_id("decisions-toggle")).to_be_visible()
    await expect(page.get_by_test_id("create-group")).to_be_hidden()
    await say(page, "kak proverit balans")
    await expect(page.get_by_test_id("user-error")).to_be_hidden()
    chat = page.get_by_test_id("user-messages")
    answer = chat.get_by_test_id("bot-message").last
    await expect(answer.get_by_test_id("message-text")).to_contain_text("*100#")
    # who sent what, and when: every message has its sender's name and a time
    mine = chat.get_by_test_id("user-message")
    await expect(mine.get_by_test_id("message-sender")).to_have_text("Фарход Саидов")
    await expect(answer.get_by_test_id("message-sender")).to_have_text("Dono")
    await expect(chat.get_by_test_id("message-time")).to_have_count(2)
    assert (await chat.get_by_test_id("message-time").first.text_content() or "").count(":") == 1

    # the decision pane: what the bot made of the question, with its score
    decision = page.get_by_test_id("decision-row").first
    await expect(decision.get_by_test_id("decision-text")).to_contain_text("kak proverit balans")
    await expect(decision.get_by_test_id("decision-kind")).to_have_text("answer")
    assert 0 < float(await decision.get_by_test_id("decision-score").inner_text()) <= 1

    # a related-topic button under the answer opens that topic's answer
    related = answer.locator('[data-testid="inline-button"][data-callback-data^="t:"]')
    await related.first.click()
    await expect(chat.get_by_test_id("bot-message")).to_have_count(2)
    await expect(
        chat.get_by_test_id("bot-message").last.get_by_test_id("message-text")
    ).not_to_be_empty()

    # 👍 answers the press with a toast over the subscriber's pane
    await answer.locator('[data-callback-data^="f:"]').first.click()
    await expect(pane(page, "user").get_by_test_id("callback-toast")).to_contain_text("Спасибо")
    # ... and the buttons show the choice (one vote per answer)
    await expect(answer.locator('[data-callback-data^="f:"]').first).to_contain_text("✓")
    await expect(answer.get_by_test_id("message-text")).to_contain_text("*100#")
    await page.screenshot(path=str(tmp_path / "playground.png"), full_page=True)


@needs_chromium
async def test_location_button_shares_a_location(page: Any) -> None:
    """The bot's request_location button sends where the phone is, not the button's label."""
    from playwright.async_api import expect

    await page.get_by_test_id("device-location").select_option(label="Худжанд")
    await say(page, "нет сигнала во всём районе")
    button = page.get_by_test_id("keyboard-button")
    await expect(button).to_have_attribute("data-kind", "location")
    await button.click()
    chat = page.get_by_test_id("user-messages")
    await expect(
        chat.get_by_test_id("user-message").last.get_by_test_id("message-location")
    ).to_contain_text("40.2826, 69.6220")
    await expect(chat.get_by_test_id("bot-message").last).to_contain_text("опишите")
    await expect(page.get_by_test_id("reply-keyboard")).to_be_empty()
    texts = (
        await chat.get_by_test_id("user-message").get_by_test_id("message-text").all_inner_texts()
    )
    assert not any("📍" in text for text in texts), texts


@needs_chromium
async def test_operator_side_by_side(page: Any, tmp_path: Path) -> None:
    """Hand-off in the subscriber pane; the desk in the group pane: the ticket's state in the
    topic list, the claim's toast over the agent's pane, the subscriber's messages (text,
    voice, document, a reply) shown as theirs, the agent's answer back."""
    from playwright.async_api import expect

    await new_subscriber(page, "Malika", "tg")
    await say(page, "Бо оператор пайваст кунед")
    chat = page.get_by_test_id("user-messages")
    await expect(chat.get_by_test_id("bot-message").last).to_contain_text("навбат")

    tab = page.get_by_test_id("topic-tab").filter(has_text="Malika")
    await expect(tab.get_by_test_id("topic-state")).to_have_attribute("data-state", "waiting")
    await tab.click()
    group = page.get_by_test_id("group-messages")
    await expect(group).to_contain_text("Обращение #1")
    await group.locator('[data-callback-data^="tk:"]').first.click()
    await expect(pane(page, "group").get_by_test_id("group-callback-toast")).to_contain_text(
        "Dilnoza"
    )
    await expect(page.get_by_test_id("callback-toast")).to_be_hidden()
    await expect(tab.get_by_test_id("topic-state")).to_have_text("👤 claimed by Dilnoza")

    # from the subscriber side: a voice note and a document, relayed as the subscriber's
    await page.get_by_test_id("attach-toggle").click()
    await page.get_by_test_id("attach-voice").click()
    relayed = group.get_by_test_id("subscriber-message")
    await expect(relayed.get_by_test_id("message-voice")).to_have_count(1)
    document = tmp_path / "bill.txt"
    document.write_text("счёт за ноябрь\n", encoding="utf-8")
    await page.get_by_test_id("user-document-input").set_input_files(str(document))
    await expect(relayed.get_by_test_id("message-document")).to_contain_text("bill.txt")
    await expect(relayed.last.get_by_test_id("message-sender")).to_have_text("Malika")
    await expect(relayed.last.get_by_test_id("message-time")).to_have_count(1)

    await page.get_by_test_id("group-input").fill("Салом! Чӣ ёрӣ лозим?")
    await page.get_by_test_id("group-send").click()
    agent_answer = chat.get_by_test_id("bot-message").last
    await expect(agent_answer).to_contain_text("Салом!")
    # the subscriber replies to the agent's answer: the topic shows what it answers
    await agent_answer.get_by_test_id("message-reply").click()
    await say(page, "Интернет кор намекунад")
    await expect(relayed.last.get_by_test_id("message-text")).to_have_text("Интернет кор намекунад")
    await expect(relayed.last.get_by_test_id("message-quote")).to_contain_text("Салом!")
    # ... edits it: the copy in the topic is edited too
    await chat.get_by_test_id("user-message").last.get_by_test_id("message-edit").click()
    await say(page, "Интернет ва занг кор намекунанд")
    await expect(relayed.last.get_by_test_id("message-text")).to_have_text(
        "Интернет ва занг кор намекунанд"
    )
    await expect(relayed.last.get_by_test_id("message-edited")).to_be_visible()
    # ... and sends a sticker
    await page.get_by_test_id("attach-toggle").click()
    await page.get_by_test_id("attach-sticker").click()
    await expect(relayed.last.get_by_test_id("message-sticker")).to_be_visible()
    shot = (
        DOCS / "playground.png"
        if os.environ.get("DONO_DOCS_SCREENSHOTS")
        else tmp_path / "desk.png"
    )
    await page.screenshot(path=str(shot))
