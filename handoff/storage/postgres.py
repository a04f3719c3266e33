"""The PostgreSQL backend (asyncpg): a connection pool; reads go to any connection, a write
section holds one connection and its transaction (repositories' reads inside it see their own
writes), ``?`` placeholders become ``$1, $2…``, the schema's version is in a
``schema_version`` table, migrated under an advisory lock so instances starting together
migrate once."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import asyncpg
from asyncpg.transaction import Transaction

from handoff.storage.database import Database, IntegrityError, Params, Row
from handoff.storage.migrations import MIGRATIONS


@dataclass
class _Section:
    conn: asyncpg.Connection
    tx: Transaction


class PostgresDatabase(Database):
    dialect = "postgresql"
    # rows of ticket_labels are inserted and deleted, never updated: their ctid keeps the
    # order they were inserted in, as SQLite's rowid does
    rowid = "ctid"

    def __init__(self, pool: asyncpg.Pool, clock: Callable[[], float] = time.time) -> None:
        super().__init__(clock)
        self.pool = pool
        self.lock = asyncio.Lock()  # one write section at a time in this process, as SQLite
        self._section: ContextVar[_Section | None] = ContextVar("section", default=None)

    @classmethod
    async def open(cls, url: str, clock: Callable[[], float] = time.time) -> PostgresDatabase:
        """``url``: a libpq-style URL; a password and the rest may come from libpq's
        environment (``PGPASSWORD``, ``PGHOST``…), as asyncpg reads them."""
        pool = await asyncpg.create_pool(url, min_size=1, max_size=4, init=_init)
        database = cls(pool, clock)
        try:
            await database.migrate()
        except BaseException:
            await pool.close()
            raise
        return database

    async def close(self) -> None:
        await self.pool.close()

    async def _run(self, method: str, sql: str, params: Params) -> Any:
        section = self._section.get()
        try:
            if section is not None:
                return await getattr(section.conn, method)(dollars(sql), *params)
            async with self.pool.acquire() as conn:
                return await getattr(conn, method)(dollars(sql), *params)
        except asyncpg.IntegrityConstraintViolationError as exc:
            if section is not None:
                await self.rollback()  # the transaction is aborted: start it again
            raise IntegrityError(str(exc)) from exc

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        return await self._run("fetchrow", sql, params)

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        return list(await self._run("fetch", sql, params))

    async def execute(self, sql: str, params: Params = ()) -> int:
        status = await self._run("execute", sql, params)  # "UPDATE 2", "INSERT 0 1"
        last = status.rsplit(" ", 1)[-1]
        return int(last) if last.isdigit() else 0

    async def insert(self, sql: str, params: Params = ()) -> int:
        return int(await self._run("fetchval", f"{sql} RETURNING id", params))

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        await self._run("executemany", sql, ([tuple(r) for r in rows],))

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[None]:
        async with self.lock, self.pool.acquire() as conn:
            section = _Section(conn, conn.transaction())
            await section.tx.start()
            token = self._section.set(section)
            try:
                yield
            except BaseException:
                # on a cut connection the rollback fails too: the error (or the cancel) that
                # stopped the section is the one to raise, not the rollback's
                with contextlib.suppress(*unavailable()):
                    await section.tx.rollback()
                raise
            else:
                await section.tx.commit()
            finally:
                self._section.reset(token)

    async def commit(self) -> None:
        await self._restart(commit=True)

    async def rollback(self) -> None:
        await self._restart(commit=False)

    async def _restart(self, *, commit: bool) -> None:
        section = self._section.get()
        if section is None:
            return
        await (section.tx.commit() if commit else section.tx.rollback())
        section.tx = section.conn.transaction()
        await section.tx.start()

    async def schema_version(self) -> int:
        async with self.pool.acquire() as conn:
            return await _version(conn)

    async def migrate(self) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            # instances starting at once: the first migrates, the others wait, then see it done
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext(current_schema()))")
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"
            )
            version = await _version(conn)
            if await conn.fetchval("SELECT COUNT(*) FROM schema_version") == 0:
                await conn.execute("INSERT INTO schema_version (version) VALUES (0)")
            for i in range(version, len(MIGRATIONS)):
                await conn.execute(schema(MIGRATIONS[i]))
                await conn.execute("UPDATE schema_version SET version = $1", i + 1)

    async def ids_past_max(self, tables: Iterable[str]) -> None:
        numbered = await self.fetchall(
            "SELECT table_name FROM information_schema.columns WHERE column_name = 'id'"
            " AND is_identity = 'YES' AND table_schema = current_schema()"
        )
        for table in set(tables) & {r[0] for r in numbered}:
            await self.execute(
                "SELECT setval(pg_get_serial_sequence(?, 'id'),"
                f" COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)",
                (table,),
            )

    async def tables(self) -> list[str]:
        rows = await self.fetchall(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            " AND tablename != 'schema_version' ORDER BY tablename"
        )
        return [r[0] for r in rows]


async def _init(conn: asyncpg.Connection) -> None:
    # SUM and AVG give numeric: integers stay int and the rest float, as SQLite gives them
    await conn.set_type_codec(
        "numeric", encoder=str, decoder=_number, schema="pg_catalog", format="text"
    )


def _number(text: str) -> int | float:
    return int(text) if text.lstrip("-").isdigit() else float(text)


async def _version(conn: asyncpg.Connection) -> int:
    exists = await conn.fetchval("SELECT to_regclass('schema_version') IS NOT NULL")
    if not exists:
        return 0
    return int(await conn.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_version"))


@lru_cache(maxsize=1024)
def dollars(sql: str) -> str:
    """``?`` placeholders as ``$1, $2…`` (a ``?`` inside a '…' literal stays)."""
    out: list[str] = []
    n = 0
    quoted = False
    for ch in sql:
        if ch == "'":
            quoted = not quoted
        elif ch == "?" and not quoted:
            n += 1
            out.append(f"${n}")
            continue
        out.append(ch)
    return "".join(out)


def schema(migration: str) -> str:
    """A migration in PostgreSQL's types: ids and Telegram's ids are 64-bit (a Telegram id
    exceeds 2^31; SQLite's INTEGER is 64-bit already), a table's ``id INTEGER PRIMARY KEY``
    numbers itself as SQLite's does, REAL is double precision as in SQLite."""
    sql = re.sub(
        r"\bid(\s+)INTEGER PRIMARY KEY",
        r"id\1BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
        migration,
    )
    sql = re.sub(r"\bINTEGER\b", "BIGINT", sql)
    return re.sub(r"\bREAL\b", "DOUBLE PRECISION", sql)


def unavailable() -> tuple[type[BaseException], ...]:
    """What asyncpg raises for a server it can't use (refused, login, no database, shut down
    in the middle of a query: ``InternalClientError``)."""
    return (
        OSError,
        asyncpg.PostgresError,
        asyncpg.InterfaceError,
        asyncpg.exceptions.InternalClientError,
        TimeoutError,
    )
