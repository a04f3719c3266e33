"""A subscriber always knows where their request for a person stands: queued (once per ask,
"already in the queue" after), taken, cancelled by them; /start and /help mention it."""

from __future__ import annotations

from bot.desk.relay import SEPARATOR
from tests.e2e.conftest import Desk, Person, button_data, buttons, settled, wait_for
from tests.e2e.test_desk import handed_off
from tests.e2e.test_desk_workflows import notice


async def test_asking_again_says_already_in_the_queue(desk: Desk) -> None:
    person, _card = await handed_off(desk, "Again")
    for _ in range(2):
        again = await person.send("/operator")
        assert "уже в очереди" in again["text"] and "#1" in again["text"]
    await settled(desk.emu)
    texts = [m.get("text") or "" for m in desk.emu.bot_messages(person.user.id)]
    assert sum("Передал ваш вопрос оператору" in x for x in texts) == 1  # the queue notice once
    assert len(await desk.dono.store.queue()) == 1  # one ticket, one card
    cards = [
        m for m in desk.emu.bot_messages(desk.group.id) if "Обращение #" in (m.get("text") or "")
    ]
    assert len(cards) == 1


async def test_the_subscriber_cancels_with_the_button_or_cancel(desk: Desk) -> None:
    person, card = await handed_off(desk, "Changed")
    queued = [
        m for m in desk.emu.bot_messages(person.user.id) if "очеред" in (m.get("text") or "")
    ][-1]
    assert [b["text"] for b in buttons(queued)] == ["✖️ Отменить обращение"]
    await person.press(queued, button_data(queued, "Отменить"))
    assert "Обращение отменено" in (await person.next())["text"]
    await notice(desk, card["message_thread_id"], "Абонент отменил обращение #1")
    ticket = await desk.dono.store.get_ticket(1)
    assert (ticket.status, ticket.close_reason) == ("closed", "user")
    # the same by command, for a second request; and nothing left to cancel after
    await person.send("/operator")  # a new request: a cancelled one does not reopen
    again = await wait_for(
        lambda: desk.dono.store.open_ticket_of(person.user.id), lambda t: t is not None
    )
    assert "Обращение отменено" in (await person.send("/cancel"))["text"]
    assert (await desk.dono.store.get_ticket(again.id)).status == "closed"
    assert "Отменять нечего" in (await person.send("/cancel"))["text"]
    assert "*100#" in (await person.send("как проверить баланс"))["text"]  # the bot again


async def test_start_and_help_mention_the_open_request(desk: Desk) -> None:
    person, _ = await handed_off(desk, "Waits")
    assert "обращение #1 к оператору открыто" in (await person.send("/start"))["text"]
    await person.next()  # and the language choice a newcomer gets
    assert "/cancel" in (await person.send("/help"))["text"]


async def test_a_burst_right_after_asking_for_a_person_reaches_the_agents(desk: Desk) -> None:
    """A phone back online delivers "call an operator" and the messages after it at once: each
    is handled after the one before it, so they find the ticket it opened and go to the
    agents in order; the subscriber is told once that they are queued (before, every message
    raced the hand-off: none reached the topic and the notice came again and again)."""
    emu = desk.emu
    person = Person(emu, await emu.create_user("Burst", language_code="ru"))
    await person.send("как проверить баланс")
    await emu.send_text(person.user, "позовите оператора")
    burst = [f"у меня проблема номер {i}" for i in range(6)]
    for text in burst:
        await emu.send_text(person.user, text)
    card = await desk.card(1, timeout=15)
    topic = emu.inbox(desk.group.id, thread_id=card["message_thread_id"], since=0)
    relayed: list[str] = []
    while len(relayed) < len(burst):  # texts still waiting for the group go as one message
        copy = await topic.next(predicate=lambda m: "проблема" in (m.get("text") or ""), timeout=15)
        relayed += copy["text"].split(SEPARATOR)
    assert relayed == burst
    await settled(emu)
    told = [m.get("text") or "" for m in emu.bot_messages(person.user.id)]
    assert sum("Передал ваш вопрос оператору" in x for x in told) == 1
    assert not any("не нашёл" in x for x in told)  # nothing was taken for a question to the bot
    assert len(await desk.dono.store.queue()) == 1
