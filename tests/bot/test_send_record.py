"""The journal's record of an update's sends (``bot.durable.IdempotentSends``): made once,
answered from the record when the update is handled again, and a send whose answer never came
(a crash, a lost response) known as one that may have arrived."""

from __future__ import annotations

from typing import Any

import pytest
from aiogram.exceptions import TelegramNetworkError, TelegramServerError
from aiogram.methods import SendMessage, TelegramMethod
from aiogram.types import Chat, Message

from bot.durable import IdempotentSends
from bot.journal import Journal, not_journaled
from bot.sends import sends_of
from tests.mocked_bot import MockedBot

CHAT = 5


class Telegram:
    """``make_request`` for the middleware: answers, or raises what it is told to."""

    def __init__(self) -> None:
        self.made: list[str] = []
        self.fail: Exception | None = None

    async def __call__(self, bot: Any, method: TelegramMethod[Any]) -> Message:
        if self.fail is not None:
            exc, self.fail = self.fail, None
            raise exc
        self.made.append(method.text)
        return Message(message_id=len(self.made), date=0, chat=Chat(id=CHAT, type="private"))


async def handle(sends: IdempotentSends, telegram: Telegram, bot: MockedBot, update: int) -> Any:
    """One handling of ``update``: its first send to the chat."""
    with sends_of(update):
        return await sends(telegram, bot, SendMessage(chat_id=CHAT, text=f"answer {update}"))


async def test_a_send_whose_answer_never_came_is_known_when_the_update_comes_again(
    journal: Journal, bot: MockedBot, caplog: pytest.LogCaptureFixture
) -> None:
    sends, telegram = IdempotentSends(journal), Telegram()
    telegram.fail = TelegramNetworkError(SendMessage(chat_id=CHAT, text="x"), "disconnected")
    with pytest.raises(TelegramNetworkError):
        await handle(sends, telegram, bot, 7)
    assert await journal.sent_get(7, str(CHAT), 0) == ""  # intended, no answer recorded
    sent = await handle(sends, telegram, bot, 7)  # handled again: made again, and said so
    assert sent.message_id == 1 and sends.uncertain == 1
    assert "may arrive twice" in caplog.text
    again = await handle(sends, telegram, bot, 7)  # and now answered from the record
    assert again.message_id == 1 and telegram.made == ["answer 7"]


async def test_a_send_telegram_refused_is_not_taken_for_one_that_may_have_arrived(
    journal: Journal, bot: MockedBot
) -> None:
    sends, telegram = IdempotentSends(journal), Telegram()
    telegram.fail = TelegramServerError(SendMessage(chat_id=CHAT, text="x"), "Bad Gateway")
    with pytest.raises(TelegramServerError):
        await handle(sends, telegram, bot, 8)
    assert await journal.sent_get(8, str(CHAT), 0) is None
    await handle(sends, telegram, bot, 8)
    assert sends.uncertain == 0 and telegram.made == ["answer 8"]


async def test_a_send_kept_out_of_the_journal_takes_no_place_in_the_update_sequence(
    journal: Journal, bot: MockedBot
) -> None:
    sends, telegram = IdempotentSends(journal), Telegram()
    with not_journaled():  # e.g. "operators unavailable", recorded with the ticket instead
        await handle(sends, telegram, bot, 9)
    assert await journal.sent_get(9, str(CHAT), 0) is None
    await handle(sends, telegram, bot, 9)  # the update's first journaled send is still #0
    assert await journal.sent_get(9, str(CHAT), 0) not in (None, "")
