"""Conversation state in Redis: an outage report begun with one instance goes on with another
(aiogram's RedisStorage under the redis prefix, instead of each process's memory): the
district shared as a location, then the description."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.texts import t
from emulator import Emulator
from tests.e2e.conftest import Person, make_config, start_dono
from tests.redis import fresh_prefix, redis_url


async def test_an_outage_report_begun_on_one_instance_is_finished_on_another(
    emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DONO_REDIS_URL", raising=False)
    config = make_config(tmp_path)
    config.redis.url, config.redis.prefix = await redis_url(), fresh_prefix()
    person = Person(emu, await emu.create_user("Farrukh", language_code="ru"))
    first = await start_dono(emu, config)
    try:
        assert "Сообщите о сбое" in (await person.send("у нас нет связи со вчерашнего дня"))["text"]
        ask = await person.next()
        assert "Где нет связи" in ask["text"]
        await person.next()  # the location keyboard's hint
    finally:
        await first.stop()
    second = await start_dono(emu, config)  # another instance: nothing of the flow in memory
    try:
        # the location is taken only in the flow's district step, which the first one began
        await emu.send_location(person.user, 40.28, 69.62)
        assert (await person.next())["text"] == t("ru", "outage_ask_description")
        thanks = await person.send("нет интернета")
        assert "№1 (Худжанд) записано" in thanks["text"]
        rows = await second.store.outages(0)
        assert [r["district"] for r in rows] == ["Худжанд"]
    finally:
        await second.stop()
