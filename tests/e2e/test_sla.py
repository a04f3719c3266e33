"""A ticket's triage and SLA through the emulator with the real bot: /priority and /label change
the card (and the queue's order, which subscribers are told their place in), a forged or
oversized label is refused, the card shows its due times, and an unanswered ticket near its
first-response target is nudged once — not again after a restart, never when answered."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import bot.periodic as periodic
from bot.config import Config
from bot.desk.sla import DeskSla
from emulator import Emulator
from handoff.hours import WEEKDAYS, WorkingHours
from handoff.sla import SlaTargets
from tests.e2e.conftest import (
    Desk,
    Person,
    make_config,
    open_desk,
    settled,
    start_dono,
    wait_for,
)
from tests.e2e.test_desk import handed_off, press


async def said(desk: Desk, thread: int | None, part: str, since: int) -> dict:
    return await desk.emu.wait_for_bot_message(
        desk.group.id,
        thread_id=thread,
        since=since,
        predicate=lambda m: part in (m.get("text") or ""),
    )


async def edited_card(desk: Desk, card: dict, since: int) -> str:
    edit = await desk.emu.wait_for_bot_edit(
        desk.group.id, message_id=card["message_id"], since=since
    )
    return edit["text"]


def card_now(desk: Desk, card: dict) -> str:
    """The card's text as the group shows it now (after every edit)."""
    thread = card["message_thread_id"]
    (shown,) = [
        m
        for m in desk.emu.bot_messages(desk.group.id, thread)
        if m["message_id"] == card["message_id"]
    ]
    return shown.get("text") or ""


async def test_priority_and_labels_change_the_card(desk: Desk) -> None:
    dilnoza = desk.agents[0]
    _, card = await handed_off(desk)
    thread = card["message_thread_id"]
    assert "Приоритет" not in card["text"] and "🏷" not in card["text"]
    since = desk.emu.cursor()
    await desk.say(dilnoza, "/priority urgent", thread)
    assert "⚡ Приоритет: срочный" in await edited_card(desk, card, since)
    await said(desk, thread, "Приоритет #1: срочный (Dilnoza)", since)
    since = desk.emu.cursor()
    await desk.say(dilnoza, "/label #Billing роуминг", thread)
    assert "🏷 #billing #роуминг" in await edited_card(desk, card, since)
    await said(desk, thread, "Метки #1: #billing #роуминг", since)
    since = desk.emu.cursor()
    await desk.say(dilnoza, "/label -billing", thread)
    assert "🏷 #роуминг" in await edited_card(desk, card, since)
    text = card_now(desk, card)
    assert "#billing" not in text and "⚡ Приоритет: срочный" in text
    # from General, the ticket's id first
    since = desk.emu.cursor()
    await desk.say(dilnoza, "/priority 1 low", None)
    assert "⚡ Приоритет: низкий" in await edited_card(desk, card, since)
    ticket = await desk.dono.store.get_ticket(1)
    assert ticket.priority == "low"
    assert await desk.dono.store.labels.labels(1) == ["роуминг"]
    events = [(e.name, e.detail) for e in await desk.dono.store.events(1)]
    assert ("priority", "urgent") in events and ("priority", "low") in events
    assert ("label_added", "billing") in events and ("label_removed", "billing") in events


async def test_a_forged_or_oversized_label_is_refused_and_changes_nothing(desk: Desk) -> None:
    dilnoza = desk.agents[0]
    _, card = await handed_off(desk)
    thread = card["message_thread_id"]
    since = desk.emu.cursor()
    await desk.say(dilnoza, '/label ok <b>x</b>"', thread)
    refused = await said(desk, thread, "Ничего не изменено", since)
    assert "<b>x</b>" in refused["text"] and "только буквы" in refused["text"]
    await desk.say(dilnoza, "/label " + "я" * 33, thread)
    await said(desk, thread, "не больше 32 символов", since)
    await desk.say(dilnoza, "/label " + " ".join(f"l{n}" for n in range(11)), thread)
    await said(desk, thread, "не больше 10 меток", since)
    await desk.say(dilnoza, "/priority whenever", thread)
    await said(desk, thread, "/priority urgent|high|normal|low", since)
    await settled(desk.emu)
    assert await desk.dono.store.labels.labels(1) == []
    assert (await desk.dono.store.get_ticket(1)).priority == "normal"
    edits = [
        e
        for e in desk.emu.events_since(since)
        if e.kind == "edit" and e.message_id == card["message_id"]
    ]
    assert edits == []  # nothing changed, so the card was not edited either


