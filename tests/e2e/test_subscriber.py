"""The subscriber's side, end to end: the real bot over HTTP against the Bot API emulator."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from bot.app import Dono
from bot.texts import t
from emulator import Emulator
from tests.e2e.conftest import Desk, Person, button_data, buttons, make_config, wait_for


async def test_start_language_and_questions_in_each_language(person: Person) -> None:
    greeting = await person.send("/start")
    assert "Dono" in greeting["text"]
    choose = await person.next()
    assert [b["text"] for b in buttons(choose)] == ["Русский", "Тоҷикӣ", "English"]

    await person.press(choose, button_data(choose, "Тоҷикӣ"))
    assert "тоҷикӣ" in (await person.next())["text"]

    answer = await person.send("Баланси ман чанд аст?")
    assert "*100#" in answer["text"]
    assert "Кӯмак кард" in " ".join(b["text"] for b in buttons(answer))  # feedback in Tajik

    answer = await person.send("как проверить баланс")
    assert "*100#" in answer["text"] and "Наберите" in answer["text"]  # answered in Russian

    answer = await person.send("how do I check my balance")
    assert "Dial" in answer["text"]


async def test_translit_layout_and_typos_are_understood(person: Person) -> None:
    assert "*100#" in (await person.send("kak proverit balans"))["text"]
    assert "*100#" in (await person.send("rfr ghjdthbnm ,fkfyc"))["text"]
    assert "*111#" in (await person.send("какой у миня номир"))["text"]


async def test_clarify_then_button_gives_the_answer(person: Person, dono: Dono) -> None:
    reply = await person.send("интернет")
    assert reply["text"].startswith("Уточните")
    options = [b for b in buttons(reply) if b["callback_data"].startswith("ch:")]
    assert 2 <= len(options) <= 4
    chosen = options[0]["callback_data"].split(":")[1]
    await person.press(reply, options[0]["callback_data"])
    answer = await person.next()
    expected = dono.knowledge.kb.topics[chosen].answer.ru
    assert answer["text"] == html.unescape(re.sub(r"<[^>]+>", "", expected)).strip()


async def test_menu_navigation(person: Person, emu: Emulator) -> None:
    menu = await person.send("/menu")
    assert menu["text"] == "Выберите тему:"
    chat, mid = menu["chat"]["id"], menu["message_id"]

    async def press_and_see_edit(message: dict, text_part: str) -> dict:
        since = emu.cursor()
        await person.press(message, button_data(message, text_part))
        return await emu.wait_for_bot_edit(chat, message_id=mid, since=since)

    sim = await press_and_see_edit(menu, "SIM")
    assert "SIM" in sim["text"]
    back = await press_and_see_edit(sim, "Назад")
    assert back["text"] == "Выберите тему:"
    sim = await press_and_see_edit(back, "SIM")
    await person.press(sim, "t:own_number")
    assert "*111#" in (await person.next())["text"]


async def test_out_of_scope_gets_fallback_with_operator_button(person: Person) -> None:
    for question in ("кто написал войну и мир", "👍", "как проверить баланс", "tell me a joke"):
        reply = await person.send(question)
        if question.startswith("как"):
            continue
        assert "не нашёл ответа" in reply["text"] or "could not find" in reply["text"]
        assert any(b["callback_data"] == "op" for b in buttons(reply))


async def test_two_misses_in_a_row_hand_off(desk: Desk) -> None:
    dono = desk.dono
    person = Person(desk.emu, await desk.emu.create_user("Miss", language_code="ru"))
    assert "не нашёл" in (await person.send("кто написал войну и мир"))["text"]
    reply = await person.send("посоветуй хороший фильм")
    assert "очеред" in reply["text"]
    (ticket,) = [e.ticket for e in await dono.store.queue()]
    assert ticket.reason == "bot_failed"
    # the reason is the ticket's; the decisions stay what they were: two misses
    logged = await wait_for(
        lambda: dono.store.recent_interactions(person.user.id, limit=2), lambda r: len(r) == 2
    )
    assert [(i["kind"], i["topic"], i["intent"]) for i in logged] == [("none", None, None)] * 2


async def test_decisions_are_logged_as_what_they_are(person: Person, dono: Dono) -> None:
    await person.send("спасибо!")
    await person.send("позовите оператора")
    logged = await wait_for(  # logged once the answer is out
        lambda: dono.store.recent_interactions(person.user.id, limit=2), lambda r: len(r) == 2
    )
    assert [(i["kind"], i["topic"], i["intent"]) for i in logged] == [
        ("handoff", None, "operator"),
        ("smalltalk", None, "thanks"),
    ]


async def test_smalltalk_is_answered_politely(person: Person) -> None:
    reply = await person.send("спасибо!")
    assert "не нашёл" not in reply["text"]


async def test_operator_command_and_button(desk: Desk) -> None:
    emu, dono = desk.emu, desk.dono
    person = Person(emu, await emu.create_user("Asks", language_code="ru"))
    reply = await person.send("/operator")
    assert "1-й" in reply["text"] and "очеред" in reply["text"]
    other = Person(emu, await emu.create_user("Bob", language_code="en"))
    fallback = await other.send("qwertyuiop")
    await other.press(fallback, "op")
    assert "number 2 in the queue" in (await other.next())["text"]
    waiting = await dono.store.waiting_handoffs()
    assert [w["reason"] for w in waiting] == ["command", "button"]


async def test_without_an_operators_group_the_bot_says_so_and_keeps_answering(
    person: Person, dono: Dono, monkeypatch: pytest.MonkeyPatch
) -> None:
    told = (await person.send("/operator"))["text"]
    assert "не отвечают" in told and "очеред" not in told  # no queue nobody sees
    assert await dono.store.open_ticket_of(person.user.id) is None
    assert "*100#" in (await person.send("как проверить баланс"))["text"]
    monkeypatch.setattr(dono.config.agents, "contacts", "📞 505 · <support@example.tj>")
    told = (await person.send("позовите оператора"))["text"]
    assert "📞 505 · <support@example.tj>" in told  # other channels, shown as written


async def test_handoff_intent_in_free_text(desk: Desk) -> None:
    dono = desk.dono
    person = Person(desk.emu, await desk.emu.create_user("Free", language_code="ru"))
    reply = await person.send("позовите живого оператора пожалуйста")
    assert "очеред" in reply["text"]
    assert [w["reason"] for w in await dono.store.waiting_handoffs()] == ["asked"]


async def test_photo_and_other_media_get_a_useful_reply(person: Person, emu: Emulator) -> None:
    await emu.send_photo(person.user)
    reply = await person.next()
    assert "только текст" in reply["text"]
    await emu.send_sticker(person.user)
    assert "только текст" in (await person.next())["text"]
    await emu.send_location(person.user, 38.56, 68.77)
    assert "только текст" in (await person.next())["text"]


async def test_ten_thousand_characters(person: Person) -> None:
    reply = await person.send("как проверить баланс " + "а" * 10_000)
    assert "длинное" in reply["text"]
    assert (await person.next())["text"]  # and then an answer or the fallback


async def test_forged_callback_data_never_breaks_the_bot(person: Person, emu: Emulator) -> None:
    menu = await person.send("/menu")
    for forged in ("t:no_such_topic", "c:nowhere", "f:x:maybe", "l:fr", "zzz", "t:" + "a" * 60):
        query_id = await emu.press_button(person.user, menu["message_id"], forged, strict=False)
        answer = await emu.wait_for_callback_answer(query_id)
        assert "устарела" in (answer.get("text") or "")
    assert "*100#" in (await person.send("баланс проверить"))["text"]


async def test_feedback_is_stored(person: Person, dono: Dono) -> None:
    answer = await person.send("как проверить баланс")
    query_id = await person.press(answer, button_data(answer, "👍"))
    ack = await person.emu.wait_for_callback_answer(query_id)
    assert "Спасибо" in ack["text"]
    assert await dono.store.feedback_counts("balance_check") == (1, 0)


async def test_user_text_is_html_escaped(emu: Emulator, dono: Dono) -> None:
    user = await emu.create_user("<b>Eve & co</b>", language_code="en")
    person = Person(emu, user)
    greeting = await person.send("/start")
    assert "<b>Eve & co</b>" in greeting["text"]  # shown literally, not as markup


LONG_TOPIC = """
topics:
  - id: long_read
    category: help
    triggers:
      ru: [длинный ответ про правила]
      tg: [ҷавоби дароз]
      en: [long answer]
    answer:
      ru: |
{body}
      tg: Кӯтоҳ.
      en: Short.
