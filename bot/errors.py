"""What happens to an update whose handling fails: this module decides, by the error's type.

- A desk rule said no (``handoff.tickets.DeskError``): the agent gets that rule's text — an
  alert under a pressed button, a reply to a command or message — and the update is done.
- Telegram refused a send with 403 (``TelegramForbiddenError``): the 403 is the chat's it came
  from. A subscriber's chat: they blocked the bot; ``Desk.subscriber_blocked`` (the one
  workflow for it) records it and closes their ticket. The operators' group: the bot was
  removed from it (or never added) — nothing is wrong with the update or the subscriber, so it
  is kept like an outage (``OperatorsUnavailable``) and handled again until the group takes
  the bot back; /healthz says "degraded" meanwhile (``bot.health.GroupWatch``).
- The database or Telegram is away (``worth_retrying``): the error goes back to the poller
  (``bot.durable``), which keeps the update and handles it again with a growing pause: database
  errors and the operators' group refusing the bot for as long as they last, Telegram's
  errors for about half an hour (``keep_for_retry``).
- Anything else is the update's fault: logged, the subscriber gets an apology, and the update
  counts as done — a poison update is not retried forever. (An update that crashed the whole
  process three times is skipped at start; the poller counts those.)
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
import sqlite3
from typing import Any

import asyncpg
from aiogram import Dispatcher
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.filters import ExceptionTypeFilter
from aiogram.types import ErrorEvent
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.desk import Desk, cards
from bot.desk.topics import OperatorsUnavailable
from bot.journal import JournalUnavailable
from bot.texts import t
from handoff.tickets import DeskError

log = logging.getLogger("dono")

# an update whose sends Telegram keeps refusing (5xx) is given up after this many rounds (each
# round is the retry middleware's own attempts, the pause between rounds grows to 30 s): about
# half an hour, so a request Telegram will never take does not come back forever
MAX_TELEGRAM_RETRIES = 20

_UNAVAILABLE = ("locked", "busy", "full", "disk i/o", "unable to open", "readonly")
# PostgreSQL away: refusing connections while it starts or stops, a connection lost or closed
# under the pool, too many clients (asyncpg's class 08, 57P and 53300 errors)
_POSTGRES_AWAY = (
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
    asyncpg.InterfaceError,  # the connection or the pool is closed
    # a connection whose server shut down in the middle of a query ("unexpected connection
    # state"): seen as PostgreSQL stops under load; the query never finished
    asyncpg.exceptions.InternalClientError,
)
# a server (PostgreSQL, Redis) out of reach: no route, refused, reset, timed out
_NETWORK = {
    errno.ECONNREFUSED,
    errno.ECONNRESET,
    errno.ECONNABORTED,
    errno.EPIPE,
    errno.ETIMEDOUT,
    errno.EHOSTUNREACH,
    errno.ENETUNREACH,
    errno.EHOSTDOWN,
}


def storage_unavailable(exc: BaseException) -> bool:
    """A database (or Redis) error that says nothing about the update: wait and try again."""
    if isinstance(exc, JournalUnavailable):  # a send's record, looked up or written
        return True
    if isinstance(exc, sqlite3.OperationalError):
        text = str(exc).lower()
        return any(word in text for word in _UNAVAILABLE)
    if isinstance(exc, (*_POSTGRES_AWAY, TimeoutError, ConnectionError, socket.gaierror)):
        return True  # TimeoutError: the pool's acquire, a connect, Redis
    if isinstance(exc, OSError):  # asyncpg's connect: an unreachable host or network
        return exc.errno in _NETWORK
    return isinstance(exc, (RedisConnectionError, RedisTimeoutError))


def telegram_unavailable(exc: BaseException) -> bool:
    """Telegram still failing after the retry middleware's attempts (5xx, network, 429)."""
    return isinstance(exc, (TelegramServerError, TelegramNetworkError, TelegramRetryAfter))


