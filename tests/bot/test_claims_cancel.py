"""A handling task cancelled (an instance stopping, a peer's test ``kill -9``) ends, even when
the code below turned the cancel into an error the poller would otherwise retry on."""

from __future__ import annotations

import asyncio
import sqlite3

from aiogram import Dispatcher
from aiogram.types import Message, Update

from bot.claims import Claims
from bot.journal import Journal
from tests.mocked_bot import MockedBot


def message_update(update_id: int) -> Update:
    return Update.model_validate(
        {
            "update_id": update_id,
            "message": {
                "message_id": update_id,
                "date": 1_700_000_000,
                "chat": {"id": 7, "type": "private", "first_name": "S"},
                "from": {"id": 7, "is_bot": False, "first_name": "S"},
                "text": "баланс",
            },
        }
    )


async def test_a_cancel_a_driver_turned_into_a_database_error_still_ends_the_task() -> None:
    started: list[int] = []
    dp = Dispatcher()

    @dp.message()
    async def slow(message: Message) -> None:
        started.append(message.message_id)
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:  # as asyncpg's rollback on a cut connection does
            raise sqlite3.OperationalError("database is locked") from None

    journal = await Journal.open(":memory:")
    try:
        claims = Claims(MockedBot(), dp, journal)
        await journal.inbox_put([(1, message_update(1).model_dump_json(), None)])
        claims._spawn(message_update(1))
        (task,) = claims.tasks
        while not started:
            await asyncio.sleep(0.01)
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=5)
        assert done == {task} and task.cancelled()
        assert started == [1]  # not handled again
        assert [u for u, _, _ in await journal.claim("dono", 10, set())] == [1]  # still pending
    finally:
        await journal.close()
