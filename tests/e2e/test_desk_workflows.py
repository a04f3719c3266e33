"""Each desk workflow, from every entry point: the same store state and the same messages.

Every test here names the behaviour it guards; before the desk service each of them failed
(the claim notice only after the button, /ban leaving the topic open, KeyError texts, ...).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiogram.exceptions import TelegramBadRequest

from emulator import Emulator
from emulator.media import tiny_png
from tests.e2e.conftest import (
    Desk,
    Person,
    button_data,
    buttons,
    open_desk,
    roomy_group,
    settled,
    start_dono,
    wait_for,
)
from tests.e2e.test_desk import handed_off, press


@pytest.fixture
async def roomy_desk(emu: Emulator, tmp_path: Path) -> AsyncIterator[Desk]:
    """The desk for a workflow that takes more than the group's 20 operations a minute."""
    async with open_desk(emu, tmp_path, lambda config: roomy_group(emu, config)) as env:
        yield env


def texts(emu: Emulator, chat: int, thread: int | None, since: int = 0) -> list[str]:
    return [m.get("text") or "" for m in emu.bot_messages(chat, thread)][since:]


def topic_closed(desk: Desk, thread: int) -> bool:
    (topic,) = [t for t in desk.emu.topics(desk.group.id) if t["message_thread_id"] == thread]
    return topic["closed"]


async def notice(desk: Desk, thread: int, part: str) -> dict:
    return await desk.emu.wait_for_bot_message(
        desk.group.id,
        thread_id=thread,
        since=0,
        predicate=lambda m: part in (m.get("text") or ""),
    )


# -- claim: the button, /kb and a first answer -----------------------------------------------


async def test_claim_is_one_workflow_from_every_entry_point(desk: Desk) -> None:
    dilnoza = desk.agents[0]
    tickets: list[tuple[Person, dict]] = [await handed_off(desk, f"S{i}") for i in range(3)]
    (_p1, c1), (p2, c2), (p3, c3) = tickets
    await press(desk, dilnoza, c1, "Взять")  # the button
    await desk.say(dilnoza, "/kb balance_check", c2["message_thread_id"])  # a canned answer
    await desk.say(dilnoza, "Здравствуйте!", c3["message_thread_id"])  # simply answering
    assert "*100#" in (await p2.next())["text"]
    assert (await p3.next())["text"] == "Здравствуйте!"
    for n, (_, card) in enumerate(tickets, start=1):
        thread = card["message_thread_id"]
        said = await notice(desk, thread, f"Обращение #{n} — у оператора")
        assert "Dilnoza" in said["text"]
        edited = await desk.emu.wait_for_bot_edit(
            desk.group.id, message_id=card["message_id"], since=0
        )
        assert "у оператора Dilnoza" in edited["text"] and [b["text"] for b in buttons(edited)] == [
            "✅ Закрыть"
        ]
        ticket = await desk.dono.store.get_ticket(n)
        assert (ticket.status, ticket.agent_name) == ("claimed", "Dilnoza")


# -- close: the button, /close and /ban ------------------------------------------------------


async def test_close_is_one_workflow_from_button_command_and_ban(desk: Desk) -> None:
    dilnoza = desk.agents[0]
    (p1, c1), (p2, c2), (p3, c3) = [await handed_off(desk, f"S{i}") for i in range(3)]
    await press(desk, dilnoza, c1, "Закрыть")
    await desk.say(dilnoza, "/close", c2["message_thread_id"])
    await desk.say(dilnoza, "/ban спам", c3["message_thread_id"])
    for person in (p1, p2):  # an agent's close asks for a rating
        stars = [b["text"] for b in buttons(await person.next())]
        assert stars == ["1 ⭐", "2 ⭐", "3 ⭐", "4 ⭐", "5 ⭐"]
    await notice(desk, c1["message_thread_id"], "Обращение #1 закрыто (Dilnoza)")
    await notice(desk, c2["message_thread_id"], "Обращение #2 закрыто (Dilnoza)")
    await notice(desk, c3["message_thread_id"], "обращение #3 закрыто")
    for n, card in enumerate((c1, c2, c3), start=1):
        ticket = await desk.dono.store.get_ticket(n)
        assert ticket.status == "closed"
        edited = await desk.emu.wait_for_bot_edit(
            desk.group.id, message_id=card["message_id"], since=0
        )
        assert "✅ закрыто" in edited["text"] and buttons(edited) == []
        thread = card["message_thread_id"]

        async def closed(thread: int = thread) -> bool:
            return topic_closed(desk, thread)

        await wait_for(closed, bool, timeout=10)  # /ban too (the close may follow the edit)
    assert (await desk.dono.store.get_ticket(3)).close_reason == "banned"
    await settled(desk.emu)
    assert p3.inbox.pending() == []  # a banned subscriber is not asked for a rating


