"""The agent desk end to end: a subscriber, two agents, the bot and the emulator over HTTP."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from bot.desk.relay import SEPARATOR
from emulator import Emulator
from emulator.media import tiny_png
from tests.e2e.conftest import Desk, Person, button_data, buttons, settled, start_dono, wait_for


async def handed_off(desk: Desk, name: str = "Farrukh", lang: str = "ru") -> tuple[Person, dict]:
    """A subscriber asks for a human; returns them and the ticket's card in its new topic."""
    person = Person(desk.emu, await desk.emu.create_user(name, language_code=lang))
    await person.send("как проверить баланс")
    since = desk.emu.cursor()
    reply = await person.send("позовите оператора")
    assert "очеред" in reply["text"] or "queue" in reply["text"] or "навбат" in reply["text"]
    card = await desk.card(since=since)
    assert card["message_thread_id"] and name in card["text"]
    return person, card


async def press(desk: Desk, agent, card: dict, action: str) -> dict:
    """Press a card button as it was when the card was read (another agent may have changed it
    since: that is the race the desk must handle)."""
    query = await desk.emu.press_button(
        agent, card["message_id"], button_data(card, action), chat=desk.group.id, strict=False
    )
    return await desk.emu.wait_for_callback_answer(query)


async def test_full_ticket_life(desk: Desk) -> None:
    emu, (dilnoza, rustam) = desk.emu, desk.agents
    person, card = await handed_off(desk)
    thread = card["message_thread_id"]
    assert "как проверить баланс" in card["text"]  # the card shows what the bot was asked
    topic = desk.topic(thread)

    await press(desk, dilnoza, card, "Взять")
    assert "Dilnoza" in (await topic.next())["text"]
    assert "Оператор взял ваше обращение" in (await person.next())["text"]  # they know
    # the second agent cannot take a claimed ticket
    answer = await press(desk, rustam, card, "Взять")
    assert "Dilnoza" in answer["text"] and answer["show_alert"]
    assert (await desk.dono.store.get_ticket(1)).agent_name == "Dilnoza"

    # subscriber → agents: every kind of message lands in the topic
    await emu.send_text(person.user, "у меня не работает интернет")
    await emu.send_photo(person.user, caption="скрин")
    await emu.send_document(person.user)
    await emu.send_voice(person.user)
    await emu.send_sticker(person.user)
    await emu.send_location(person.user, 38.56, 68.78)
    await emu.send_contact(person.user, "+992900000000", first_name="Farrukh")
    got = await topic.take(7, timeout=15)
    assert got[0]["text"] == "у меня не работает интернет"
    assert "photo" in got[1] and got[1]["caption"] == "скрин"
    assert "document" in got[2] and "voice" in got[3] and "sticker" in got[4]
    assert "location" in got[5] and "contact" in got[6]
    await emu.send_media_group(person.user, [tiny_png(8, 8), tiny_png(9, 9)])
    album = await topic.take(2, timeout=15)
    assert album[0]["media_group_id"] == album[1]["media_group_id"]

    # agents → subscriber, anonymous; a note stays in the group
    await desk.say(dilnoza, "Здравствуйте! Перезагрузите телефон.", thread)
    reply = await person.next()
    assert reply["text"] == "Здравствуйте! Перезагрузите телефон."
    assert "Dilnoza" not in str(reply)
    await desk.say(dilnoza, "!абонент в Худжанде, проверить вышку", thread)
    await emu.send_photo(dilnoza, chat=desk.group.id, thread_id=thread, caption="схема")
    assert (await person.next())["caption"] == "схема"  # the note was not relayed
    await emu.send_sticker(dilnoza, chat=desk.group.id, thread_id=thread)
    assert "sticker" in await person.next()

    # a canned answer from the knowledge base, in the subscriber's language
    await desk.say(dilnoza, "/kb balance_check", thread)
    assert "*100#" in (await person.next())["text"]

    # close → CSAT
    await desk.say(dilnoza, "/close", thread)
    csat = await person.next()
    assert [b["text"] for b in buttons(csat)] == ["1 ⭐", "2 ⭐", "3 ⭐", "4 ⭐", "5 ⭐"]
    await person.press(csat, button_data(csat, "5"))
    await topic.next(predicate=lambda m: "⭐" in (m.get("text") or ""))
    (shown,) = [
        m for m in emu.bot_messages(person.user.id) if m["message_id"] == csat["message_id"]
    ]
    assert "Ваша оценка: 5 ⭐" in shown["text"] and not buttons(shown)  # the score it got
    ticket = await desk.dono.store.get_ticket(1)
    assert ticket.status == "closed" and ticket.csat == 5 and ticket.close_reason == "agent"
    assert ticket.msgs_from_user == 9 and ticket.msgs_from_agent >= 4
    (row,) = await desk.dono.store.ticket_metrics(0)
    for key in ("wait_until_claim", "first_response_time", "handling_time", "resolution_time"):
        assert 0 <= row[key] < 60, (key, row)
    assert row["time_to_handoff"] is not None and row["time_to_handoff"] >= 0


