"""The SQLite backend (aiosqlite, WAL): one connection per process, its pragmas, the
schema's version in ``PRAGMA user_version``."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite

from handoff.storage.database import Database, IntegrityError, Params, Row
from handoff.storage.migrations import MIGRATIONS


class SqliteDatabase(Database):
    dialect = "sqlite"
    rowid = "rowid"

    def __init__(self, conn: aiosqlite.Connection, clock: Callable[[], float] = time.time) -> None:
        super().__init__(clock)
        self.conn = conn
        # Tasks share this connection and so its transaction: a write section holds the lock
        # from its first statement to its commit (or rollback), so no task commits or rolls
        # back another's half-done work. Other connections are kept out by SQLite itself.
        self.lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: str | Path, clock: Callable[[], float] = time.time) -> SqliteDatabase:
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

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        async with self.conn.execute(sql, tuple(params)) as cur:
            return await cur.fetchone()

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        async with self.conn.execute(sql, tuple(params)) as cur:
            return list(await cur.fetchall())

    async def execute(self, sql: str, params: Params = ()) -> int:
        try:
            cur = await self.conn.execute(sql, tuple(params))
        except sqlite3.IntegrityError as exc:
            await self.conn.rollback()
            raise IntegrityError(str(exc)) from exc
        return cur.rowcount

    async def insert(self, sql: str, params: Params = ()) -> int:
        try:
            cur = await self.conn.execute(sql, tuple(params))
        except sqlite3.IntegrityError as exc:
            await self.conn.rollback()
            raise IntegrityError(str(exc)) from exc
        return int(cur.lastrowid or 0)

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        await self.conn.executemany(sql, [tuple(r) for r in rows])

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[None]:
        async with self.lock:
            try:
                yield
            except BaseException:
                await self.conn.rollback()
                raise
            await self.conn.commit()

    async def commit(self) -> None:
        await self.conn.commit()

    async def rollback(self) -> None:
        await self.conn.rollback()

    async def schema_version(self) -> int:
        row = await self.fetchone("PRAGMA user_version")
        return int(row[0]) if row else 0

    async def migrate(self) -> None:
        for i in range(await self.schema_version(), len(MIGRATIONS)):
            await self.conn.executescript(
                f"BEGIN;\n{MIGRATIONS[i]}\nPRAGMA user_version = {i + 1};\nCOMMIT;"
            )

    async def tables(self) -> list[str]:
        rows = await self.fetchall(
            "SELECT name FROM sqlite_master WHERE type = 'table'"
            " AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
        return [r[0] for r in rows]
