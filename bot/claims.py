"""Handling what the journal holds, on each instance: the claim loop takes pending updates
(``Journal.claim``) and hands each to a task of its own, a private chat's one after another
(``_tails``); a lease on what is in hand is renewed while it is; an update the database or
Telegram can't take now is kept and tried again; a handled one is marked done. ``bot.durable``
builds the intake (polling, webhooks, the leader) on it; its docstring tells the whole story."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter

from aiogram import Bot, Dispatcher
from aiogram.types import Update

from bot.errors import (
    keep_for_retry,
    operators_unavailable,
    raise_if_cancelled,
    storage_unavailable,
)
from bot.handling import done, handling
from bot.journal import Journal, JournalUnavailable
from bot.sends import IdempotentSends, sends_of

log = logging.getLogger("dono.durable")

MAX_ATTEMPTS = 3
MAX_STORAGE_BACKOFF = 30.0  # seconds between retries while the database is unavailable


def chat_order_key(update: Update) -> int | None:
    """The private chat whose messages (and edits) this update must wait its turn in; None
    for everything else. An album's parts don't wait: each waits for its album's relay."""
    message = update.message or update.edited_message
    if message is None or message.chat.type != "private" or message.media_group_id:
        return None
    return message.chat.id


class Claims:
    """The handling side of ``DurablePoller``: claimed updates in hand, each in its task."""

    def __init__(
        self,
        bot: Bot,
        dp: Dispatcher,
        journal: Journal,
        concurrency: int = 256,
        sends: IdempotentSends | None = None,
        max_pending: int = 1000,
        instance: str = "dono",
    ) -> None:
        self.bot = bot
        self.dp = dp
        self.journal = journal
        self.sends = sends
        self.instance = instance  # the owner of the updates this one claims
        self.slots = asyncio.Semaphore(concurrency)
        self.tasks: set[asyncio.Task] = set()
        # Backpressure: with this many updates in hand (handled or waiting for a slot, which
        # in a burst means waiting for the flood limits), stop fetching and claiming; Telegram
        # (or the journal) keeps the rest. Memory stays bounded however long the queue.
        self.max_pending = max_pending
        self._room = asyncio.Event()
        self._room.set()
        self._stop = asyncio.Event()
        self.waiting: dict[int, Update] = {}  # updates kept in memory for the database
        self._tails: dict[int, asyncio.Task] = {}  # a private chat's last message, in hand
        self._in_hand: Counter[int] = Counter()  # claimed updates' tasks, by update id
        self._finished: dict[int, str | None] = {}  # handled, not marked done (journal away)
        self._claiming = asyncio.Lock()
        self._background: list[asyncio.Task] = []
        self._claim_error: str | None = None  # why the last claim failed
        self._handling_error: str | None = None  # why updates in ``waiting`` wait

    def _start_background(self) -> None:
        self._background.append(asyncio.create_task(self._claim_loop(), name="dono-claims"))
        if self.journal.shared:
            self._background.append(asyncio.create_task(self._renew_loop(), name="dono-leases"))

    async def _claim_loop(self) -> None:
        """Woken by a new update (or every ``poll_every`` seconds: a chat another instance
        held may be free now), claim what can be handled here."""
        while not self._stop.is_set():
            await self.journal.wait_for_new(self.journal.poll_every)
            await self._claim_now()

    async def _claim_now(self) -> None:
        while not self._stop.is_set():
            await self._wait_for_room()
            try:
                more = await self._claim_round()
            except JournalUnavailable as exc:
                raise_if_cancelled()
                if self._claim_error is None:
                    log.error("cannot claim updates from the journal (%s); trying again", exc)
                self._claim_error = str(exc)
                return
            if self._claim_error is not None:
                log.warning("the update journal is back")
                self._claim_error = None
            if not more:
                return

    async def _claim_round(self) -> bool:
        """Claim what fits and start handling it; whether more may be waiting."""
        async with self._claiming:
            await self._mark_finished()
            room = self.max_pending - len(self.tasks)
            if room <= 0:
                return True
            limit = min(room, self.journal.claim_batch)
            held = set(self._in_hand) | set(self._finished)
            rows = await self.journal.claim(self.instance, limit, held)
            for update_id, body, attempts in rows:
                update = await self._readable(update_id, body, attempts)
                if update is not None:
                    self._spawn(update)
            return len(rows) == limit

    async def _readable(self, update_id: int, body: str, attempts: int) -> Update | None:
        """The claimed update to handle; None (and marked done) for one that crashed the
        process too often or can't be read."""
        if attempts >= MAX_ATTEMPTS:
            log.error(
                "update %s was started %d times and never finished; skipped", update_id, attempts
            )
            await self._finish(update_id, "skipped after repeated crashes")
            return None
        if attempts and self.journal.shared:
            log.info(
                "update %s was started %d times before (an instance that died?); taken over by %s",
                update_id,
                attempts,
                self.instance,
            )
        try:
            return Update.model_validate_json(body, context={"bot": self.bot})
        except ValueError as exc:
            log.error("stored update %s is unreadable (%s); skipped", update_id, exc)
            await self._finish(update_id, "unreadable")
            return None

    async def _renew_loop(self) -> None:
        every = min(3.0, self.journal.lease / 3)
        while not self._stop.is_set():
            await self._sleep(every)
            held = set(self._in_hand) | set(self._finished)
            if not held or self._stop.is_set():
                continue
            try:
                await self.journal.renew(self.instance, held)
            except JournalUnavailable as exc:
                raise_if_cancelled()
                log.warning("could not renew the leases of %d updates: %s", len(held), exc)

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

    def _let_go(self, update_id: int) -> None:
        self._in_hand[update_id] -= 1
        if self._in_hand[update_id] <= 0:
            del self._in_hand[update_id]

    def _spawn(self, update: Update, retry: int = 0) -> None:
        # a subscriber's messages one after another, in the order they came: a burst right
        # after "call an operator" finds the ticket the first one opened (and is relayed),
        # never a second hand-off. The wait is outside the slots: others' updates go on.
        key = chat_order_key(update)
        before = self._tails.get(key) if key is not None else None
        turn = asyncio.Event()  # set when the chat's next update may start (bot.handling)
        task = asyncio.create_task(self._handle(update, retry, before, turn))
        task.add_done_callback(lambda _: turn.set())
        self.tasks.add(task)
        task.add_done_callback(self._done)
        uid = update.update_id
        self._in_hand[uid] += 1
        task.add_done_callback(lambda _: self._let_go(uid))
        if key is not None:
            self._tails[key] = turn
            task.add_done_callback(
                lambda t: self._tails.pop(key, None) if self._tails.get(key) is turn else None
            )

    async def _handle(
        self,
        update: Update,
        retry: int = 0,
        before: asyncio.Event | None = None,
        turn: asyncio.Event | None = None,
    ) -> None:
        """Handles the update, retrying in this same task while ``bot.errors`` says to keep
        it: the chat's later updates wait for this task (or until its message is queued for
        the relay, ``bot.handling``), so a retry keeps its place in line (a retry of its own
        would let them pass it while it sleeps)."""
        if before is not None:
            await before.wait()  # its outcome is its own
        while True:
            if retry:
                await self._sleep(min(MAX_STORAGE_BACKOFF, 0.5 * 2 ** (retry - 1)))
                if self._stop.is_set():
                    return  # still pending in the journal (or at Telegram): after a restart
            if await self._try(update, retry, turn):
                return
            raise_if_cancelled()  # kept for a retry by an error that was a cancel
            retry += 1

    async def _try(self, update: Update, retry: int, turn: asyncio.Event | None = None) -> bool:
        """One attempt; False when the update is kept for another."""
        await self.slots.acquire()
        held = [True]

        def give_slot() -> None:  # once: while it waits for a chat's budget, others go on
            if held[0]:
                held[0] = False
                self.slots.release()

        tokens = handling(give_slot, turn.set if turn is not None else lambda: None)
        try:
            error = None
            with sends_of(update.update_id):
                try:
                    if not retry:  # counts starts, to spot an update that crashes the process
                        await self.journal.inbox_attempt(update.update_id)
                    await self.dp.feed_update(self.bot, update)
                except Exception as exc:
                    if keep_for_retry(exc, retry):
                        self._keep(update, retry, exc)
                        return False
                    # a poison update: logged and skipped, not retried forever
                    error = repr(exc)
                    log.exception("update %s failed; skipped", update.update_id)
            self.waiting.pop(update.update_id, None)
            if not await self._finish(update.update_id, error):
                return True  # handled; marked done once the journal takes it
            if self._handling_error is not None and not self.waiting:
                log.warning("the database is back; the updates kept in memory are handled")
                self._handling_error = None
            return True
        finally:
            done(tokens)
            give_slot()

    async def _finish(self, update_id: int, error: str | None) -> bool:
        """Mark a handled update done (and write its sends kept in memory); one the journal
        can't take now is held here, not claimed again, and marked done later."""
        try:
            await self.journal.inbox_done(update_id, error)
            if self.sends is not None:
                await self.sends.flush(update_id)
        except JournalUnavailable as exc:
            self._finished[update_id] = error
            log.warning("update %s handled but not marked done: %s", update_id, exc)
            return False
        self._finished.pop(update_id, None)
        return True

    async def _mark_finished(self) -> None:
        for update_id, error in list(self._finished.items()):
            await self.journal.inbox_done(update_id, error)
            del self._finished[update_id]

    def _keep(self, update: Update, retry: int, exc: BaseException) -> None:
        if storage_unavailable(exc):
            self._handling_error = str(exc)
        self.waiting[update.update_id] = update
        if operators_unavailable(exc):  # said once, by bot.health.GroupWatch
            log.debug("update %s kept until the operators' group takes the bot", update.update_id)
            return
        log.error(
            "update %s: %s is unavailable (%s); kept in memory, retrying in %.1fs",
            update.update_id,
            "the database" if storage_unavailable(exc) else "Telegram",
            exc,
            min(MAX_STORAGE_BACKOFF, 0.5 * 2**retry),
        )

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)

    async def stop(self, timeout: float = 5.0) -> None:
        """What is in hand is finished (for up to ``timeout`` seconds); what is not is left
        to the other instances at once."""
        self._stop.set()
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=timeout)
        for task in self._background:
            task.cancel()
        for task in self._background:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._background.clear()
        if self.journal.shared:
            with contextlib.suppress(JournalUnavailable):
                await self.journal.release(self.instance)
