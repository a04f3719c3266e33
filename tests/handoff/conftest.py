"""Fixtures for the agent-desk unit tests: a hand-driven clock and a fresh store, on each
backend (SQLite in memory; PostgreSQL in a schema of its own)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from handoff.storage import Store
from tests.conftest import T0, Clock
from tests.pg import fresh_schema

__all__ = ["T0", "Clock"]


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, clock: Clock) -> AsyncIterator[Store]:
    if request.param == "sqlite":
        s = await Store.open(":memory:", clock=clock)
        try:
            yield s
        finally:
            await s.close()
        return
    async with fresh_schema() as url:
        s = await Store.open(url, clock=clock)
        try:
            yield s
        finally:
            await s.close()


@pytest.fixture(params=["sqlite", "postgresql"])
async def shared_url(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[str]:
    """One database several stores open, as several bot processes would: a SQLite file, or
    a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        yield str(tmp_path / "desk.sqlite3")
        return
    async with fresh_schema() as url:
        yield url
