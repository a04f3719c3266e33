"""Fixtures for the agent-desk unit tests: a hand-driven clock and a fresh in-memory store."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from handoff.store import Store

T0 = 1_750_000_000.0  # 2025-06-15 15:06:40 UTC, a Sunday


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


@pytest.fixture
async def store(clock: Clock) -> AsyncIterator[Store]:
    s = await Store.open(":memory:", clock=clock)
    try:
        yield s
    finally:
        await s.close()
