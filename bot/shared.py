"""Redis shared by several instances: one client, this instance's heartbeat, and whether Redis
answers (logged once when it stops and once when it is back; /healthz reports it)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiogram.fsm.storage.base import BaseStorage
from aiogram.fsm.storage.redis import DefaultKeyBuilder, RedisStorage
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from bot.config import RedisConfig
from handoff.storage.database import redacted

log = logging.getLogger("dono.redis")

# what an unreachable, restarting or refusing Redis raises (ConnectionError is a RedisError)
REDIS_ERRORS = (RedisError, OSError, TimeoutError)
TIMEOUT = 1.0  # seconds a command may take: a slow Redis is treated as an unreachable one
HEARTBEAT = 2.0  # seconds between this instance's heartbeats
LIVE_FOR = 10.0  # an instance not heard from for this long is no longer counted as live
FSM_TTL = 24 * 3600  # seconds a conversation's state is kept after its last step

# this instance's heartbeat in a sorted set scored by Redis's own clock; instances not heard
# from for ARGV[2] seconds leave it; the live count is the answer
_BEAT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2]) * 1000))
return redis.call('ZCARD', KEYS[1])
"""


class RedisLink:
    """The client every Redis user of this instance shares, and Redis's state as last seen:
    ``problem`` is None while it answers, else what went wrong; ``instances`` is how many
    instances (this one included) sent a heartbeat lately."""

    def __init__(self, url: str, prefix: str, instance: str) -> None:
        self.url = url
        self.prefix = prefix
        self.instance = instance
        # one quick retry (a pooled connection broken by a restart reconnects), then it fails
        self.client: Redis = Redis.from_url(
            url,
            socket_timeout=TIMEOUT,
            socket_connect_timeout=TIMEOUT,
            retry=Retry(NoBackoff(), 1),
        )
        self.problem: str | None = None
        self.instances = 1
        self._beat = self.client.register_script(_BEAT)
        self._task: asyncio.Task | None = None

    def key(self, *parts: Any) -> str:
        return ":".join((self.prefix, *(str(p) for p in parts)))

    @property
    def status(self) -> str:
        return "ok" if self.problem is None else "unreachable"

    def failed(self, exc: BaseException) -> None:
        """Redis did not answer: logged once, until it answers again."""
        if self.problem is None:
            log.error(
                "Redis %s unreachable (%s): flood limits are paced on this instance's own"
                " buckets at 1/%d of them until it answers",
                redacted(self.url),
                _why(exc),
                self.instances,
            )
        self.problem = _why(exc)

    def answered(self) -> None:
        if self.problem is not None:
            log.warning("Redis %s answers again", redacted(self.url))
            self.problem = None

    async def beat(self) -> None:
        """One heartbeat: this instance is live; how many are."""
        try:
            live = await self._beat(keys=[self.key("instances")], args=[self.instance, LIVE_FOR])
        except REDIS_ERRORS as exc:
            self.failed(exc)
        else:
            self.instances = max(1, int(live))
            self.answered()

    async def start(self) -> None:
        await self.beat()
        self._task = asyncio.create_task(self._beating())

    async def _beating(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT)
            await self.beat()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(*REDIS_ERRORS):
            await self.client.zrem(self.key("instances"), self.instance)
        await self.client.aclose()


def _why(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


async def open_link(config: RedisConfig, instance: str) -> RedisLink | None:
    """The link to ``config``'s Redis with its heartbeat started, or None without Redis. An
    unreachable Redis does not stop start-up: it is logged and retried."""
    url = config.redis_url()
    if url is None:
        return None
    link = RedisLink(url, config.prefix, instance)
    log.info("Redis %s (keys %s:…), instance %s", redacted(url), config.prefix, instance)
    await link.start()
    return link


def fsm_storage(link: RedisLink | None) -> BaseStorage | None:
    """Conversation state (the outage flow, a language being chosen) in Redis, so a flow begun
    on one instance goes on on another; kept a day after its last step. None: in memory."""
    if link is None:
        return None
    return RedisStorage(
        link.client,
        key_builder=DefaultKeyBuilder(prefix=link.key("fsm"), with_bot_id=True),
        state_ttl=FSM_TTL,
        data_ttl=FSM_TTL,
    )
