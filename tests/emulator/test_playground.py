"""Browser smoke test of the playground page (skipped without Debian's /usr/bin/chromium)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
from aiogram import Bot

from emulator import Emulator
from emulator.media import tiny_png

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PollingFactory = Callable[[Bot], AbstractAsyncContextManager[Any]]

pytestmark = pytest.mark.skipif(
    shutil.which("chromium") is None, reason="needs the chromium package (/usr/bin/chromium)"
)


async def test_playground_subscriber_and_operator_flows(
    emu: Emulator, bot: Bot, echo_polling: PollingFactory
) -> None:
    from playwright.async_api import async_playwright, expect

    async with echo_polling(bot), async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = await browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            await page.goto(emu.base_url)
            await expect(page.get_by_test_id("connection-status")).to_have_attribute(
                "data-state", "online"
            )
            # subscriber side
            await page.get_by_test_id("new-user-name").fill("Malika")
            await page.get_by_test_id("new-user-lang").select_option("tg")
            await page.get_by_test_id("new-user-create").click()
            await page.get_by_test_id("user-input").fill("/start")
            await page.get_by_test_id("user-send").click()
            chat = page.get_by_test_id("user-messages")
            greeting = chat.get_by_test_id("bot-message").first
            await expect(greeting.get_by_test_id("message-text")).to_have_text("Hello, Malika!")
            assert await greeting.locator("b").inner_text() == "Malika"
            buttons = greeting.get_by_test_id("inline-button")
            await expect(buttons).to_have_count(3)
            assert await buttons.nth(2).get_attribute("href") == "https://example.com/help"
            await buttons.first.click()
            await expect(page.get_by_test_id("callback-toast")).to_have_text("pressed vote:yes")
            await expect(greeting.get_by_test_id("message-text")).to_have_text("You voted yes")

            await page.get_by_test_id("user-photo-input").set_input_files(
                files=[{"name": "p.png", "mimeType": "image/png", "buffer": tiny_png(20, 20)}]
            )
            await page.get_by_test_id("user-send").click()
            await expect(chat.get_by_test_id("message-photo")).to_have_count(1)
            await expect(chat.get_by_test_id("bot-message").last).to_contain_text("photo ")

            raw = "<img src=x onerror=alert(1)> <b>raw</b>"
            await page.get_by_test_id("user-input").fill(raw)
            await page.get_by_test_id("user-send").click()
            echoed = chat.get_by_test_id("bot-message").last.get_by_test_id("message-text")
            await expect(echoed).to_have_text(raw)  # rendered as text, never as markup

            # operator side
            await page.get_by_test_id("create-group").click()
            await expect(page.get_by_test_id("topic-tab")).to_have_count(1)
            group = next(c for c in emu.chats.values() if c.type == "supergroup")
            topic = await bot.create_forum_topic(group.id, "Ticket #7")
            await expect(page.get_by_test_id("topic-tab")).to_have_count(2)
            await bot.send_message(
                group.id,
                "New ticket: <code>help</code>",
                parse_mode="HTML",
                message_thread_id=topic.message_thread_id,
            )
            await page.get_by_test_id("topic-tab").nth(1).click()
            thread = page.get_by_test_id("group-messages")
            ticket = thread.get_by_test_id("bot-message")
            await expect(ticket).to_have_count(1)
            assert await ticket.locator("code").inner_text() == "help"
            await ticket.get_by_test_id("message-reply").click()
            await page.get_by_test_id("group-input").fill("Agent answer")
            await page.get_by_test_id("group-send").click()
            answer = thread.get_by_test_id("agent-message")
            await expect(answer.get_by_test_id("message-quote")).to_contain_text("New ticket")
            sent = [
                m
                for m in emu.messages(group.id, topic.message_thread_id)
                if not m["from"]["is_bot"]
            ]
            assert sent[-1]["reply_to_message"]["message_id"] == ticket_id(emu, group.id)
            await emu.delete_topic(group, topic.message_thread_id)
            await expect(page.get_by_test_id("topic-tab")).to_have_count(1)
            assert errors == []
        finally:
            await browser.close()


def ticket_id(emu: Emulator, chat_id: int) -> int:
    """Message id of the bot's ticket message in the group."""
    return next(
        m["message_id"]
        for m in emu.messages(chat_id)
        if m["from"]["is_bot"] and m.get("text", "").startswith("New ticket")
    )
