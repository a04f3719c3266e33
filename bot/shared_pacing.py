"""The pacer's buckets in Redis, shared by every instance of one bot, so together they stay
under Telegram's flood limits.

Each bucket (the bot's, each private chat's, each group's) is one key holding its GCRA
theoretical arrival time in microseconds of Redis's own clock, reserved by a Lua script: one
round trip reserves the chat's bucket and, when it lets the call go at once, the bot's too;
a call the chat makes wait reserves the bot's after its wait, as the local pacer does. Each
key expires when its bucket would be full again, so idle chats leave nothing behind.

Priorities (``bot.pacing.priority``) hold among one instance's waiting calls: the pacer's task
for a chat reserves the chat's next turn here and gives it to that instance's most urgent
caller. Across instances turns go in reservation order; the shared bucket caps the total.

While Redis does not answer, the instance paces on buckets of its own at its share of the
limits (divided by the instances that sent a heartbeat lately), and tries Redis again every
second.
"""

from __future__ import annotations

import asyncio
import time

from bot.pacing import SAFETY, Buckets, Limits, chat_limit, paced_burst
from bot.shared import REDIS_ERRORS, RedisLink

RETRY_EVERY = 1.0  # seconds between tries of an unreachable Redis

# KEYS: the buckets in the order they are reserved; ARGV: each one's interval and tolerance
# (µs). Reserves them in turn and stops at the first that makes the call wait: returns how
# many were reserved and that wait (µs).
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[2 * i - 1])
  local tolerance = tonumber(ARGV[2 * i])
  local tat = tonumber(redis.call('GET', key) or '0')
  local allowed = math.max(now, tat - tolerance)
  local new = math.max(tat, now) + interval
  redis.call('SET', key, string.format('%.0f', new), 'PX', math.ceil((new - now) / 1000) + 1)
  if allowed > now then
    return {i, math.ceil(allowed - now)}
  end
end
return {#KEYS, 0}
"""


# KEYS[1]: one bucket. Reads it without reserving: Redis's clock and the bucket's theoretical
# arrival time (µs; 0 when the key expired: the bucket is full).
_PEEK = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
return {now, tonumber(redis.call('GET', KEYS[1]) or '0')}
"""


def _gcra(rate: float, burst: int) -> tuple[float, float]:
    interval = 1_000_000 / rate
    return interval, (paced_burst(rate, burst) - 1) * interval


class RedisBuckets:
    """``bot.pacing.SharedPacing`` over Redis (see the module's docstring)."""

    def __init__(self, link: RedisLink, limits: Limits) -> None:
        self.link = link
        self.limits = limits
        self._script = link.client.register_script(_RESERVE)
        self._peek = link.client.register_script(_PEEK)
        self._global = _gcra(limits.global_per_second * SAFETY, limits.global_burst)
        self._retry_at = 0.0
        self._fallback: Buckets | None = None

    def _chat_key(self, bot_id: int, chat_id: int | str) -> str:
        return self.link.key("pace", bot_id, "chat", chat_id)

    def _keys(self, bot_id: int, chat_id: int | str) -> tuple[list[str], list[float]]:
        rate, burst = chat_limit(self.limits, chat_id)
        keys = [self._chat_key(bot_id, chat_id), self.link.key("pace", bot_id)]
        return keys, [*_gcra(rate, burst), *self._global]

    def _away(self) -> bool:
        """Redis did not answer lately: not asked again (and waited for) before the retry."""
        return self.link.problem is not None and time.monotonic() < self._retry_at

    def _failed(self, exc: BaseException) -> None:
        self._retry_at = time.monotonic() + RETRY_EVERY
        self.link.failed(exc)

    async def pace(self, bot_id: int, chat_id: int | str) -> bool:
        if self._away():
            return False
        keys, args = self._keys(bot_id, chat_id)
        try:
            while keys:
                reserved, wait = await self._script(keys=keys, args=args)
                self._back()
                if wait > 0:
                    await asyncio.sleep(wait / 1_000_000)
                keys, args = keys[reserved:], args[2 * reserved :]
        except REDIS_ERRORS as exc:
            self._failed(exc)
            return False
        return True

    async def budget(self, bot_id: int, chat_id: int | str) -> tuple[float, float] | None:
        """The chat's shared bucket as every instance's sends left it: how long a call would
        wait (seconds) and how many could go at once; None while Redis does not answer."""
        if self._away():
            return None
        rate, burst = chat_limit(self.limits, chat_id)
        interval, tolerance = _gcra(rate, burst)
        try:
            now, tat = await self._peek(keys=[self._chat_key(bot_id, chat_id)])
        except REDIS_ERRORS as exc:
            self._failed(exc)
            return None
        self._back()
        wait = max(0.0, tat - tolerance - now)
        if wait > 0:
            return wait / 1_000_000, 0.0
        return 0.0, (now + tolerance - max(tat, now)) / interval + 1

    def _back(self) -> None:
        self.link.answered()
        self._fallback = None  # the next outage starts from the instances seen by then

    def fallback(self) -> Buckets:
        """This instance's own buckets at its share of the limits, kept for the outage."""
        if self._fallback is None:
            self._fallback = Buckets(self.limits, 1 / max(1, self.link.instances))
        return self._fallback