def operators_unavailable(exc: BaseException) -> bool:
    """The operators' group refuses the bot (403): kept until an admin adds it back."""
    return isinstance(exc, OperatorsUnavailable)


def worth_retrying(exc: BaseException) -> bool:
    """Nothing is wrong with the update: the database, Telegram or the operators' group is
    away. Keep it, retry."""
    return storage_unavailable(exc) or telegram_unavailable(exc) or operators_unavailable(exc)


def raise_if_cancelled() -> None:
    """Ends the current task when it was cancelled but the cancel did not come up: a driver's
    clean-up on a cut connection (a rollback, asyncpg's transaction exit) raises its own error
    in place of the ``CancelledError``, which a retry loop would take for the database being
    away and go on with forever (an instance stopped, or a test's ``kill -9``, that never ends)."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


def keep_for_retry(exc: BaseException, retries: int) -> bool:
    """Whether the poller keeps an update whose handling raised ``exc`` after ``retries``
    earlier rounds (True), or logs it and marks it done (False)."""
    return (
        storage_unavailable(exc)
        or operators_unavailable(exc)
        or (telegram_unavailable(exc) and retries < MAX_TELEGRAM_RETRIES)
    )


def _chat_id(event: ErrorEvent) -> int | None:
    update = event.update
    if update.message:
        return update.message.chat.id
    if update.callback_query and update.callback_query.message:
        return update.callback_query.message.chat.id
    return None


async def on_desk_error(event: ErrorEvent, desk: Desk) -> None:
    """A desk rule's "no", in the agents' language, where the agent acted."""
    exc = event.exception
    assert isinstance(exc, DeskError)
    update = event.update
    if desk.desks.here(_chat_id(event)) is None:  # a race on the subscriber's side (a reopen)
        log.warning("update %s: %s", update.update_id, exc)
        if update.message is not None:
            await update.message.answer(t(None, "error"))
        elif update.callback_query is not None:
            await update.callback_query.answer(t(None, "stale_button"))
        return
    if update.callback_query is not None:
        text = cards.error_text(desk.lang, exc, for_html=False)
        await update.callback_query.answer(text, show_alert=True)
    elif update.message is not None:
        await update.message.reply(cards.error_text(desk.lang, exc, for_html=True))


async def on_blocked(event: ErrorEvent, desk: Desk) -> None:
    """A call refused with 403, attributed to the chat it went to: the operators' group (the
    bot was removed: the update is kept, ``OperatorsUnavailable``) or a subscriber's chat
    (they blocked the bot)."""
    exc = event.exception
    method = getattr(exc, "method", None)
    chat_id = getattr(method, "chat_id", None)
    if chat_id is None:
        chat_id = _chat_id(event)
    if isinstance(chat_id, int) and desk.desks.here(chat_id) is not None:
        raise OperatorsUnavailable(str(exc)) from exc  # logged once, by bot.health.GroupWatch
    if not isinstance(chat_id, int) or chat_id < 0:
        log.warning("the bot may not act in chat %s: %s", chat_id, exc)
        return
    log.info("chat %s blocked the bot; marked as blocked", chat_id)
    await desk.subscriber_blocked(chat_id)


async def on_failure(event: ErrorEvent, **_: Any) -> None:
    """Not the update's fault: re-raised for the poller to keep. The update's fault: logged,
    an apology to the subscriber, done."""
    exc = event.exception
    if worth_retrying(exc):
        raise exc
    log.error("update %s failed: %r", event.update.update_id, exc, exc_info=exc)
    message = event.update.message
    if message is not None and not isinstance(exc, TelegramAPIError):
        with contextlib.suppress(Exception):
            await message.answer(t(None, "error"))


def register(dp: Dispatcher) -> None:
    """The error handlers, most specific first, on the dispatcher (they see every router)."""
    dp.errors.register(on_desk_error, ExceptionTypeFilter(DeskError))
    dp.errors.register(on_blocked, ExceptionTypeFilter(TelegramForbiddenError))
    dp.errors.register(on_failure)
