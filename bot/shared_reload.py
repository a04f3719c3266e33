"""Knowledge-base reloads reach every instance: a reload that changed the KB here publishes
its fingerprint (the KB's version) on a Redis channel, and every other instance whose KB
differs reloads from its own disk, validated as usual (a reload that fails there is logged
and reported there, and that instance keeps serving its KB). The last fingerprint is also
kept in a key, so an instance that was cut off from Redis catches up when it is back.

The version covers the files' names as the bot shows them (relative to its working folder):
instances deployed alike share it; on one deployed elsewhere each announcement costs one more
reload, which finds the KB unchanged and announces nothing."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from bot.reload import Reloader, ReloadResult
from bot.shared import REDIS_ERRORS, RedisLink

log = logging.getLogger("dono.reload")

RESUBSCRIBE = 1.0  # seconds between tries while Redis does not answer


class ReloadFanOut:
    """Publishes this instance's reloads and follows the others' (``start``/``stop``)."""

    def __init__(self, link: RedisLink, reloader: Reloader) -> None:
        self.link = link
        self.reloader = reloader
        self.channel = link.key("kb", "reloaded")
        self.latest = link.key("kb", "version")
        self._task: asyncio.Task | None = None
        self._stop = asyncio.Event()
        reloader.announce = self.publish

    async def publish(self, result: ReloadResult) -> None:
        message = json.dumps({"instance": self.link.instance, "version": result.version})
        try:
            await self.link.client.set(self.latest, result.version)
            await self.link.client.publish(self.channel, message)
        except REDIS_ERRORS as exc:
            log.warning("the other instances were not told of the reload: %s", exc)

    def start(self) -> None:
        self._task = asyncio.create_task(self._follow())

    async def stop(self) -> None:
        # redis' pubsub may swallow a cancellation while it waits for a message: the loop
        # also ends on the flag, within its second's wait
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self._task, 3)

    async def _follow(self) -> None:
        while not self._stop.is_set():
            try:
                await self._listen()
            except REDIS_ERRORS as exc:
                log.warning("following other instances' reloads: %s; trying again", exc)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), RESUBSCRIBE)

    async def _listen(self) -> None:
        pubsub = self.link.client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self.channel)
            latest = await self.link.client.get(self.latest)  # one missed while cut off
            if latest is not None:
                await self._follow_version(latest.decode(), "the last one published")
            while not self._stop.is_set():
                message = await pubsub.get_message(timeout=1.0)
                if message is None:
                    continue
                try:
                    sent = json.loads(message["data"])
                    who, version = str(sent["instance"]), str(sent["version"])
                except (ValueError, KeyError, TypeError):
                    log.warning("not a reload announcement: %r", message["data"])
                    continue
                if who != self.link.instance:
                    await self._follow_version(version, f"instance {who}")
        finally:
            with contextlib.suppress(*REDIS_ERRORS):
                await pubsub.aclose()

    async def _follow_version(self, version: str, source: str) -> None:
        if version == self.reloader.knowledge.kb.version:
            return
        log.info("knowledge base %s reloaded by %s: reloading from this disk", version, source)
        await self.reloader.reload(tell_success=False)
