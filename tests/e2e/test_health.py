"""/healthz and /metrics: what an operator's monitoring scrapes."""

from __future__ import annotations

import logging
from pathlib import Path

import aiohttp

from bot.health import JsonFormatter
from emulator import Emulator
from tests.e2e.conftest import Person, make_config, start_dono
from tests.e2e.test_webhook import free_port


async def test_healthz_and_metrics(emu: Emulator, tmp_path: Path) -> None:
    config = make_config(tmp_path)
    config.ops.health_port = free_port()
    agent = await emu.create_user("Agent", language_code="ru")
    config.agents.group_id = (await emu.create_forum_group("Operators", agents=[agent])).id
    dono = await start_dono(emu, config)
    await dono.start_health()
    base = f"http://127.0.0.1:{config.ops.health_port}"
    try:
        person = Person(emu, await emu.create_user("M", language_code="ru"))
        emu.inject_retry_after("sendMessage", count=1, retry_after=1)
        assert "*100#" in (await person.send("как проверить баланс", timeout=15))["text"]
        await person.send("/operator")
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/healthz") as r:
                assert r.status == 200
                health = await r.json()
            async with http.get(f"{base}/metrics") as r:
                text = await r.text()
        assert health["status"] == "ok" and health["kb_topics"] == 33
        assert health["tickets_waiting"] == 1
        assert 'dono_decisions_total{kind="answer"} 1.0' in text
        assert 'dono_updates_total{type="message"} 2.0' in text
        assert "dono_api_429_total 1.0" in text
        assert "dono_tickets_waiting 1.0" in text
        assert 'dono_api_latency_seconds_count{method="SendMessage"}' in text
        assert "dono_database_ok 1.0" in text and "dono_updates_kept 0.0" in text
        assert health["updates_kept_in_memory"] == 0 and health["database"] == "ok"
        assert health["instance"] == config.ops.instance_name() and health["redis"] is None
        assert health["leader"] == getattr(dono.poller, "leader", None)
        assert f'dono_instance_info{{instance="{health["instance"]}",' in text
    finally:
        await dono.stop()
    async with aiohttp.ClientSession() as http:
        try:
            async with http.get(f"{base}/healthz") as r:
                assert r.status != 200
        except aiohttp.ClientConnectionError:
            pass  # stopped: nothing listens any more


def test_json_log_lines() -> None:
    record = logging.LogRecord("dono", logging.INFO, __file__, 1, "served %s", ("x",), None)
    line = JsonFormatter().format(record)
    assert '"message": "served x"' in line and '"level": "INFO"' in line


def test_token_is_redacted_from_logs() -> None:
    from bot.app import RedactToken

    token = "123456:SECRET-token"
    record = logging.LogRecord(
        "aiohttp", logging.ERROR, __file__, 1, "GET %s failed", (f"/bot{token}/getMe",), None
    )
    assert RedactToken(token).filter(record)
    assert token not in record.getMessage() and "<token>" in record.getMessage()
