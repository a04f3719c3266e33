"""Agents' workspaces (issue 13, item 2): with ``agents.workspaces`` a ticket an agent claims in
the group becomes a topic in their private chat with the bot, with the card and the history;
the relay goes there both ways, notes and /close work there as in the group, the subscriber
rates the agent as usual, and the group keeps the card and the status."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import Config
from emulator import Emulator
from tests.e2e.conftest import (
    Desk,
    Person,
    button_data,
    buttons,
    open_desk,
    roomy_group,
    settled,
)
from tests.e2e.test_desk import handed_off, press


@pytest.fixture
async def desk(emu: Emulator, tmp_path: Path) -> AsyncIterator[Desk]:
    def workspaces(config: Config) -> None:
        roomy_group(emu, config)
        config.agents.workspaces = True

    emu.set_private_topics(True)
    async with open_desk(emu, tmp_path, workspaces) as env:
        yield env


def texts(messages: list[dict]) -> list[str]:
    return [m.get("text") or "" for m in messages if "forum_topic_created" not in m]


async def _claimed_in_workspace(desk: Desk, name: str) -> tuple[Person, dict, int]:
    """A subscriber handed off and their ticket claimed by the first agent: the subscriber
    (told a person has it), the card in the group and the ticket's topic in her chat."""
    emu, dilnoza = desk.emu, desk.agents[0]
    person, card = await handed_off(desk, name)
    since = emu.cursor()
    await press(desk, dilnoza, card, "Взять")
    created = await emu.wait_for_event(
        lambda e: e.kind == "topic_created" and e.chat_id == dilnoza.id, since=since, timeout=10
    )
    assert (await person.next(timeout=10))["text"].startswith("Оператор взял")
    return person, card, created.thread_id


async def test_a_ticket_lives_in_its_agents_private_chat(desk: Desk) -> None:
    emu, dilnoza = desk.emu, desk.agents[0]
    emu.private_chat(emu.default_bot, dilnoza, create=True)  # she has started the bot
    person, card = await handed_off(desk)
    group_thread = card["message_thread_id"]
    group_topic = desk.topic(group_thread)
    await emu.send_text(person.user, "номер 900 00 00 01")
    await group_topic.next(predicate=lambda m: m.get("text") == "номер 900 00 00 01")
    # claimed in the group: a topic in her private chat with the card and the history
    since = emu.cursor()
    await press(desk, dilnoza, card, "Взять")
    created = await emu.wait_for_event(
        lambda e: e.kind == "topic_created" and e.chat_id == dilnoza.id, since=since, timeout=10
    )
    thread = created.thread_id
    workspace = emu.inbox(dilnoza.id, thread_id=thread, since=since)
    service, *shown = await workspace.take(4, timeout=10)
    assert "forum_topic_created" in service
    assert "Обращение #1" in shown[0]["text"] and "reply_markup" not in shown[0]
    assert "ваше" in shown[1]["text"] and "Последнее 1 сообщение" in shown[1]["text"]
    assert shown[2]["text"] == "номер 900 00 00 01" and "forward_origin" in shown[2]
    assert (await person.next())["text"].startswith("Оператор взял")
    # the relay both ways, in her chat
    await emu.send_text(person.user, "алло, вы тут?")
    assert (await workspace.next(timeout=10))["text"] == "алло, вы тут?"
    await emu.send_text(dilnoza, "Да, проверяю ваш номер", thread_id=thread)
    assert (await person.next())["text"] == "Да, проверяю ваш номер"
    await emu.send_text(dilnoza, "! абонент из Худжанда", thread_id=thread)  # a note
    # closed there: the subscriber is asked to rate, the group's card shows it closed
    await emu.send_text(dilnoza, "/close", thread_id=thread)
    csat = await person.next(timeout=10)
    assert [b["text"] for b in buttons(csat)] == ["1 ⭐", "2 ⭐", "3 ⭐", "4 ⭐", "5 ⭐"]
    assert "закрыто" in (await workspace.next(timeout=10))["text"]
    await person.press(csat, button_data(csat, "5"))
    await group_topic.next(predicate=lambda m: "Оценка абонента" in (m.get("text") or ""))
    ticket = await desk.dono.store.get_ticket(1)
    assert (ticket.status, ticket.csat, ticket.agent_id) == ("closed", 5, dilnoza.id)
    await settled(emu)
    in_group = texts(emu.messages(desk.group, group_thread, from_bot=True))
    assert "алло, вы тут?" not in in_group  # the group kept the card and the status only
    assert any("#1 закрыто" in text for text in in_group)
    notes = [m for m in await desk.dono.store.messages(1) if m.direction == "note"]
    assert len(notes) == 1
    assert person.inbox.pending() == []  # the note never reached the subscriber