# -- reopen: /reopen, the subscriber writing again, /operator --------------------------------


async def _closed_ticket(desk: Desk, name: str) -> tuple[Person, dict]:
    person, card = await handed_off(desk, name)
    await desk.say(desk.agents[0], "/close", card["message_thread_id"])
    await person.next()  # the rating question
    return person, card


async def test_reopen_is_one_workflow_from_command_message_and_operator(roomy_desk: Desk) -> None:
    desk = roomy_desk
    emu = desk.emu
    (_p1, c1) = await _closed_ticket(desk, "S1")
    (p2, c2) = await _closed_ticket(desk, "S2")
    (p3, c3) = await _closed_ticket(desk, "S3")
    since = emu.cursor()
    await desk.say(desk.agents[0], "/reopen", c1["message_thread_id"])
    await emu.send_text(p2.user, "интернет опять пропал")
    await p3.send("/operator")
    for n, card in enumerate((c1, c2, c3), start=1):
        thread = card["message_thread_id"]
        await notice(desk, thread, f"Обращение #{n} снова открыто")
        fresh = await emu.wait_for_bot_message(
            desk.group.id,
            since=since,
            predicate=lambda m, n=n: f"🎫 Обращение #{n} " in (m.get("text") or ""),
        )
        assert fresh["message_thread_id"] == thread and "ждёт оператора" in fresh["text"]
        assert not topic_closed(desk, thread)
        ticket = await desk.dono.store.get_ticket(n)
        assert (ticket.status, ticket.reopened, ticket.card_message_id) == (
            "waiting",
            1,
            fresh["message_id"],
        )


async def test_a_reopen_while_the_close_is_on_its_way_leaves_the_topic_open(
    roomy_desk: Desk,
) -> None:
    """The subscriber writes again the moment they are asked to rate, while Telegram still
    has to close the topic (here its first closeForumTopic fails and is retried): the close
    that comes after the reopen must not close the reopened ticket's topic."""
    desk, emu = roomy_desk, roomy_desk.emu
    assert desk.dono.retry is not None
    desk.dono.retry.base_delay = 1.0  # the close's retry a second later
    person, card = await handed_off(desk, "S1")
    thread = card["message_thread_id"]
    emu.inject_error("closeForumTopic", count=1, status=500)
    await desk.say(desk.agents[0], "/close", thread)
    await person.next()  # the rating question: the topic is not closed yet
    await emu.send_text(person.user, "интернет опять пропал")
    await notice(desk, thread, "Обращение #1 снова открыто")
    await wait_for(
        lambda: desk.dono.store.get_ticket(1), lambda t: t.status == "waiting", timeout=10
    )
    await settled(emu, quiet=2.0)  # past the close's retry
    assert not topic_closed(desk, thread)
    assert (await desk.dono.store.get_ticket(1)).status == "waiting"


async def test_a_reopen_by_another_instance_while_the_close_is_on_its_way(
    roomy_desk: Desk,
) -> None:
    """The same race across instances, where this process's lock can't see the reopen: the
    close, once made, looks at the ticket again and reopens the topic it closed."""
    desk, emu = roomy_desk, roomy_desk.emu
    assert desk.dono.retry is not None
    desk.dono.retry.base_delay = 1.0
    _, card = await handed_off(desk, "S1")
    thread = card["message_thread_id"]
    emu.inject_error("closeForumTopic", count=1, status=500)
    since = emu.cursor()
    await desk.say(desk.agents[0], "/close", thread)
    await emu.wait_for_event(
        lambda e: e.kind == "call" and e.data.get("method") == "closeForumTopic",
        since=since,
        timeout=10,
    )  # refused once: made again a second later
    await desk.dono.store.reopen(1, desk.agents[0].id)  # another instance reopens it, and its topic
    with contextlib.suppress(TelegramBadRequest):  # TOPIC_NOT_MODIFIED: not closed yet
        await desk.dono.bot.reopen_forum_topic(desk.group.id, thread)
    await settled(emu, quiet=2.0)
    assert not topic_closed(desk, thread)
    assert (await desk.dono.store.get_ticket(1)).status == "waiting"


