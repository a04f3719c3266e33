"""An update's sends, recorded in the journal and never made twice: each send made while
handling update U is the n-th send of U to its chat, and its response is stored under
(U, chat, n); handling U again (after a crash, or on another instance) finds the stored response
and returns it without calling Telegram. The one gap the Bot API leaves is a send that reached
Telegram just before the crash and whose response was not stored yet: that one may repeat."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import TelegramMethod
from pydantic import TypeAdapter

from bot.journal import Journal, JournalUnavailable, journaled
from bot.pacing import SEND_METHODS

log = logging.getLogger("dono.durable")


@dataclass
class _Handling:
    update_id: int
    counters: dict[str, int] = field(default_factory=dict)


_current: ContextVar[_Handling | None] = ContextVar("dono_update", default=None)


class IdempotentSends(BaseRequestMiddleware):
    """Sends made while handling an update are looked up before they are made again."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        # sends whose record could not be written (database unavailable): kept here so that
        # handling the update again still finds them, and written once the database is back
        self.unrecorded: dict[tuple[int, str, int], tuple[str, str]] = {}
        self.uncertain = 0  # sends made again after a crash cut off their first try

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[Any],
        bot: Bot,
        method: TelegramMethod[Any],
    ) -> Any:
        handling = _current.get()
        chat_id = getattr(method, "chat_id", None)
        name = type(method).__name__
        if handling is None or chat_id is None or name not in SEND_METHODS or not journaled():
            return await make_request(bot, method)
        chat = str(chat_id)
        n = handling.counters.get(chat, 0)
        handling.counters[chat] = n + 1
        adapter = TypeAdapter(method.__returning__)
        key = (handling.update_id, chat, n)
        kept = self.unrecorded.get(key)
        stored = kept[1] if kept else await self.journal.sent_get(*key)
        if stored:
            log.info(
                "update %s: send #%d to %s was made before; not repeated",
                handling.update_id,
                n,
                chat,
            )
            return adapter.validate_json(stored, context={"bot": bot})
        if stored == "":  # started, no answer recorded: the one gap the Bot API leaves
            self.uncertain += 1
            log.warning(
                "update %s: send #%d to %s was made before and its answer never came (a crash"
                " or a lost response); sending again, so it may arrive twice",
                handling.update_id,
                n,
                chat,
            )
        with contextlib.suppress(JournalUnavailable):  # a record that can't be written: send anyway
            await self.journal.sent_intended(*key, name)
        try:
            result = await make_request(bot, method)  # the chain passes results, not Responses
        except TelegramNetworkError:
            raise  # no answer at all: it may have arrived, the intent stays
        except Exception:
            with contextlib.suppress(JournalUnavailable):  # Telegram said no: nothing was sent
                await self.journal.sent_refused(*key)
            raise
        body = adapter.dump_json(result, exclude_none=True).decode()
        try:
            await self.journal.sent_put(handling.update_id, chat, n, name, body)
        except JournalUnavailable as exc:  # the message went out: remember it in memory instead
            self.unrecorded[key] = (name, body)
            log.error(
                "update %s: send #%d made but not recorded (%s); kept in memory",
                handling.update_id,
                n,
                exc,
            )
        return result

    async def flush(self, update_id: int | None = None) -> None:
        """Write the sends kept in memory (of one update, or all), now that the database may be
        back; what still can't be written stays in memory."""
        for key in [k for k in self.unrecorded if update_id is None or k[0] == update_id]:
            name, body = self.unrecorded[key]
            try:
                await self.journal.sent_put(*key, name, body)
            except JournalUnavailable:
                return
            del self.unrecorded[key]


def handled_update() -> int | None:
    """The id of the update being handled (inside ``sends_of``), for a write that must be
    made once however often the update is handled; None outside."""
    handling = _current.get()
    return handling.update_id if handling is not None else None


@contextlib.contextmanager
def sends_of(update_id: int) -> Iterator[None]:
    """Sends made inside are the sends of this update (counted, recorded, looked up)."""
    token = _current.set(_Handling(update_id))
    try:
        yield
    finally:
        _current.reset(token)
