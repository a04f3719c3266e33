"""Topics as disposable views of a ticket (issue 13, item 5): a topic Telegram no longer takes —
archived with a forum's oldest messages, deleted or closed by an admin — is made again with the
card and the ticket's recent history, and the message that found it gone is delivered there,
once; the conversation carries on both ways."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import Config
from emulator import Emulator
from tests.e2e.conftest import Desk, Person, open_desk, roomy_group, settled
from tests.e2e.test_desk import handed_off


@pytest.fixture
async def desk(emu: Emulator, tmp_path: Path) -> AsyncIterator[Desk]:
    def roomy(config: Config) -> None:
        roomy_group(emu, config)

    async with open_desk(emu, tmp_path, roomy) as env:
        yield env


async def talked(desk: Desk) -> tuple[Person, dict]:
    """A ticket with a conversation: the subscriber wrote, an agent answered."""
    person, card = await handed_off(desk)
    thread = card["message_thread_id"]
    topic = desk.topic(thread)
    await desk.emu.send_text(person.user, "номер 900 00 00 01")
    await topic.next(predicate=lambda m: m.get("text") == "номер 900 00 00 01")
    await desk.say(desk.agents[0], "Проверяю ваш баланс", thread)
    assert (await person.next())["text"] == "Проверяю ваш баланс"
    return person, card


async def new_view(desk: Desk, old: int, since: int) -> tuple[int, list[dict]]:
    """The ticket's topic made again after ``old``: its thread and the bot's messages in it
    once the bot is done (card, the line saying so, the history, what failed)."""
    card = await desk.card(1, since=since, timeout=15)
    thread = card["message_thread_id"]
    assert thread != old
    await settled(desk.emu)
    sent = desk.emu.messages(desk.group, thread, from_bot=True)
    return thread, [m for m in sent if "forum_topic_created" not in m]


def texts(messages: list[dict]) -> list[str]:
    return [m.get("text") or "" for m in messages]


async def test_an_archived_topic_is_made_again_and_nothing_is_lost(desk: Desk) -> None:
    emu = desk.emu
    person, card = await talked(desk)
    old = card["message_thread_id"]
    emu.set_forum_archive(desk.group.next_message_id - 1 - old)  # the topic's first message
    emu.set_forum_archive(None)  # ... and nothing after it: the archive does not move on
    assert [t["archived"] for t in emu.topics(desk.group) if t["message_thread_id"] == old] == [
        True
    ]
    since = emu.cursor()
    await emu.send_text(person.user, "вы меня слышите?")
    thread, shown = await new_view(desk, old, since)
    said = texts(shown)
    assert "Обращение #1" in said[0]  # the card first
    assert "пропала" in said[1] and "Последние 2 сообщения" in said[1]
    # the history, forwarded from the subscriber's chat: both sides, in order (the question
    # that asked for a person is on the card)
    assert said[2:4] == ["номер 900 00 00 01", "Проверяю ваш баланс"]
    assert all("forward_origin" in m for m in shown[2:4])
    assert said[4:] == ["вы меня слышите?"]  # then what failed, once
    everywhere = texts(emu.messages(desk.group, from_bot=True))
    assert everywhere.count("вы меня слышите?") == 1
    assert (await desk.dono.store.get_ticket(1)).thread_id == thread
    # the agent answers in the new topic, the subscriber writes again: both go through
    await desk.say(desk.agents[0], "Да, слышу", thread)
    assert (await person.next())["text"] == "Да, слышу"
    topic = desk.topic(thread)
    await emu.send_text(person.user, "спасибо")
    assert (await topic.next())["text"] == "спасибо"


async def test_a_topic_deleted_by_an_admin_is_made_again_with_the_history(desk: Desk) -> None:
    emu = desk.emu
    person, card = await talked(desk)
    old = card["message_thread_id"]
    await emu.delete_topic(desk.group, old, by=desk.agents[0])
    since = emu.cursor()
    await emu.send_text(person.user, "алло")
    thread, shown = await new_view(desk, old, since)
    said = texts(shown)
    assert said[2:] == ["номер 900 00 00 01", "Проверяю ваш баланс", "алло"]
    await desk.say(desk.agents[0], "Я здесь", thread)
    assert (await person.next())["text"] == "Я здесь"


async def test_a_topic_an_admin_closed_against_the_bot_is_made_again(desk: Desk) -> None:
    """Without the right to manage topics the bot can't post into a topic an admin closed
    ("TOPIC_CLOSED"): the ticket gets a new topic; the closed one stays closed."""
    emu = desk.emu
    person, card = await talked(desk)
    old = card["message_thread_id"]
    lead = desk.agents[0]
    desk.group.admins.add(lead.id)
    emu.set_bot_rights(desk.group, can_manage_topics=False)
    await emu.close_topic(lead, desk.group, old)
    since = emu.cursor()
    await emu.send_text(person.user, "есть кто?")
    thread, shown = await new_view(desk, old, since)
    assert texts(shown)[2:] == ["номер 900 00 00 01", "Проверяю ваш баланс", "есть кто?"]
    assert texts(emu.messages(desk.group, from_bot=True)).count("есть кто?") == 1
    assert [t["closed"] for t in emu.topics(desk.group) if t["message_thread_id"] == old] == [True]
    assert (await desk.dono.store.get_ticket(1)).thread_id == thread


async def test_a_card_in_an_archived_topic_is_shown_again_in_a_new_one(desk: Desk) -> None:
    """A change shown only on the card (/priority from General): its edit finds the topic
    archived, so the ticket's topic is made again with a fresh card showing the change."""
    emu = desk.emu
    _, card = await talked(desk)
    old = card["message_thread_id"]
    emu.set_forum_archive(desk.group.next_message_id - 1 - old)
    emu.set_forum_archive(None)
    since = emu.cursor()
    await desk.say(desk.agents[0], "/priority 1 urgent", None)
    thread, shown = await new_view(desk, old, since)
    assert (await desk.dono.store.get_ticket(1)).thread_id == thread
    said = texts(shown)
    assert sum(text.startswith("🎫 Обращение #1") for text in said) == 1  # one card
    assert "срочн" in said[0].lower()
    assert said[2:] == ["номер 900 00 00 01", "Проверяю ваш баланс"]
