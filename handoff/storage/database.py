"""The one database object: the SQLite connection (aiosqlite, WAL), its pragmas, the schema's
migrations and the write lock every repository writes under."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite

from handoff.storage.migrations import MIGRATIONS


class Database:
    """Open with ``await Database.open(path)``, close with ``await close()``."""

    def __init__(self, conn: aiosqlite.Connection, clock: Callable[[], float] = time.time) -> None:
        self.conn = conn
        self.clock = clock
        # Tasks share this connection and so its transaction: a write section holds the lock
        # from its first statement to its commit (or rollback), so no task commits or rolls
        # back another's half-done work. Other connections are kept out by SQLite itself.
        self.lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: str | Path, clock: Callable[[], float] = time.time) -> Database:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(str(path))
        conn.row_factory = aiosqlite.Row
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA synchronous=NORMAL")
        await conn.execute("PRAGMA busy_timeout=5000")
        database = cls(conn, clock)
        await database.migrate()
        return database

    async def close(self) -> None:
        await self.conn.close()

    async def schema_version(self) -> int:
        async with self.conn.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def migrate(self) -> None:
        for i in range(await self.schema_version(), len(MIGRATIONS)):
            await self.conn.executescript(
                f"BEGIN;\n{MIGRATIONS[i]}\nPRAGMA user_version = {i + 1};\nCOMMIT;"
            )

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[None]:
        """One write section at a time; an error rolls back what it did."""
        async with self.lock:
            try:
                yield
            except BaseException:
                await self.conn.rollback()
                raise

    def now(self, now: float | None = None) -> float:
        return float(now) if now is not None else float(self.clock())


class Repository:
    """Base of the SQLite repositories: the shared connection, write lock and clock."""

    def __init__(self, database: Database) -> None:
        self.database = database

    @property
    def db(self) -> aiosqlite.Connection:
        return self.database.conn

    def clock(self) -> float:
        return self.database.clock()

    def _writing(self):
        return self.database.writing()

    def _now(self, now: float | None) -> float:
        return self.database.now(now)
