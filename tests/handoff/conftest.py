"""Fixtures for the agent-desk unit tests: a hand-driven clock and a fresh in-memory store."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from handoff.storage import Store
from tests.conftest import T0, Clock

__all__ = ["T0", "Clock"]


@pytest.fixture
async def store(clock: Clock) -> AsyncIterator[Store]:
    s = await Store.open(":memory:", clock=clock)
    try:
        yield s
    finally:
        await s.close()
