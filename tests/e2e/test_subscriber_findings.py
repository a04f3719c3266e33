"""Subscriber-side findings of issue 16: each test names what a subscriber saw go wrong."""

from __future__ import annotations

import logging

import pytest
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import EditMessageText
from aiogram.types import KeyboardButton, ReplyKeyboardMarkup

from bot.app import Dono
from emulator import Emulator
from emulator.actors import DUSHANBE
from emulator.errors import EmulatorError
from tests.e2e.conftest import Desk, Person, button_data, buttons, settled, wait_for
from tests.e2e.test_desk import handed_off

# -- 👍/👎 is kept with the question whose answer it sits under ------------------------------


async def test_feedback_is_kept_with_the_question_its_answer_was_for(
    person: Person, dono: Dono, emu: Emulator
) -> None:
    first = await person.send("как проверить баланс")
    second = await person.send("баланс проверить")  # the same topic, asked again
    assert "*100#" in first["text"] and "*100#" in second["text"]
    query_id = await person.press(first, button_data(first, "👎"))
    assert "Жаль" in (await emu.wait_for_callback_answer(query_id))["text"]
    disliked = await wait_for(
        lambda: dono.store.unanswered(0), lambda rows: any(r["kind"] == "dislike" for r in rows)
    )
    assert [r["text"] for r in disliked if r["kind"] == "dislike"] == ["как проверить баланс"]


async def test_forged_feedback_data_is_answered_politely(
    person: Person, dono: Dono, emu: Emulator
) -> None:
    other = Person(emu, await emu.create_user("Other", language_code="ru"))
    await other.send("как проверить баланс")
    (theirs,) = await wait_for(
        lambda: dono.store.recent_interactions(other.user.id, limit=1), lambda r: len(r) == 1
    )
    answer = await person.send("как проверить баланс")
    mine = button_data(answer, "👍")
    topic, helpful, q = mine.split(":")[1:]
    their_id = int(q) - 1  # the other subscriber's question was logged just before
    for forged in (f"f:{topic}:{helpful}:{2**64}", f"f:{topic}:{helpful}:-1",
                   f"f:{topic}:{helpful}:{their_id}", f"f:{topic}:{helpful}:x"):  # fmt: skip
        query_id = await emu.press_button(person.user, answer["message_id"], forged, strict=False)
        said = await emu.wait_for_callback_answer(query_id)
        assert "устарела" in (said.get("text") or ""), forged
    assert theirs["text"] == "как проверить баланс"
    assert await dono.store.feedback_counts(topic) == (0, 0)


# -- the automatic hand-off counts misses, whatever came between ----------------------------


async def _misses_then(desk: Desk, name: str, *steps: str) -> tuple[Person, dict]:
    """A subscriber sends each step (``👎`` presses it under the last answer, ``pick`` picks
    the first "did you mean" choice); returns them and the bot's reply to the last step."""
    person = Person(desk.emu, await desk.emu.create_user(name, language_code="ru"))
    last: dict = {}
    for step in steps:
        if step == "👎":
            query_id = await person.press(last, button_data(last, "👎"))
            await desk.emu.wait_for_callback_answer(query_id)
            await wait_for(
                lambda: desk.dono.store.recent_interactions(person.user.id, limit=1),
                lambda r: r[0]["disliked"],
            )
        elif step == "pick":
            choice = next(b for b in buttons(last) if b["text"] != "👩‍💻 Оператор")
            await person.press(last, choice["callback_data"])
            last = await person.next()
        else:
            last = await person.send(step)
    return person, last


async def test_a_greeting_a_useless_did_you_mean_or_a_dislike_does_not_reset_the_misses(
    desk: Desk,
) -> None:
    film = "посоветуй хороший фильм"
    for name, steps in (
        ("Greeting", ("кто написал войну и мир", "привет", film)),
        ("Clarify", ("интернет", film)),
        ("Dislike", ("как проверить баланс", "👎", film)),
    ):
        _person, reply = await _misses_then(desk, name, *steps)
        assert "очеред" in reply["text"], name
    tickets = [e.ticket for e in await desk.dono.store.queue()]
    assert [t.reason for t in tickets] == ["bot_failed"] * 3


async def test_an_answer_kept_or_a_choice_picked_ends_the_misses(desk: Desk) -> None:
    film = "посоветуй хороший фильм"
    for name, steps in (
        ("Picked", ("кто написал войну и мир", "интернет", "pick", film)),
        ("Answered", ("кто написал войну и мир", "как проверить баланс", film)),
    ):
        _person, reply = await _misses_then(desk, name, *steps)
        assert "не нашёл" in reply["text"], name
    assert await desk.dono.store.queue() == []


# -- blocked, then back within the reopen window: the ticket comes back ---------------------


