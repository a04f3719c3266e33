"""The desk against forged updates, removed agents, transfers, undeliverable answers, deleted
topics and slow button work (issue 12: #4, #5, #9, #10, #13), end to end."""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.app import Dono
from emulator import Emulator
from emulator.media import tiny_png
from tests.e2e.conftest import (
    Desk,
    Person,
    button_data,
    make_config,
    settled,
    start_dono,
    wait_for,
)
from tests.e2e.test_desk import handed_off, press
from tests.e2e.test_storage_faults import locked
from tests.e2e.test_webhook import free_port

_forged_ids = itertools.count(900_000)


async def forge_topic_message(desk: Desk, user: Any, thread: int, text: str) -> None:
    """A message "from" ``user`` in a ticket's topic that no client sent: what a forged
    webhook delivery (or a removed agent the emulator would no longer let post) brings."""
    await desk.emu.forge_update(
        "message",
        {
            "message_id": next(_forged_ids),
            "date": int(time.time()),
            "chat": desk.group.to_api(),
            "from": user.to_api(),
            "message_thread_id": thread,
            "is_topic_message": True,
            "text": text,
        },
    )


async def forge_button(desk: Desk, user: Any, card: dict, data: str) -> None:
    await desk.emu.forge_update(
        "callback_query",
        {
            "id": str(next(_forged_ids)),
            "from": user.to_api(),
            "message": card,
            "chat_instance": "1",
            "data": data,
        },
    )


FINE = "Ваш номер заблокирован. Оплатите штраф по ссылке http://example.com"


async def test_forged_updates_from_a_non_member_change_nothing_and_send_nothing(
    desk: Desk,
) -> None:
    emu = desk.emu
    person, card = await handed_off(desk)
    thread = card["message_thread_id"]
    stranger = await emu.create_user("Mallory", language_code="ru")
    await forge_button(desk, stranger, card, "tk:claim:1")
    await forge_topic_message(desk, stranger, thread, FINE)
    await forge_topic_message(desk, stranger, thread, "/close")
    await settled(emu)
    assert person.inbox.pending() == []  # nothing reached the subscriber
    ticket = await desk.dono.store.get_ticket(1)
    assert (ticket.status, ticket.agent_id) == ("waiting", None)
    said = [m["text"] for m in emu.bot_messages(desk.group.id, thread) if "text" in m]
    assert said == [card["text"]]
    # a member's answer still goes through
    await desk.say(desk.agents[0], "Здравствуйте!", thread)
    assert (await person.next())["text"] == "Здравствуйте!"


async def test_a_removed_agent_stops_acting_at_once(desk: Desk) -> None:
    emu, (dilnoza, rustam) = desk.emu, desk.agents
    person, card = await handed_off(desk)
    thread = card["message_thread_id"]
    await desk.say(rustam, "Сейчас посмотрю", thread)  # Rustam is a member (and remembered)
    assert (await person.next())["text"] == "Сейчас посмотрю"
    await emu.remove_member(desk.group, rustam, by=dilnoza)
    await wait_for(
        lambda: desk.dono.dp["desk"].members.is_member(rustam.id), lambda ok: ok is False
    )
    await forge_topic_message(desk, rustam, thread, FINE)
    await settled(emu)
    assert person.inbox.pending() == []
    assert (await desk.dono.store.get_ticket(1)).msgs_from_agent == 1


async def test_an_agent_who_handed_a_ticket_on_cannot_edit_what_the_subscriber_sees(
    desk: Desk,
) -> None:
    emu, (dilnoza, rustam) = desk.emu, desk.agents
    person, card = await handed_off(desk)
    thread = card["message_thread_id"]
    topic = desk.topic(thread)
    said = await desk.say(dilnoza, "Ваш тариф — Смарт", thread)
    relayed = await person.next()
    await desk.say(dilnoza, f"/transfer {rustam.id}", thread)
    await topic.next(predicate=lambda m: "передано" in (m.get("text") or ""))
    await emu.edit_message(dilnoza, said["message_id"], "Ваш тариф — Штраф", chat=desk.group.id)
    told = await topic.next(predicate=lambda m: "Правка не отправлена" in (m.get("text") or ""))
    assert "у оператора Rustam" in told["text"]
    await settled(emu)
    assert [m["text"] for m in emu.bot_messages(person.user.id) if m["message_id"] == relayed[
        "message_id"
    ]] == ["Ваш тариф — Смарт"]  # fmt: skip
    # the agent who has it now edits their own answers as before
    own = await desk.say(rustam, "Тариф Смарт", thread)
    copy = await person.next()
    await emu.edit_message(rustam, own["message_id"], "Тариф Макси", chat=desk.group.id)
    edited = await emu.wait_for_bot_edit(person.user.id, message_id=copy["message_id"], since=0)
    assert edited["text"] == "Тариф Макси"


