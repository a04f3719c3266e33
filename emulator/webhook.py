"""Telegram's side of a webhook: each queued update POSTed to the bot's URL.

Whenever a bot has a webhook set (``setWebhook``) to a loopback URL, its queued updates are
POSTed there as JSON, with the ``X-Telegram-Bot-Api-Secret-Token`` header when a secret token
was given, up to ``max_connections`` at once. A 2xx answer takes the update off the queue;
anything else (or no answer) leaves it queued and it is delivered again later, backing off,
as Telegram does ("we will repeat the request"). Updates of one chat go one after another (the
next one only once the previous was taken), so a chat's updates reach the bot in order.
A URL elsewhere (``https://bot.example.tj/…``) is only stored: the emulator never talks to
the outside world, and tests then deliver by hand. While the emulator is stopped nothing is
delivered; each attempt is logged as a ``webhook`` event with its status (0: no answer).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import aiohttp

from emulator.models import JSON, BotAccount

if TYPE_CHECKING:
    from emulator.core import EmulatorCore

log = logging.getLogger("emulator.webhook")

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
FIRST_RETRY = 0.5  # seconds before a failed delivery is tried again, doubling ...
LAST_RETRY = 4.0  # ... up to this
REQUEST_TIMEOUT = 30.0  # a delivery not answered in this long counts as failed


def delivers_to(webhook: JSON | None) -> str | None:
    """The URL deliveries go to, or None when the webhook is unset or not on this machine."""
    if not webhook:
        return None
    url = webhook["url"]
    return url if urlsplit(url).hostname in LOCAL_HOSTS else None


def chat_of(update: JSON) -> int | None:
    """The chat an update belongs to (its deliveries are kept in order), if any."""
    for kind, payload in update.items():
        if kind == "update_id" or not isinstance(payload, dict):
            continue
        message = payload.get("message") if kind == "callback_query" else payload
        chat = (message or {}).get("chat") or payload.get("chat")
        if isinstance(chat, dict):
            return chat.get("id")
        sender = payload.get("from")
        if isinstance(sender, dict):
            return sender.get("id")
    return None


class WebhookDelivery:
    """Delivers one bot's queue to its webhook until stopped."""

    def __init__(self, emu: EmulatorCore, bot: BotAccount) -> None:
        self.emu = emu
        self.bot = bot
        self.in_flight: dict[int, asyncio.Task[None]] = {}  # update_id → its POST
        self.retry_at: dict[int, float] = {}
        self.failures: dict[int, int] = {}
        self.last_error: tuple[int, str] | None = None  # (unix time, message)

    def _due(self, now: float, room: int) -> list[JSON]:
        """Up to ``room`` updates to POST now: per chat the oldest queued one, if not in
        flight or waiting for its retry (the queue is read only as far as needed)."""
        busy: set[int] = set()
        due: list[JSON] = []
        for update in self.bot.updates:
            if len(due) >= room:
                break
            uid, chat = update["update_id"], chat_of(update)
            blocked = chat is not None and chat in busy
            if chat is not None:
                busy.add(chat)
            if blocked or uid in self.in_flight or self.retry_at.get(uid, 0.0) > now:
                continue
            due.append(update)
        return due

    async def run(self, http: aiohttp.ClientSession) -> None:
        """POST what is due, wait for something to change (a new update, an answer, a
        retry's time), repeat."""
        loop = asyncio.get_running_loop()
        while True:
            url = delivers_to(self.bot.webhook)
            tick = self.bot.tick
            if url is not None:
                room = int(self.bot.webhook.get("max_connections") or 40) - len(self.in_flight)
                for update in self._due(loop.time(), room):
                    uid = update["update_id"]
                    self.in_flight[uid] = asyncio.create_task(self._post(http, url, update))
            waits: list[Any] = [asyncio.ensure_future(tick.wait()), *self.in_flight.values()]
            retries = [t for t in self.retry_at.values() if t > loop.time()]
            timeout = max(min(retries) - loop.time(), 0.01) if retries else None
            await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            waits[0].cancel()

    async def _post(self, http: aiohttp.ClientSession, url: str, update: JSON) -> None:
        uid = update["update_id"]
        headers = {}
        if secret := (self.bot.webhook or {}).get("secret_token"):
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        status, error = 0, ""
        try:
            timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
            async with http.post(url, json=update, headers=headers, timeout=timeout) as r:
                status = r.status
                error = "" if 200 <= status < 300 else f"Wrong response from the webhook: {status}"
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            error = f"Connection failed: {type(exc).__name__}"
        finally:
            self.in_flight.pop(uid, None)
        self.emu.record("webhook", bot_id=self.bot.id, data={"update_id": uid, "status": status})
        if not error:
            with contextlib.suppress(ValueError):
                self.bot.updates.remove(update)
            self.retry_at.pop(uid, None)
            self.failures.pop(uid, None)
            self.bot.notify()
            return
        self.last_error = (int(self.emu.wall_clock()), error)
        n = self.failures[uid] = self.failures.get(uid, 0) + 1
        delay = min(FIRST_RETRY * 2 ** (n - 1), LAST_RETRY)
        self.retry_at[uid] = asyncio.get_running_loop().time() + delay

    async def stop(self) -> None:
        for task in list(self.in_flight.values()):
            task.cancel()
        for task in list(self.in_flight.values()):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.in_flight.clear()


class Deliveries:
    """Every bot's webhook deliveries, run while the emulator is up."""

    def __init__(self, emu: EmulatorCore) -> None:
        self.emu = emu
        self.by_bot: dict[int, WebhookDelivery] = {}
        self._task: asyncio.Task[None] | None = None
        self._http: aiohttp.ClientSession | None = None

    def of(self, bot: BotAccount) -> WebhookDelivery:
        if bot.id not in self.by_bot:
            self.by_bot[bot.id] = WebhookDelivery(self.emu, bot)
        return self.by_bot[bot.id]

    def start(self) -> None:
        self._http = aiohttp.ClientSession()
        self._task = asyncio.create_task(self._run_all(self._http))

    async def _run_all(self, http: aiohttp.ClientSession) -> None:
        running: dict[int, asyncio.Task[None]] = {}
        while True:  # bots may be added while running
            tick = self.emu._tick
            for bot in list(self.emu.bots.values()):
                if bot.id not in running:
                    running[bot.id] = asyncio.create_task(self.of(bot).run(http))
            try:
                await tick.wait()
            except asyncio.CancelledError:
                for task in running.values():
                    task.cancel()
                raise

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for delivery in self.by_bot.values():
            await delivery.stop()
        if self._http is not None:
            await self._http.close()
            self._http = None