async def test_a_subscriber_back_from_blocking_the_bot_gets_their_ticket_back(desk: Desk) -> None:
    """Telegram's "Restart" after an unblock sends /start; many then say hello. Neither was
    taken for a return: /start was a greeting, "привет" small talk the bot answered."""
    emu = desk.emu
    comebacks = ("/start", "привет")
    people = []
    for n, name in enumerate(("Restart", "Hello"), start=1):
        person, card = await handed_off(desk, name)
        await emu.block_bot(person.user)
        await desk.say(desk.agents[0], "Вы на связи?", card["message_thread_id"])
        await wait_for(
            lambda n=n: desk.dono.store.get_ticket(n), lambda t: t.close_reason == "blocked"
        )
        await emu.unblock_bot(person.user)
        people.append((person, card))
    for (person, card), comeback in zip(people, comebacks, strict=True):
        since = emu.cursor()
        await emu.send_text(person.user, comeback)
        await emu.wait_for_bot_message(
            desk.group.id,
            thread_id=card["message_thread_id"],
            since=since,
            predicate=lambda m: "снова открыто" in (m.get("text") or ""),
        )
    said = await people[0][0].next()  # the greeting says the request is open again
    assert "#1" in said["text"] and "открыто" in said["text"]
    for n in (1, 2):
        ticket = await desk.dono.store.get_ticket(n)
        assert (ticket.status, ticket.reopened) == ("waiting", 1)
    assert not (await desk.dono.store.subscriber(people[0][0].user.id)).blocked


# -- what the buttons look like, and a category tapped twice --------------------------------


async def test_a_category_tapped_twice_is_shown_once_without_an_error(
    person: Person, emu: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    menu = await person.send("/menu")
    sim = button_data(menu, "SIM")
    since = emu.cursor()
    caplog.set_level(logging.WARNING)
    presses = [  # a double tap: both presses carry the menu as it was
        await emu.press_button(person.user, menu["message_id"], sim, strict=False) for _ in range(2)
    ]
    for query_id in presses:
        assert (await emu.wait_for_callback_answer(query_id)).get("text") is None
    edited = await emu.wait_for_bot_edit(
        menu["chat"]["id"], message_id=menu["message_id"], since=since
    )
    assert "SIM" in edited["text"]
    await settled(emu)
    edits = await wait_for(lambda: _calls(emu, "editMessageText", since), lambda c: len(c) >= 1)
    assert [c["ok"] for c in edits].count(True) == 1
    assert person.inbox.pending() == []  # no apology
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert not any("not modified" in r.getMessage() for r in caplog.records)


async def _calls(emu: Emulator, method: str, since: int) -> list[dict]:
    return emu.calls(method, since=since)


async def test_the_identical_edit_is_refused_as_telegram_refuses_it(
    person: Person, emu: Emulator, dono: Dono
) -> None:
    menu = await person.send("/menu")
    chat, mid = menu["chat"]["id"], menu["message_id"]
    markup = menu["reply_markup"]
    same = {"chat_id": chat, "message_id": mid, "text": menu["text"], "reply_markup": markup}
    with pytest.raises(TelegramBadRequest) as refused:
        await dono.bot(EditMessageText(**same))
    assert refused.value.message == (
        "Bad Request: message is not modified: specified new message content and reply markup"
        " are exactly the same as a current content and reply markup of the message"
    )


async def test_one_choice_is_offered_as_one_and_every_keyboard_has_menu_then_operator(
    person: Person,
) -> None:
    missed = await person.send("кто написал войну и мир")
    answered = await person.send("как проверить баланс")
    one = await person.send("Москвой")  # one topic comes close, not close enough to answer
    choices = [b for b in buttons(one) if b["callback_data"].startswith("ch:")]
    assert len(choices) == 1
    assert one["text"] == "Возможно, вы имели в виду это:"
    several = await person.send("интернет")
    assert several["text"].startswith("Уточните")
    last_row = [[b["text"] for b in row] for row in answered["reply_markup"]["inline_keyboard"]][-1]
    fallback = [b["text"] for row in missed["reply_markup"]["inline_keyboard"] for b in row]
    assert fallback == last_row == ["📋 Меню", "👩‍💻 Оператор"]


# -- the emulator's reply keyboard taps as Telegram's app does -------------------------------


async def test_the_location_button_shares_a_location_not_its_label(desk: Desk) -> None:
    emu = desk.emu
    person = Person(emu, await emu.create_user("Tap", language_code="ru"))
    await person.send("нет сигнала во всём районе")
    await person.next()  # where?
    await person.next()  # the reply keyboard
    sent = await emu.press_reply_button(person.user, "📍 Отправить геопозицию")
    assert "text" not in sent and sent["location"]["latitude"] == DUSHANBE[0]
    assert "опишите" in (await person.next())["text"]
    await person.send("нет связи")
    (row,) = await desk.dono.store.outages(0)
    assert (row["latitude"], row["longitude"]) == DUSHANBE


async def test_the_contact_button_shares_the_users_own_contact(emu: Emulator, dono: Dono) -> None:
    user = await emu.create_user("Phone", language_code="ru", started=True)
    keyboard = ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text="📞 Номер", request_contact=True)],
                  [KeyboardButton(text="Кто я", request_users={"request_id": 1})]]
    )  # fmt: skip
    await dono.bot.send_message(user.id, "?", reply_markup=keyboard)
    sent = await emu.press_reply_button(user, "📞 Номер")
    assert "text" not in sent and sent["contact"]["user_id"] == user.id
    other = await emu.press_reply_button(user, "📞 Номер", phone_number="+992911111111")
    assert other["contact"]["phone_number"] == "+992911111111"
    with pytest.raises(EmulatorError, match="not emulated"):
        await emu.press_reply_button(user, "Кто я")