async def test_replies_and_edits_are_mirrored(desk: Desk) -> None:
    emu, dilnoza = desk.emu, desk.agents[0]
    person, card = await handed_off(desk)
    thread = card["message_thread_id"]
    topic = desk.topic(thread)
    sent = await emu.send_text(person.user, "мой номер 900 00 00 01")
    copy = await topic.next()
    await desk.say(dilnoza, "Спасибо, проверяю", thread, reply_to=copy["message_id"])
    answer = await person.next()
    assert answer["reply_to_message"]["message_id"] == sent["message_id"]
    # the subscriber fixes a typo: the agents see the corrected text
    await emu.edit_message(person.user, sent["message_id"], "мой номер 900 00 00 02")
    edited = await emu.wait_for_bot_edit(desk.group.id, message_id=copy["message_id"], since=0)
    assert edited["text"] == "мой номер 900 00 00 02"


async def test_deleted_topic_gets_a_new_one_and_nothing_is_lost(desk: Desk) -> None:
    emu = desk.emu
    person, card = await handed_off(desk)
    old = card["message_thread_id"]
    await emu.delete_topic(desk.group.id, old)
    await emu.send_text(person.user, "вы тут?")
    new_card = await emu.wait_for_bot_message(
        desk.group.id,
        predicate=lambda m: (
            "Обращение #1" in (m.get("text") or "") and m.get("message_thread_id") != old
        ),
        since=0,
    )
    new = new_card["message_thread_id"]
    topic = emu.inbox(desk.group.id, thread_id=new, since=0)
    await topic.next(predicate=lambda m: m.get("text") == "вы тут?")
    assert (await desk.dono.store.get_ticket(1)).thread_id == new


async def test_blocked_subscriber_closes_the_ticket(desk: Desk) -> None:
    emu, dilnoza = desk.emu, desk.agents[0]
    person, card = await handed_off(desk)
    thread = card["message_thread_id"]
    topic = desk.topic(thread)
    await emu.block_bot(person.user)
    await desk.say(dilnoza, "Вы на связи?", thread)
    notice = await topic.next(predicate=lambda m: "⛔" in (m.get("text") or ""))
    assert "заблокировал" in notice["text"]
    ticket = await desk.dono.store.get_ticket(1)
    assert (ticket.status, ticket.close_reason) == ("closed", "blocked")


async def test_non_members_and_other_chats_cannot_act(desk: Desk) -> None:
    emu = desk.emu
    _person, card = await handed_off(desk)
    stranger = Person(emu, await emu.create_user("Stranger", language_code="ru"))
    refused = await stranger.send("/close")
    assert "группе операторов" in refused["text"]
    other = await emu.create_group("Other", members=[stranger.user])
    await emu.send_text(stranger.user, "/queue", chat=other.id)
    await emu.send_text(stranger.user, "/close", chat=other.id)
    # the ticket is untouched and the bot said nothing in the other group
    await desk.say(desk.agents[0], "/queue", card["message_thread_id"])
    queue = await desk.topic(card["message_thread_id"]).next()
    assert "#1" in queue["text"]
    await settled(emu)  # the window an answer in the other group would arrive in
    assert emu.bot_messages(other.id) == []
    assert (await desk.dono.store.get_ticket(1)).status == "waiting"


