"""Paces outgoing messages to Telegram's flood limits so 429s are the exception, not the rule.

Telegram allows a bot about 30 messages a second overall, 1 a second in one private chat and
20 a minute in one group, each with a small burst; an edit or a topic operation costs what a
message costs (``PACED_METHODS``). Every such call goes through the GCRA ("virtual
scheduling") buckets below, first its chat's, then the global one, so the bot sends at the
ceiling while a backlog exists. The retry middleware still handles the 429s Telegram sends
anyway.

Under pressure, what matters goes first: each call has a priority (``priority()``, a context
the caller sets: ``HIGH`` a subscriber's or an agent's message relayed, ``NORMAL`` cards and
notices, ``LOW`` card refreshes and reminders, ``BULK`` a flooding subscriber's digests). Each
chat has its own queue, served by its own task whenever the chat's budget allows one more call:
the highest priority waiting then leaves, and within a priority the first to arrive. A chat's
wait never holds anything another chat needs. An edit of a message still waiting is superseded
by a later edit of the same message: only the later one is sent, both callers get its result.

With shared (Redis) buckets the order holds among the calls waiting in this process: each
chat's turn is reserved in the shared bucket and then given to this process's most urgent
caller, so the shared bucket still caps what all instances send together.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response

from bot.handling import give_back_slot

# methods that put a message into a chat (what the send journal and the retries track)
SEND_METHODS = frozenset(
    """SendMessage CopyMessage ForwardMessage CopyMessages ForwardMessages SendPhoto SendDocument
    SendVoice SendVideo SendSticker SendAudio SendAnimation SendVideoNote SendLocation
    SendContact SendMediaGroup SendVenue SendPoll SendDice""".split()
)
# what Telegram counts against a chat's budget: the sends, edits (they share the limit, "about
# 20 times per minute in a specific chat") and topic operations, which post a service message
# (tdlib/td#2592); callback answers and deletions don't count
PACED_METHODS = SEND_METHODS | frozenset(
    """EditMessageText EditMessageCaption EditMessageReplyMarkup EditMessageMedia
    CreateForumTopic EditForumTopic CloseForumTopic ReopenForumTopic""".split()
)


EDIT_METHODS = frozenset(
    "EditMessageText EditMessageCaption EditMessageReplyMarkup EditMessageMedia".split()
)

# priorities of paced calls: the higher leaves first
HIGH, NORMAL, LOW, BULK = 3, 2, 1, 0
_priority: ContextVar[int] = ContextVar("dono_pace_priority", default=NORMAL)


@contextlib.contextmanager
def priority(level: int) -> Iterator[None]:
    """The paced calls made inside wait for their chat's budget at ``level``."""
    token = _priority.set(level)
    try:
        yield
    finally:
        _priority.reset(token)


@dataclass
class Bucket:
    """GCRA: ``rate`` per second with ``burst`` at once; ``reserve`` says how long to wait."""

    rate: float
    burst: int
    tat: float = 0.0  # theoretical arrival time of the next request

    def reserve(self, now: float) -> float:
        interval = 1.0 / self.rate
        tolerance = (self.burst - 1) * interval
        allowed = max(now, self.tat - tolerance)
        self.tat = max(self.tat, now) + interval
        return allowed - now

    def peek(self, now: float) -> float:
        """How long a call now would wait, without reserving."""
        return max(0.0, self.tat - (self.burst - 1) / self.rate - now)


@dataclass(frozen=True)
class Limits:
    global_per_second: float = 30.0
    global_burst: int = 30
    private_per_second: float = 1.0
    private_burst: int = 5
    group_per_minute: float = 20.0
    group_burst: int = 20


# Our clock and Telegram's differ by the network's jitter: pacing exactly at the limit would
# now and then arrive a hair early and get a 429. 3% under it keeps clear at 97% of the ceiling.
SAFETY = 0.97
# Calls let go together reach Telegram spread by the network's and the event loop's delays (and,
# with several instances, by each one's own): when the first of a burst arrive JITTER s late,
# the ones let go meanwhile arrive with them, and Telegram's bucket has not refilled for those.
# So a burst leaves room for what its rate lets go in JITTER s (at least one call stays).
JITTER = 0.5


def paced_burst(rate: float, burst: float) -> int:
    """The burst the pacer allows at ``rate`` (per second) for a limit's ``burst``."""
    return max(1, int(burst - rate * JITTER))


class Buckets:
    """This process's own buckets: the bot's, and one per chat (at ``share`` of the limits,
    when several instances divide them among themselves)."""

    def __init__(self, limits: Limits, share: float = 1.0) -> None:
        self.limits = limits
        self.share = share
        rate = limits.global_per_second * SAFETY * share
        self.global_bucket = Bucket(rate, paced_burst(rate, limits.global_burst * share))
        self.chats: dict[int | str, Bucket] = {}

    def chat(self, chat_id: int | str, now: float) -> Bucket:
        bucket = self.chats.get(chat_id)
        if bucket is None:
            rate, burst = chat_limit(self.limits, chat_id)
            rate *= self.share
            bucket = Bucket(rate, paced_burst(rate, burst * self.share))
            self.chats[chat_id] = bucket
            if len(self.chats) > 100_000:  # forget idle chats: their buckets are full again
                self.chats = {k: b for k, b in self.chats.items() if b.tat > now}
        return bucket


