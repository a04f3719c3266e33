"""A ticket's topic is named by what the problem is: the KB topic the subscriber was answered
that day, else their last real question, else just who they are — never the hand-off phrase."""

from __future__ import annotations

from tests.e2e.conftest import Desk, Person


async def topic_name(desk: Desk, person: Person, handoff: str) -> str:
    since = desk.emu.cursor()
    await person.send(handoff)
    card = await desk.card(since=since)
    thread = card["message_thread_id"]
    (topic,) = [t for t in desk.emu.topics(desk.group.id) if t["message_thread_id"] == thread]
    return topic["name"]


async def test_the_title_is_the_kb_topic_answered_in_the_desks_language(desk: Desk) -> None:
    person = Person(desk.emu, await desk.emu.create_user("Farrukh", language_code="tg"))
    assert "*100#" in (await person.send("тавозуни ҳисобро чӣ тавр санҷам"))["text"]
    await person.send("ягон чизи дигар ҳаст?")  # "anything else?": a miss, not the problem
    name = await topic_name(desk, person, "оператор даркор")
    assert name == "#1 Farrukh · tg · Проверить баланс"


async def test_without_an_answer_the_title_is_the_last_real_question(desk: Desk) -> None:
    person = Person(desk.emu, await desk.emu.create_user("Olga", language_code="ru"))
    await person.send("у меня проблема с договором аренды квартиры")
    await person.send("привет")  # small talk says nothing about the problem
    name = await topic_name(desk, person, "позовите оператора")
    assert name == "#1 Olga · ru · у меня проблема с договором аренды квартиры"


async def test_with_nothing_asked_the_title_is_who_it_is(desk: Desk) -> None:
    person = Person(desk.emu, await desk.emu.create_user("Anvar", language_code="ru"))
    await person.send("привет")
    assert await topic_name(desk, person, "/operator") == "#1 Anvar · ru"
