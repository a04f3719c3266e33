"""A request middleware that waits out 429s and retries network errors and 5xx with backoff."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.methods import CreateForumTopic, GetUpdates, TelegramMethod
from aiogram.methods.base import Response

from bot.pacing import SEND_METHODS

log = logging.getLogger(__name__)

# calls whose repeat makes a second thing (a message, a topic), not the same one again
_MADE = SEND_METHODS | {"CreateForumTopic"}


class RetryMiddleware(BaseRequestMiddleware):
    """Retry a Bot API call until it goes through or ``max_attempts`` is spent.

    429 waits the ``retry_after`` Telegram asks for; 5xx and network errors back off
    exponentially with jitter. 400/403 are final and raised at once. getUpdates is left to the
    dispatcher's own polling backoff.

    A network error on a send (or a topic's creation) may be a lost response: Telegram made
    it and the answer never came. The Bot API has no idempotency key and no way to look the
    message up, so it is sent again — nothing is lost, and this one case may arrive twice;
    each is logged and counted (``repeated``).
    """

    def __init__(
        self, max_attempts: int = 8, base_delay: float = 0.5, max_delay: float = 30.0
    ) -> None:
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        # Set by any call that goes through: sends backing off from 5xx/network errors try
        # again at once instead of sleeping out their (up to 30 s) pause after an outage.
        self._through = asyncio.Event()
        self.repeated = 0  # sends made again after a network error (may have arrived twice)

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[Any],
        bot: Bot,
        method: TelegramMethod[Any],
    ) -> Response[Any]:
        if isinstance(method, GetUpdates):
            result = await make_request(bot, method)
            self._through.set()
            return result
        attempt = 0
        while True:
            attempt += 1
            outage = False
            try:
                result = await make_request(bot, method)
                self._through.set()
                return result
            except TelegramRetryAfter as exc:
                if attempt >= self.max_attempts:
                    raise
                delay = min(float(exc.retry_after), self.max_delay * 4)
                log.warning(
                    "429 on %s, waiting %.1fs (attempt %d)",
                    type(method).__name__,
                    delay,
                    attempt,
                )
            except (TelegramServerError, TelegramNetworkError) as exc:
                if attempt >= self.max_attempts:
                    raise
                outage = True
                if isinstance(exc, TelegramNetworkError) and type(method).__name__ in _MADE:
                    self.repeated += 1
                    log.warning(
                        "no answer to %s for chat %s%s (%s): it may have been made; making it"
                        " again, so it may arrive twice",
                        type(method).__name__,
                        getattr(method, "chat_id", None),
                        f", topic {method.name!r}" if isinstance(method, CreateForumTopic) else "",
                        exc,
                    )
                delay = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
                delay *= random.uniform(0.8, 1.2)
                log.warning(
                    "%s on %s, retrying in %.1fs (attempt %d)",
                    type(exc).__name__,
                    type(method).__name__,
                    delay,
                    attempt,
                )
            if outage:  # until the pause is over or another call got through
                self._through.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._through.wait(), delay)
            else:
                await asyncio.sleep(delay)