# -- answers that would have been lost (#5) ---------------------------------------------------


async def test_a_signed_answer_at_the_length_limit_arrives_whole(signed_desk: Desk) -> None:
    desk = signed_desk
    person, card = await handed_off(desk)
    words = " ".join(f"слово{i:04d}" for i in range(420))[:4090]  # 4,090 characters
    await desk.say(desk.agents[0], words, card["message_thread_id"])
    first = await person.next()
    assert first["text"].startswith("Dilnoza: слово0000")
    parts = [first["text"], (await person.next())["text"]]
    assert " ".join(parts).removeprefix("Dilnoza: ").split() == words.split()


async def test_links_and_code_languages_reach_the_subscriber_as_written(desk: Desk) -> None:
    person, card = await handed_off(desk)
    url = 'https://example.com/pay?note="ok"&a=<b>'
    text = "Оплата здесь. Код: print(1)"
    entities = [
        {"type": "text_link", "offset": 0, "length": 6, "url": url},
        {"type": "pre", "offset": 19, "length": 8, "language": 'py"thon'},
        {"type": "bold", "offset": 7, "length": 5},
    ]
    await desk.say(desk.agents[0], text, card["message_thread_id"], entities=entities)
    got = await person.next()
    assert got["text"] == text
    by_type = {e["type"]: e for e in got["entities"]}
    assert by_type["text_link"]["url"] == url
    assert by_type["pre"]["language"] == 'py"thon'
    assert (by_type["bold"]["offset"], by_type["bold"]["length"]) == (7, 5)


async def test_an_answer_telegram_refuses_is_reported_to_the_agent(desk: Desk) -> None:
    person, card = await handed_off(desk)
    thread = card["message_thread_id"]
    desk.emu.inject_error("sendMessage", status=400, description="Bad Request: message is too long")
    topic = desk.topic(thread)
    await desk.say(desk.agents[0], "Ответ, который не дойдёт", thread)
    told = await topic.next(predicate=lambda m: "Не удалось доставить" in (m.get("text") or ""))
    assert "message is too long" in told["text"]
    await settled(desk.emu)
    assert person.inbox.pending() == []


# -- a ticket whose topic was deleted (#9) ----------------------------------------------------


async def test_a_ticket_whose_topic_was_deleted_is_closed_from_general(desk: Desk) -> None:
    emu, dilnoza = desk.emu, desk.agents[0]
    person, card = await handed_off(desk)
    await emu.delete_topic(desk.group, card["message_thread_id"])
    general = desk.topic(None)

    async def in_general(part: str) -> dict:
        return await general.next(
            predicate=lambda m: m.get("message_thread_id") is None and part in (m.get("text") or "")
        )

    for typo in ("/close", "/close ²", "/close 1234567890123456789012345678", "/close abc"):
        await desk.say(dilnoza, typo, None)
        assert "/close" in (await in_general("Укажите обращение"))["text"]
    await desk.say(dilnoza, "/close 77", None)
    await in_general("#77 нет")
    await desk.say(dilnoza, "/whois 1", None)
    assert str(person.user.id) in (await in_general("Farrukh"))["text"]
    await desk.say(dilnoza, "/close 1", None)
    await in_general("#1 закрыто (Dilnoza)")
    assert "оцените" in (await person.next())["text"].lower()
    ticket = await desk.dono.store.get_ticket(1)
    assert (ticket.status, ticket.close_reason) == ("closed", "agent")
    assert await desk.dono.store.queue() == []


# -- button presses answered in time (#10) ----------------------------------------------------


