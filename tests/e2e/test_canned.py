"""/r at the desk: canned replies from the knowledge base, found by words, sent with a button
or by id to the subscriber in their language with their name, as the agent's own answer."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import Desk, Person, buttons, settled

NAME = "Фарруҳ <3"  # a first name with HTML in it: sent escaped, read as typed


async def ticket(desk: Desk, name: str = NAME, lang: str = "tg") -> tuple[Person, int, int]:
    """A subscriber who asked for a human: them, their ticket's topic and the ticket's id."""
    person = Person(desk.emu, await desk.emu.create_user(name, language_code=lang))
    since = desk.emu.cursor()
    await person.send("/operator")
    card = await desk.card(since=since)
    found = await desk.dono.store.ticket_by_thread(card["message_thread_id"])
    assert found is not None
    return person, card["message_thread_id"], found.id


async def bot_says(desk: Desk, thread: int | None, since: int, part: str) -> dict:
    return await desk.emu.wait_for_bot_message(
        desk.group.id,
        thread_id=thread,
        since=since,
        predicate=lambda m: part in (m.get("text") or ""),
    )


async def test_words_list_replies_and_a_button_sends_the_tajik_text_with_the_name(
    desk: Desk,
) -> None:
    person, thread, ticket_id = await ticket(desk)
    dilnoza = desk.agents[0]
    since = desk.emu.cursor()
    await desk.say(dilnoza, "/r рестарт", thread)
    listed = await bot_says(desk, thread, since, "Шаблоны по запросу «рестарт»")
    assert listed["text"].splitlines()[1] == "1. Перезагрузите телефон · restart_phone"
    first = buttons(listed)[0]
    assert first["text"] == "1. Перезагрузите телефон"
    assert len(buttons(listed)) <= 5
    query = await desk.emu.press_button(
        dilnoza, listed["message_id"], first["callback_data"], chat=desk.group.id
    )
    assert not (await desk.emu.wait_for_callback_answer(query)).get("text")
    sent = await person.next()
    assert sent["text"].startswith(f"{NAME}, лутфан телефонатонро аз нав фаъол кунед")
    told = await bot_says(desk, thread, since, "📤")
    assert told["text"].startswith("📤 Абоненту отправлен шаблон «Перезагрузите телефон»")
    assert "restart_phone, tg" in told["text"] and sent["text"] in told["text"]
    # the agent's answer: the waiting ticket is theirs now, its first response is this one
    stored = await desk.dono.store.get_ticket(ticket_id)
    assert (stored.status, stored.agent_id) == ("claimed", dilnoza.id)
    assert stored.first_response_at is not None and stored.msgs_from_agent == 1


async def test_an_id_sends_at_once_signed_and_the_other_forms_say_what_to_do(
    signed_desk: Desk,
) -> None:
    desk = signed_desk
    person, thread, _ = await ticket(desk, "Zarina", "ru")
    dilnoza = desk.agents[0]
    since = desk.emu.cursor()
    await desk.say(dilnoza, "/r thanks_waiting", thread)
    assert (await person.next())["text"] == "Dilnoza: Zarina, спасибо, что дождались ответа!"
    await bot_says(desk, thread, since, "«Спасибо за ожидание» (thanks_waiting, ru)")
    since = desk.emu.cursor()
    await desk.say(dilnoza, "/r", thread)
    listed = await bot_says(desk, thread, since, "Шаблоны ответов")
    replies = desk.dono.knowledge.kb.replies
    assert len(buttons(listed)) == len(replies) == len(listed["text"].splitlines()) - 1
    await desk.say(dilnoza, "/r кракозябра", thread)
    await bot_says(desk, thread, since, "По запросу «кракозябра» шаблонов не нашлось")
    # a huge query is quoted back cut, so the answer fits Telegram's limit (it was never sent)
    await desk.say(dilnoza, "/r " + "а" * 5000, thread)
    await bot_says(desk, thread, since, "По запросу «аааа")
    await desk.say(dilnoza, "/transfer " + "9" * 4000, thread)
    await bot_says(desk, thread, since, "9999…")
    await desk.say(dilnoza, "/kb " + "ж" * 5000, thread)  # /kb quotes the words back too
    await bot_says(desk, thread, since, "жжжж…")
    await desk.say(dilnoza, "/" + "q" * 5000, thread)  # and an unknown command its name
    await bot_says(desk, thread, since, "qqqq…")
    await desk.say(dilnoza, "/r рестарт", None)  # in General: no subscriber to send it to
    await bot_says(desk, None, since, "Команда работает в теме обращения")
    await settled(desk.emu)
    assert person.inbox.pending() == []


async def test_a_forged_or_stale_button_sends_nothing(desk: Desk) -> None:
    person, thread, ticket_id = await ticket(desk)
    other, other_thread, other_id = await ticket(desk, "Rustam", "ru")
    dilnoza = desk.agents[0]
    since = desk.emu.cursor()
    await desk.say(dilnoza, "/r спасибо", thread)
    listed = await bot_says(desk, thread, since, "Шаблоны по запросу")
    forged = [
        f"r:{ticket_id}:no_such_reply",  # a reply the KB does not have (or no longer)
        f"r:{other_id}:greeting",  # another ticket's, pressed in this topic
        f"r:{2**63}:greeting",  # past any ticket id
        "r:abc:greeting",
        "r:" + "9" * 30 + ":x",
    ]
    for data in forged:
        query = await desk.emu.press_button(
            dilnoza, listed["message_id"], data, chat=desk.group.id, strict=False
        )
        answer = await desk.emu.wait_for_callback_answer(query)
        assert answer.get("text") == "Эта кнопка устарела, откройте /menu.", data
    await settled(desk.emu)
    for who in (person, other):
        assert who.inbox.pending() == []
    for n in (ticket_id, other_id):
        assert (await desk.dono.store.get_ticket(n)).status == "waiting"
    assert other_thread != thread


async def test_a_reply_added_by_a_reload_is_found_at_once(signed_desk: Desk, kb_copy: Path) -> None:
    desk = signed_desk
    person, thread, _ = await ticket(desk)
    before = desk.dono.knowledge.kb.version
    added = """
  - id: sim_swap
    title: {ru: Замена SIM-карты, tg: Иваз кардани SIM-корт, en: SIM card replacement}
    text:
      ru: "{name}, новую SIM-карту выдают в офисе по паспорту."
      tg: "{name}, SIM-корти навро дар идора бо шиноснома медиҳанд."
      en: "{name}, a new SIM card is issued at an office on your passport."
"""
    path = kb_copy / "replies.yaml"
    path.write_text(path.read_text(encoding="utf-8") + added, encoding="utf-8")
    result = await desk.dono.reloader.wait(lambda r: r.version != before, timeout=5.0)
    assert result.ok and result.added == ("reply:sim_swap",)  # what the admins are told
    since = desk.emu.cursor()
    await desk.say(desk.agents[0], "/r замена sim", thread)
    listed = await bot_says(desk, thread, since, "Шаблоны по запросу")
    assert buttons(listed)[0]["text"] == "1. Замена SIM-карты"
    await desk.emu.press_button(
        desk.agents[0],
        listed["message_id"],
        buttons(listed)[0]["callback_data"],
        chat=desk.group.id,
    )
    sent = await person.next()
    assert sent["text"] == f"Dilnoza: {NAME}, SIM-корти навро дар идора бо шиноснома медиҳанд."
