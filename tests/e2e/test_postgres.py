"""The real bot on PostgreSQL through the emulator: a question answered, a hand-off claimed
and closed, the report built from what PostgreSQL holds, and the URL's password never in the
log."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import pytest

from bot.cli import main
from emulator import Emulator
from tests.e2e.conftest import Person, button_data, make_config, start_dono
from tests.pg import fresh_schema

SECRET = "pg-e2e-not-a-real-secret"  # trust authentication on the test server ignores it


async def test_the_bot_on_postgresql(
    emu: Emulator,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.INFO)
    agent = await emu.create_user("Dilnoza", language_code="ru", username="dilnoza")
    group = await emu.create_forum_group("Operators", agents=[agent])
    async with fresh_schema() as url:
        url = url.replace("://postgres@", f"://postgres:{SECRET}@", 1)
        config = make_config(tmp_path)
        config.bot.database = url
        config.bot.journal = tmp_path / "journal.sqlite3"
        config.agents.group_id = group.id
        dono = await start_dono(emu, config)
        try:
            person = Person(emu, await emu.create_user("Farrukh", language_code="ru"))
            assert "*100#" in (await person.send("как проверить баланс"))["text"]
            since = emu.cursor()
            await person.send("позовите оператора")
            card = await emu.wait_for_bot_message(
                group.id, predicate=lambda m: "Обращение #" in (m.get("text") or ""), since=since
            )
            thread = card["message_thread_id"]
            await emu.press_button(
                agent, card["message_id"], button_data(card, "Взять"), chat=group.id
            )
            assert "Оператор взял" in (await person.next())["text"]
            await emu.send_text(agent, "Здравствуйте!", chat=group.id, thread_id=thread)
            assert (await person.next())["text"] == "Здравствуйте!"
            await emu.send_text(agent, "/close", chat=group.id, thread_id=thread)
            csat = await person.next()
            await person.press(csat, button_data(csat, "5"))
            topic = emu.inbox(group.id, thread_id=thread)
            await topic.next(predicate=lambda m: "⭐" in (m.get("text") or ""))
            ticket = await dono.store.get_ticket(1)
            assert (ticket.status, ticket.agent_name, ticket.csat) == ("closed", "Dilnoza", 5)
            assert dono.store.database.dialect == "postgresql"
        finally:
            await dono.stop()
        argv = ["report", "--db", url, "--since", "1d", "--json"]
        assert await asyncio.to_thread(main, argv) == 0
        report = json.loads(capsys.readouterr().out)
        assert report["outcomes"]["conversations"] == 1
        assert report["outcomes"]["handed_off"] == 1
        assert report["csat"]["average"] == 5
    assert SECRET not in caplog.text
    assert "postgres:***@" in caplog.text  # the database was logged, without its password