"""


async def test_long_answer_is_split_on_paragraphs(
    emu: Emulator, tmp_path: Path, kb_copy: Path
) -> None:
    paragraphs = [f"        <b>Пункт {i}.</b> " + "слово " * 150 for i in range(8)]
    (kb_copy / "long.yaml").write_text(
        LONG_TOPIC.format(body="\n\n".join(paragraphs)), encoding="utf-8"
    )
    bot = await Dono.create(make_config(tmp_path, kb_copy), emu.token, api_base=emu.base_url)
    await bot.start_polling(polling_timeout=1)
    try:
        person = Person(emu, await emu.create_user("Long", language_code="ru"))
        first = await person.send("длинный ответ про правила")
        second = await person.next()
        parts = [first, second]
        if not buttons(second):
            parts.append(await person.next())
        assert all(len(p["text"]) <= 4096 for p in parts)
        assert all(p["text"].startswith("Пункт") for p in parts)
        assert not buttons(first) and buttons(parts[-1])
        assert sum(p["text"].count("Пункт") for p in parts) == 8
    finally:
        await bot.stop()


async def test_two_asks_get_the_first_answer_and_a_button_for_the_second(person: Person) -> None:
    reply = await person.send("Как проверить баланс и пополнить его с карты?")
    assert "*100#" in reply["text"]
    assert any(b["callback_data"] == "t:top_up" for b in buttons(reply))
    await person.press(reply, "t:top_up")
    assert "ополн" in (await person.next())["text"]


async def test_a_miss_is_said_in_the_language_the_subscriber_chose(
    emu: Emulator, dono: Dono
) -> None:
    # a Russian-looking miss from a subscriber whose language is Tajik: the fallback is Tajik
    person = Person(emu, await emu.create_user("Zarina", language_code="tg"))
    reply = await person.send("кто написал войну и мир")
    assert reply["text"] == t("tg", "not_found")
