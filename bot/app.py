"""Wires Dono together: Bot (with retries), Dispatcher, routers, store, knowledge; runs it."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import os
import signal
import sqlite3
import sys
from dataclasses import dataclass, field

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import PRODUCTION, TelegramAPIServer
from aiogram.exceptions import TelegramAPIError
from aiogram.fsm.storage.base import BaseStorage
from aiogram.types import BotCommand
from aiogram.utils.token import TokenValidationError, validate_token
from aiohttp import web

from bot import errors
from bot.config import Config, bot_token
from bot.desk import Desk, WorkspaceDesk
from bot.desk.sla import DeskSla
from bot.durable import DurablePoller, IdempotentSends
from bot.handlers import admin, agent, subscriber
from bot.health import (
    ApiMetrics,
    DatabaseProbe,
    JsonFormatter,
    Metrics,
    UpdateMetrics,
    start_health_server,
)
from bot.journal import Journal
from bot.middlewares import SubscriberMiddleware, TicketMiddleware
from bot.pacing import Limits, Pacer
from bot.periodic import Periodic
from bot.reload import Reloader, ReloadResult
from bot.retry import RetryMiddleware
from bot.shared import RedisLink, fsm_storage, open_link
from bot.shared_pacing import RedisBuckets
from bot.shared_reload import ReloadFanOut
from bot.startup import (
    EXIT_CONFIG,
    EXIT_DATABASE,
    EXIT_OK,
    StartupError,
    listening,
    wait_for_telegram,
    webhook_secret,
)
from bot.texts import t
from handoff.storage import Store
from handoff.storage.database import DatabaseUnavailable, redacted
from handoff.storage.postgres import unavailable
from knowledge.lang import LANGS
from knowledge.service import KnowledgeService

log = logging.getLogger("dono")


def create_bot(
    token: str,
    api_base: str | None = None,
    timeout: float = 30,
    metrics: Metrics | None = None,
    pacer: Pacer | None = None,
    sends: IdempotentSends | None = None,
    retry: RetryMiddleware | None = None,
) -> Bot:
    """A Bot whose sends are paced to the flood limits and whose every call waits out 429s
    and retries 5xx/network errors (each attempt paced again)."""
    api = TelegramAPIServer.from_base(api_base) if api_base else PRODUCTION
    session = AiohttpSession(api=api, timeout=timeout)
    if sends is not None:
        session.middleware(sends)  # outermost: one logical send, one record
    session.middleware(retry or RetryMiddleware())
    if pacer is not None:
        session.middleware(pacer)
    if metrics is not None:
        session.middleware(ApiMetrics(metrics))  # inside the retries: every attempt counts
    return Bot(token, session=session, default=DefaultBotProperties(parse_mode="HTML"))


def create_dispatcher(
    config: Config,
    knowledge: KnowledgeService,
    store: Store,
    desk: Desk,
    storage: BaseStorage | None = None,
) -> Dispatcher:
    """``storage``: where conversation (FSM) state lives; None: this process's memory."""
    dp = Dispatcher(storage=storage, knowledge=knowledge, store=store, config=config, desk=desk)
    dp["admins"] = frozenset(config.agents.admins)
    dp["max_chars"] = config.bot.max_message_chars
    middleware = SubscriberMiddleware(store, config.bot.default_language)
    for observer in (dp.message, dp.edited_message, dp.callback_query):
        observer.outer_middleware(middleware)  # every router's private-chat handlers get it
    private = subscriber.create_router(store)
    private.message.outer_middleware(
        TicketMiddleware(store, desk.group_id, config.agents.reopen_window, desk.clock)
    )
    errors.register(dp)
    dp.include_router(admin.create_router(d.group_id for d in config.agents.desks()))
    dp.include_router(agent.create_routers(desk))  # the desks' groups, leads in private
    dp.include_router(private)
    return dp


async def set_commands(bot: Bot) -> None:
    """The command menu in each language; run in the background, so a Telegram that fails
    these calls delays neither serving nor a stop."""
    names = ["start", "menu", "operator", "cancel", "lang", "help"]
    for lang in (*LANGS, None):
        commands = [BotCommand(command=n, description=t(lang or "en", f"cmd_{n}")) for n in names]
        try:
            await bot.set_my_commands(commands, language_code=lang)
        except TelegramAPIError as exc:
            log.warning("setMyCommands(%s) failed: %s", lang, exc)