async def test_an_agent_who_never_started_the_bot_works_in_the_group(desk: Desk) -> None:
    emu, rustam = desk.emu, desk.agents[1]
    person, card = await handed_off(desk)
    thread = card["message_thread_id"]
    topic = desk.topic(thread)
    await press(desk, rustam, card, "Взять")
    assert (await person.next())["text"].startswith("Оператор взял")
    told = await topic.next(predicate=lambda m: "Старт" in (m.get("text") or ""), timeout=10)
    assert "Rustam" in told["text"] and "@dono_test_bot" in told["text"]
    await emu.send_text(person.user, "алло")
    assert (await topic.next(predicate=lambda m: m.get("text") == "алло"))["text"] == "алло"
    await desk.say(rustam, "Слушаю", thread)
    assert (await person.next())["text"] == "Слушаю"
    assert await desk.dono.store.workspaces.workspace_of(1) is None


async def test_a_workspace_topic_the_agent_deleted_is_made_again(desk: Desk) -> None:
    emu, dilnoza = desk.emu, desk.agents[0]
    emu.private_chat(emu.default_bot, dilnoza, create=True)
    person, _, thread = await _claimed_in_workspace(desk, "Farrukh")
    await emu.wait_for_bot_message(dilnoza.id, thread_id=thread)  # its card
    await emu.send_text(dilnoza, "Здравствуйте", thread_id=thread)
    assert (await person.next())["text"] == "Здравствуйте"
    await emu.delete_topic(dilnoza.id, thread, by=dilnoza)
    since = emu.cursor()
    await emu.send_text(person.user, "вы пропали?")
    again = await emu.wait_for_event(
        lambda e: e.kind == "topic_created" and e.chat_id == dilnoza.id, since=since, timeout=10
    )
    workspace = emu.inbox(dilnoza.id, thread_id=again.thread_id, since=since)
    _, card_copy, header, answered, asked = await workspace.take(5, timeout=10)
    assert "Обращение #1" in card_copy["text"] and "Последнее 1 сообщение" in header["text"]
    assert (answered["text"], asked["text"]) == ("Здравствуйте", "вы пропали?")
    await emu.send_text(dilnoza, "Нет, я здесь", thread_id=again.thread_id)
    assert (await person.next())["text"] == "Нет, я здесь"


async def test_a_transferred_ticket_moves_to_the_new_agents_chat_and_back_to_the_group(
    desk: Desk,
) -> None:
    """/transfer from the workspace: the ticket opens in the other agent's chat (the first is
    told it left); /transfer with no one: back in the queue, relayed in the group again."""
    emu, (dilnoza, rustam) = desk.emu, desk.agents
    for agent in desk.agents:
        emu.private_chat(emu.default_bot, agent, create=True)
    person, card, first = await _claimed_in_workspace(desk, "Farrukh")
    left = emu.inbox(dilnoza.id, thread_id=first)
    since = emu.cursor()
    await emu.send_text(dilnoza, f"/transfer {rustam.id}", thread_id=first)
    second = await emu.wait_for_event(
        lambda e: e.kind == "topic_created" and e.chat_id == rustam.id, since=since, timeout=10
    )
    assert "уже не здесь" in (await left.next(timeout=10))["text"]
    await emu.send_text(person.user, "кто теперь?")
    theirs = emu.inbox(rustam.id, thread_id=second.thread_id, since=since)
    await theirs.next(predicate=lambda m: m.get("text") == "кто теперь?", timeout=10)
    await emu.send_text(rustam, "/transfer", thread_id=second.thread_id)
    await emu.wait_for_bot_message(
        rustam.id,
        thread_id=second.thread_id,
        predicate=lambda m: "уже не здесь" in (m.get("text") or ""),
        since=since,
        timeout=10,
    )
    group = desk.topic(card["message_thread_id"])
    await emu.send_text(person.user, "алло?")
    await group.next(predicate=lambda m: m.get("text") == "алло?", timeout=10)
    ticket = await desk.dono.store.get_ticket(1)
    assert ticket.status == "waiting"


