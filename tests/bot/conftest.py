"""Fixtures of the bot's unit tests: an in-memory store and a bot whose session records
requests (the mocked-bot pattern)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from handoff.storage import Store
from tests.conftest import Clock
from tests.mocked_bot import MockedBot


@pytest.fixture
async def store(clock: Clock) -> AsyncIterator[Store]:
    s = await Store.open(":memory:", clock=clock)
    try:
        yield s
    finally:
        await s.close()


@pytest.fixture
def bot() -> MockedBot:
    return MockedBot()