@dataclass
class Dono:
    """One running bot: open with ``await Dono.start(...)``, stop with ``await stop()``."""

    config: Config
    bot: Bot
    dp: Dispatcher
    store: Store
    journal: Journal
    knowledge: KnowledgeService
    reloader: Reloader
    metrics: Metrics
    pacer: Pacer
    sends: IdempotentSends | None = None
    retry: RetryMiddleware | None = None
    task: asyncio.Task | None = None
    runner: web.AppRunner | None = None
    health: web.AppRunner | None = None
    poller: DurablePoller | None = None
    commands: asyncio.Task | None = None
    timers: Periodic | None = None
    link: RedisLink | None = None
    probe: DatabaseProbe = field(init=False)
    fanout: ReloadFanOut | None = None
    _stopped: bool = field(default=False, repr=False)

    @classmethod
    async def create(cls, config: Config, token: str, api_base: str | None = None) -> Dono:
        knowledge = KnowledgeService(
            config.knowledge.path, config.knowledge.thresholds.to_thresholds()
        )
        ok, problems = knowledge.reload()
        if not ok:
            from knowledge.loader import KnowledgeBaseError

            raise KnowledgeBaseError(problems)
        store = await Store.open(config.bot.database_url())
        log.info("database %s", redacted(config.bot.database_url()))
        where = config.bot.journal_target()
        try:
            journal = await Journal.open(where)
        except (OSError, sqlite3.Error, *unavailable()) as exc:
            await store.close()
            raise DatabaseUnavailable(f"journal {redacted(where)}: {exc}") from None
        log.info("update journal %s; instance %s", redacted(where), config.ops.instance_name())
        metrics = Metrics()
        link = await _redis(config, store, journal)
        limits = Limits(**config.telegram.limits.model_dump())
        pacer = Pacer(limits, shared=RedisBuckets(link, limits) if link else None)
        metrics.outbox_waiting.set_function(lambda: pacer.waiting)
        sends = IdempotentSends(journal)
        retry = RetryMiddleware()
        bot = create_bot(
            token,
            api_base or config.api_base,
            config.telegram.request_timeout,
            metrics,
            pacer,
            sends,
            retry,
        )
        desk = WorkspaceDesk(bot, store, config.agents, config.agents.hours(), pacer=pacer)
        desk.use_knowledge(knowledge)  # topics named by KB topics, desks' categories checked
        sla = DeskSla(store, config.reports.targets(), desk.hours, desk.lang)
        desk.topics.triage = sla.card_lines  # priority, labels, due times on the card
        dp = create_dispatcher(config, knowledge, store, desk, fsm_storage(link))
        dp["metrics"] = metrics
        dp.update.outer_middleware(UpdateMetrics(metrics))

        async def tell_admins(result: ReloadResult) -> None:
            await desk.post(admin.result_text(desk.lang, result))

        reloader = Reloader(knowledge, tell_admins)
        dp["reloader"] = reloader
        log.info(
            "knowledge base %s: %d topics, version %s",
            knowledge.path,
            len(knowledge.kb.topics),
            knowledge.kb.version,
        )
        dono = cls(
            config, bot, dp, store, journal, knowledge, reloader, metrics, pacer, sends, retry
        )
        dono.link = link
        dono.probe = DatabaseProbe(store.ping)
        dono.fanout = ReloadFanOut(link, reloader) if link else None
        return dono

    async def _start_watching(self) -> None:
        if self.fanout is not None:
            self.fanout.start()
        if self.config.knowledge.watch:
            self.reloader.start()
            # one turn of the loop: the watcher notes which folder the KB path leads to now,
            # so a folder switched right after start-up is seen as a switch
            await asyncio.sleep(0)

    async def status(self) -> dict:
        """What /healthz says; also refreshes the gauges /metrics shows."""
        kb = self.knowledge.kb
        self.metrics.kb_topics.set(len(kb.topics))
        serving = (self.task is not None and not self.task.done()) or self.runner is not None
        leader = getattr(self.poller, "leader", None)
        body: dict = {
            "status": "ok" if serving and not self._stopped else "down",
            "instance": self.config.ops.instance_name(),
            "leader": leader,
            "kb_version": kb.version,
            "kb_topics": len(kb.topics),
        }
        self.metrics.set_instance(body["instance"], leader)
        problem = self.poller.storage_error if self.poller is not None else None
        problem = problem or await self.probe.problem()
        try:
            waiting = None if problem else len(await self.store.queue())
        except Exception as exc:
            if not (errors.storage_unavailable(exc) or isinstance(exc, sqlite3.Error)):
                raise
            problem = str(exc) or type(exc).__name__
        if waiting is not None:
            self.metrics.tickets_waiting.set(waiting)
            body["tickets_waiting"] = waiting
        self.metrics.database_ok.set(0 if problem else 1)
        body["database"] = problem or "ok"
        body["redis"] = self.link.status if self.link is not None else None
        self.metrics.redis_ok.set(1 if body["redis"] in ("ok", None) else 0)
        if (problem is not None or body["redis"] not in ("ok", None)) and body["status"] == "ok":
            body["status"] = "degraded"
        operators = self.dp["desk"].operators.problem  # the group refuses the bot (403)
        if operators is not None:
            body["operators_group"] = operators
            body["status"] = "degraded" if body["status"] == "ok" else body["status"]
        if self.poller is not None:
            body["updates_kept_in_memory"] = len(self.poller.waiting)
            self.metrics.updates_kept.set(len(self.poller.waiting))
        return body

    async def start_health(self) -> None:
        ops = self.config.ops
        if ops.health_port is not None:
            self.health = await listening(
                "health check (ops.health_port)",
                ops.health_host,
                ops.health_port,
                start_health_server(ops.health_host, ops.health_port, self.metrics, self.status),
            )

    def _set_commands(self) -> None:
        """Start-up work that runs beside the updates: the command menus, and the bot's
        timers (single outage reports passed on, the daily digest)."""
        self.commands = asyncio.create_task(set_commands(self.bot))
        self.timers = Periodic(
            self.config, self.store, self.dp["desk"], self.knowledge, leading=self._leading
        )
        self.timers.start()

    def _leading(self) -> bool:
        """Whether this instance runs the timers: the one that leads (``DurablePoller``)."""
        return self.poller is not None and self.poller.leader

    async def start_polling(self, polling_timeout: int = 10) -> None:
        """Start long polling in a background task."""
        await self._start_watching()
        self.poller = DurablePoller(
            self.bot,
            self.dp,
            self.journal,
            polling_timeout,
            sends=self.sends,
            instance=self.config.ops.instance_name(),
        )
        self._set_commands()
        self.task = asyncio.create_task(self.poller.run())

    async def start_webhook(self, url: str, secret: str) -> web.AppRunner:
        """Serve Telegram's webhook on config.telegram.webhook's host/port/path; a delivery
        without ``secret`` in its X-Telegram-Bot-Api-Secret-Token header gets 401."""
        hook = self.config.telegram.webhook
        poller = DurablePoller(
            self.bot,
            self.dp,
            self.journal,
            sends=self.sends,
            instance=self.config.ops.instance_name(),
        )
        self.poller = poller

        async def deliver(request: web.Request) -> web.Response:
            given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
            if not hmac.compare_digest(given.encode(), secret.encode()):
                return web.Response(status=401)
            try:
                raw = await request.json(loads=json.loads)
            except ValueError:
                log.error("webhook delivery that is not JSON skipped")
                return web.Response(status=200)
            return web.Response(status=await poller.accept(raw))

        app = web.Application(client_max_size=20 * 2**20)
        app.router.add_post(hook.path, deliver)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, hook.listen_host, hook.listen_port)
        try:
            await listening(
                "webhook (telegram.webhook.listen_port)",
                hook.listen_host,
                hook.listen_port,
                site.start(),
            )
        except StartupError:
            await runner.cleanup()
            raise
        self.runner = runner
        await self._start_watching()
        self.task = asyncio.create_task(poller.serve_webhook())
        self._set_commands()
        await self.bot.set_webhook(
            url, secret_token=secret, allowed_updates=self.dp.resolve_used_update_types()
        )
        return runner

    async def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self.commands is not None:
            self.commands.cancel()
        if self.timers is not None:
            await self.timers.stop()
        await self.reloader.stop()
        if self.fanout is not None:
            await self.fanout.stop()
        if self.health is not None:
            await self.health.cleanup()
        if self.runner is not None:
            await self.runner.cleanup()
        if self.poller is not None:
            await self.poller.stop()
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self.task, timeout=5)
        await self.bot.session.close()
        await self.journal.close()
        await self.store.close()
        if self.link is not None:
            await self.link.close()


