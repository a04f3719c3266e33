"""The retry middleware: after an outage, sends backing off go again as soon as one call gets
through, instead of sleeping out pauses of up to 30 s."""

from __future__ import annotations

import asyncio

import pytest
from aiogram.exceptions import TelegramBadRequest, TelegramServerError
from aiogram.methods import SendMessage

from bot.retry import RetryMiddleware


async def test_a_call_getting_through_wakes_the_sends_backing_off() -> None:
    retry = RetryMiddleware(max_attempts=3, base_delay=60)  # a pause no test would wait out
    failing, other = SendMessage(chat_id=1, text="a"), SendMessage(chat_id=2, text="b")
    calls: list[SendMessage] = []
    down = True

    async def make_request(bot, method):
        calls.append(method)
        if down and method is failing:
            raise TelegramServerError(method=method, message="Bad Gateway")
        return method.chat_id

    backing_off = asyncio.create_task(retry(make_request, None, failing))
    while not calls:
        await asyncio.sleep(0)
    down = False
    assert await retry(make_request, None, other) == 2
    assert await asyncio.wait_for(backing_off, 5) == 1  # woken, not after 60 s
    assert calls == [failing, other, failing]


async def test_client_errors_are_not_retried() -> None:
    retry = RetryMiddleware()
    method = SendMessage(chat_id=1, text="a")
    calls = 0

    async def make_request(bot, m):
        nonlocal calls
        calls += 1
        raise TelegramBadRequest(method=m, message="Bad Request: chat not found")

    with pytest.raises(TelegramBadRequest):
        await retry(make_request, None, method)
    assert calls == 1