def chat_limit(limits: Limits, chat_id: int | str) -> tuple[float, int]:
    """A chat's rate (per second, under the limit by SAFETY) and burst: a private chat's or a
    group's (a negative id or an @username)."""
    if isinstance(chat_id, int) and chat_id > 0:
        return limits.private_per_second * SAFETY, limits.private_burst
    return limits.group_per_minute / 60.0 * SAFETY, limits.group_burst


class SharedPacing(Protocol):
    """Buckets several instances share (``bot.shared_pacing``)."""

    async def pace(self, bot_id: int, chat_id: int | str) -> bool:
        """Wait until the chat's and the bot's shared buckets allow a call; False (at once or
        part way) when they can't be reached: pace on ``fallback()`` then."""
        ...

    def fallback(self) -> Buckets: ...

    async def budget(self, bot_id: int, chat_id: int | str) -> tuple[float, float] | None:
        """The chat's shared bucket now: (wait in seconds, calls that may go at once); None
        when it can't be read."""
        ...


@dataclass(order=True)
class _Waiter:
    """A paced call waiting for its chat's turn; ``ready`` gets None (go) or, for an edit a
    later one superseded, the future of that one's response."""

    sort: tuple[int, int]  # (-priority, arrival)
    edit: tuple[str, Any] | None = field(compare=False)
    ready: asyncio.Future = field(compare=False)
    response: asyncio.Future | None = field(default=None, compare=False)
    cost: int = field(default=1, compare=False)  # messages it posts: each counts (copyMessages)


def cost_of(method: TelegramMethod[Any]) -> int:
    """What a call costs the chat's budget: one, or one per message it posts (an album's
    ``sendMediaGroup``, ``copyMessages``/``forwardMessages`` of up to 100 ids: Telegram
    counts each message)."""
    many = getattr(method, "message_ids", None) or getattr(method, "media", None)
    return max(1, len(many)) if isinstance(many, list) else 1


@dataclass
class _ChatQueue:
    heap: list[_Waiter] = field(default_factory=list)
    edits: dict[tuple[str, Any], _Waiter] = field(default_factory=dict)
    task: asyncio.Task | None = None


