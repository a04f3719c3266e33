"""/kb at the desk: words find topics by title in any language, a number or a button sends
one, and the topic shows what the subscriber was told."""

from __future__ import annotations

from tests.e2e.conftest import Desk, Person, buttons


async def ticket(desk: Desk, lang: str = "ru") -> tuple[Person, int]:
    person = Person(desk.emu, await desk.emu.create_user("Zarina", language_code=lang))
    since = desk.emu.cursor()
    await person.send("/operator")
    card = await desk.card(since=since)
    return person, card["message_thread_id"]


async def bot_reply(desk: Desk, thread: int, since: int, part: str) -> dict:
    return await desk.emu.wait_for_bot_message(
        desk.group.id,
        thread_id=thread,
        since=since,
        predicate=lambda m: part in (m.get("text") or ""),
    )


async def test_words_in_any_language_list_titled_topics(desk: Desk) -> None:
    _, thread = await ticket(desk)
    dilnoza = desk.agents[0]
    for words in ("подписки", "обуна", "subscriptions"):
        since = desk.emu.cursor()
        await desk.say(dilnoza, f"/kb {words}", thread)
        listed = await bot_reply(desk, thread, since, "Темы по запросу")
        first = listed["text"].splitlines()[1]
        assert first == "1. Платные подписки: как отключить · paid_subscriptions", words
        assert buttons(listed)[0]["text"] == "1. Платные подписки: как отключить"
    since = desk.emu.cursor()
    await desk.say(dilnoza, "/kb кракозябра", thread)
    assert "тем не нашлось" in (await bot_reply(desk, thread, since, "кракозябра"))["text"]


async def test_a_number_sends_the_listed_topic_and_the_topic_shows_the_answer(
    desk: Desk,
) -> None:
    person, thread = await ticket(desk, "tg")
    dilnoza = desk.agents[0]
    since = desk.emu.cursor()
    await desk.say(dilnoza, "/kb баланс проверить", thread)
    listed = await bot_reply(desk, thread, since, "Темы по запросу")
    n = next(i for i, b in enumerate(buttons(listed), 1) if "Проверить баланс" in b["text"])
    await desk.say(dilnoza, f"/kb {n}", thread)
    sent = await person.next()
    told = await bot_reply(desk, thread, since, "📤")
    assert told["text"].startswith("📤 Абоненту отправлен ответ «Проверить баланс»")
    assert "balance_check, tg" in told["text"]
    # what the subscriber read, in their language, is in the topic
    assert sent["text"].splitlines()[0] in told["text"]


async def test_a_button_sends_the_topic(desk: Desk) -> None:
    person, thread = await ticket(desk)
    dilnoza = desk.agents[0]
    since = desk.emu.cursor()
    await desk.say(dilnoza, "/kb подписки", thread)
    listed = await bot_reply(desk, thread, since, "Темы по запросу")
    await desk.emu.press_button(
        dilnoza, listed["message_id"], buttons(listed)[0]["callback_data"], chat=desk.group.id
    )
    sent = await person.next()
    told = await bot_reply(desk, thread, since, "📤")
    assert "«Платные подписки: как отключить»" in told["text"]
    assert sent["text"].splitlines()[0] in told["text"]


async def test_an_id_still_sends_at_once(desk: Desk) -> None:
    person, thread = await ticket(desk)
    since = desk.emu.cursor()
    await desk.say(desk.agents[0], "/kb balance_check", thread)
    assert "*100#" in (await person.next())["text"]
    told = await bot_reply(desk, thread, since, "📤")
    assert "*100#" in told["text"]