async def test_labels_outside_the_configured_list_are_refused(
    emu: Emulator, tmp_path: Path
) -> None:
    agent = await emu.create_user("Dilnoza", language_code="ru")
    group = await emu.create_forum_group("Operators", agents=[agent])
    config = make_config(tmp_path)
    config.agents.group_id = group.id
    config.agents.labels = ["billing", "роуминг"]
    dono = await start_dono(emu, config)
    desk = Desk(emu, dono, group, [agent])
    try:
        _, card = await handed_off(desk)
        thread = card["message_thread_id"]
        since = emu.cursor()
        await desk.say(agent, "/label spam", thread)
        refused = await said(desk, thread, "нет в списке", since)
        assert "#billing #роуминг" in refused["text"]
        await desk.say(agent, "/label #Роуминг", thread)
        assert "🏷 #роуминг" in await edited_card(desk, card, since)
    finally:
        await dono.stop()


async def test_raised_tickets_go_first_and_a_subscriber_is_told_that_place(desk: Desk) -> None:
    dilnoza = desk.agents[0]
    _, c1 = await handed_off(desk, "First")
    _, c2 = await handed_off(desk, "Second")
    since = desk.emu.cursor()
    await desk.say(dilnoza, "/priority high", c2["message_thread_id"])
    await desk.say(dilnoza, "/priority low", c1["message_thread_id"])
    await said(desk, c1["message_thread_id"], "Приоритет #1: низкий", since)
    person = Person(desk.emu, await desk.emu.create_user("Third", language_code="ru"))
    reply = await person.send("позовите оператора")
    assert "Вы 2-й в очереди" in reply["text"]  # behind #2 (high), ahead of #1 (low)
    since = desk.emu.cursor()
    await desk.say(dilnoza, "/queue", None)
    queue = (await said(desk, None, "Очередь", since))["text"].splitlines()
    assert [line.split(" ·")[0] for line in queue[1:]] == ["#2", "#3", "#1"]
    assert "высокий" in queue[1] and "низкий" not in queue[3]


# -- the SLA ----------------------------------------------------------------------------------


def _sla_in_an_hour(config: Config) -> None:
    config.reports.sla = {"first_response": "1h", "resolution": "4h"}


@pytest.fixture
async def sla_desk(emu: Emulator, tmp_path: Path) -> AsyncIterator[Desk]:
    """A desk whose first reply is due an hour after the hand-off (no nudge in a test's time)."""
    async with open_desk(emu, tmp_path, _sla_in_an_hour) as desk:
        yield desk


def local(ts: float) -> str:
    return datetime.fromtimestamp(ts, ZoneInfo("Asia/Dushanbe")).strftime("%d.%m %H:%M")


async def test_the_card_shows_when_the_first_reply_and_the_resolution_are_due(
    sla_desk: Desk,
) -> None:
    _, card = await handed_off(sla_desk)
    ticket = await sla_desk.dono.store.get_ticket(1)
    assert f"⏱ Первый ответ — до {local(ticket.created_at + 3600)}" in card["text"]
    assert f"⏱ Решение — до {local(ticket.created_at + 4 * 3600)}" in card["text"]
    since = sla_desk.emu.cursor()
    await sla_desk.say(sla_desk.agents[0], "Здравствуйте!", card["message_thread_id"])
    await wait_for(lambda: sla_desk.dono.store.get_ticket(1), lambda t: t.first_response_at)
    await sla_desk.say(sla_desk.agents[0], "/label billing", card["message_thread_id"])
    text = await edited_card(sla_desk, card, since)
    while "#billing" not in text:  # the claim's edit came first
        text = await edited_card(sla_desk, card, since := sla_desk.emu.cursor())
    assert "Первый ответ" not in text and "⏱ Решение — до" in text


async def test_nudges_only_the_unanswered_and_each_once(sla_desk: Desk) -> None:
    desk, store = sla_desk, sla_desk.dono.store
    dilnoza, rustam = desk.agents
    p1, c1 = await handed_off(desk, "Answered")
    _, c2 = await handed_off(desk, "Claimed")
    _, c3 = await handed_off(desk, "Waiting")
    await desk.say(dilnoza, "Здравствуйте!", c1["message_thread_id"])
    await p1.next()
    await press(desk, dilnoza, c2, "Взять")
    await wait_for(lambda: store.get_ticket(2), lambda t: t.status == "claimed")
    await store.db.execute(
        "INSERT INTO agents (agent_id, name, on_shift, changed_at) VALUES (?, 'Rustam', 1, 0)",
        (rustam.id,),
    )
    await store.db.commit()
    sla = DeskSla(store, desk.dono.config.reports.targets(), desk.dono.dp["desk"].hours, "ru")
    since = desk.emu.cursor()
    assert await sla.nudge(desk.dono.dp["desk"], time.time() + 60) == 0  # too soon
    assert await sla.nudge(desk.dono.dp["desk"], time.time() + 0.8 * 3600 + 1) == 2
    claimed = await said(desk, c2["message_thread_id"], "⏰ Обращение #2", since)
    assert "Dilnoza, обращение у вас" in claimed["text"]
    assert dilnoza.id in _mentions(claimed)
    waiting = await said(desk, c3["message_thread_id"], "⏰ Обращение #3", since)
    assert "никто не взял" in waiting["text"] and "На смене: Rustam" in waiting["text"]
    assert _mentions(waiting) == {rustam.id}
    # breached, hours later: no second message
    assert await sla.nudge(desk.dono.dp["desk"], time.time() + 5 * 3600) == 0
    await settled(desk.emu)
    assert [len(nudges(desk, card)) for card in (c1, c2, c3)] == [0, 1, 1]
    assert (await store.labels.nudged_at(1)) is None


