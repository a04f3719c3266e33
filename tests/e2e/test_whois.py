"""/whois end to end: the subscriber's previous tickets (subject, outcome, rating, date) and
their outage reports, in one message, everything they wrote shown as typed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.tglimits import MESSAGE_TEXT, utf16_len
from emulator import Emulator
from tests.e2e.conftest import (
    Desk,
    Person,
    button_data,
    make_config,
    roomy_group,
    roomy_private,
    start_dono,
)
from tests.e2e.test_outage import report


@pytest.fixture
async def desk(emu: Emulator, tmp_path: Path) -> AsyncIterator[Desk]:
    """The desk, with no reopening: each hand-off after a close is a new ticket; the
    subscriber's chat and the group roomier than Telegram's limits (two tickets and an outage
    report of one subscriber before /whois: a test of what /whois says, not of pacing)."""
    agents = [await emu.create_user("Dilnoza", language_code="ru", username="dilnoza")]
    group = await emu.create_forum_group("Operators", agents=agents)
    config = make_config(tmp_path)
    config.agents.group_id = group.id
    config.agents.reopen_window = 0
    roomy_private(emu, config)
    roomy_group(emu, config)
    bot = await start_dono(emu, config)
    try:
        yield Desk(emu, bot, group, agents)
    finally:
        await bot.stop()


async def ticket_closed(desk: Desk, person: Person, ask: str, score: str | None) -> None:
    """``ask`` hands off (the answer's operator button after a question, or words asking for
    one); the agent answers and closes; the subscriber rates it ``score`` stars, if any."""
    since = desk.emu.cursor()
    reply = await person.send(ask)
    if "Оператор" in str(reply.get("reply_markup")) and "оператор" not in ask:
        await person.press(reply, button_data(reply, "Оператор"))
        await person.next()  # in the queue
    card = await desk.card(since=since)
    await desk.say(desk.agents[0], "Здравствуйте", card["message_thread_id"])
    await person.next()
    await desk.say(desk.agents[0], "/close", card["message_thread_id"])
    csat = await person.next()
    if score is not None:
        await person.press(csat, button_data(csat, score))
        await desk.emu.wait_for_bot_edit(person.user.id, message_id=csat["message_id"], since=0)


async def test_whois_shows_previous_tickets_and_outage_reports(desk: Desk) -> None:
    emu = desk.emu
    person = Person(emu, await emu.create_user("Ma<b>lika</b> 🌸", language_code="ru"))
    # ticket 1: about the balance, handed off from the answer's button, rated 2 stars
    await ticket_closed(desk, person, "как проверить баланс", "2")
    # ticket 2: asked for a person in words full of HTML, not rated
    await ticket_closed(desk, person, "позовите оператора <script>x</script> & " + "я" * 90, None)
    await report(desk, person, "<b>нет</b> связи с утра " + "🙏" * 100, district="Худжанд")
    since = emu.cursor()
    await person.send("позовите оператора")
    card = await desk.card(3, since=since)
    thread = card["message_thread_id"]
    asked = emu.cursor()
    await desk.say(desk.agents[0], "/whois", thread)
    whois = await emu.wait_for_bot_message(
        desk.group.id,
        thread_id=thread,
        since=asked,
        predicate=lambda m: "👤" in (m.get("text") or ""),
    )
    text = whois["text"]  # as Telegram shows it: the HTML parsed
    assert utf16_len(text) <= MESSAGE_TEXT
    assert "Ma<b>lika</b> 🌸" in text
    past = text[text.index("Прошлые обращения:") :]
    lines = past.splitlines()[1:3]
    assert lines[0].startswith("• #2 · позовите оператора <script>x</script> & я")
    assert "…" in lines[0] and "закрыто, оператор Dilnoza" in lines[0] and "★" not in lines[0]
    title = desk.dono.knowledge.kb.topics["balance_check"].title.ru
    assert lines[1].startswith(f"• #1 · {title} · закрыто, оператор Dilnoza · ★★☆☆☆ · ")
    assert "#3" not in past.split("Сообщения о сбоях:")[0]  # the ticket asked about is not "past"
    outages = text[text.index("Сообщения о сбоях:") :].splitlines()
    assert outages[1].startswith("• Худжанд · ") and "<b>нет</b> связи с утра 🙏" in outages[1]
    assert outages[1].endswith("…") and len(outages) == 2
