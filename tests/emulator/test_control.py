"""The /_emu/ control API through EmulatorClient, the playground page and ``python -m emulator``."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramServerError

from emulator import Emulator, EmulatorClient, EmulatorControlError
from emulator.media import tiny_png

PollingFactory = Callable[[Bot], AbstractAsyncContextManager[Any]]
ROOT = Path(__file__).resolve().parents[2]


async def test_control_api_drives_a_conversation(
    emu: Emulator, bot: Bot, echo_polling: PollingFactory
) -> None:
    async with EmulatorClient(emu.base_url) as client, echo_polling(bot):
        user = await client.create_user("Remote", language_code="ru")
        since = await client.cursor()
        await client.send_text(user["id"], "/start")
        got = await client.wait_for_bot_message(user["id"], since=since)
        greeting = got["message"]
        assert greeting["text"] == "Hello, Remote!"

        query_id = await client.press_button(user["id"], greeting["message_id"], "vote:no")
        answer = await client.wait_for_callback_answer(query_id)
        assert answer["text"] == "pressed vote:no"

        photo = await client.send_photo(user["id"], tiny_png(), caption="see")
        reply = await client.wait_for_bot_message(user["id"], since=got["cursor"] + 1)
        while not reply["message"]["text"].startswith("photo "):
            reply = await client.wait_for_bot_message(user["id"], since=reply["cursor"])
        assert reply["message"]["text"] == f"photo {photo['photo'][-1]['file_id']}"

        history = await client.messages(user["id"])
        assert history[0]["text"] == "/start"
        assert [c["method"] for c in await client.calls("answerCallbackQuery")] == [
            "answerCallbackQuery"
        ]
        batch = await client.events(since, kinds=["callback_answer"])
        assert [e["kind"] for e in batch["events"]] == ["callback_answer"]

        with pytest.raises(EmulatorControlError, match="unknown user"):
            await client.send_text(424242, "ghost")


async def test_control_groups_topics_blocks_and_state(emu: Emulator, bot: Bot) -> None:
    async with EmulatorClient(emu.base_url) as client:
        agent = await client.create_user("Agent")
        group = await client.create_group("Ops", agents=[agent["id"]])
        assert group["is_forum"] and group["members"] == [agent["id"]]
        topic = await client.create_topic(agent["id"], group["id"], "From agent")
        msg = await client.send_text(
            agent["id"], "hello", chat_id=group["id"], thread_id=topic["message_thread_id"]
        )
        assert msg["message_thread_id"] == topic["message_thread_id"]
        await client.delete_topic(group["id"], topic["message_thread_id"], by=agent["id"])
        assert await client.topics(group["id"]) == []

        subscriber = await client.create_user("Sub", started=True)
        await client.block_bot(subscriber["id"])
        state = await client.state()
        blocked = {u["id"]: u["blocked_bots"] for u in state["users"]}
        assert blocked[subscriber["id"]] == [emu.default_bot.id]
        await client.block_bot(subscriber["id"], blocked=False)
        limits = await client.set_limits(private_burst=2, reset=True)
        assert limits["private_burst"] == 2 and emu.limits.private_burst == 2


async def test_control_faults_and_restart(emu: Emulator, bot: Bot) -> None:
    async with EmulatorClient(emu.base_url) as client:
        fault = await client.inject_fault("error", "getMe", count=1, status=500)
        assert fault["methods"] == ["getme"]
        with pytest.raises(TelegramServerError):
            await bot.get_me()
        await bot.get_me()
        await client.inject_fault("error", seconds=60)
        await client.clear_faults()
        await bot.get_me()

        user = await client.create_user("Survivor")
        await client.restart(down_for=0.1)
        assert emu.restart_task is not None
        await emu.restart_task
        users = await client.users()
        assert user["id"] in [u["id"] for u in users]


async def test_playground_page_is_served(emu: Emulator) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{emu.base_url}/") as resp:
            page = await resp.text()
            assert resp.status == 200
        for testid in ("user-input", "user-send", "user-messages", "group-messages", "topic-list"):
            assert f'data-testid="{testid}"' in page
        async with http.get(f"{emu.base_url}/web/app.js") as resp:
            script = await resp.text()
            assert resp.status == 200 and "renderFormatted" in script
            assert ".innerHTML" not in script
        async with http.get(f"{emu.base_url}/web/style.css") as resp:
            assert resp.status == 200


async def test_python_dash_m_emulator_runs_standalone() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "emulator",
        "--port",
        "0",
        "--demo",
        stdout=asyncio.subprocess.PIPE,
        env=env,
        cwd=str(ROOT),
    )
    try:
        assert proc.stdout is not None
        lines = []
        while len(lines) < 5:
            line = await asyncio.wait_for(proc.stdout.readline(), 15)
            assert line, "emulator exited early"
            lines.append(line.decode())
        base_url = lines[0].rsplit(" ", 1)[-1].strip()
        assert base_url.startswith("http://127.0.0.1:")
        assert "bot token:" in lines[1]
        async with EmulatorClient(base_url) as client:
            state = await client.state()
        assert [c["title"] for c in state["chats"]] == ["Operators"]
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 10)
