"""Long polling (and webhook deliveries) that lose nothing, on one instance or several: an
update is stored before Telegram is told it arrived, handled from the store, and every send
made for it is remembered (``bot.sends``).

Telegram forgets an update once the next getUpdates asks for a higher offset. So the offset
moves only after the batch is in the journal (``bot.journal``); a crash (even ``kill -9``)
leaves the unhandled updates in the inbox, and they are handled first on the next start, their
sends made before looked up rather than repeated. With a webhook, Telegram's delivery is
answered 200 only once the update is stored (503 while the journal can't take it, so Telegram
delivers it again later), and a delivery seen before is not handled twice.

Every instance handles what is stored through its claim loop: woken by a new update (another
instance's too, on PostgreSQL), it claims pending updates in update id order and hands them to
the handling here, which takes a private chat's updates one after another (``_tails``). On a
shared PostgreSQL journal several instances claim at once: an update is claimed by one, held by
a lease renewed every few seconds, and a chat another live instance holds an update of waits
for it, so a chat's updates stay in order across instances; a dead instance's updates are
taken over once their leases run out. One instance leads (``leader``): in polling mode only it
calls getUpdates, and only it runs the timers and the journal's clean-up; when it dies another
takes over within seconds. SQLite's journal has one instance, which always leads.

What happens to an update whose handling raised is decided in ``bot.errors`` (its docstring
is the policy): the error handlers there answer desk errors and blocked subscribers, and hand
back only the errors that are not the update's fault — the database locked, full or away,
Telegram down past the send retries. This module then does what that policy says: such an
update is kept in memory, unacknowledged or not marked done, and handled again with a growing
pause, each attempt logged (its sends made so far are recorded, so handling it again only
makes the rest); any other error marks it done. One that was started three times without
finishing (it crashes the process, on whichever instance) is skipped with a log line. A batch
the journal cannot store stays in memory, unacknowledged (Telegram keeps it too); the journal
away (``JournalUnavailable``) is waited out the same way. The bot neither crashes nor spins,
and /healthz says "degraded" until the database answers again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.exceptions import AiogramError, ClientDecodeError, TelegramAPIError
from aiogram.types import Update
from pydantic import ValidationError

from bot.claims import MAX_STORAGE_BACKOFF, Claims, chat_order_key
from bot.errors import storage_unavailable
from bot.journal import Journal, JournalUnavailable
from bot.sends import IdempotentSends

__all__ = [
    "DurablePoller",
    "IdempotentSends",
    "chat_key",
    "chat_order_key",
    "storage_unavailable",
]

log = logging.getLogger("dono.durable")

MAX_BACKOFF = 10.0  # seconds between getUpdates retries while Telegram is down
PRUNE_EVERY = 600.0  # seconds between clean-ups of the journal
JOURNAL_KEEP = 3600.0  # seconds a handled update (and what was sent for it) is remembered
LEAD_EVERY = 1.0  # seconds between tries to lead, and a leader's checks that it still does


def chat_key(update: Update) -> str | None:
    """The chat an update belongs to for claiming across instances: a private chat's id for
    anything from it (messages, edits, button presses), ``chat:thread`` for a group's topic
    (``chat:`` outside topics), None for the rest (membership changes and the like)."""
    message: Any = update.message or update.edited_message
    if message is None and update.callback_query is not None:
        message = update.callback_query.message
    if message is None:
        return None
    chat = message.chat
    if chat.type == "private":
        return str(chat.id)
    if chat.type in ("group", "supergroup"):
        return f"{chat.id}:{getattr(message, 'message_thread_id', None) or ''}"
    return None


class DurablePoller(Claims):
    """getUpdates (on the leader) → store → acknowledge; claim → handle, on every instance;
    with backoff on every failure."""

    def __init__(
        self,
        bot: Bot,
        dp: Dispatcher,
        journal: Journal,
        polling_timeout: int = 10,
        concurrency: int = 256,
        sends: IdempotentSends | None = None,
        max_pending: int = 1000,
        instance: str = "dono",
    ) -> None:
        super().__init__(bot, dp, journal, concurrency, sends, max_pending, instance)
        self.polling_timeout = polling_timeout
        self.leader = not journal.shared  # polls and runs the timers; one instance: always
        self._led_at: float | None = None
        self._inbox_error: str | None = None  # why the last batch could not be stored

    @property
    def storage_error(self) -> str | None:
        """What is wrong with the database, while something waits for it; else None."""
        return self._inbox_error or self._claim_error or self._handling_error

    async def run(self) -> None:
        """Polling: what is left over first, then, while leading, getUpdates into the journal;
        every instance handles through its claim loop."""
        allowed = self.dp.resolve_used_update_types()
        if not await self._recover():
            return
        self._start_background()
        offset: int | None = None
        fresh = True  # the offset is to be read from the journal (start, a new leadership)
        delay = 0.5
        pruned = asyncio.get_running_loop().time()
        while not self._stop.is_set():
            if not await self._lead():
                fresh = True
                await self._sleep(LEAD_EVERY)
                continue
            if fresh:
                last = await self._last_id()
                if self._stop.is_set():
                    return
                offset, fresh = (last + 1 if last is not None else None), False
            if asyncio.get_running_loop().time() - pruned > PRUNE_EVERY:
                pruned = asyncio.get_running_loop().time()
                await self._prune()
            room = await self._intake_room()
            if room <= 0:
                continue
            try:
                updates, bad = await self._fetch(offset, allowed, room)
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
            await self._claim_now()  # what was stored is in hand before the next fetch

    async def accept(self, raw: Any) -> int:
        """A webhook delivery: stored, then answered 200 and handled by whichever instance
        claims it; the HTTP status to reply.

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
            with contextlib.suppress(JournalUnavailable):
                await self.journal.inbox_put([(uid, body[:100_000])])
                await self.journal.inbox_done(uid, "malformed")
            return 200
        if len(self.tasks) >= self.max_pending:
            return 429
        try:
            await self.journal.inbox_add(
                uid, update.model_dump_json(exclude_none=True), chat_key(update)
            )
        except JournalUnavailable as exc:
            self._inbox_error = str(exc)
            log.error("cannot store update %s (%s); Telegram will deliver it again", uid, exc)
            return 503
        if self._inbox_error is not None:
            log.warning("the database is back")
            self._inbox_error = None
        return 200  # a repeat is 200 too: kept already, handled once

    async def serve_webhook(self) -> None:
        """Webhook mode's background work: first what was stored but not handled before a
        crash, then the claim loop, and, while leading, the journal's clean-up every few
        minutes, until stopped."""
        if not await self._recover():
            return
        self._start_background()
        pruned = asyncio.get_running_loop().time()
        while not self._stop.is_set():
            await self._lead()
            if self.leader and asyncio.get_running_loop().time() - pruned > PRUNE_EVERY:
                pruned = asyncio.get_running_loop().time()
                await self._prune()
            await self._sleep(LEAD_EVERY)

    async def _lead(self) -> bool:
        """Whether this instance leads now: tried (or, leading, checked) once a second."""
        now = asyncio.get_running_loop().time()
        if self._led_at is not None and now - self._led_at < LEAD_EVERY:
            return self.leader
        self._led_at = now
        leading = await self.journal.lead()
        if leading != self.leader:
            if leading:
                log.info("instance %s leads now: it polls and runs the timers", self.instance)
            else:
                log.warning("instance %s no longer leads", self.instance)
        self.leader = leading
        return leading

    async def _intake_room(self) -> int:
        """How many updates the next getUpdates may bring (0 after a pause: none now). One
        instance: what fits beside those in hand. Shared: what fits beside the backlog no
        instance has claimed yet, whoever will handle it."""
        if not self.journal.shared:
            await self._wait_for_room()
            return max(1, min(100, self.max_pending - len(self.tasks)))
        try:
            room = min(100, self.max_pending - await self.journal.unclaimed())
        except JournalUnavailable as exc:
            log.warning("cannot read the update journal (%s); polling paused", exc)
            room = 0
        if room <= 0:
            await self._sleep(0.2)
        return room

    async def _last_id(self) -> int | None:
        """The newest stored update's id (the offset's base), waiting out a journal away."""
        delay = 0.5
        while not self._stop.is_set():
            try:
                return await self.journal.inbox_last_id()
            except JournalUnavailable as exc:
                self._inbox_error = str(exc)
                log.error("cannot read the update journal (%s); retrying in %.1fs", exc, delay)
                await self._sleep(delay)
                delay = min(delay * 2, MAX_STORAGE_BACKOFF)
        return None

    async def _recover(self) -> bool:
        """Handle what was stored but not handled before a crash (on a shared journal: what
        waits for any instance); False if stopped first. A journal that can't be read is
        waited for, not a crash (loop)."""
        delay = 0.5
        while not self._stop.is_set():
            try:
                if await self.journal.inbox_pending(limit=1):
                    log.info("handling updates left over from the last run")
                while not self._stop.is_set() and await self._claim_round():
                    await self._wait_for_room()
            except JournalUnavailable as exc:
                self._inbox_error = str(exc)
                log.error("cannot read the update journal (%s); retrying in %.1fs", exc, delay)
                await self._sleep(delay)
                delay = min(delay * 2, MAX_STORAGE_BACKOFF)
                continue
            self._inbox_error = None
            await asyncio.gather(*list(self.tasks), return_exceptions=True)
            return True
        return False

    async def _store(self, updates: list[Update], bad: list[tuple[int, str]]) -> bool:
        """Put a batch in the journal, holding it in memory (unacknowledged) until that works."""
        rows: list[tuple[int, str, str | None]] = [
            (u.update_id, u.model_dump_json(exclude_none=True), chat_key(u)) for u in updates
        ]
        rows += [(uid, body, None) for uid, body in bad]
        delay = 0.5
        while True:
            try:
                await self.journal.inbox_put(rows)
                for uid, _ in bad:
                    await self.journal.inbox_done(uid, "malformed")
            except JournalUnavailable as exc:
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

    async def _prune(self) -> None:
        try:
            forgotten = await self.journal.prune(keep=JOURNAL_KEEP)
        except JournalUnavailable as exc:
            log.warning("could not clean up the update journal: %s", exc)
            return
        if forgotten:
            log.info("update journal: %d handled updates forgotten", forgotten)