class Pacer(BaseRequestMiddleware):
    """Waits, before each paced call, until the chat's and the bot's buckets allow it: this
    process's own, or with ``shared`` those all instances share (and this process's own at a
    share of the limits while the shared ones can't be reached). See the module's docstring
    for the order the waiting calls leave in."""

    def __init__(
        self,
        limits: Limits | None = None,
        clock: Callable[[], float] = time.monotonic,
        shared: SharedPacing | None = None,
    ):
        self.clock = clock
        self.shared = shared
        self.limits = limits or Limits()
        self.waiting = 0  # requests paced right now: the outgoing backlog
        self.superseded = 0  # edits dropped for a later edit of the same message
        self._queues: dict[int | str, _ChatQueue] = {}
        self._arrivals = itertools.count()

    @property
    def limits(self) -> Limits:
        return self._limits

    @limits.setter
    def limits(self, limits: Limits) -> None:
        """New limits (a test's faster group, say) start this process's buckets afresh."""
        self._limits = limits
        self.local = Buckets(limits)

    def wait_for(self, chat_id: int | str, buckets: Buckets | None = None) -> float:
        """How long a paced call to this chat would wait now (seconds, this process's view):
        its bucket's wait and the calls already waiting for it. ``buckets``: the ones that
        pace it (default this process's; with shared buckets those are elsewhere)."""
        rate, _ = chat_limit(self.limits, chat_id)
        queue = self._queues.get(chat_id)
        queued = len(queue.heap) if queue is not None else 0
        own = buckets or self.local
        if buckets is None and self.shared is not None:
            ahead = 0.0  # the bucket is the shared one: ``budget`` reads it
        else:
            bucket = own.chats.get(chat_id)
            ahead = bucket.peek(self.clock()) if bucket is not None else 0.0
        return ahead + queued / (rate * own.share)

    def spare_for(self, chat_id: int | str, buckets: Buckets | None = None) -> float:
        """How many paced calls to this chat could go now without waiting (this process's
        buckets, or ``buckets``; none while calls are waiting for it)."""
        if self._queues.get(chat_id) is not None and self._queues[chat_id].heap:
            return 0.0
        own = buckets or self.local
        bucket = own.chats.get(chat_id)
        if bucket is None:
            rate, burst = chat_limit(self.limits, chat_id)
            return float(paced_burst(rate * own.share, burst * own.share))
        return max(0.0, bucket.burst - max(0.0, bucket.tat - self.clock()) * bucket.rate)

    async def budget(self, bot_id: int, chat_id: int | str) -> tuple[float, float]:
        """``wait_for`` and ``spare_for`` of the chat, with shared buckets as all instances'
        sends left them (a desk's overflow then sees the others' sends, not this process's
        alone); while they can't be read, the buckets this process paces on meanwhile."""
        if self.shared is None:
            return self.wait_for(chat_id), self.spare_for(chat_id)
        seen = await self.shared.budget(bot_id, chat_id)
        if seen is None:
            fallback = self.shared.fallback()
            return self.wait_for(chat_id, fallback), self.spare_for(chat_id, fallback)
        return self.wait_for(chat_id) + seen[0], min(self.spare_for(chat_id), seen[1])

    async def _turn(self, bot: Bot, chat_id: int | str) -> None:
        """Wait until the chat's and the bot's buckets allow one more call."""
        buckets = self.local
        if self.shared is not None:
            if await self.shared.pace(bot.id, chat_id):
                return
            buckets = self.shared.fallback()
        delay = buckets.chat(chat_id, self.clock()).reserve(self.clock())
        if delay > 0:
            await asyncio.sleep(delay)
        delay = buckets.global_bucket.reserve(self.clock())
        if delay > 0:
            await asyncio.sleep(delay)

    async def _serve(self, bot: Bot, chat_id: int | str, queue: _ChatQueue) -> None:
        """The chat's own task: each turn its budget allows goes to the most urgent caller
        waiting at that moment."""
        try:
            while queue.heap:
                try:
                    await self._turn(bot, chat_id)
                except Exception as exc:  # nothing to wait on: the callers learn why
                    for waiter in queue.heap:
                        if not waiter.ready.done():
                            waiter.ready.set_exception(exc)
                    queue.heap.clear()
                    return
                while queue.heap:
                    waiter = heapq.heappop(queue.heap)
                    if waiter.edit is not None and queue.edits.get(waiter.edit) is waiter:
                        del queue.edits[waiter.edit]
                    for _ in range(waiter.cost - 1 if not waiter.ready.done() else 0):
                        await self._turn(bot, chat_id)  # the rest of a call of many messages
                    if not waiter.ready.done():
                        waiter.ready.set_result(None)
                        break
        finally:
            if self._queues.get(chat_id) is queue:
                del self._queues[chat_id]

    def _enqueue(self, bot: Bot, chat_id: int | str, method: TelegramMethod[Any]) -> _Waiter:
        queue = self._queues.get(chat_id)
        if queue is None:
            queue = self._queues[chat_id] = _ChatQueue()
        level = _priority.get()
        edit = None
        if type(method).__name__ in EDIT_METHODS:
            edit = (type(method).__name__, getattr(method, "message_id", None))
        loop = asyncio.get_running_loop()
        waiter = _Waiter(
            (-level, next(self._arrivals)), edit, loop.create_future(), cost=cost_of(method)
        )
        earlier = queue.edits.get(edit) if edit is not None and edit[1] is not None else None
        if earlier is not None and not earlier.ready.done():
            # the earlier edit of this message is dropped: this one takes its place in line
            self.superseded += 1
            waiter.sort = (min(earlier.sort[0], -level), earlier.sort[1])
            waiter.response = earlier.response or loop.create_future()
            earlier.ready.set_result(waiter.response)
            queue.heap.remove(earlier)
            heapq.heapify(queue.heap)
        if edit is not None and edit[1] is not None:
            queue.edits[edit] = waiter
        heapq.heappush(queue.heap, waiter)
        if queue.task is None or queue.task.done():
            queue.task = asyncio.create_task(self._serve(bot, chat_id, queue))
        return waiter

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[Any],
        bot: Bot,
        method: TelegramMethod[Any],
    ) -> Response[Any]:
        chat_id = getattr(method, "chat_id", None)
        if type(method).__name__ not in PACED_METHODS or chat_id is None:
            return await make_request(bot, method)
        if self.wait_for(chat_id) > 0:
            give_back_slot()  # the update waits for the chat's budget, holding nothing
        self.waiting += 1
        waiter = self._enqueue(bot, chat_id, method)
        try:
            later = await waiter.ready
        except BaseException as exc:
            if waiter.response is not None and not waiter.response.done():
                if isinstance(exc, asyncio.CancelledError):
                    waiter.response.set_result(True)  # what it superseded returns harmlessly
                else:
                    waiter.response.set_exception(exc)
                    waiter.response.exception()
            raise
        finally:
            self.waiting -= 1
        if later is not None:  # superseded: the later edit's outcome is this one's too
            return await asyncio.shield(later)
        try:
            response = await make_request(bot, method)
        except BaseException as exc:
            if waiter.response is not None and not waiter.response.done():
                waiter.response.set_exception(exc)
                waiter.response.exception()  # retrieved: nobody else may be waiting for it
            raise
        if waiter.response is not None and not waiter.response.done():
            waiter.response.set_result(response)
        return response
