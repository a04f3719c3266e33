"""Paces outgoing messages to Telegram's flood limits so 429s are the exception, not the rule.

Telegram allows a bot about 30 messages a second overall, 1 a second in one private chat and
20 a minute in one group, each with a small burst; an edit or a topic operation costs what a
message costs (``PACED_METHODS``). Every such call goes through the GCRA ("virtual
scheduling") buckets below, first its chat's, then the global one, so waiting requests leave
in arrival order and the bot sends at the ceiling while a backlog exists. The retry middleware
still handles the 429s Telegram sends anyway.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response

# methods that put a message into a chat (what the send journal and the retries track)
SEND_METHODS = frozenset(
    """SendMessage CopyMessage ForwardMessage SendPhoto SendDocument SendVoice SendVideo
    SendSticker SendAudio SendAnimation SendVideoNote SendLocation SendContact SendMediaGroup
    SendVenue SendPoll SendDice""".split()
)
# what Telegram counts against a chat's budget: the sends, edits (they share the limit, "about
# 20 times per minute in a specific chat") and topic operations, which post a service message
# (tdlib/td#2592); callback answers and deletions don't count
PACED_METHODS = SEND_METHODS | frozenset(
    """EditMessageText EditMessageCaption EditMessageReplyMarkup EditMessageMedia
    CreateForumTopic EditForumTopic CloseForumTopic ReopenForumTopic""".split()
)


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


class Pacer(BaseRequestMiddleware):
    """Waits, before each paced call, until the chat's and the bot's buckets allow it: this
    process's own, or with ``shared`` those all instances share (and this process's own at a
    share of the limits while the shared ones can't be reached)."""

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

    @property
    def limits(self) -> Limits:
        return self._limits

    @limits.setter
    def limits(self, limits: Limits) -> None:
        """New limits (a test's faster group, say) start this process's buckets afresh."""
        self._limits = limits
        self.local = Buckets(limits)

    def wait_for(self, chat_id: int | str) -> float:
        """Read-only: the seconds a paced call to this chat made now would wait for the
        chat's bucket (this process's buckets)."""
        bucket = self.local.chats.get(chat_id)
        if bucket is None:
            return 0.0
        ahead = bucket.tat - self.clock()
        return max(0.0, ahead - (bucket.burst - 1) / bucket.rate)

    def spare_for(self, chat_id: int | str) -> float:
        """Read-only: how many paced calls to this chat could go now without waiting."""
        bucket = self.local.chats.get(chat_id)
        if bucket is None:
            return float(paced_burst(*chat_limit(self.limits, chat_id)))
        return max(0.0, bucket.burst - max(0.0, bucket.tat - self.clock()) * bucket.rate)

    async def _pace(self, bot: Bot, chat_id: int | str) -> None:
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

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[Any],
        bot: Bot,
        method: TelegramMethod[Any],
    ) -> Response[Any]:
        chat_id = getattr(method, "chat_id", None)
        if type(method).__name__ in PACED_METHODS and chat_id is not None:
            self.waiting += 1
            try:
                await self._pace(bot, chat_id)
            finally:
                self.waiting -= 1
        return await make_request(bot, method)
