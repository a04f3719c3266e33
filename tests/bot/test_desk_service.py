"""The desk service, one workflow at a time, with a mocked bot: the store's state and every
Bot API request each workflow makes — the same whichever entry point calls it."""

from __future__ import annotations

import asyncio

import pytest
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.methods import (
    CloseForumTopic,
    CopyMessage,
    CreateForumTopic,
    EditMessageText,
    ReopenForumTopic,
    SendMediaGroup,
    SendMessage,
)
from aiogram.types import Chat, Message, PhotoSize, User

from bot.config import AgentsConfig
from bot.desk import Agent, Desk
from handoff.storage import Store
from handoff.subscribers import Subscriber
from handoff.tickets import (
    AlreadyClaimed,
    NotClaimed,
    NotClosed,
    NotSupervisor,
    NotYourTicket,
    TakeoverOwn,
    Ticket,
    TicketClosed,
)
from tests.conftest import Clock
from tests.mocked_bot import MockedBot

GROUP = -1001
USER = 501
DILNOZA = Agent(11, "Dilnoza")
RUSTAM = Agent(12, "Rustam")
BOSS = Agent(13, "Boss", supervisor=True)


@pytest.fixture
def desk(bot: MockedBot, store: Store, clock: Clock) -> Desk:
    config = AgentsConfig(group_id=GROUP, supervisors=[BOSS.id], reopen_window=600)
    return Desk(bot, store, config, clock=clock)


async def subscriber(store: Store, user_id: int = USER) -> Subscriber:
    return await store.touch_subscriber(user_id, user_id, "Farrukh", "farrukh", "ru")


async def handed_off(desk: Desk, store: Store, bot: MockedBot) -> Ticket:
    await desk.hand_off(await subscriber(store), "ru", "command", "баланс")
    bot.session.clear()
    ticket = await store.open_ticket_of(USER)
    assert ticket is not None
    return ticket


def group_message(text: str, user: Agent = DILNOZA, message_id: int = 900, **kw) -> Message:
    return Message(
        message_id=message_id,
        date=0,
        chat=Chat(id=GROUP, type="supergroup", is_forum=True),
        from_user=User(id=user.id, is_bot=False, first_name=user.name),
        text=text,
        message_thread_id=kw.pop("thread", None),
        **kw,
    )


def private_message(text: str | None = None, message_id: int = 50, **kw) -> Message:
    return Message(
        message_id=message_id,
        date=0,
        chat=Chat(id=USER, type="private"),
        from_user=User(id=USER, is_bot=False, first_name="Farrukh"),
        text=text,
        **kw,
    )


def texts(requests) -> list[str]:
    return [r.text for r in requests if isinstance(r, (SendMessage, EditMessageText))]


# -- hand off ----------------------------------------------------------------------------------


async def test_hand_off_opens_a_topic_with_a_card_once(desk: Desk, store: Store, bot) -> None:
    sub = await subscriber(store)
    text = await desk.hand_off(sub, "ru", "command", "баланс")
    assert "1" in text  # the place in the queue
    assert bot.session.names() == ["CreateForumTopic", "SendMessage", "SendMessage"]
    create, card, told = bot.session.requests
    assert isinstance(create, CreateForumTopic) and create.name.startswith("#1 Farrukh · ru")
    assert "Обращение #1" in card.text and card.message_thread_id == 100
    assert told.chat_id == USER and told.text == text  # the desk tells the subscriber
    ticket = await store.get_ticket(1)
    assert (ticket.status, ticket.thread_id, ticket.card_message_id) == ("waiting", 100, 101)
    assert ticket.told_at is not None
    bot.session.clear()
    await desk.hand_off(sub, "ru", "button", "")  # already open: nothing new in the group
    assert [r.chat_id for r in bot.session.requests] == [USER]  # told their place again


# -- claim ------------------------------------------------------------------------------------


