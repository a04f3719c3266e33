"""Outage reports: district or location, a description, a record, and an alert to agents."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from emulator import Emulator
from tests.e2e.conftest import Desk, Person, button_data, open_desk, roomy_private, settled


@pytest.fixture
async def desk(emu: Emulator, tmp_path: Path) -> AsyncIterator[Desk]:
    """The desk, with subscribers' chats roomier than Telegram's 1 a second: a report is five
    messages to its subscriber, and these tests are about outages, not pacing."""
    async with open_desk(emu, tmp_path, lambda config: roomy_private(emu, config)) as env:
        yield env


async def report(
    desk: Desk, name: str | Person, description: str, district: str = "Худжанд"
) -> dict:
    """``name``: a new subscriber of that name, or a ``Person`` who reports (again)."""
    if isinstance(name, Person):
        person = name
    else:
        person = Person(desk.emu, await desk.emu.create_user(name, language_code="ru"))
    answer = await person.send("в нашем районе нет связи со вчерашнего дня")
    assert "Сообщите о сбое" in answer["text"]
    ask = await person.next()
    assert "Где нет связи" in ask["text"]
    hint = await person.next()  # the reply keyboard that shares the location, with words
    assert "геопозицией" in hint["text"]
    keyboard = desk.emu.reply_keyboard(person.user.id)
    assert keyboard["keyboard"][0][0]["request_location"] is True
    await person.press(ask, button_data(ask, district))
    assert "опишите" in (await person.next())["text"]
    thanks = await person.send(description)
    assert "записано и передано" in thanks["text"] and district in thanks["text"]
    return thanks


async def test_outage_reports_cluster_into_one_alert(desk: Desk) -> None:
    since = desk.emu.cursor()
    await report(desk, "A", "нет интернета с утра")
    await report(desk, "B", "не работают звонки")
    await report(desk, "C", "<b>ничего</b> не работает")
    alert = await desk.emu.wait_for_bot_message(desk.group.id, since=since, timeout=10)
    assert "Худжанд" in alert["text"] and "3 сообщения" in alert["text"]
    assert "<b>ничего</b> не работает" in alert["text"]  # escaped, shown as typed
    rows = await desk.dono.store.outages(0)
    assert [r["district"] for r in rows] == ["Худжанд"] * 3
    # a fourth report starts counting again: no second alert for the same reports
    await report(desk, "D", "всё ещё нет сети")
    await settled(desk.emu)  # the window a second alert would arrive in
    assert [
        m for m in desk.emu.bot_messages(desk.group.id) if "аварию" in (m.get("text") or "")
    ] == [alert]


async def test_one_subscriber_reporting_again_and_again_is_not_a_cluster(desk: Desk) -> None:
    def alerts() -> list[dict]:
        return [
            m for m in desk.emu.bot_messages(desk.group.id) if "аварию" in (m.get("text") or "")
        ]

    since = desk.emu.cursor()
    person = Person(desk.emu, await desk.emu.create_user("Loud", language_code="ru"))
    for text in ("нет связи", "всё ещё нет связи", "НЕТ СВЯЗИ!!!", "сделайте что-нибудь"):
        await report(desk, person, text)
    await settled(desk.emu)  # the window an alert would arrive in
    assert alerts() == []
    # two more people in the district make three different subscribers: now it is a cluster
    await report(desk, "B", "не работают звонки")
    assert alerts() == []
    await report(desk, "C", "интернета нет")
    alert = await desk.emu.wait_for_bot_message(desk.group.id, since=since, timeout=10)
    assert "Худжанд" in alert["text"] and "6 сообщений" in alert["text"]


async def test_location_picks_the_nearest_district(desk: Desk) -> None:
    emu = desk.emu
    person = Person(emu, await emu.create_user("Loc", language_code="ru"))
    await person.send("нет сигнала во всём районе")
    await person.next()
    await person.next()
    await emu.send_location(person.user, 40.28, 69.63)  # Khujand
    assert "опишите" in (await person.next())["text"]
    thanks = await person.send("нет связи")
    assert "Худжанд" in thanks["text"]
    (row,) = await desk.dono.store.outages(0)
    assert row["latitude"] == 40.28 and row["district"] == "Худжанд"


async def _to_description(desk: Desk, person: Person, district: str = "Куляб") -> None:
    await person.send("в нашем районе нет связи со вчерашнего дня")
    ask = await person.next()
    await person.next()
    await person.press(ask, button_data(ask, district))
    assert "опишите" in (await person.next())["text"]


async def test_a_question_or_a_command_leaves_the_flow(desk: Desk) -> None:
    person = Person(desk.emu, await desk.emu.create_user("Mover", language_code="ru"))
    await _to_description(desk, person)
    answer = await person.send("как проверить баланс?")
    assert "*100#" in answer["text"]  # answered, not taken for a description
    assert await desk.dono.store.outages(0) == []
    await _to_description(desk, person)
    menu = await person.send("/menu")
    assert "Выберите" in menu["text"] or menu.get("reply_markup")
    after = await person.send("тариф")
    assert "Сообщение о сбое" not in after["text"]
    assert await desk.dono.store.outages(0) == []
    # a plain description still ends the report
    await _to_description(desk, person)
    thanks = await person.send("нет интернета с утра")
    assert "Сообщение о сбое" in thanks["text"] and "Куляб" in thanks["text"]


async def test_somewhere_else_is_confirmed_as_somewhere_else(desk: Desk) -> None:
    person = Person(desk.emu, await desk.emu.create_user("Far", language_code="ru"))
    await _to_description(desk, person, "Другое место")
    thanks = await person.send("нет связи")
    assert "Другое место" in thanks["text"] and "геопозиции" not in thanks["text"]


async def test_a_single_report_reaches_the_agents_when_its_window_passes(desk: Desk) -> None:
    import time

    from bot.handlers.outage import post_singles

    await report(desk, "Alone", "нет связи у подъезда", district="Бохтар")
    since = desk.emu.cursor()
    dono = desk.dono
    assert (
        await post_singles(dono.store, dono.dp["desk"], dono.config, time.time()) == 0
    )  # too soon
    later = time.time() + dono.config.outages.alert_minutes * 60 + 1
    assert await post_singles(dono.store, dono.dp["desk"], dono.config, later) == 1
    note = await desk.emu.wait_for_bot_message(desk.group.id, since=since, timeout=10)
    assert "Бохтар" in note["text"] and "нет связи у подъезда" in note["text"]
    assert await post_singles(dono.store, dono.dp["desk"], dono.config, later) == 0  # told once


async def test_the_bots_timer_passes_single_reports_on(desk: Desk, monkeypatch) -> None:
    import bot.periodic as periodic

    dono = desk.dono
    # the running bot has its timers; with reports.digest_hour the digest's too
    assert dono.timers is not None
    assert {task.get_name() for task in dono.timers.tasks} == {"dono-outage-singles"}
    monkeypatch.setattr(periodic, "MIN_TICK", 0.2)
    monkeypatch.setattr(dono.config.outages, "alert_minutes", 0.01)  # a 0.6 s window
    timers = periodic.Periodic(dono.config, dono.store, dono.dp["desk"])
    timers.start()
    try:
        since = desk.emu.cursor()
        await report(desk, "Lone", "пропала связь", district="Куляб")
        note = await desk.emu.wait_for_bot_message(
            desk.group.id, since=since, timeout=10, predicate=lambda m: "📡" in m.get("text", "")
        )
        assert "Куляб" in note["text"] and "пропала связь" in note["text"]
    finally:
        await timers.stop()
    assert timers.tasks == []
