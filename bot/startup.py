"""What `dono run` checks before it serves, and the exit code a supervisor sees when it can't."""

from __future__ import annotations

import asyncio
import logging
import os
import re
from collections.abc import Awaitable
from typing import TypeVar

from aiogram import Bot
from aiogram.exceptions import (
    AiogramError,
    TelegramAPIError,
    TelegramNotFound,
    TelegramUnauthorizedError,
)
from aiogram.methods import GetMe
from aiogram.types import User

log = logging.getLogger("dono")

# Exit codes of `dono run` (the README lists them): a supervisor can tell a fault to fix
# (2, 3: restarting won't help) from one that may pass (4, 5).
EXIT_OK = 0
EXIT_CONFIG = 2  # configuration, knowledge base, token or webhook secret missing or malformed
EXIT_TOKEN = 3  # Telegram rejected the bot token
EXIT_UNREACHABLE = 4  # Telegram's API did not answer within telegram.startup_wait
EXIT_PORT = 5  # the health or webhook port could not be opened (in use, no permission)
EXIT_DATABASE = 6  # the database could not be opened (unreachable, login refused, no such db)

# setWebhook's secret_token: 1-256 characters, only A-Z, a-z, 0-9, _ and -
_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")

T = TypeVar("T")


class StartupError(Exception):
    """Why the bot cannot start, in one line, with the process's exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def webhook_secret() -> str:
    """DONO_WEBHOOK_SECRET, which webhook mode requires: without it anyone who finds the URL
    could post updates as any user."""
    secret = os.environ.get("DONO_WEBHOOK_SECRET", "")
    if not secret:
        raise StartupError(
            "webhook mode needs DONO_WEBHOOK_SECRET in the environment "
            "(1-256 characters: A-Z, a-z, 0-9, _ and -)",
            EXIT_CONFIG,
        )
    if not _SECRET.fullmatch(secret):
        raise StartupError(
            f"DONO_WEBHOOK_SECRET is not a valid secret token ({len(secret)} characters): "
            "Telegram takes 1-256 characters, only A-Z, a-z, 0-9, _ and -",
            EXIT_CONFIG,
        )
    return secret


async def wait_for_telegram(bot: Bot, wait: float, where: str) -> User:
    """getMe until it answers, for at most ``wait`` seconds: the token's check, and the first
    sign that the API can be reached at all. Its own attempts (1, 2, 4, 5 s apart), not the
    send retries', so each failure is known and the wait ends on time."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    pause = 1.0
    while True:
        left = deadline - loop.time()
        try:
            async with asyncio.timeout(left):
                return await bot.session.make_request(bot, GetMe())
        except (TelegramUnauthorizedError, TelegramNotFound) as exc:
            raise StartupError(
                f"Telegram rejected the bot token ({exc.message}): check DONO_BOT_TOKEN",
                EXIT_TOKEN,
            ) from None
        except TimeoutError:
            last = "no answer"
        except (TelegramAPIError, AiogramError, OSError) as exc:
            last = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        left = deadline - loop.time()
        if left <= 0:
            raise StartupError(
                f"Telegram's API at {where} did not answer within {wait:g} s "
                f"(telegram.startup_wait): {last}",
                EXIT_UNREACHABLE,
            )
        log.warning("getMe failed (%s); retrying in %.0f s", last, min(pause, left))
        await asyncio.sleep(min(pause, left))
        pause = min(pause * 2, 5.0)


async def listening(what: str, host: str, port: int, opening: Awaitable[T]) -> T:
    """Open a listening port; one that is taken (or not ours to open) is a StartupError."""
    try:
        return await opening
    except OSError as exc:
        raise StartupError(
            f"cannot listen on {host}:{port} for the {what}: {exc.strerror or exc}", EXIT_PORT
        ) from None
