"""A 403 is the chat's it came from: the operators' group refusing the bot keeps the update (and
is watched for /healthz); only a subscriber's chat means "blocked". With a mocked bot."""

from __future__ import annotations

import pytest
from aiogram import Dispatcher, F
from aiogram.exceptions import TelegramForbiddenError
from aiogram.methods import CopyMessage, CreateForumTopic, SendMessage
from aiogram.types import Chat, Message, Update, User

from bot import errors
from bot.config import AgentsConfig
from bot.desk import Desk
from bot.desk.topics import OperatorsUnavailable
from handoff.storage import Store
from tests.conftest import Clock
from tests.mocked_bot import MockedBot

GROUP, USER = -1001, 501
KICKED = "Forbidden: bot was kicked from the supergroup chat"


@pytest.fixture
def desk(bot: MockedBot, store: Store, clock: Clock) -> Desk:
    return Desk(bot, store, AgentsConfig(group_id=GROUP), clock=clock)


def private(text: str) -> Update:
    return Update(
        update_id=1,
        message=Message(
            message_id=7,
            date=0,
            chat=Chat(id=USER, type="private"),
            from_user=User(id=USER, is_bot=False, first_name="F"),
            text=text,
        ),
    )


async def test_a_403_from_the_group_keeps_the_update_and_blocks_nobody(
    bot: MockedBot, store: Store, desk: Desk
) -> None:
    await store.touch_subscriber(USER, USER, "F", None, "ru")
    dp = Dispatcher()
    dp["desk"] = desk
    errors.register(dp)

    @dp.message(F.text == "relay")
    async def relay(message: Message) -> None:
        copy = CopyMessage(chat_id=GROUP, from_chat_id=USER, message_id=7)
        raise TelegramForbiddenError(copy, KICKED)

    with pytest.raises(OperatorsUnavailable) as kept:
        await dp.feed_update(bot, private("relay"))
    assert errors.keep_for_retry(kept.value, retries=10_000)  # for as long as it lasts
    sub = await store.subscriber(USER)
    assert sub is not None and not sub.blocked


async def test_a_hand_off_while_the_group_refuses_tells_the_subscriber_once(
    bot: MockedBot, store: Store, desk: Desk
) -> None:
    sub = await store.touch_subscriber(USER, USER, "F", None, "ru")
    bot.session.fail(CreateForumTopic, lambda m: TelegramForbiddenError(m, KICKED))
    for _ in range(2):  # the update handled again while the bot is still out
        with pytest.raises(OperatorsUnavailable):
            await desk.hand_off(sub, "ru", "command", "баланс", 7)
    told = [r for r in bot.session.requests if isinstance(r, SendMessage)]
    assert [r.chat_id for r in told] == [USER] and "недоступны" in told[0].text
    assert desk.operators.problem == KICKED  # what /healthz reports
    ticket = await store.open_ticket_of(USER)
    assert ticket is not None and ticket.status == "waiting" and ticket.thread_id is None
    assert ticket.topic_requested_at is None  # refused, not lost: no topic may be left over