async def test_restart_between_steps_loses_nothing(desk: Desk) -> None:
    emu, dilnoza = desk.emu, desk.agents[0]
    person, card = await handed_off(desk)
    thread = card["message_thread_id"]
    config = desk.dono.config
    await desk.dono.stop()
    await emu.send_text(person.user, "сообщение, пока бот перезапускался")
    desk.dono = await start_dono(emu, config)
    topic = emu.inbox(desk.group.id, thread_id=thread, since=0)
    got = await topic.next(predicate=lambda m: "перезапускался" in (m.get("text") or ""))
    assert got["message_thread_id"] == thread
    await press(desk, dilnoza, card, "Взять")
    assert "Оператор взял" in (await person.next())["text"]
    await desk.dono.stop()
    desk.dono = await start_dono(emu, config)
    await desk.say(dilnoza, "Ответ после перезапуска", thread)
    assert (await person.next())["text"] == "Ответ после перезапуска"
    ticket = await desk.dono.store.get_ticket(1)
    assert (ticket.status, ticket.agent_name, ticket.msgs_from_user) == ("claimed", "Dilnoza", 1)


async def test_queue_position_and_transfer(desk: Desk) -> None:
    emu, dilnoza = desk.emu, desk.agents[0]
    _first, card1 = await handed_off(desk, "First")
    second = Person(emu, await emu.create_user("Second", language_code="en"))
    assert "number 2" in (await second.send("/operator"))["text"]
    await press(desk, dilnoza, card1, "Взять")
    assert [e.ticket.id for e in await desk.dono.store.queue()] == [2]
    topic = desk.topic(card1["message_thread_id"])
    await desk.say(dilnoza, "/transfer", card1["message_thread_id"])
    await topic.next(predicate=lambda m: "#1 возвращено в очередь" in (m.get("text") or ""))
    queue = [e.ticket.id for e in await desk.dono.store.queue()]
    assert queue == [1, 2]  # back in the queue, in its old place


@pytest.mark.slow
async def test_hundred_messages_from_twenty_subscribers(emu: Emulator, desk: Desk) -> None:
    # Telegram's limits stay on; the group's is raised from 20/min so the test takes seconds.
    emu.set_limits(group_per_minute=1200, group_burst=20)
    desk.dono.pacer.limits = dataclasses.replace(desk.dono.pacer.limits, group_per_minute=1200)
    people = []
    for i in range(20):
        person, card = await handed_off(desk, f"S{i:02d}")
        people.append((person, card["message_thread_id"]))

    async def talk(person: Person, n: int) -> None:
        for k in range(5):
            await emu.send_text(person.user, f"{person.user.first_name} message {k}")
            await asyncio.sleep(0)  # interleave the subscribers

    await asyncio.gather(*(talk(p, 5) for p, _ in people))
    for person, thread in people:
        inbox = emu.inbox(desk.group.id, thread_id=thread, since=0)
        got: list[str] = []  # texts waiting for the group together go as one message
        while len(got) < 5:
            relayed = await inbox.next(
                timeout=60, predicate=lambda m: " message " in (m.get("text") or "")
            )
            got += relayed["text"].split(SEPARATOR)
        assert got == [f"{person.user.first_name} message {k}" for k in range(5)]


async def test_agent_edit_and_subscriber_reply_are_mirrored(desk: Desk) -> None:
    emu, dilnoza = desk.emu, desk.agents[0]
    person, card = await handed_off(desk)
    thread = card["message_thread_id"]
    topic = desk.topic(thread)
    said = await desk.say(dilnoza, "Ваш тариф — Смарт", thread)
    relayed = await person.next()
    await emu.edit_message(dilnoza, said["message_id"], "Ваш тариф — Макси", chat=desk.group.id)
    edited = await emu.wait_for_bot_edit(person.user.id, message_id=relayed["message_id"], since=0)
    assert edited["text"] == "Ваш тариф — Макси"
    await emu.send_text(person.user, "а сколько он стоит?", reply_to=relayed["message_id"])
    copy = await topic.next(predicate=lambda m: "стоит" in (m.get("text") or ""))
    assert copy["reply_to_message"]["message_id"] == said["message_id"]


