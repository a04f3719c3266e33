"""Fixtures and helpers every layer's tests share: a hand-driven clock and a bounded wait that
fails loudly. (Each layer adds its own in ``tests/<layer>/conftest.py``.)"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest

T0 = 1_750_000_000.0  # 2025-06-15 15:06:40 UTC, a Sunday

V = TypeVar("V")


class Clock:
    """A clock that only moves when the test says so."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


class WaitTimeout(AssertionError):
    """A bounded wait ran out; the message says what was last seen."""


async def wait_for(
    fetch: Callable[[], Awaitable[V]], ok: Callable[[V], Any], timeout: float = 5.0
) -> V:
    """Re-read ``fetch()`` until ``ok`` holds and return that value; after ``timeout`` seconds
    fail with the last value seen. For effects that send no message (rows in the bot's own
    database), so there is no emulator event to wait on."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await fetch()
        if ok(value):
            return value
        if loop.time() > deadline:
            raise WaitTimeout(f"still not there after {timeout:g}s; last value: {value!r}")
        await asyncio.sleep(0.02)