async def test_the_subscriber_reopens_by_one_rule_whatever_the_message(desk: Desk) -> None:
    """A ticket closed because the subscriber blocked the bot: /operator reopened it, a plain
    message did not (the filter's own ``close_reason != "agent"``). Now both do."""
    emu = desk.emu
    people = []
    for name in ("S1", "S2"):
        person, card = await handed_off(desk, name)
        await emu.block_bot(person.user)
        await desk.say(desk.agents[0], "Вы на связи?", card["message_thread_id"])
        await notice(desk, card["message_thread_id"], "⛔")
        await emu.unblock_bot(person.user)
        people.append((person, card))
    (p1, c1), (p2, _c2) = people
    await emu.send_text(p1.user, "алло, интернет не работает")
    await p2.send("/operator")
    relayed = await emu.wait_for_bot_message(
        desk.group.id,
        thread_id=c1["message_thread_id"],
        since=0,
        predicate=lambda m: "алло" in (m.get("text") or ""),
    )
    assert relayed
    for n in (1, 2):
        ticket = await desk.dono.store.get_ticket(n)
        assert (ticket.status, ticket.reopened) == ("waiting", 1)


# -- refusals say what would work ------------------------------------------------------------


async def test_unknown_commands_in_a_topic_are_refused_not_relayed(desk: Desk) -> None:
    person, card = await handed_off(desk)
    thread = card["message_thread_id"]
    for typo in ("/clsoe", "/foo bar"):
        await desk.say(desk.agents[0], typo, thread)
        refused = await notice(desk, thread, f"Нет команды {typo.split()[0]}")
        assert "/close" in refused["text"] and "/takeover" in refused["text"]
    # a command for another bot in the group is that bot's: neither refused nor relayed
    said = len(desk.emu.bot_messages(desk.group.id, thread))
    await desk.say(desk.agents[0], "/priority@other_bot high", thread)
    await settled(desk.emu)
    assert len(desk.emu.bot_messages(desk.group.id, thread)) == said
    assert person.inbox.pending() == []
    assert (await desk.dono.store.get_ticket(1)).status == "waiting"  # not claimed either


async def test_reopen_on_an_open_ticket_is_refused(desk: Desk) -> None:
    _person, card = await handed_off(desk)
    thread = card["message_thread_id"]
    await desk.say(desk.agents[0], "/reopen", thread)
    refused = await notice(desk, thread, "открыто")
    assert "снова открыто" not in refused["text"] and "/close" in refused["text"]
    assert (await desk.dono.store.get_ticket(1)).reopened == 0


async def test_refused_transfer_and_close_say_what_would_work(desk: Desk) -> None:
    dilnoza, rustam = desk.agents
    _person, card = await handed_off(desk)
    thread = card["message_thread_id"]
    await desk.say(dilnoza, "/transfer", thread)  # nobody has it yet
    refused = await notice(desk, thread, "ещё никто не взял")
    assert "/transfer" not in refused["text"] and "Взять" in refused["text"]
    await press(desk, dilnoza, card, "Взять")
    await desk.say(rustam, "/transfer", thread)  # someone else's
    refused = await notice(desk, thread, "Обращение у Dilnoza")
    assert "или /transfer" not in refused["text"] and "/takeover" in refused["text"]
    answer = await press(desk, rustam, card, "Закрыть")  # someone else's card
    assert answer["show_alert"] and "закрывать" in answer["text"]
    assert "ответить может только" not in answer["text"]
    assert (await desk.dono.store.get_ticket(1)).agent_name == "Dilnoza"


async def test_claim_close_and_transfer_on_a_closed_ticket_get_a_desk_text(desk: Desk) -> None:
    dilnoza, rustam = desk.agents
    person, card = await handed_off(desk)
    thread = card["message_thread_id"]
    await press(desk, dilnoza, card, "Закрыть")
    await person.next()
    for action in ("Взять", "Закрыть"):  # the card as it was: a double click, two agents
        answer = await press(desk, rustam, card, action)
        assert "#1 закрыто" in answer["text"] and "Что-то пошло не так" not in answer["text"]
    for command in ("/close", "/transfer"):
        await desk.say(dilnoza, command, thread)
        refused = await notice(desk, thread, "абоненту ничего не отправлено")
        assert "/reopen" in refused["text"]
    await desk.say(dilnoza, "/kb balance_check", thread)  # nothing to a closed ticket
    await desk.emu.wait_for_bot_message(
        desk.group.id,
        thread_id=thread,
        predicate=lambda m: "#1 закрыто" in (m.get("text") or ""),
        since=desk.emu.cursor() - 1,
    )
    await settled(desk.emu)
    assert person.inbox.pending() == []


# -- the supervisor ----------------------------------------------------------------------------


