"""Webhook deliveries: what the emulator POSTs once setWebhook points at a loopback URL."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiohttp import web

from emulator import Emulator
from emulator.webhook import delivers_to


class Receiver:
    """A webhook endpoint on loopback that records each delivery and answers ``statuses``
    in turn (then 200)."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.got: list[tuple[dict, str | None, int]] = []
        self.arrived = asyncio.Event()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]

    async def handle(self, request: web.Request) -> web.Response:
        status = self.statuses.pop(0) if self.statuses else 200
        update = await request.json()
        self.got.append((update, request.headers.get("X-Telegram-Bot-Api-Secret-Token"), status))
        self.arrived.set()
        return web.Response(status=status)

    async def taken(self, n: int, timeout: float = 10) -> list[dict]:
        """The first ``n`` updates answered 2xx, once there are that many."""

        async def enough() -> list[dict]:
            while True:
                ok = [u for u, _, status in self.got if status == 200]
                if len(ok) >= n:
                    return ok
                self.arrived.clear()
                await self.arrived.wait()

        return await asyncio.wait_for(enough(), timeout)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver([500, 502])
    app = web.Application()
    app.router.add_post("/hook", rec.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", rec.port).start()
    try:
        yield rec
    finally:
        await runner.cleanup()


async def test_updates_are_posted_in_order_with_the_secret_and_failures_delivered_again(
    emu: Emulator, bot: Bot, receiver: Receiver
) -> None:
    url = f"http://127.0.0.1:{receiver.port}/hook"
    await bot.set_webhook(url, secret_token="s3cret")
    user = await emu.create_user("Hooked")
    for text in ("one", "two", "three"):
        await emu.send_text(user, text)
    updates = await receiver.taken(3)
    assert [u["message"]["text"] for u in updates] == ["one", "two", "three"]
    # the first delivery failed twice (500, 502) and was delivered again; nothing of that
    # chat went ahead of it
    assert [s for _, _, s in receiver.got] == [500, 502, 200, 200, 200]
    assert [u["update_id"] for u, _, _ in receiver.got[:3]] == [updates[0]["update_id"]] * 3
    assert {secret for _, secret, _ in receiver.got} == {"s3cret"}
    info = await bot.get_webhook_info()
    assert info.url == url and info.pending_update_count == 0
    assert info.last_error_message == "Wrong response from the webhook: 502"


def test_only_a_webhook_on_this_machine_is_delivered_to() -> None:
    """The emulator never talks to the outside world: a URL elsewhere is only stored."""
    assert delivers_to({"url": "https://bot.example.tj/telegram"}) is None
    assert (
        delivers_to({"url": "http://127.0.0.1:8443/telegram"}) == "http://127.0.0.1:8443/telegram"
    )
    assert delivers_to({"url": "https://localhost/t"}) == "https://localhost/t"
    assert delivers_to(None) is None