async def test_ban_keeps_messages_but_does_not_relay(desk: Desk) -> None:
    emu, dilnoza = desk.emu, desk.agents[0]
    person, card = await handed_off(desk)
    thread = card["message_thread_id"]
    topic = desk.topic(thread)
    await desk.say(dilnoza, "/ban спам", thread)
    await topic.next(predicate=lambda m: "заблокирован" in (m.get("text") or ""))
    await emu.send_text(person.user, "спам спам спам")
    await emu.send_text(person.user, "/operator")
    store = desk.dono.store

    async def stored() -> list[str]:
        return [i["text"] for i in await store.recent_interactions(person.user.id, 5)]

    texts = await wait_for(stored, lambda t: "/operator" in t)
    assert "спам спам спам" in texts
    await desk.say(dilnoza, f"/unban {person.user.id}", thread)
    await topic.next(predicate=lambda m: "разблокирован" in (m.get("text") or ""))
    # after the unban the bot answers again; nothing was said to the banned messages
    assert "*100#" in (await person.send("как проверить баланс"))["text"]
    assert (await store.get_ticket(1)).close_reason == "banned"
    await settled(emu)
    assert not [m for m in emu.messages(desk.group.id, thread) if "спам спам" in str(m)]


async def test_whois_and_queue_show_the_subscriber(desk: Desk) -> None:
    _person, card = await handed_off(desk, "Zarina", lang="tg")
    thread = card["message_thread_id"]
    topic = desk.topic(thread)
    await desk.say(desk.agents[0], "/whois", thread)
    whois = await topic.next()
    assert "Zarina" in whois["text"] and "tg" in whois["text"]
    assert "как проверить баланс" in whois["text"]
    await desk.say(desk.agents[0], "/queue", thread)
    queue = await topic.next()
    assert "#1" in queue["text"] and "Zarina" in queue["text"] and "ждёт" in queue["text"]


async def test_second_ticket_gets_an_estimated_wait(desk: Desk) -> None:
    emu, dilnoza = desk.emu, desk.agents[0]
    _first, card = await handed_off(desk, "First")
    await desk.say(dilnoza, "Здравствуйте!", card["message_thread_id"])
    await _first.next()
    second = Person(emu, await emu.create_user("Second", language_code="ru"))
    reply = await second.send("/operator")
    assert "Примерное время ожидания" in reply["text"]


async def test_writing_again_soon_after_close_reopens(desk: Desk) -> None:
    emu, dilnoza = desk.emu, desk.agents[0]
    person, card = await handed_off(desk)
    thread = card["message_thread_id"]
    await desk.say(dilnoza, "Готово", thread)
    await person.next()
    await desk.say(dilnoza, "/close", thread)
    csat = await person.next()  # the CSAT question
    thanks = await person.send("спасибо!")  # smalltalk: the bot answers, no reopen
    assert "Пожалуйста" in thanks["text"] or "пожалуйста" in thanks["text"].lower()
    assert (await desk.dono.store.get_ticket(1)).status == "closed"
    topic = emu.inbox(desk.group.id, thread_id=thread)
    await emu.send_text(person.user, "интернет опять пропал")
    relayed = await topic.next(predicate=lambda m: m.get("text") == "интернет опять пропал")
    assert relayed["message_thread_id"] == thread
    ticket = await desk.dono.store.get_ticket(1)
    assert (ticket.status, ticket.reopened) == ("waiting", 1)
    # the rating buttons of the first close, pressed now: not an error, a clear word
    answer = await emu.wait_for_callback_answer(await person.press(csat, button_data(csat, "5")))
    assert "после" in answer["text"]  # "... rate it after it is closed"
    assert (await desk.dono.store.get_ticket(1)).csat is None