async def test_a_claim_held_up_past_the_callback_ttl_is_still_answered(
    emu: Emulator, tmp_path: Path
) -> None:
    """The bot's pacer holds the group's sends (as under a flood of tickets) for longer than
    Telegram waits for a button's answer: the press is answered anyway, and the rest of the
    claim (the notice in the topic) still happens."""
    agent = await emu.create_user("Dilnoza", language_code="ru")
    group = await emu.create_forum_group("Operators", agents=[agent])
    config = make_config(tmp_path)
    config.agents.group_id = group.id
    config.telegram.limits.group_per_minute = 10  # a group send every 6 s
    config.telegram.limits.group_burst = 1
    desk = Desk(emu, await start_dono(emu, config), group, [agent])
    emu.callback_ttl = 4.0
    try:
        _person, card = await handed_off(desk)  # the card used the group's one send
        topic = desk.topic(card["message_thread_id"])
        answer = await press(desk, agent, card, "Взять")
        assert answer["show_alert"] is False
        assert "у оператора Dilnoza" in (await topic.next(timeout=15))["text"]
        assert (await desk.dono.store.get_ticket(1)).agent_name == "Dilnoza"
    finally:
        await desk.dono.stop()


async def test_a_rating_pressed_while_the_database_is_locked_is_answered_and_kept(
    desk: Desk, tmp_path: Path
) -> None:
    """The rating's write waits on a locked database past Telegram's time for an answer: the
    press is answered anyway, and once the database is back the rating is kept and the
    agents are told (a failed late answer skips nothing)."""
    person, card = await handed_off(desk)
    await press(desk, desk.agents[0], card, "Закрыть")
    asked = await person.next()
    topic = desk.topic(card["message_thread_id"])
    desk.emu.callback_ttl = 4.0
    with locked(tmp_path / "dono.sqlite3", seconds=6):
        query = await person.press(asked, button_data(asked, "4"))
        await desk.emu.wait_for_callback_answer(query, timeout=4)
    rated = await topic.next(predicate=lambda m: "Оценка" in (m.get("text") or ""), timeout=30)
    assert "4/5" in rated["text"]
    assert (await desk.dono.store.get_ticket(1)).csat == 4


async def test_an_edit_telegram_refuses_is_reported_to_the_agent(desk: Desk) -> None:
    emu, dilnoza = desk.emu, desk.agents[0]
    person, card = await handed_off(desk)
    thread = card["message_thread_id"]
    said = await desk.say(dilnoza, "Ваш тариф — Смарт", thread)
    await person.next()
    emu.inject_error(
        "editMessageText", status=400, description="Bad Request: message to edit not found"
    )
    topic = desk.topic(thread)
    await emu.edit_message(dilnoza, said["message_id"], "Ваш тариф — Макси", chat=desk.group.id)
    told = await topic.next(predicate=lambda m: "Правка не отправлена" in (m.get("text") or ""))
    assert "message to edit not found" in told["text"]


@pytest.mark.slow
async def test_a_webhook_delivery_from_a_non_member_is_refused_too(
    emu: Emulator, tmp_path: Path
) -> None:
    """The same refusal whatever the transport: a delivery that passed the webhook's secret
    (leaked, or a proxy that trusts anyone) still cannot act for a non-member."""
    agent = await emu.create_user("Dilnoza", language_code="ru")
    group = await emu.create_forum_group("Operators", agents=[agent])
    config = make_config(tmp_path)
    config.agents.group_id = group.id
    config.telegram.mode = "webhook"
    config.telegram.webhook.listen_port = free_port()
    dono = await Dono.create(config, emu.token, api_base=emu.base_url)
    url = f"http://127.0.0.1:{config.telegram.webhook.listen_port}/telegram"
    ids = itertools.count(1)

    async def deliver(kind: str, payload: dict) -> None:
        update = {"update_id": next(ids), kind: payload}
        headers = {"X-Telegram-Bot-Api-Secret-Token": "s3cret"}
        async with (
            aiohttp.ClientSession() as http,
            http.post(url, json=update, headers=headers) as r,
        ):
            assert r.status == 200

    try:
        await dono.start_webhook("https://bot.example.tj/telegram", "s3cret")
        person = await emu.create_user("Farrukh", language_code="ru", started=True)
        chat = {"id": person.id, "type": "private", "first_name": "Farrukh"}
        ask = {"message_id": 1, "date": int(time.time()), "chat": chat, "from": person.to_api()}
        await deliver("message", {**ask, "text": "/operator"})
        card = await emu.wait_for_bot_message(
            group.id, predicate=lambda m: "Обращение #1" in (m.get("text") or ""), timeout=10
        )
        await wait_for(lambda: dono.store.get_ticket(1), lambda t: t.thread_id is not None)
        stranger = await emu.create_user("Mallory", language_code="ru")
        await deliver(
            "message",
            {
                "message_id": 10_001,
                "date": int(time.time()),
                "chat": group.to_api(),
                "from": stranger.to_api(),
                "message_thread_id": card["message_thread_id"],
                "is_topic_message": True,
                "text": FINE,
            },
        )
        await deliver(
            "callback_query",
            {"id": "77", "from": stranger.to_api(), "message": card, "chat_instance": "1",
             "data": "tk:claim:1"},
        )  # fmt: skip
        await settled(emu)
        assert [
            m.get("text", "") for m in emu.bot_messages(person.id) if FINE in m.get("text", "")
        ] == []
        ticket = await dono.store.get_ticket(1)
        assert (ticket.status, ticket.msgs_from_agent) == ("waiting", 0)
    finally:
        await dono.stop()


