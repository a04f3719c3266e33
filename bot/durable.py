"""Long polling that loses nothing: an update is stored before Telegram is told it arrived,
handled from the store, and every send made for it is remembered.

Telegram forgets an update once the next getUpdates asks for a higher offset. So the offset
moves only after the batch is in SQLite; a crash (even ``kill -9``) leaves the unhandled
updates in the inbox, and they are handled first on the next start. Handling one again must
not answer twice: each send made while handling update U is the n-th send of U to its chat,
and its response is stored under (U, chat, n). Handling U again finds the stored response and
returns it without calling Telegram. The one gap the Bot API leaves is a send that reached
Telegram just before the crash and whose response was not stored yet: that one may repeat.

An update whose handling raised is logged and marked done (not retried forever); one that was
started three times without finishing (it crashes the process) is skipped with a log line.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import AiogramError, ClientDecodeError, TelegramAPIError
from aiogram.methods import TelegramMethod
from aiogram.types import Update
from pydantic import TypeAdapter, ValidationError

from bot.pacing import SEND_METHODS
from handoff.store import Store

log = logging.getLogger("dono.durable")

MAX_ATTEMPTS = 3
MAX_BACKOFF = 10.0  # seconds between getUpdates retries while Telegram is down


@dataclass
class _Handling:
    update_id: int
    counters: dict[str, int] = field(default_factory=dict)


_current: ContextVar[_Handling | None] = ContextVar("dono_update", default=None)


class IdempotentSends(BaseRequestMiddleware):
    """Sends made while handling an update are looked up before they are made again."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[Any],
        bot: Bot,
        method: TelegramMethod[Any],
    ) -> Any:
        handling = _current.get()
        chat_id = getattr(method, "chat_id", None)
        name = type(method).__name__
        if handling is None or chat_id is None or name not in SEND_METHODS:
            return await make_request(bot, method)
        chat = str(chat_id)
        n = handling.counters.get(chat, 0)
        handling.counters[chat] = n + 1
        adapter = TypeAdapter(method.__returning__)
        stored = await self.store.sent_get(handling.update_id, chat, n)
        if stored is not None:
            log.info(
                "update %s: send #%d to %s was made before; not repeated",
                handling.update_id,
                n,
                chat,
            )
            return adapter.validate_json(stored, context={"bot": bot})
        result = await make_request(bot, method)  # the chain passes results, not Responses
        try:
            body = adapter.dump_json(result, exclude_none=True).decode()
            await self.store.sent_put(handling.update_id, chat, n, name, body)
        except sqlite3.Error as exc:  # the message went out; only the memory of it is lost
            log.error("update %s: could not record send #%d: %s", handling.update_id, n, exc)
        return result


class DurablePoller:
    """getUpdates → store → acknowledge → handle, with backoff on every failure."""

    def __init__(
        self,
        bot: Bot,
        dp: Dispatcher,
        store: Store,
        polling_timeout: int = 10,
        concurrency: int = 256,
    ) -> None:
        self.bot = bot
        self.dp = dp
        self.store = store
        self.polling_timeout = polling_timeout
        self.slots = asyncio.Semaphore(concurrency)
        self.tasks: set[asyncio.Task] = set()
        self._stop = asyncio.Event()

    async def run(self) -> None:
        allowed = self.dp.resolve_used_update_types()
        await self._handle_leftovers()
        last = await self.store.inbox_last_id()
        offset = last + 1 if last is not None else None
        delay = 0.5
        while not self._stop.is_set():
            try:
                updates, bad = await self._fetch(offset, allowed)
            except (TimeoutError, TelegramAPIError, AiogramError, OSError) as exc:
                log.warning("getUpdates failed (%s); again in %.1fs", exc, delay)
                await self._sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF)
                continue
            if not updates and not bad:
                delay = 0.5
                continue
            try:
                await self.store.inbox_put(
                    [(u.update_id, u.model_dump_json(exclude_none=True)) for u in updates]
                    + [(uid, body) for uid, body in bad]
                )
                for uid, _ in bad:
                    await self.store.inbox_done(uid, "malformed")
            except sqlite3.Error as exc:
                # not acknowledged: Telegram keeps them and sends them again
                log.error(
                    "cannot store %d updates (%s); retrying in %.1fs", len(updates), exc, delay
                )
                await self._sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF)
                continue
            delay = 0.5
            offset = max([u.update_id for u in updates] + [uid for uid, _ in bad]) + 1
            for update in updates:
                self._spawn(update, attempts=0)

    async def _fetch(
        self, offset: int | None, allowed: list[str]
    ) -> tuple[list[Update], list[tuple[int, str]]]:
        """The next updates, and the malformed ones (id, raw JSON) to log and step over."""
        try:
            updates = await self.bot.get_updates(
                offset=offset,
                timeout=self.polling_timeout,
                allowed_updates=allowed,
                request_timeout=self.polling_timeout + 10,
            )
            return list(updates), []
        except ClientDecodeError as exc:
            raw = exc.data.get("result") if isinstance(exc.data, dict) else None
            if not isinstance(raw, list):
                raise
        # one bad update must not block the queue: read them one by one
        good: list[Update] = []
        bad: list[tuple[int, str]] = []
        for item in raw:
            uid = item.get("update_id") if isinstance(item, dict) else None
            if not isinstance(uid, int):
                continue
            try:
                good.append(Update.model_validate(item, context={"bot": self.bot}))
            except ValidationError as exc:
                log.error("malformed update %s skipped: %s", uid, str(exc).splitlines()[0])
                bad.append((uid, json.dumps(item, ensure_ascii=False)[:100_000]))
        return good, bad

    async def _handle_leftovers(self) -> None:
        pending = await self.store.inbox_pending()
        if pending:
            log.info("handling %d updates left over from the last run", len(pending))
        for update_id, body, attempts in pending:
            if attempts >= MAX_ATTEMPTS:
                log.error(
                    "update %s was started %d times and never finished; skipped",
                    update_id,
                    attempts,
                )
                await self.store.inbox_done(update_id, "skipped after repeated crashes")
                continue
            try:
                update = Update.model_validate_json(body, context={"bot": self.bot})
            except ValueError as exc:
                log.error("stored update %s is unreadable (%s); skipped", update_id, exc)
                await self.store.inbox_done(update_id, "unreadable")
                continue
            self._spawn(update, attempts)
        await asyncio.gather(*list(self.tasks), return_exceptions=True)

    def _spawn(self, update: Update, attempts: int) -> None:
        task = asyncio.create_task(self._handle(update))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _handle(self, update: Update) -> None:
        async with self.slots:
            token = _current.set(_Handling(update.update_id))
            error = None
            try:
                await self.store.inbox_attempt(update.update_id)
                await self.dp.feed_update(self.bot, update)
            except Exception as exc:  # a poison update: logged and skipped, not retried forever
                error = repr(exc)
                log.exception("update %s failed; skipped", update.update_id)
            finally:
                _current.reset(token)
            with contextlib.suppress(sqlite3.Error):
                await self.store.inbox_done(update.update_id, error)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)

    async def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=timeout)
