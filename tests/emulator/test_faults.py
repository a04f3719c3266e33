"""Fault injection (5xx, forced 429, hung requests, dropped connections) and restarts."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError

from emulator import Emulator, start_emulator

BotFactory = Callable[..., Bot]
PollingFactory = Callable[[Bot], AbstractAsyncContextManager[Any]]


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def clocked() -> AsyncIterator[tuple[Emulator, FakeClock]]:
    clock = FakeClock()
    emu = await start_emulator(clock=clock)
    try:
        yield emu, clock
    finally:
        await emu.stop()


async def test_injected_server_errors_then_recovery(bot: Bot, emu: Emulator) -> None:
    user = await emu.create_user("Faulty", started=True)
    emu.inject_error("sendMessage", count=2, status=500)
    for _ in range(2):
        with pytest.raises(TelegramServerError, match="Internal Server Error"):
            await bot.send_message(user.id, "hi")
    emu.inject_error(status=502)  # any method
    with pytest.raises(TelegramServerError, match="Bad Gateway"):
        await bot.get_me()
    assert (await bot.send_message(user.id, "finally")).text == "finally"
    assert [m["text"] for m in emu.bot_messages(user.id)] == ["finally"]
    failed = [c for c in emu.calls() if c.get("fault")]
    assert [c["status"] for c in failed] == [500, 500, 502]


async def test_forced_retry_after(bot: Bot, emu: Emulator) -> None:
    user = await emu.create_user("Wait", started=True)
    emu.inject_retry_after(["sendMessage", "sendPhoto"], retry_after=7)
    with pytest.raises(TelegramRetryAfter) as info:
        await bot.send_message(user.id, "hi")
    assert info.value.retry_after == 7
    await bot.send_message(user.id, "ok now")


async def test_dropped_connection(bot: Bot, emu: Emulator) -> None:
    user = await emu.create_user("Drop", started=True)
    emu.inject_drop("sendMessage")
    with pytest.raises(TelegramNetworkError):
        await bot.send_message(user.id, "lost")
    assert emu.bot_messages(user.id) == []
    emu.inject_drop("sendMessage", apply=True)  # executed, but the answer never arrives
    with pytest.raises(TelegramNetworkError):
        await bot.send_message(user.id, "delivered twice?")
    assert [m["text"] for m in emu.bot_messages(user.id)] == ["delivered twice?"]


async def test_request_held_past_client_timeout(emu: Emulator, bot_factory: BotFactory) -> None:
    user = await emu.create_user("Slow", started=True)
    impatient = bot_factory(timeout=0.3)
    emu.inject_timeout("sendMessage", hold=30, apply=True)
    with pytest.raises(TelegramNetworkError, match="timeout"):
        await impatient.send_message(user.id, "slow")
    assert [m["text"] for m in emu.bot_messages(user.id)] == ["slow"]


async def test_fail_everything_for_a_window(clocked: tuple[Emulator, FakeClock]) -> None:
    emu, clock = clocked
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer

    bot = Bot(emu.token, session=AiohttpSession(api=TelegramAPIServer.from_base(emu.base_url)))
    try:
        emu.fail_for(10, status=503)
        for _ in range(3):
            with pytest.raises(TelegramServerError):
                await bot.get_me()
        clock.now += 10.5
        assert (await bot.get_me()).id == emu.default_bot.id
        assert emu.faults.rules == []
    finally:
        await bot.session.close()


async def test_polling_survives_get_updates_errors(
    emu: Emulator, bot: Bot, echo_polling: PollingFactory
) -> None:
    emu.inject_error("getUpdates", count=3, status=502)
    user = await emu.create_user("Patient")
    async with echo_polling(bot):
        await emu.send_text(user, "still there?")
        reply = await emu.wait_for_bot_message(user.id)
    assert reply["text"] == "still there?"
    assert len([c for c in emu.calls("getUpdates") if c.get("fault")]) == 3


async def test_restart_on_same_port_keeps_state(
    emu: Emulator, bot: Bot, echo_polling: PollingFactory
) -> None:
    user = await emu.create_user("Restart")
    port = emu.port
    async with echo_polling(bot):
        await emu.send_text(user, "before")
        assert (await emu.wait_for_bot_message(user.id))["text"] == "before"
        await emu.stop()
        assert not emu.running
        await emu.send_text(user, "while down")  # queued in the emulator's state
        await emu.start()
        assert emu.port == port
        assert (await emu.wait_for_bot_message(user.id))["text"] == "while down"
        await emu.send_text(user, "after")
        assert (await emu.wait_for_bot_message(user.id))["text"] == "after"
    assert [m["text"] for m in emu.messages(user.id)] == [
        "before",
        "before",
        "while down",
        "while down",
        "after",
        "after",
    ]
