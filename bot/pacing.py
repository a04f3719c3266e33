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
from typing import Any

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


class Pacer(BaseRequestMiddleware):
    """Waits, before each send, until the chat's and the bot's buckets allow it."""

    def __init__(self, limits: Limits | None = None, clock: Callable[[], float] = time.monotonic):
        self.limits = limits or Limits()
        self.clock = clock
        self.global_bucket = Bucket(
            self.limits.global_per_second * SAFETY, self.limits.global_burst
        )
        self.chats: dict[int | str, Bucket] = {}
        self.waiting = 0  # requests paced right now: the outgoing backlog

    def _chat_bucket(self, chat_id: int | str) -> Bucket:
        bucket = self.chats.get(chat_id)
        if bucket is None:
            private = isinstance(chat_id, int) and chat_id > 0
            if private:
                bucket = Bucket(self.limits.private_per_second * SAFETY, self.limits.private_burst)
            else:
                rate = self.limits.group_per_minute / 60.0 * SAFETY
                bucket = Bucket(rate, self.limits.group_burst)
            self.chats[chat_id] = bucket
            if len(self.chats) > 100_000:  # forget idle chats: their buckets are full again
                now = self.clock()
                self.chats = {k: b for k, b in self.chats.items() if b.tat > now}
        return bucket

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
                delay = self._chat_bucket(chat_id).reserve(self.clock())
                if delay > 0:
                    await asyncio.sleep(delay)
                delay = self.global_bucket.reserve(self.clock())
                if delay > 0:
                    await asyncio.sleep(delay)
            finally:
                self.waiting -= 1
        return await make_request(bot, method)
