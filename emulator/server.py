"""The Telegram Bot API emulator: an aiohttp server on 127.0.0.1 plus the in-process API."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from types import TracebackType
from typing import Any

from aiohttp import web

from emulator.actors import UserActions
from emulator.core import DEFAULT_BOT_USERNAME, DEFAULT_TOKEN
from emulator.faults import Fault
from emulator.routes import build_app
from emulator.webhook import Deliveries

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class Emulator(UserActions):
    """In-memory Telegram: Bot API over HTTP for the bot, coroutines for simulated users.

    State (bots, users, chats, messages, files, update queues) lives on this object, so
    :meth:`stop` followed by :meth:`start` simulates a Telegram outage without data loss.
    """

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, **options: Any) -> None:
        if host not in LOOPBACK_HOSTS:
            raise ValueError(f"the emulator only binds to loopback, not {host!r}")
        super().__init__(**options)
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None
        # routes a host adds to the page's server before start (the playground's read-only
        # view of the bot's database)
        self.extra_routes: list[web.RouteDef] = []
        self.restart_task: asyncio.Task[None] | None = None
        self.webhooks = Deliveries(self)  # POSTs updates to a webhook set on loopback

    # ------------------------------------------------------------ lifecycle

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>`` (use with ``TelegramAPIServer.from_base``)."""
        return f"http://{self.host}:{self.port}"

    @property
    def token(self) -> str:
        """The default bot's token."""
        return self.default_bot.token

    @property
    def running(self) -> bool:
        """Whether the HTTP server is listening."""
        return self._runner is not None

    async def start(self) -> Emulator:
        """Start listening (again, on the same port after :meth:`stop`)."""
        if self._runner is not None:
            return self
        self._halt = asyncio.Event()
        self.accepting = True
        app = build_app(self)
        app.router.add_routes(self.extra_routes)
        runner = web.AppRunner(
            app, handler_cancellation=True, shutdown_timeout=1.0, access_log=None
        )
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port, reuse_address=True)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        for address in runner.addresses:
            if isinstance(address, tuple):
                self.port = int(address[1])
                break
        self._runner = runner
        self.webhooks.start()
        return self

    async def stop(self) -> None:
        """Stop listening: open long polls and held requests are cut, state is kept."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        self.accepting = False
        self._halt.set()
        await self.webhooks.stop()
        for bot in self.bots.values():
            bot.notify()
        await runner.cleanup()

    async def restart(self, down_for: float = 0.0) -> None:
        """Stop, stay down ``down_for`` seconds, start again on the same port."""
        await self.stop()
        if down_for > 0:
            await asyncio.sleep(down_for)
        await self.start()

    def schedule_restart(self, down_for: float = 0.0) -> asyncio.Task[None]:
        """Restart in the background (used by the control API, which runs on this server).

        The task is kept in ``restart_task``; await it to know the server is back.
        """

        async def later() -> None:
            await asyncio.sleep(0.05)  # let the control response go out first
            await self.restart(down_for)

        self.restart_task = asyncio.get_running_loop().create_task(later())
        return self.restart_task

    async def __aenter__(self) -> Emulator:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # --------------------------------------------------------------- faults

    def inject_error(
        self,
        method: str | Iterable[str] | None = None,
        *,
        count: int = 1,
        status: int = 500,
        description: str | None = None,
        raw_body: str | None = None,
    ) -> Fault:
        """Next ``count`` calls fail with HTTP ``status`` and Telegram-style JSON
        (or ``raw_body``, e.g. an nginx HTML page)."""
        return self.faults.add(
            "error", method, count=count, status=status, description=description, raw_body=raw_body
        )

    def inject_retry_after(
        self, method: str | Iterable[str] | None = None, *, count: int = 1, retry_after: int = 3
    ) -> Fault:
        """Next ``count`` calls get 429 ``Too Many Requests: retry after N``."""
        return self.faults.add("retry_after", method, count=count, retry_after=retry_after)

    def inject_timeout(
        self,
        method: str | Iterable[str] | None = None,
        *,
        count: int = 1,
        hold: float = 30.0,
        apply: bool = False,
    ) -> Fault:
        """Hold the next ``count`` calls for ``hold`` seconds, then drop them.

        ``apply=True`` executes the call first (the message is sent, the reply is lost).
        """
        return self.faults.add("timeout", method, count=count, hold=hold, apply=apply)

    def inject_drop(
        self, method: str | Iterable[str] | None = None, *, count: int = 1, apply: bool = False
    ) -> Fault:
        """Close the connection of the next ``count`` calls without any response."""
        return self.faults.add("drop", method, count=count, apply=apply)

    def inject_lost_response(
        self, method: str | Iterable[str] | None = None, *, count: int = 1
    ) -> Fault:
        """The call takes effect (the message is sent, the topic created), then the
        connection closes without a response: what a client retrying it would repeat."""
        return self.faults.add("drop", method, count=count, apply=True)

    def fail_for(
        self,
        seconds: float,
        kind: str = "error",
        method: str | Iterable[str] | None = None,
        **options: Any,
    ) -> Fault:
        """Fail every matching call for ``seconds`` (kind: error/retry_after/timeout/drop)."""
        return self.faults.add(kind, method, seconds=seconds, **options)

    def clear_faults(self) -> None:
        """Remove every fault rule."""
        self.faults.clear()

    def set_limits(self, **changes: Any) -> None:
        """Change flood limits at runtime, e.g. ``set_limits(enabled=False)``."""
        self.limits.update(**changes)

    def reset_limits(self) -> None:
        """Refill every flood-control bucket."""
        self.rate_limiter.reset()


async def start_emulator(host: str = "127.0.0.1", port: int = 0, **options: Any) -> Emulator:
    """Create and start an emulator (``port=0`` picks a free port; see ``emu.base_url``)."""
    emu = Emulator(host=host, port=port, **options)
    return await emu.start()


__all__ = ["DEFAULT_BOT_USERNAME", "DEFAULT_TOKEN", "Emulator", "start_emulator"]
