"""Fixtures of the bot's unit tests: an in-memory store and a bot whose session records
requests (the mocked-bot pattern)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.journal import Journal
from handoff.storage import Store
from tests.conftest import Clock
from tests.mocked_bot import MockedBot
from tests.pg import fresh_schema


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


@pytest.fixture(params=["sqlite", "postgresql"])
async def journal(request: pytest.FixtureRequest, clock: Clock) -> AsyncIterator[Journal]:
    """The update journal, in memory (SQLite) and in a schema of its own (PostgreSQL; skipped
    without a server)."""
    if request.param == "sqlite":
        j = await Journal.open(":memory:", clock=clock)
        try:
            yield j
        finally:
            await j.close()
        return
    async with fresh_schema() as url:
        j = await Journal.open(url, clock=clock)
        try:
            yield j
        finally:
            await j.close()