def _mentions(message: dict) -> set[int]:
    """Whom a message mentions by a link to their user id (a text_mention)."""
    return {e["user"]["id"] for e in message.get("entities", []) if e["type"] == "text_mention"}


def nudges(desk: Desk, card: dict) -> list[str]:
    texts = [
        m.get("text") or "" for m in desk.emu.bot_messages(desk.group.id, card["message_thread_id"])
    ]
    return [text for text in texts if text.startswith("⏰")]


# -- the bot's own timer, and a restart -------------------------------------------------------


async def test_the_timer_nudges_once_and_a_restart_does_not_repeat_it(
    emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(periodic, "NUDGE_TICK", 0.1)
    agent = await emu.create_user("Dilnoza", language_code="ru")
    group = await emu.create_forum_group("Operators", agents=[agent])
    config = make_config(tmp_path)
    config.agents.group_id = group.id
    config.reports.sla = {"first_response": 2}  # nudged at 80%: 1.6 s after the hand-off
    dono = await start_dono(emu, config)
    desk = Desk(emu, dono, group, [agent])
    try:
        assert "dono-sla-nudges" in {task.get_name() for task in dono.timers.tasks}
        _, card = await handed_off(desk)
        nudge = await said(desk, card["message_thread_id"], "⏰ Обращение #1", 0)
        ticket = await dono.store.get_ticket(1)
        assert "никто не взял" in nudge["text"] and "На смене" not in nudge["text"]
        nudged_at = await dono.store.labels.nudged_at(1)
        assert nudged_at is not None and nudged_at >= ticket.created_at + 1.6  # not before 80%
    finally:
        await dono.stop()
    dono = await start_dono(emu, config)  # the same database: the nudge is remembered
    desk.dono = dono
    try:
        await wait_for(lambda: _looks(dono), lambda n: n >= 5)
        await settled(emu)
        assert nudges(desk, card) == [nudge["text"]]
    finally:
        await dono.stop()


async def _looks(dono) -> int:
    return dono.timers.sla.looks if dono.timers and dono.timers.sla else 0


async def test_in_business_hours_the_nudge_waits_for_the_desk_to_be_open(sla_desk: Desk) -> None:
    """Asked during three days of holidays: the first-response clock starts when the desk opens
    on the fourth morning, so 80% of an hour is 09:48 that day, not 48 minutes from now."""
    desk, store = sla_desk, sla_desk.dono.store
    _, card = await handed_off(desk)
    created = (await store.get_ticket(1)).created_at
    today = datetime.fromtimestamp(created, ZoneInfo("Asia/Dushanbe")).date()
    days = [today + timedelta(days=n) for n in range(4)]
    hours = WorkingHours.from_config(
        {
            "timezone": "Asia/Dushanbe",
            **{day: "09:00-18:00" for day in WEEKDAYS},
            "holidays": [d.isoformat() for d in days[:3]],
        }
    )
    fourth = datetime(days[3].year, days[3].month, days[3].day, tzinfo=ZoneInfo("Asia/Dushanbe"))
    moment = (fourth + timedelta(hours=9, minutes=48)).timestamp()
    targets = SlaTargets(first_response=3600, business_hours=True)
    sla = DeskSla(store, targets, hours, "ru")
    assert await sla.nudge(desk.dono.dp["desk"], created + 0.8 * 3600 + 60) == 0
    assert await sla.nudge(desk.dono.dp["desk"], moment - 30) == 0
    since = desk.emu.cursor()
    assert await sla.nudge(desk.dono.dp["desk"], moment + 30) == 1
    nudge = await said(desk, card["message_thread_id"], "⏰ Обращение #1", since)
    assert f"(до {(fourth + timedelta(hours=10)).strftime('%d.%m %H:%M')})" in nudge["text"]
