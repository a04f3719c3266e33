"""The PostgreSQL server the tests run against: its URL from ``DONO_TEST_DATABASE_URL`` or
the file ``.ci/postgres`` writes (``.venv/.dono-pg-url``), and a fresh schema per test so
tests stay independent under ``pytest -n 2``."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

import pytest

from handoff.storage import Store
from tests.conftest import Clock

T = TypeVar("T")

URL_FILE = Path(__file__).resolve().parent.parent / ".venv" / ".dono-pg-url"
NO_SERVER = "no PostgreSQL server: run `bash .ci/setup` as root (it installs and starts one)"


def server_url() -> str | None:
    url = os.environ.get("DONO_TEST_DATABASE_URL")
    if url:
        return url
    return URL_FILE.read_text().strip() or None if URL_FILE.exists() else None


@asynccontextmanager
async def fresh_schema() -> AsyncIterator[str]:
    """A URL whose connections work in a new, empty schema, dropped afterwards; skips the
    test when no server is there."""
    import asyncpg

    url = server_url()
    if url is None:
        pytest.skip(NO_SERVER)
    name = f"t_{uuid.uuid4().hex[:12]}"
    try:
        conn = await asyncpg.connect(url)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.skip(f"{NO_SERVER} ({exc})")
    try:
        await conn.execute(f"CREATE SCHEMA {name}")
        sep = "&" if "?" in url else "?"
        yield f"{url}{sep}search_path={name}"
    finally:
        await conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
        await conn.close()


async def on_store(
    url: str | Path, build: Callable[[Store, Clock], Awaitable[T]], start: float
) -> T:
    """``build(store, clock)`` on a new store at ``url``, the clock at ``start``."""
    clock = Clock(start)
    store = await Store.open(url, clock=clock)
    try:
        return await build(store, clock)
    finally:
        await store.close()


async def on_postgres(build: Callable[[Store, Clock], Awaitable[T]], start: float) -> T:
    """The same on PostgreSQL, in a schema of its own (skips without a server)."""
    async with fresh_schema() as url:
        return await on_store(url, build, start)
