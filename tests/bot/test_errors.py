"""bot.errors: each kind of failure is handled once, by its type, whichever handler raised it."""

from __future__ import annotations

import sqlite3

import pytest
from aiogram import Dispatcher, F
from aiogram.exceptions import TelegramForbiddenError
from aiogram.methods import AnswerCallbackQuery, SendMessage
from aiogram.types import CallbackQuery, Chat, Message, Update, User

from bot import errors
from bot.config import AgentsConfig
from bot.desk import Desk
from handoff.storage import Store
from handoff.tickets import TicketClosed
from tests.conftest import Clock
from tests.mocked_bot import MockedBot

GROUP, USER, AGENT = -1001, 501, 11


@pytest.fixture
def dp(bot: MockedBot, store: Store, clock: Clock) -> Dispatcher:
    dp = Dispatcher()
    dp["desk"] = Desk(bot, store, AgentsConfig(group_id=GROUP), clock=clock)
    errors.register(dp)

    @dp.message(F.text == "closed")
    async def closed(message: Message) -> None:
        raise TicketClosed(3)

    @dp.callback_query(F.data == "closed")
    async def closed_button(query: CallbackQuery) -> None:
        raise TicketClosed(3)

    @dp.message(F.text == "blocked")
    async def blocked(message: Message) -> None:
        method = SendMessage(chat_id=USER, text="hi")
        raise TelegramForbiddenError(method, "Forbidden: bot was blocked by the user")

    @dp.message(F.text == "locked")
    async def locked(message: Message) -> None:
        raise sqlite3.OperationalError("database is locked")

    @dp.message(F.text == "bug")
    async def bug(message: Message) -> None:
        raise ValueError("a bug")

    return dp


def message(text: str, chat_id: int, update_id: int = 1) -> Update:
    chat = Chat(id=chat_id, type="private" if chat_id > 0 else "supergroup")
    who = User(id=USER if chat_id > 0 else AGENT, is_bot=False, first_name="X")
    return Update(
        update_id=update_id,
        message=Message(message_id=7, date=0, chat=chat, from_user=who, text=text),
    )


async def test_a_desk_rule_is_the_agents_text(dp: Dispatcher, bot: MockedBot) -> None:
    await dp.feed_update(bot, message("closed", GROUP))
    (reply,) = bot.session.sent(GROUP)
    assert reply.text.startswith("Обращение #3 закрыто") and reply.reply_parameters
    button = Update(
        update_id=2,
        callback_query=CallbackQuery(
            id="q",
            from_user=User(id=AGENT, is_bot=False, first_name="X"),
            chat_instance="c",
            data="closed",
            message=Message(message_id=8, date=0, chat=Chat(id=GROUP, type="supergroup")),
        ),
    )
    await dp.feed_update(bot, button)
    (alert,) = [r for r in bot.session.requests if isinstance(r, AnswerCallbackQuery)]
    assert alert.show_alert and alert.text.startswith("Обращение #3 закрыто")


async def test_a_blocked_subscriber_runs_the_one_workflow(
    dp: Dispatcher, bot: MockedBot, store: Store
) -> None:
    await store.touch_subscriber(USER, USER, "S", None, "ru")
    await store.open_ticket(USER, "command")
    await dp.feed_update(bot, message("blocked", GROUP))
    assert (await store.subscriber(USER)).blocked
    ticket = await store.get_ticket(1)
    assert (ticket.status, ticket.close_reason) == ("closed", "blocked")


async def test_an_unavailable_database_goes_back_to_the_poller(dp: Dispatcher, bot) -> None:
    with pytest.raises(sqlite3.OperationalError):
        await dp.feed_update(bot, message("locked", USER))
    assert bot.session.requests == []  # no apology: the update will be handled again


async def test_a_bug_is_logged_and_the_subscriber_gets_an_apology(dp: Dispatcher, bot) -> None:
    await dp.feed_update(bot, message("bug", USER))  # handled: not raised, not retried
    (apology,) = bot.session.sent(USER)
    assert "Что-то пошло не так" in apology.text


async def test_a_desk_rule_on_the_subscribers_side_is_not_an_agents_text(
    dp: Dispatcher, bot: MockedBot
) -> None:
    await dp.feed_update(bot, message("closed", USER))
    (reply,) = bot.session.sent(USER)
    assert "Что-то пошло не так" in reply.text and "/reopen" not in reply.text