async def test_claim_and_answering_a_waiting_ticket_are_the_same_workflow(
    desk: Desk, store: Store, bot: MockedBot
) -> None:
    ticket = await handed_off(desk, store, bot)
    claimed = await desk.claim(ticket, DILNOZA)
    by_button = (bot.session.names(), texts(bot.session.requests))
    # the subscriber is told first (the group's budget may hold the card), then the topic
    assert by_button[0] == ["SendMessage", "EditMessageText", "SendMessage"]
    assert bot.session.requests[0].chat_id == USER and "взял ваше обращение" in by_button[1][0]
    assert (
        "у оператора Dilnoza" in by_button[1][1]
        and by_button[1][2] == "Обращение #1 — у оператора Dilnoza."
    )
    assert (claimed.status, claimed.agent_id) == ("claimed", DILNOZA.id)

    # a second ticket, claimed by simply answering it: the same requests, then the relay
    await store.close_ticket(1, DILNOZA.id)
    await store.touch_subscriber(USER + 1, USER + 1, "Second", None, "ru")
    await desk.hand_off(await store.subscriber(USER + 1), "ru", "command", "")
    bot.session.clear()
    second = await store.open_ticket_of(USER + 1)
    await desk.relay_out(group_message("Здравствуйте!", thread=second.thread_id), second, DILNOZA)
    names = bot.session.names()
    assert names == ["EditMessageText", "SendMessage", "SendMessage"]
    said = texts(bot.session.requests)
    assert said[1] == "Обращение #2 — у оператора Dilnoza." and said[2] == "Здравствуйте!"
    assert (await store.get_ticket(second.id)).agent_id == DILNOZA.id


async def test_claim_refusals(desk: Desk, store: Store, bot: MockedBot) -> None:
    ticket = await handed_off(desk, store, bot)
    await desk.claim(ticket, DILNOZA)
    with pytest.raises(AlreadyClaimed):
        await desk.claim(ticket, RUSTAM)
    with pytest.raises(NotYourTicket):
        await desk.answering(ticket, RUSTAM)
    await desk.close(ticket, DILNOZA)
    bot.session.clear()
    with pytest.raises(TicketClosed):
        await desk.claim(ticket, RUSTAM)
    with pytest.raises(TicketClosed):
        await desk.answering(ticket, DILNOZA)
    assert bot.session.requests == []


# -- release, transfer, take over --------------------------------------------------------------


async def test_release_puts_it_back_in_the_queue(desk: Desk, store: Store, bot) -> None:
    ticket = await handed_off(desk, store, bot)
    with pytest.raises(NotClaimed):
        await desk.release(ticket, DILNOZA)
    await desk.claim(ticket, DILNOZA)
    with pytest.raises(NotYourTicket):
        await desk.release(ticket, RUSTAM)
    bot.session.clear()
    released = await desk.release(ticket, DILNOZA)
    assert (released.status, released.agent_id) == ("waiting", None)
    assert bot.session.names() == ["EditMessageText", "SendMessage"]
    assert texts(bot.session.requests)[1] == "Обращение #1 возвращено в очередь."


async def test_transfer_to_another_agent(desk: Desk, store: Store, bot: MockedBot) -> None:
    ticket = await handed_off(desk, store, bot)
    await desk.claim(ticket, DILNOZA)
    bot.session.clear()
    moved = await desk.transfer(ticket, DILNOZA, RUSTAM)
    assert (moved.agent_id, moved.agent_name) == (RUSTAM.id, "Rustam")
    assert texts(bot.session.requests)[1] == "Обращение #1 передано: Rustam."


async def test_a_supervisor_takes_over(desk: Desk, store: Store, bot: MockedBot) -> None:
    ticket = await handed_off(desk, store, bot)
    await desk.claim(ticket, DILNOZA)
    with pytest.raises(NotSupervisor):
        await desk.take_over(ticket, RUSTAM)
    with pytest.raises(TakeoverOwn):
        await desk.take_over(ticket, DILNOZA)
    bot.session.clear()
    taken = await desk.take_over(ticket, BOSS)
    assert (taken.status, taken.agent_id) == ("claimed", BOSS.id)
    assert (
        texts(bot.session.requests)[1]
        == "Обращение #1 теперь у оператора Boss (решение супервизора)."
    )
    events = await store.events(ticket.id)
    assert (events[-1].name, events[-1].agent_id, events[-1].detail) == (
        "taken_over",
        BOSS.id,
        str(DILNOZA.id),
    )
    # a waiting ticket is simply claimed, by anyone
    await desk.release(taken, BOSS)
    assert (await desk.take_over(taken, RUSTAM)).agent_id == RUSTAM.id


# -- close, ban, the subscriber blocking the bot: one Telegram side -----------------------------