async def start_serving(dono: Dono, secret: str | None) -> None:
    """Health port, the token's check against Telegram (bounded), then polling or the webhook."""
    config = dono.config
    await dono.start_health()
    me = await wait_for_telegram(
        dono.bot, config.telegram.startup_wait, config.api_base or "api.telegram.org"
    )
    if secret is not None:
        await dono.start_webhook(config.telegram.webhook.url or "", secret)
    else:
        await dono.start_polling()
    log.info("Dono is running as @%s", me.username)


async def serve(config: Config, token: str, api_base: str | None = None) -> int:
    """Run until SIGINT/SIGTERM, which are heard in every phase, start-up included; the exit
    code. What is being handled when the signal comes is finished (for up to 5 s)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    secret = None
    if config.telegram.mode == "webhook":
        if not config.telegram.webhook.url:
            raise StartupError("telegram.webhook.url must be set in webhook mode", EXIT_CONFIG)
        secret = webhook_secret()
    try:
        validate_token(token)
    except TokenValidationError:
        raise StartupError(
            "DONO_BOT_TOKEN is not a bot token (expected like 123456:ABC-DEF…)", EXIT_CONFIG
        ) from None
    try:
        dono = await Dono.create(config, token, api_base)
    except DatabaseUnavailable as exc:
        raise StartupError(f"cannot open the database {exc}", EXIT_DATABASE) from None
    starting = asyncio.create_task(start_serving(dono, secret))
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if starting.done():
            starting.result()  # a StartupError stops here
            await stopping
        else:
            log.info("stopped during start-up")
            starting.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await starting
    finally:
        stopping.cancel()
        await dono.stop()
    return EXIT_OK


class RedactToken(logging.Filter):
    """Whatever a library logs (a URL in an error, say), the token and the webhook secret
    never reach the log."""

    def __init__(self, token: str | None, *secrets: str | None) -> None:
        super().__init__()
        self.secrets = [(s, "<token>") for s in (token,) if s]
        self.secrets += [(s, "<secret>") for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            message = record.getMessage()
            if any(s in message for s, _ in self.secrets):
                for s, placeholder in self.secrets:
                    message = message.replace(s, placeholder)
                record.msg, record.args = message, None
        return True


def setup_logging(
    json_lines: bool = False,
    token: str | None = None,
    secret: str | None = None,
    instance: str | None = None,
) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(RedactToken(token, secret))
    if json_lines or os.environ.get("DONO_LOG_JSON") == "1":
        handler.setFormatter(JsonFormatter(instance))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=os.environ.get("DONO_LOG_LEVEL", "INFO"), handlers=[handler])
    # aiogram logs full request URLs on some errors; those contain the token.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


def run_bot(config: Config) -> int:
    token = bot_token()
    if not token:
        print(
            "dono run: DONO_BOT_TOKEN is not set: put the bot token from @BotFather "
            "in the environment",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    secret = os.environ.get("DONO_WEBHOOK_SECRET") or None
    setup_logging(config.ops.json_logs, token, secret, config.ops.instance_name())
    try:
        return asyncio.run(serve(config, token))
    except StartupError as exc:
        print(f"dono run: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:  # Ctrl+C before the signal handlers were in place
        return 130


async def _redis(config: Config, store: Store, journal: Journal) -> RedisLink | None:
    """The instance's Redis (None without one); what was opened before is closed when it
    can't be used (``DatabaseUnavailable``: ``dono run`` exits 6)."""
    try:
        return await open_link(
            config.redis, config.ops.instance_name(), config.telegram.startup_wait
        )
    except DatabaseUnavailable:
        await journal.close()
        await store.close()
        raise
