"""A request middleware that waits out 429s and retries network errors and 5xx with backoff."""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.methods.base import Response

log = logging.getLogger(__name__)


class RetryMiddleware(BaseRequestMiddleware):
    """Retry a Bot API call until it goes through or ``max_attempts`` is spent.

    429 waits the ``retry_after`` Telegram asks for; 5xx and network errors back off
    exponentially with jitter. 400/403 are final and raised at once. getUpdates is left to the
    dispatcher's own polling backoff.
    """

    def __init__(
        self, max_attempts: int = 8, base_delay: float = 0.5, max_delay: float = 30.0
    ) -> None:
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[Any],
        bot: Bot,
        method: TelegramMethod[Any],
    ) -> Response[Any]:
        if isinstance(method, GetUpdates):
            return await make_request(bot, method)
        attempt = 0
        while True:
            attempt += 1
            try:
                return await make_request(bot, method)
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
                delay = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
                delay *= random.uniform(0.8, 1.2)
                log.warning(
                    "%s on %s, retrying in %.1fs (attempt %d)",
                    type(exc).__name__,
                    type(method).__name__,
                    delay,
                    attempt,
                )
            await asyncio.sleep(delay)
