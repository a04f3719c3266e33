"""Operations: /healthz and Prometheus metrics on a local port, and JSON log lines."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramForbiddenError, TelegramRetryAfter
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.methods.base import Response
from aiogram.types import TelegramObject, Update
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST


class Metrics:
    """The bot's counters; one registry per bot so tests and restarts don't collide."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.updates = Counter("dono_updates", "Updates received", ["type"], registry=r)
        self.decisions = Counter("dono_decisions", "Matcher decisions", ["kind"], registry=r)
        self.api_calls = Counter(
            "dono_api_calls", "Bot API calls by outcome", ["method", "outcome"], registry=r
        )
        self.retry_after = Counter("dono_api_429", "429 Too Many Requests received", registry=r)
        self.send_latency = Histogram(
            "dono_api_latency_seconds",
            "Bot API call latency (sends, not long polls)",
            ["method"],
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=r,
        )
        self.tickets_waiting = Gauge("dono_tickets_waiting", "Tickets waiting", registry=r)
        self.kb_topics = Gauge("dono_kb_topics", "Topics in the served KB", registry=r)
        self.outbox_waiting = Gauge(
            "dono_outbox_waiting", "Sends waiting for the flood limits", registry=r
        )
        self.updates_kept = Gauge(
            "dono_updates_kept",
            "Updates kept in memory until the database or Telegram is back",
            registry=r,
        )
        self.database_ok = Gauge(
            "dono_database_ok", "1 while the database answers, 0 while it fails", registry=r
        )
        self.redis_ok = Gauge(
            "dono_redis_ok", "0 while the Redis configured fails, else 1", registry=r
        )
        self.instance = Gauge(
            "dono_instance_info",
            "This instance's name and whether it polls Telegram now (leader)",
            ["instance", "leader"],
            registry=r,
        )

    def set_instance(self, name: str, leader: bool | None) -> None:
        self.instance.clear()
        self.instance.labels(name, "" if leader is None else str(leader).lower()).set(1)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class DatabaseProbe:
    """Whether the database answers ``ping`` within ``timeout`` seconds; asked at most every
    ``every`` seconds, however often /healthz is polled. ``problem()``: None, or what failed."""

    def __init__(
        self,
        ping: Callable[[], Awaitable[None]],
        timeout: float = 1.0,
        every: float = 1.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ping = ping
        self.timeout = timeout
        self.every = every
        self.clock = clock
        self._asked: float | None = None
        self._problem: str | None = None

    async def problem(self) -> str | None:
        if self._asked is not None and self.clock() - self._asked < self.every:
            return self._problem
        try:
            await asyncio.wait_for(self.ping(), self.timeout)
        except TimeoutError:
            self._problem = f"no answer within {self.timeout:g} s"
        except Exception as exc:  # whatever an unreachable or broken database raises
            self._problem = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        else:
            self._problem = None
        self._asked = self.clock()
        return self._problem


class UpdateMetrics(BaseMiddleware):
    """Counts every update by type (outer middleware on the dispatcher's update observer)."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if isinstance(event, Update):
            self.metrics.updates.labels(event.event_type).inc()
        return await handler(event, data)


class ApiMetrics(BaseRequestMiddleware):
    """Times every Bot API call and counts its outcome (ok, 429, error)."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[Any],
        bot: Bot,
        method: TelegramMethod[Any],
    ) -> Response[Any]:
        name = type(method).__name__
        started = time.perf_counter()
        try:
            result = await make_request(bot, method)
        except TelegramRetryAfter:
            self.metrics.retry_after.inc()
            self.metrics.api_calls.labels(name, "429").inc()
            raise
        except Exception:
            self.metrics.api_calls.labels(name, "error").inc()
            raise
        if not isinstance(method, GetUpdates):
            self.metrics.send_latency.labels(name).observe(time.perf_counter() - started)
        self.metrics.api_calls.labels(name, "ok").inc()
        return result


async def start_health_server(
    host: str, port: int, metrics: Metrics, status: Callable[[], Awaitable[dict[str, Any]]]
) -> web.AppRunner:
    """GET /healthz (JSON, 200 when serving) and GET /metrics (Prometheus text)."""

    async def healthz(_: web.Request) -> web.Response:
        body = await status()
        code = 200 if body.get("status") == "ok" else 503
        return web.json_response(body, status=code)

    async def prometheus(_: web.Request) -> web.Response:
        await status()  # refreshes the gauges
        return web.Response(body=metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", prometheus)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner


log = logging.getLogger("dono")


class GroupWatch(BaseRequestMiddleware):
    """Whether the bot may act in the operators' groups (every desk's). A 403 from a group
    (the bot was removed from it, or never added) is logged once and makes /healthz
    "degraded" with Telegram's reason and the desk's name (``problem``) until a call to that
    group goes through again."""

    def __init__(self, groups: Mapping[int, str]) -> None:
        self.groups = dict(groups)  # group id → its desk's name ("" for the one desk)
        self.problems: dict[int, str] = {}

    @property
    def problem(self) -> str | None:
        """What /healthz reports: Telegram's reason, after its desk's name when there are
        several desks; None when every group takes the bot."""
        if not self.problems:
            return None
        if len(self.groups) == 1:
            return next(iter(self.problems.values()))
        return "; ".join(
            f"{self.groups[group] or group}: {why}" for group, why in self.problems.items()
        )

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[Any],
        bot: Bot,
        method: TelegramMethod[Any],
    ) -> Response[Any]:
        group = getattr(method, "chat_id", None)
        if group not in self.groups:
            return await make_request(bot, method)
        try:
            result = await make_request(bot, method)
        except TelegramForbiddenError as exc:
            if group not in self.problems:
                log.error(
                    "the operators' group %s%s refuses the bot (%s): add the bot back as an"
                    " administrator; hand-offs and subscribers' messages are kept until then",
                    group,
                    f" (desk {self.groups[group]})" if self.groups[group] else "",
                    exc.message,
                )
            self.problems[group] = exc.message
            raise
        if self.problems.pop(group, None) is not None:
            log.warning("the operators' group %s takes the bot again", group)
        return result


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message (and the exception, if any), and
    the instance's name when it is given."""

    def __init__(self, instance: str | None = None) -> None:
        super().__init__()
        self.instance = instance

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": round(record.created, 3),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if self.instance is not None:
            line["instance"] = self.instance
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)
