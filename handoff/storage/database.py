"""The one database object, backend-neutral: repositories run SQL through ``fetchone``,
``fetchall``, ``execute``, ``insert`` and ``executemany`` with ``?`` placeholders, inside
``writing()`` for writes, and read rows by name or position. SQLite (``handoff.storage.sqlite``)
and PostgreSQL (``handoff.storage.postgres``) implement it; ``open_database(url)`` picks one.

The few SQL differences live on the backend, in one place each: ``rowid`` (the column that
orders rows by insertion), ``schema()`` (a migration's column types)."""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any, Protocol

Params = Sequence[Any]


class Row(Protocol):
    """A result row: by position (``row[0]``), by name (``row["id"]``), ``dict(row)``."""

    def __getitem__(self, key: int | str) -> Any: ...
    def keys(self) -> Iterable[str]: ...
    def __iter__(self) -> Any: ...


class IntegrityError(Exception):
    """A constraint said no (the one-open-ticket index); the write section's transaction is
    rolled back on both backends, so the caller may look again."""


class Database:
    """What every backend offers; open with ``await open_database(url)``."""

    dialect: str = ""
    rowid: str = "rowid"  # orders a table's rows by insertion

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        raise NotImplementedError

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        raise NotImplementedError

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run a statement; the number of rows it changed."""
        raise NotImplementedError

    async def insert(self, sql: str, params: Params = ()) -> int:
        """Run an INSERT of one row into a table with an ``id``; the new row's id."""
        raise NotImplementedError

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        raise NotImplementedError

    def writing(self) -> AbstractAsyncContextManager[None]:
        """One write section at a time per process, one transaction: committed at its end,
        rolled back by an error."""
        raise NotImplementedError

    async def commit(self) -> None:
        """Commit what the write section did so far (it goes on in a new transaction)."""
        raise NotImplementedError

    async def rollback(self) -> None:
        """Undo what the write section did so far (it goes on in a new transaction)."""
        raise NotImplementedError

    async def schema_version(self) -> int:
        raise NotImplementedError

    async def migrate(self) -> None:
        raise NotImplementedError

    async def tables(self) -> list[str]:
        """The schema's tables (for ``dono db copy``)."""
        raise NotImplementedError

    async def ids_past_max(self, tables: Iterable[str]) -> None:
        """After rows were inserted with their ids: the next id of each table with an ``id``
        is past the largest (SQLite numbers from the largest by itself)."""

    async def close(self) -> None:
        raise NotImplementedError

    def now(self, now: float | None = None) -> float:
        return float(now) if now is not None else float(self.clock())


def is_postgres(url: str | Path) -> bool:
    return str(url).startswith(("postgresql://", "postgres://"))


def sqlite_path(url: str | Path) -> str:
    """The file of ``sqlite:///relative/path``, ``sqlite:////absolute/path`` or a plain path."""
    text = str(url)
    return text[len("sqlite:///") :] if text.startswith("sqlite:///") else text


class DatabaseUnavailable(Exception):
    """The database could not be opened: a server not answering or refusing the login, no
    such database, a file that can't be created. The message names it without a password."""


async def open_database(url: str | Path, clock: Callable[[], float] = time.time) -> Database:
    """A migrated database: PostgreSQL for a ``postgresql://`` URL, SQLite otherwise. Raises
    ``DatabaseUnavailable`` when it can't be opened."""
    try:
        if is_postgres(url):
            from handoff.storage.postgres import PostgresDatabase, unavailable

            try:
                return await PostgresDatabase.open(str(url), clock)
            except unavailable() as exc:
                raise DatabaseUnavailable(f"{redacted(url)}: {_why(exc)}") from None
        from handoff.storage.sqlite import SqliteDatabase

        return await SqliteDatabase.open(sqlite_path(url), clock)
    except (OSError, sqlite3.Error) as exc:
        raise DatabaseUnavailable(f"{redacted(url)}: {_why(exc)}") from None


def _why(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def redacted(url: str | Path) -> str:
    """The URL fit for a log: its password (if any) replaced by ``***``."""
    return re.sub(r"^([a-z]+://[^:/@]*:)[^@]*@", r"\1***@", str(url))


class Repository:
    """Base of the repositories: the shared database, its write lock and clock."""

    def __init__(self, database: Database) -> None:
        self.database = database

    @property
    def db(self) -> Database:
        return self.database

    def clock(self) -> float:
        return self.database.clock()

    def _writing(self) -> AbstractAsyncContextManager[None]:
        return self.database.writing()

    def _now(self, now: float | None) -> float:
        return self.database.now(now)

    async def _rows(self, sql: str, params: Params = ()) -> list[dict[str, Any]]:
        return [dict(r) for r in await self.database.fetchall(sql, params)]


__all__ = [
    "AsyncIterator",
    "Database",
    "IntegrityError",
    "Repository",
    "Row",
    "open_database",
    "redacted",
]