async def test_close_by_an_agent(desk: Desk, store: Store, bot: MockedBot) -> None:
    ticket = await handed_off(desk, store, bot)
    await desk.claim(ticket, DILNOZA)
    bot.session.clear()
    with pytest.raises(NotYourTicket):
        await desk.close(ticket, RUSTAM)
    closed = await desk.close(ticket, DILNOZA)
    assert (closed.status, closed.close_reason) == ("closed", "agent")
    names = bot.session.names()
    assert names == ["SendMessage", "EditMessageText", "SendMessage", "CloseForumTopic"]
    csat, card, notice, _ = bot.session.requests
    assert csat.chat_id == USER and len(csat.reply_markup.inline_keyboard[0]) == 5
    assert "✅ закрыто" in card.text and card.reply_markup is None
    assert notice.text == "Обращение #1 закрыто (Dilnoza)."
    with pytest.raises(TicketClosed):
        await desk.close(closed, DILNOZA)


async def test_a_supervisor_closes_anyones_ticket(desk: Desk, store: Store, bot) -> None:
    ticket = await handed_off(desk, store, bot)
    await desk.claim(ticket, DILNOZA)
    closed = await desk.close(ticket, BOSS)
    assert (closed.status, closed.agent_name) == ("closed", "Dilnoza")


async def test_ban_closes_the_way_every_close_does(desk: Desk, store: Store, bot) -> None:
    ticket = await handed_off(desk, store, bot)
    await desk.ban(ticket, DILNOZA, "spam")
    assert bot.session.names() == ["EditMessageText", "SendMessage", "CloseForumTopic"]
    assert "Абонент 501 заблокирован (Dilnoza)" in texts(bot.session.requests)[1]
    assert bot.session.sent(USER) == []  # no rating asked of a banned subscriber
    assert (await store.get_ticket(1)).close_reason == "banned"
    assert await store.is_banned(USER)
    bot.session.clear()
    await desk.ban(ticket, DILNOZA, "again")  # nothing open: only the word
    assert bot.session.names() == ["SendMessage"]
    assert await desk.unban(USER) and not await store.is_banned(USER)


async def test_subscriber_blocked(desk: Desk, store: Store, bot: MockedBot) -> None:
    await handed_off(desk, store, bot)
    await desk.subscriber_blocked(USER)
    ticket = await store.get_ticket(1)
    assert (ticket.status, ticket.close_reason) == ("closed", "blocked")
    assert (await store.subscriber(USER)).blocked
    assert bot.session.names() == ["EditMessageText", "SendMessage", "CloseForumTopic"]
    assert "⛔" in texts(bot.session.requests)[1]
    bot.session.clear()
    await desk.subscriber_blocked(USER)  # nothing open: only recorded
    assert bot.session.requests == []


async def test_a_relay_to_a_blocked_subscriber_raises_for_the_one_handler(
    desk: Desk, store: Store, bot: MockedBot
) -> None:
    ticket = await handed_off(desk, store, bot)
    await desk.claim(ticket, DILNOZA)
    bot.session.forbid(USER)
    with pytest.raises(TelegramForbiddenError):
        await desk.relay_out(group_message("Вы тут?", thread=ticket.thread_id), ticket, DILNOZA)
    with pytest.raises(TelegramForbiddenError):
        await desk.send_kb(ticket, DILNOZA, lambda lang: "answer", group_message("/kb x"))


async def test_close_when_the_subscriber_has_blocked_the_bot(desk: Desk, store, bot) -> None:
    ticket = await handed_off(desk, store, bot)
    bot.session.forbid(USER)
    closed = await desk.close(ticket, DILNOZA)
    assert closed.status == "closed" and (await store.subscriber(USER)).blocked
    assert bot.session.names()[-1] == "CloseForumTopic"


# -- reopen -------------------------------------------------------------------------------------


async def test_reopen_by_an_agent_or_the_subscriber_is_one_workflow(
    desk: Desk, store: Store, bot: MockedBot, clock: Clock
) -> None:
    ticket = await handed_off(desk, store, bot)
    with pytest.raises(NotClosed):
        await desk.reopen(ticket, DILNOZA)
    shown = []
    for who in (DILNOZA, None):
        await desk.close(ticket, DILNOZA)
        bot.session.clear()
        clock.advance(10)
        reopened = await desk.reopen(ticket, who)
        shown.append(bot.session.names())
        assert reopened.status == "waiting" and reopened.thread_id == ticket.thread_id
        card, said = bot.session.sent(GROUP)
        assert "ждёт оператора" in card.text and said.text == "Обращение #1 снова открыто."
    assert shown[0] == shown[1] == ["ReopenForumTopic", "SendMessage", "SendMessage"]
    # /operator soon after a close reopens the same way
    await desk.close(ticket, DILNOZA)
    bot.session.clear()
    await desk.hand_off(await store.subscriber(USER), "ru", "command", "")
    names = ["ReopenForumTopic", "SendMessage", "SendMessage", "SendMessage"]
    assert bot.session.names() == names  # the same, and the subscriber told their place
    assert (await store.get_ticket(1)).reopened == 3


