"""What happens to an update whose handling fails: this module decides, by the error's type.

- A desk rule said no (``handoff.tickets.DeskError``): the agent gets that rule's text — an
  alert under a pressed button, a reply to a command or message — and the update is done.
- Telegram refused a send with 403 (``TelegramForbiddenError``): the subscriber blocked the
  bot; ``Desk.subscriber_blocked`` (the one workflow for it) records it and closes their ticket.
- The database or Telegram is away (``worth_retrying``): the error goes back to the poller
  (``bot.durable``), which keeps the update and handles it again with a growing pause: database
  errors for as long as they last, Telegram's for about half an hour (``keep_for_retry``).
- Anything else is the update's fault: logged, the subscriber gets an apology, and the update
  counts as done — a poison update is not retried forever. (An update that crashed the whole
  process three times is skipped at start; the poller counts those.)
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from typing import Any

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

from bot.desk import Desk, cards
from bot.texts import t
from handoff.tickets import DeskError

log = logging.getLogger("dono")

# an update whose sends Telegram keeps refusing (5xx) is given up after this many rounds (each
# round is the retry middleware's own attempts, the pause between rounds grows to 30 s): about
# half an hour, so a request Telegram will never take does not come back forever
MAX_TELEGRAM_RETRIES = 20

_UNAVAILABLE = ("locked", "busy", "full", "disk i/o", "unable to open", "readonly")


def storage_unavailable(exc: BaseException) -> bool:
    """A database error that says nothing about the update: wait and try again."""
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    text = str(exc).lower()
    return any(word in text for word in _UNAVAILABLE)


def telegram_unavailable(exc: BaseException) -> bool:
    """Telegram still failing after the retry middleware's attempts (5xx, network, 429)."""
    return isinstance(exc, (TelegramServerError, TelegramNetworkError, TelegramRetryAfter))


def worth_retrying(exc: BaseException) -> bool:
    """Nothing is wrong with the update: the database or Telegram is away. Keep it, retry."""
    return storage_unavailable(exc) or telegram_unavailable(exc)


def keep_for_retry(exc: BaseException, retries: int) -> bool:
    """Whether the poller keeps an update whose handling raised ``exc`` after ``retries``
    earlier rounds (True), or logs it and marks it done (False)."""
    return storage_unavailable(exc) or (
        telegram_unavailable(exc) and retries < MAX_TELEGRAM_RETRIES
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
    if _chat_id(event) != desk.group_id:  # a race on the subscriber's side (a reopen, say)
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
    """A send refused with 403: the chat it went to blocked the bot (or the bot left it)."""
    method = getattr(event.exception, "method", None)
    chat_id = getattr(method, "chat_id", None) or _chat_id(event)
    if not isinstance(chat_id, int) or chat_id == desk.group_id:
        log.warning("the bot may not write to chat %s: %s", chat_id, event.exception)
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