async def test_album_parts_count_as_handled_only_once_the_album_is_relayed(desk: Desk) -> None:
    """A crash while an album is being collected must not lose it: its parts stay pending in
    the update journal until the album went out."""
    person, card = await handed_off(desk)
    topic = desk.topic(card["message_thread_id"])
    desk_obj = desk.dono.dp["desk"]
    desk_obj.ALBUM_WAIT = 1.5
    journal = desk.dono.journal.db

    async def pending() -> int:
        async with journal.execute("SELECT COUNT(*) FROM inbox WHERE done_at IS NULL") as cur:
            return (await cur.fetchone())[0]

    await desk.emu.send_media_group(person.user, [tiny_png(8, 8), tiny_png(9, 9)])
    assert await wait_for(pending, lambda n: n == 2) == 2  # stored ...
    await asyncio.sleep(0.5)
    assert await pending() == 2  # ... and still not done while the album is being collected
    album = await topic.take(2, timeout=15)
    assert album[0]["media_group_id"] == album[1]["media_group_id"]
    assert await wait_for(pending, lambda n: n == 0) == 0


@pytest.mark.slow
async def test_a_long_group_queue_does_not_hold_up_answers_to_the_subscriber(desk: Desk) -> None:
    """Telegram's 20 messages a minute per group can queue the subscriber's messages for
    minutes; the agents' answers go the other way and must not wait behind them."""
    emu, dilnoza = desk.emu, desk.agents[0]
    person, card = await handed_off(desk)
    thread = card["message_thread_id"]
    await press(desk, dilnoza, card, "Взять")
    assert "Оператор взял" in (await person.next())["text"]
    config = desk.dono.config
    await desk.dono.stop()
    config.telegram.limits.group_per_minute = 12  # one message every 5 s into the group
    config.telegram.limits.group_burst = 1
    desk.dono = await start_dono(emu, config)
    topic = desk.topic(thread)
    for i in range(3):
        await emu.send_text(person.user, f"сообщение {i}")
    assert (await topic.next(timeout=10))["text"] == "сообщение 0"  # the next two wait 5, 10 s
    await desk.say(dilnoza, "Ответ сразу", thread)
    assert (await person.next(timeout=3))["text"] == "Ответ сразу"
    assert (await topic.next(timeout=10))["text"] == "сообщение 1"  # in order, none lost


async def test_an_emoji_heavy_name_and_question_still_get_their_own_topic(desk: Desk) -> None:
    # Telegram counts a topic's name in UTF-16 units, where each of these emoji is two
    name = "🌸" * 40
    person = Person(desk.emu, await desk.emu.create_user(name))
    since = desk.emu.cursor()
    await person.send("позовите оператора, " + "🙏" * 60)
    card = await desk.card(since=since)
    assert card["message_thread_id"], "the ticket went to General"
    thread = card["message_thread_id"]
    (topic,) = [t for t in desk.emu.topics(desk.group.id) if t["message_thread_id"] == thread]
    assert len(topic["name"].encode("utf-16-le")) // 2 <= 128
    assert topic["name"].startswith("#1 🌸")


async def test_a_low_rating_asks_what_went_wrong(desk: Desk) -> None:
    emu, dilnoza = desk.emu, desk.agents[0]
    person, card = await handed_off(desk, "Unhappy")
    await desk.say(dilnoza, "Здравствуйте", card["message_thread_id"])
    await person.next()
    await desk.say(dilnoza, "/close", card["message_thread_id"])
    csat = await person.next()
    await person.press(csat, button_data(csat, "2"))
    await wait_for(lambda: desk.dono.store.get_ticket(1), lambda t: t is not None and t.csat == 2)

    async def shown() -> str:  # the edit is paced like a send: it may come a second later
        (message,) = [
            m for m in emu.bot_messages(person.user.id) if m["message_id"] == csat["message_id"]
        ]
        return str(message["text"])

    text = await wait_for(shown, lambda said: "Ваша оценка" in said, timeout=10)
    assert "Ваша оценка: 2 ⭐" in text and "Что пошло не так" in text
