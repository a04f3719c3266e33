"""Long polling (and webhook deliveries) that lose nothing: an update is stored before
Telegram is told it arrived, handled from the store, and every send made for it is remembered.

Telegram forgets an update once the next getUpdates asks for a higher offset. So the offset
moves only after the batch is in SQLite; a crash (even ``kill -9``) leaves the unhandled
updates in the inbox, and they are handled first on the next start. Handling one again must
not answer twice: each send made while handling update U is the n-th send of U to its chat,
and its response is stored under (U, chat, n). Handling U again finds the stored response and
returns it without calling Telegram. The one gap the Bot API leaves is a send that reached
Telegram just before the crash and whose response was not stored yet: that one may repeat.

With a webhook, Telegram's delivery is answered 200 only once the update is stored (503 while
the journal can't take it, so Telegram delivers it again later), and a delivery seen before is
not handled twice.

What happens to an update whose handling raised is decided in ``bot.errors`` (its docstring
is the policy): the error handlers there answer desk errors and blocked subscribers, and hand
back only the errors that are not the update's fault — the database locked or full, Telegram
down past the send retries. This module then does what that policy says: such an update is kept
in memory, unacknowledged or not marked done, and handled again with a growing pause, each
attempt logged (its sends made so far are recorded, so handling it again only makes the rest);
any other error marks it done. One that was started three times without finishing (it crashes
the process) is skipped with a log line. A batch the journal cannot store stays in memory,
unacknowledged (Telegram keeps it too). The bot neither crashes nor spins, and /healthz says
"degraded" until the database answers again.
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
from aiogram.exceptions import (
    AiogramError,
    ClientDecodeError,
    TelegramAPIError,
    TelegramNetworkError,
)
from aiogram.methods import TelegramMethod
from aiogram.types import Update
from pydantic import TypeAdapter, ValidationError

from bot.errors import (
    keep_for_retry,
    operators_unavailable,
    storage_unavailable,
)
from bot.journal import Journal, journaled
from bot.pacing import SEND_METHODS

log = logging.getLogger("dono.durable")

MAX_ATTEMPTS = 3
MAX_BACKOFF = 10.0  # seconds between getUpdates retries while Telegram is down
MAX_STORAGE_BACKOFF = 30.0  # seconds between retries while the database is unavailable
PRUNE_EVERY = 600.0  # seconds between clean-ups of the journal
JOURNAL_KEEP = 3600.0  # seconds a handled update (and what was sent for it) is remembered


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
        with contextlib.suppress(sqlite3.Error):  # a record that can't be written: send anyway
            await self.journal.sent_intended(*key, name)
        try:
            result = await make_request(bot, method)  # the chain passes results, not Responses
        except TelegramNetworkError:
            raise  # no answer at all: it may have arrived, the intent stays
        except Exception:
            with contextlib.suppress(sqlite3.Error):  # Telegram said no: nothing was sent
                await self.journal.sent_refused(*key)
            raise
        body = adapter.dump_json(result, exclude_none=True).decode()
        try:
            await self.journal.sent_put(handling.update_id, chat, n, name, body)
        except sqlite3.Error as exc:  # the message went out: remember it in memory instead
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
            except sqlite3.Error:
                return
            del self.unrecorded[key]


def chat_order_key(update: Update) -> int | None:
    """The private chat whose messages (and edits) this update must wait its turn in; None
    for everything else. An album's parts don't wait: each waits for its album's relay."""
    message = update.message or update.edited_message
    if message is None or message.chat.type != "private" or message.media_group_id:
        return None
    return message.chat.id