async def test_a_supervisor_takes_over_a_ticket_whose_agent_went_home(
    emu: Emulator, tmp_path: Any
) -> None:
    from tests.e2e.conftest import make_config

    dilnoza = await emu.create_user("Dilnoza", language_code="ru")
    boss = await emu.create_user("Boss", language_code="ru")
    group = await emu.create_forum_group("Operators", agents=[dilnoza, boss])
    config = make_config(tmp_path)
    config.agents.group_id = group.id
    config.agents.supervisors = [boss.id]
    dono = await start_dono(emu, config)
    desk = Desk(emu, dono, group, [dilnoza, boss])
    try:
        person, card = await handed_off(desk)
        thread = card["message_thread_id"]
        await press(desk, dilnoza, card, "Взять")
        assert "Оператор взял" in (await person.next())["text"]
        await desk.say(dilnoza, "/takeover", thread)  # already hers
        await notice(desk, thread, "уже у вас")
        await desk.say(boss, "/takeover", thread)
        await notice(desk, thread, "Обращение #1 теперь у оператора Boss")
        assert (await dono.store.get_ticket(1)).agent_id == boss.id
        await desk.say(dilnoza, "/takeover", thread)  # not a supervisor
        await notice(desk, thread, "только супервизор")
        await desk.say(boss, "Здравствуйте, я продолжу", thread)
        assert (await person.next())["text"] == "Здравствуйте, я продолжу"
        events = [e.name for e in await dono.store.events(1)]
        assert events == ["opened", "claimed", "taken_over"]
    finally:
        await dono.stop()


# -- /reload: the admin's language, only where the bot serves ---------------------------------


async def test_reload_is_refused_in_the_askers_language_and_only_where_it_serves(
    desk: Desk,
) -> None:
    emu = desk.emu
    english = Person(emu, await emu.create_user("John", language_code="en"))
    assert "admins only" in (await english.send("/reload"))["text"]
    since = emu.cursor()
    await desk.say(desk.agents[0], "/reload", None)
    refused = await emu.wait_for_bot_message(desk.group.id, since=since)
    assert "только для администраторов" in refused["text"]  # agents.language: ru
    other = await emu.create_group("Other", members=[english.user])
    await emu.send_text(english.user, "/reload", chat=other.id)
    await settled(emu)
    assert emu.bot_messages(other.id) == []


# -- 👍/👎: one per answer ---------------------------------------------------------------------


async def test_one_vote_per_answer_the_last_press_wins(desk: Desk) -> None:
    emu = desk.emu
    person = Person(emu, await emu.create_user("Voter", language_code="ru"))
    answer = await person.send("как проверить баланс")

    async def vote(label: str, shown: str) -> list[str]:
        since = emu.cursor()
        await emu.wait_for_callback_answer(await person.press(answer, button_data(answer, label)))
        if shown:
            await emu.wait_for_bot_edit(
                person.user.id, message_id=answer["message_id"], since=since
            )
        (now,) = [
            m for m in emu.bot_messages(person.user.id) if m["message_id"] == answer["message_id"]
        ]
        return [b["text"] for b in buttons(now)]

    assert "✓ 👍 Помогло" in await vote("Помогло", shown="✓ 👍")
    assert "✓ 👍 Помогло" in await vote("Помогло", shown="")  # the same again: nothing changes
    labels = await vote("Не помогло", shown="✓ 👎")
    assert "✓ 👎 Не помогло" in labels and "👍 Помогло" in labels
    assert await desk.dono.store.feedback_counts("balance_check") == (0, 1)


# -- the subscriber blocked the bot: one workflow, whatever the send that found out -----------


async def test_a_blocked_subscriber_is_one_workflow_from_a_reply_kb_and_an_album(
    roomy_desk: Desk,
) -> None:
    desk = roomy_desk
    emu, dilnoza = desk.emu, desk.agents[0]
    tickets = [await handed_off(desk, f"S{i}") for i in range(3)]
    for person, _ in tickets:
        await emu.block_bot(person.user)
    (_, c1), (_, c2), (_, c3) = tickets
    await desk.say(dilnoza, "Вы на связи?", c1["message_thread_id"])
    await desk.say(dilnoza, "/kb balance_check", c2["message_thread_id"])
    album = [tiny_png(8, 8), tiny_png(9, 9)]
    await emu.send_media_group(
        dilnoza, album, chat=desk.group.id, thread_id=c3["message_thread_id"]
    )
    for n, (person, card) in enumerate(tickets, start=1):
        thread = card["message_thread_id"]
        said = await notice(desk, thread, "⛔")
        assert f"обращение #{n} закрыто" in said["text"]
        ticket = await desk.dono.store.get_ticket(n)
        assert (ticket.status, ticket.close_reason) == ("closed", "blocked")
        assert (await desk.dono.store.subscriber(person.user.id)).blocked
    await settled(emu)  # the topic closes after its notice
    for _, card in tickets:
        assert topic_closed(desk, card["message_thread_id"])
    for _, card in tickets:  # one notice each, no apology, no second close
        said = [m for m in texts(emu, desk.group.id, card["message_thread_id"]) if "⛔" in m]
        assert len(said) == 1