async def test_a_bot_without_topic_mode_keeps_tickets_in_the_group(desk: Desk) -> None:
    emu, dilnoza = desk.emu, desk.agents[0]
    emu.private_chat(emu.default_bot, dilnoza, create=True)
    emu.set_private_topics(False)  # BotFather's Threaded Mode off
    person, card = await handed_off(desk)
    topic = desk.topic(card["message_thread_id"])
    await press(desk, dilnoza, card, "Взять")
    await topic.next(predicate=lambda m: "Старт" in (m.get("text") or ""), timeout=10)
    await emu.send_text(person.user, "алло")
    await topic.next(predicate=lambda m: m.get("text") == "алло", timeout=10)
    assert emu.topics(dilnoza.id) == []


async def test_a_close_waiting_for_the_group_does_not_hold_up_the_agents_next_answer(
    desk: Desk,
) -> None:
    """All of an agent's tickets are topics of one private chat, whose updates are handled in
    order: what a workflow shows the group (here the topic's close, kept waiting 10 s by the
    group's budget) must not keep her next answer, in another ticket, waiting."""
    emu, dilnoza = desk.emu, desk.agents[0]
    emu.private_chat(emu.default_bot, dilnoza, create=True)
    first, _, first_topic = await _claimed_in_workspace(desk, "Farrukh")
    second, _, second_topic = await _claimed_in_workspace(desk, "Zarina")
    since = emu.cursor()
    emu.inject_retry_after("closeForumTopic", retry_after=10)  # the group's budget is spent
    await emu.send_text(dilnoza, "/close", thread_id=first_topic)
    assert "1 ⭐" in str((await first.next(timeout=10)).get("reply_markup"))  # rate the agent
    await emu.send_text(dilnoza, "Проверяю ваш номер", thread_id=second_topic)
    assert (await second.next(timeout=6))["text"] == "Проверяю ваш номер"
    assert not [c for c in emu.calls("closeForumTopic", since=since) if c.get("ok")]
    # the group's side of the close still happens, once Telegram takes it
    await emu.wait_for_call(
        "closeForumTopic", since=since, timeout=20, predicate=lambda call: bool(call.get("ok"))
    )


async def test_edits_and_replies_are_mirrored_between_a_workspace_and_the_subscriber(
    desk: Desk,
) -> None:
    emu, dilnoza = desk.emu, desk.agents[0]
    emu.private_chat(emu.default_bot, dilnoza, create=True)
    person, _, thread = await _claimed_in_workspace(desk, "Farrukh")
    workspace = emu.inbox(dilnoza.id, thread_id=thread, since=emu.cursor())
    # the subscriber's message and its fix: the copy in her workspace is edited
    sent = await emu.send_text(person.user, "мой номер 900 00 00 01")
    copy = await workspace.next(timeout=10, predicate=lambda m: "900" in (m.get("text") or ""))
    await emu.edit_message(person.user, sent["message_id"], "мой номер 900 00 00 02")
    edited = await emu.wait_for_bot_edit(dilnoza.id, message_id=copy["message_id"], since=0)
    assert edited["text"] == "мой номер 900 00 00 02"
    # her answer, replying to that copy, replies to the subscriber's own message
    said = await emu.send_text(
        dilnoza, "Спасибо, тариф — Смарт", thread_id=thread, reply_to=copy["message_id"]
    )
    answer = await person.next(timeout=10)
    assert answer["reply_to_message"]["message_id"] == sent["message_id"]
    # her fix of the answer: the subscriber's copy is edited
    await emu.edit_message(dilnoza, said["message_id"], "Спасибо, тариф — Макси")
    fixed = await emu.wait_for_bot_edit(person.user.id, message_id=answer["message_id"], since=0)
    assert fixed["text"] == "Спасибо, тариф — Макси"
    # the subscriber replies to the answer: the copy in the workspace replies to hers
    await emu.send_text(person.user, "а сколько он стоит?", reply_to=answer["message_id"])
    asked = await workspace.next(timeout=10, predicate=lambda m: "стоит" in (m.get("text") or ""))
    assert asked["reply_to_message"]["message_id"] == said["message_id"]
    # none of it went to the group, which keeps the card and the status
    await settled(emu)
    in_group = texts(emu.messages(desk.group, from_bot=True))
    assert not [x for x in in_group if "900" in x or "тариф" in x or "стоит" in x]