class DurablePoller:
    """getUpdates → store → acknowledge → handle, with backoff on every failure."""

    def __init__(
        self,
        bot: Bot,
        dp: Dispatcher,
        journal: Journal,
        polling_timeout: int = 10,
        concurrency: int = 256,
        sends: IdempotentSends | None = None,
        max_pending: int = 1000,
    ) -> None:
        self.bot = bot
        self.dp = dp
        self.journal = journal
        self.sends = sends
        self.polling_timeout = polling_timeout
        self.slots = asyncio.Semaphore(concurrency)
        self.tasks: set[asyncio.Task] = set()
        # Backpressure: with this many updates in hand (handled or waiting for a slot, which
        # in a burst means waiting for the flood limits), stop fetching; Telegram keeps the
        # rest. Memory stays bounded however long the queue.
        self.max_pending = max_pending
        self._room = asyncio.Event()
        self._room.set()
        self._stop = asyncio.Event()
        self.waiting: dict[int, Update] = {}  # updates kept in memory for the database
        self._tails: dict[int, asyncio.Task] = {}  # a private chat's last message, in hand
        self._inbox_error: str | None = None  # why the last batch could not be stored
        self._handling_error: str | None = None  # why updates in ``waiting`` wait

    @property
    def storage_error(self) -> str | None:
        """What is wrong with the database, while something waits for it; else None."""
        return self._inbox_error or self._handling_error

    async def run(self) -> None:
        allowed = self.dp.resolve_used_update_types()
        recovered, last = await self._recover()
        if not recovered:
            return
        offset = last + 1 if last is not None else None
        delay = 0.5
        pruned = asyncio.get_running_loop().time()
        while not self._stop.is_set():
            if asyncio.get_running_loop().time() - pruned > PRUNE_EVERY:
                pruned = asyncio.get_running_loop().time()
                await self._prune()
            await self._wait_for_room()
            try:
                room = min(100, self.max_pending - len(self.tasks))
                updates, bad = await self._fetch(offset, allowed, max(1, room))
            except (TimeoutError, TelegramAPIError, AiogramError, OSError) as exc:
                log.warning("getUpdates failed (%s); again in %.1fs", exc, delay)
                await self._sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF)
                continue
            delay = 0.5
            if not updates and not bad:
                continue
            if not await self._store(updates, bad):
                return  # stopped while the database was away; Telegram still has them
            offset = max([u.update_id for u in updates] + [uid for uid, _ in bad]) + 1
            for update in updates:
                self._spawn(update)

    async def accept(self, raw: Any) -> int:
        """A webhook delivery: stored, then answered 200 and handled; the HTTP status to reply.

        Telegram delivers again what was not answered 2xx, so a delivery the journal can't take
        gets 503 (and one when too much is in hand, 429): the update waits at Telegram. A
        malformed one is logged and taken (200), since a new delivery would be the same."""
        uid = raw.get("update_id") if isinstance(raw, dict) else None
        if not isinstance(uid, int):
            log.error("webhook delivery without an update_id skipped: %.200r", raw)
            return 200
        body = json.dumps(raw, ensure_ascii=False)
        try:
            update = Update.model_validate(raw, context={"bot": self.bot})
        except ValidationError as exc:
            log.error("malformed update %s skipped: %s", uid, str(exc).splitlines()[0])
            with contextlib.suppress(sqlite3.Error):
                await self.journal.inbox_put([(uid, body[:100_000])])
                await self.journal.inbox_done(uid, "malformed")
            return 200
        if len(self.tasks) >= self.max_pending:
            return 429
        try:
            new = await self.journal.inbox_add(uid, update.model_dump_json(exclude_none=True))
        except sqlite3.Error as exc:
            self._inbox_error = str(exc)
            log.error("cannot store update %s (%s); Telegram will deliver it again", uid, exc)
            return 503
        if self._inbox_error is not None:
            log.warning("the database is back")
            self._inbox_error = None
        if new:
            self._spawn(update)
        return 200

    async def serve_webhook(self) -> None:
        """Webhook mode's background work: first what was stored but not handled before a
        crash, then the journal's clean-up every few minutes, until stopped."""
        await self._recover()
        while not self._stop.is_set():
            await self._sleep(PRUNE_EVERY)
            if not self._stop.is_set():
                await self._prune()

    async def _recover(self) -> tuple[bool, int | None]:
        """Handle what was stored but not handled before a crash; (False, None) if stopped
        first, else (True, the newest stored update id). A journal that can't be read is
        waited for, not a crash (loop)."""
        delay = 0.5
        while not self._stop.is_set():
            try:
                await self._handle_leftovers()
                last = await self.journal.inbox_last_id()
            except sqlite3.Error as exc:
                self._inbox_error = str(exc)
                log.error("cannot read the update journal (%s); retrying in %.1fs", exc, delay)
                await self._sleep(delay)
                delay = min(delay * 2, MAX_STORAGE_BACKOFF)
                continue
            self._inbox_error = None
            return True, last
        return False, None

    async def _store(self, updates: list[Update], bad: list[tuple[int, str]]) -> bool:
        """Put a batch in the journal, holding it in memory (unacknowledged) until that works."""
        rows = [(u.update_id, u.model_dump_json(exclude_none=True)) for u in updates] + bad
        delay = 0.5
        while True:
            try:
                await self.journal.inbox_put(rows)
                for uid, _ in bad:
                    await self.journal.inbox_done(uid, "malformed")
            except sqlite3.Error as exc:
                self._inbox_error = str(exc)
                log.error(
                    "cannot store %d updates (%s); kept in memory, not acknowledged;"
                    " retrying in %.1fs",
                    len(rows),
                    exc,
                    delay,
                )
                await self._sleep(delay)
                if self._stop.is_set():
                    return False
                delay = min(delay * 2, MAX_STORAGE_BACKOFF)
                continue
            if self._inbox_error is not None:
                log.warning("the database is back; %d updates stored", len(rows))
                self._inbox_error = None
                if self.sends is not None:
                    await self.sends.flush()
            return True

    async def _fetch(
        self, offset: int | None, allowed: list[str], limit: int = 100
    ) -> tuple[list[Update], list[tuple[int, str]]]:
        """The next updates, and the malformed ones (id, raw JSON) to log and step over."""
        try:
            updates = await self.bot.get_updates(
                offset=offset,
                limit=limit,
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
        after = None
        while not self._stop.is_set():
            pending = await self.journal.inbox_pending(limit=500, after=after)
            if not pending:
                break
            if after is None:
                log.info("handling updates left over from the last run")
            for update_id, body, attempts in pending:
                after = update_id
                if attempts >= MAX_ATTEMPTS:
                    log.error(
                        "update %s was started %d times and never finished; skipped",
                        update_id,
                        attempts,
                    )
                    await self.journal.inbox_done(update_id, "skipped after repeated crashes")
                    continue
                try:
                    update = Update.model_validate_json(body, context={"bot": self.bot})
                except ValueError as exc:
                    log.error("stored update %s is unreadable (%s); skipped", update_id, exc)
                    await self.journal.inbox_done(update_id, "unreadable")
                    continue
                await self._wait_for_room()
                self._spawn(update)
        await asyncio.gather(*list(self.tasks), return_exceptions=True)

    async def _prune(self) -> None:
        try:
            forgotten = await self.journal.prune(keep=JOURNAL_KEEP)
        except sqlite3.Error as exc:
            log.warning("could not clean up the update journal: %s", exc)
            return
        if forgotten:
            log.info("update journal: %d handled updates forgotten", forgotten)

    async def _wait_for_room(self) -> None:
        if len(self.tasks) < self.max_pending:
            return
        self._room.clear()
        stop = asyncio.ensure_future(self._stop.wait())
        room = asyncio.ensure_future(self._room.wait())
        await asyncio.wait([stop, room], return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        room.cancel()

    def _done(self, task: asyncio.Task) -> None:
        self.tasks.discard(task)
        if len(self.tasks) <= self.max_pending // 2:
            self._room.set()

    def _spawn(self, update: Update, retry: int = 0) -> None:
        # a subscriber's messages one after another, in the order they came: a burst right
        # after "call an operator" finds the ticket the first one opened (and is relayed),
        # never a second hand-off. The wait is outside the slots: others' updates go on.
        key = chat_order_key(update)
        before = self._tails.get(key) if key is not None else None
        task = asyncio.create_task(self._handle(update, retry, before))
        self.tasks.add(task)
        task.add_done_callback(self._done)
        if key is not None:
            self._tails[key] = task
            task.add_done_callback(
                lambda t: self._tails.pop(key, None) if self._tails.get(key) is t else None
            )

    async def _handle(
        self, update: Update, retry: int = 0, before: asyncio.Task | None = None
    ) -> None:
        if before is not None:
            await asyncio.wait([before])  # its outcome is its own
        if retry:
            await self._sleep(min(MAX_STORAGE_BACKOFF, 0.5 * 2 ** (retry - 1)))
            if self._stop.is_set():
                return  # still pending in the journal (or at Telegram): handled after restart
        async with self.slots:
            token = _current.set(_Handling(update.update_id))
            error = None
            try:
                if not retry:  # counts starts, to spot an update that crashes the process
                    await self.journal.inbox_attempt(update.update_id)
                await self.dp.feed_update(self.bot, update)
            except Exception as exc:
                if keep_for_retry(exc, retry):
                    self._keep(update, retry, exc)
                    return
                # a poison update: logged and skipped, not retried forever
                error = repr(exc)
                log.exception("update %s failed; skipped", update.update_id)
            finally:
                _current.reset(token)
            self.waiting.pop(update.update_id, None)
            try:
                await self.journal.inbox_done(update.update_id, error)
                if self.sends is not None:
                    await self.sends.flush(update.update_id)
            except sqlite3.Error as exc:  # handled; on a restart its sends are looked up
                log.warning("update %s handled but not marked done: %s", update.update_id, exc)
                return
            if self._handling_error is not None and not self.waiting:
                log.warning("the database is back; the updates kept in memory are handled")
                self._handling_error = None

    def _keep(self, update: Update, retry: int, exc: BaseException) -> None:
        if storage_unavailable(exc):
            self._handling_error = str(exc)
        self.waiting[update.update_id] = update
        if operators_unavailable(exc):  # said once, by bot.health.GroupWatch
            log.debug("update %s kept until the operators' group takes the bot", update.update_id)
            self._spawn(update, retry + 1)
            return
        log.error(
            "update %s: %s is unavailable (%s); kept in memory, retrying in %.1fs",
            update.update_id,
            "the database" if storage_unavailable(exc) else "Telegram",
            exc,
            min(MAX_STORAGE_BACKOFF, 0.5 * 2**retry),
        )
        self._spawn(update, retry + 1)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)

    async def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=timeout)