async def test_an_album_telegram_refuses_is_reported_to_the_agent(desk: Desk) -> None:
    emu, dilnoza = desk.emu, desk.agents[0]
    person, card = await handed_off(desk)
    thread = card["message_thread_id"]
    await desk.say(dilnoza, "Сейчас пришлю схему", thread)  # claims it; the album goes next
    await person.next()
    emu.inject_error("sendMediaGroup", status=400, description="Bad Request: wrong file id")
    topic = desk.topic(thread)
    await emu.send_media_group(
        dilnoza, [tiny_png(8, 8), tiny_png(9, 9)], chat=desk.group.id, thread_id=thread
    )
    told = await topic.next(predicate=lambda m: "Не удалось доставить" in (m.get("text") or ""))
    assert "wrong file id" in told["text"]


async def test_a_forged_button_in_the_group_is_answered(desk: Desk) -> None:
    emu, dilnoza = desk.emu, desk.agents[0]
    person = Person(emu, await emu.create_user("Forger", language_code="ru"))
    since = emu.cursor()
    await person.send("позовите оператора")
    card = await desk.card(since=since)
    for forged in ("zzz", "tk:claim:" + "9" * 30, "tk:nope:1", ""):
        query_id = await emu.press_button(
            dilnoza, card["message_id"], forged, chat=desk.group.id, strict=False
        )
        answer = await emu.wait_for_callback_answer(query_id)
        assert answer.get("text"), forged  # a note, not a spinning button
    assert (await desk.dono.store.get_ticket(1)).status == "waiting"


async def test_a_button_naming_another_ticket_is_stale_there(desk: Desk) -> None:
    """Data forged on ticket #1's card to name ticket #2 (its Claim, a /kb answer) changes
    nothing of #2 and sends its subscriber nothing: a ticket's button works in its own topic."""
    emu, dilnoza = desk.emu, desk.agents[0]
    first, card1 = await handed_off(desk, "First")
    second, card2 = await handed_off(desk, "Second")
    for forged in ("tk:claim:2", "kb:2:balance_check"):
        query_id = await emu.press_button(
            dilnoza, card1["message_id"], forged, chat=desk.group.id, strict=False
        )
        answer = await emu.wait_for_callback_answer(query_id)
        assert answer.get("text") == "Эта кнопка устарела, откройте /menu.", forged
    await settled(emu)
    assert second.inbox.pending() == [] and first.inbox.pending() == []
    assert (await desk.dono.store.get_ticket(2)).status == "waiting"
    # a typed id that is no ticket is answered as typed, not as a stale button
    since = emu.cursor()
    await desk.say(dilnoza, "/whois 99", None)
    said = await emu.wait_for_bot_message(desk.group.id, since=since, timeout=10)
    assert said["text"] == "Обращения #99 нет: открытые — в /queue."
    # the same buttons in their own ticket's topic still work
    await press(desk, dilnoza, card2, "Взять")
    assert (await desk.dono.store.get_ticket(2)).status == "claimed"


async def test_directional_controls_in_names_never_reach_the_desk(desk: Desk) -> None:
    """U+202E in a first name would turn the rest of an agent's line around (the card, the
    claim notice): the desk shows names without directional controls."""
    emu = desk.emu
    person = Person(emu, await emu.create_user("Ali\u202eруб 0001 ", language_code="ru"))
    since = emu.cursor()
    await person.send("позовите оператора")
    card = await desk.card(since=since)
    assert "Ali" in card["text"] and "\u202e" not in card["text"]
    trickster = await emu.create_user("\u2067Dil\u202enoza", language_code="ru")
    await emu.add_member(desk.group, trickster)
    await press(desk, trickster, card, "Взять")
    ticket = await desk.dono.store.get_ticket(1)
    assert ticket.agent_name == "Dilnoza"
    sub = await desk.dono.store.subscriber(person.user.id)
    assert sub.first_name == "Aliруб 0001"
