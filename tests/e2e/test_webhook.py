"""Webhook mode: Telegram POSTs updates with a secret token; the bot answers through the API."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import aiohttp
import pytest

from bot.app import Dono
from emulator import Emulator
from tests.e2e.conftest import make_config, roomy_private, settled
from tests.e2e.test_storage_faults import fill, free


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
async def test_webhook_with_secret_token(emu: Emulator, tmp_path: Path) -> None:
    config = make_config(tmp_path)
    config.telegram.mode = "webhook"
    config.telegram.webhook.listen_port = free_port()
    roomy_private(emu, config)  # about the secret and the journal, not the chat's pacing
    dono = await Dono.create(config, emu.token, api_base=emu.base_url)
    try:
        await dono.start_webhook("https://bot.example.tj/telegram", "s3cret")
        (set_hook,) = emu.calls("setWebhook")
        assert set_hook["params"]["secret_token"] == "s3cret"

        user = await emu.create_user("Web", language_code="ru", started=True)
        inbox = emu.inbox(user.id)
        update = {
            "update_id": 1,
            "message": {
                "message_id": 1,
                "date": int(time.time()),
                "chat": {"id": user.id, "type": "private", "first_name": "Web"},
                "from": {
                    "id": user.id,
                    "is_bot": False,
                    "first_name": "Web",
                    "language_code": "ru",
                },
                "text": "как проверить баланс",
            },
        }
        url = f"http://127.0.0.1:{config.telegram.webhook.listen_port}/telegram"
        secret = {"X-Telegram-Bot-Api-Secret-Token": "s3cret"}
        async with aiohttp.ClientSession() as http:
            async with http.post(
                url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "x"}
            ) as r:
                assert r.status == 401
            async with http.post(
                url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret"}
            ) as r:
                assert r.status == 200
        assert "*100#" in (await inbox.next())["text"]

        # Telegram delivers again what it isn't sure arrived: answered once all the same
        async with (
            aiohttp.ClientSession() as http,
            http.post(url, json=update, headers=secret) as r,
        ):
            assert r.status == 200
        # the journal full: 503, Telegram keeps the update and delivers it again later
        second = {**update, "update_id": 2, "message": {**update["message"], "message_id": 2}}
        second["message"]["text"] = "kak popolnit balans"
        await fill(dono.journal.db, "filler")
        async with aiohttp.ClientSession() as http:
            for _ in range(30):  # the pages in use have some room left
                async with http.post(url, json=second, headers=secret) as r:
                    if r.status == 503:
                        break
                    assert r.status == 200
                    await inbox.next()
                    second["update_id"] += 1
                    second["message"]["message_id"] += 1
            assert r.status == 503
            await free(dono.journal.db, "filler")
            async with http.post(url, json=second, headers=secret) as r:
                assert r.status == 200
        assert "ополн" in (await inbox.next())["text"]
        await settled(emu)
        assert len(emu.bot_messages(user.id)) == second["update_id"]  # one answer per update
    finally:
        await dono.stop()
