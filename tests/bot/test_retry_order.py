"""An update kept for a retry (the database away) keeps its place in its chat's line: the
chat's later messages are handled after it, not while it waits for its next attempt."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

from aiogram.types import Update

from bot.durable import DurablePoller
from bot.journal import Journal
from tests.mocked_bot import MockedBot


def _message(update_id: int, chat_id: int, text: str) -> Update:
    return Update.model_validate(
        {
            "update_id": update_id,
            "message": {
                "message_id": update_id,
                "date": 0,
                "chat": {"id": chat_id, "type": "private", "first_name": "A"},
                "from": {"id": chat_id, "is_bot": False, "first_name": "A"},
                "text": text,
            },
        }
    )


class _Dispatcher:
    """Handles by recording; the first try of the update ids in ``locked`` finds the
    database locked."""

    def __init__(self, locked: set[int]) -> None:
        self.locked = locked
        self.handled: list[int] = []

    def resolve_used_update_types(self) -> list[str]:
        return ["message"]

    async def feed_update(self, bot: Any, update: Update) -> None:
        if update.update_id in self.locked:
            self.locked.discard(update.update_id)
            raise sqlite3.OperationalError("database is locked")
        self.handled.append(update.update_id)


async def test_a_retried_update_is_not_overtaken_by_its_chats_next_message() -> None:
    journal = await Journal.open(":memory:")
    dp = _Dispatcher(locked={1})
    poller = DurablePoller(MockedBot(), dp, journal)  # type: ignore[arg-type]
    try:
        updates = [_message(1, 500, "first"), _message(2, 500, "second"), _message(3, 600, "x")]
        await journal.inbox_put([(u.update_id, u.model_dump_json()) for u in updates])
        for update in updates:
            poller._spawn(update)
        await asyncio.wait_for(asyncio.gather(*list(poller.tasks)), timeout=10)
        mine = [uid for uid in dp.handled if uid != 3]
        assert mine == [1, 2]  # the other chat's update went on meanwhile
        assert 3 in dp.handled and not poller.waiting
    finally:
        await poller.stop()
        await journal.close()


async def test_a_delivery_whose_update_id_no_journal_can_keep_is_skipped_not_a_db_failure() -> None:
    journal = await Journal.open(":memory:")
    poller = DurablePoller(MockedBot(), _Dispatcher(set()), journal)  # type: ignore[arg-type]
    try:
        for forged in (2**70, -(2**64), True, "7", None):
            raw = {"update_id": forged, "message": {"message_id": 1, "date": 0}}
            assert await poller.accept(raw) == 200
        assert poller.storage_error is None and not poller.tasks
        assert await journal.inbox_last_id() is None
    finally:
        await poller.stop()
        await journal.close()