# -- answers and relays -------------------------------------------------------------------------


async def test_send_kb_claims_and_records(desk: Desk, store: Store, bot: MockedBot) -> None:
    ticket = await handed_off(desk, store, bot)
    lang = await desk.send_kb(ticket, DILNOZA, lambda lang: f"ответ ({lang})", group_message("/kb"))
    assert lang == "ru"
    assert bot.session.names() == ["EditMessageText", "SendMessage", "SendMessage"]
    assert bot.session.sent(USER)[0].text == "ответ (ru)"
    (message,) = await store.messages(ticket.id)
    assert (message.direction, message.kind, message.group_message_id) == ("out", "kb", 900)
    assert (await store.get_ticket(1)).first_response_at is not None


async def test_relay_in_copies_into_the_topic(desk: Desk, store: Store, bot: MockedBot) -> None:
    ticket = await handed_off(desk, store, bot)
    await desk.relay_in(private_message("алло"), ticket)
    (copy,) = bot.session.requests
    assert isinstance(copy, CopyMessage)
    assert (copy.chat_id, copy.from_chat_id, copy.message_thread_id) == (GROUP, USER, 100)
    (message,) = await store.messages(ticket.id)
    assert (message.direction, message.user_chat_message_id) == ("in", 50)


async def test_relay_in_to_a_deleted_topic_opens_a_new_one(desk: Desk, store, bot) -> None:
    ticket = await handed_off(desk, store, bot)
    bot.session.fail(
        CopyMessage,
        lambda m: TelegramBadRequest(m, "Bad Request: message thread not found"),
        lambda m: m.message_thread_id == 100,
    )
    await desk.relay_in(private_message("алло"), ticket)
    assert bot.session.names() == [
        "CopyMessage",
        "CreateForumTopic",
        "SendMessage",
        "SendMessage",
        "CopyMessage",
    ]
    assert (await store.get_ticket(1)).thread_id != 100


async def test_relay_out_of_an_album(desk: Desk, store: Store, bot: MockedBot) -> None:
    ticket = await handed_off(desk, store, bot)
    await desk.claim(ticket, DILNOZA)
    bot.session.clear()
    desk.ALBUM_WAIT = 0.01
    photo = [PhotoSize(file_id="p", file_unique_id="u", width=1, height=1)]
    parts = [
        group_message(
            None, message_id=900 + i, thread=ticket.thread_id, photo=photo, media_group_id="g"
        )
        for i in range(2)
    ]
    await asyncio.gather(*(desk.relay_out(p, ticket, DILNOZA) for p in parts))
    (album,) = bot.session.requests
    assert isinstance(album, SendMediaGroup) and len(album.media) == 2
    assert [m.direction for m in await store.messages(ticket.id)] == ["out", "out"]


async def test_relay_out_signed(desk: Desk, store: Store, bot: MockedBot) -> None:
    desk.config.signature = "first_name"
    ticket = await handed_off(desk, store, bot)
    await desk.claim(ticket, DILNOZA)
    bot.session.clear()
    await desk.relay_out(group_message("<b>hi</b>", thread=ticket.thread_id), ticket, DILNOZA)
    assert bot.session.sent(USER)[0].text == "<b>Dilnoza:</b> &lt;b&gt;hi&lt;/b&gt;"


async def test_closing_and_reopening_the_topic_are_the_only_topic_calls(
    desk: Desk, store: Store, bot: MockedBot
) -> None:
    ticket = await handed_off(desk, store, bot)
    await desk.close(ticket, DILNOZA)
    await desk.reopen(ticket, DILNOZA)
    topic_calls = [
        type(r).__name__
        for r in bot.session.requests
        if isinstance(r, (CloseForumTopic, ReopenForumTopic, CreateForumTopic))
    ]
    assert topic_calls == ["CloseForumTopic", "ReopenForumTopic"]
