"""``dono db copy``: an existing database (SQLite) into an empty one (PostgreSQL), every
table with its ids, the target's id sequences moved past the copied ids."""

from __future__ import annotations

from pathlib import Path

from handoff.storage.database import (
    Database,
    DatabaseUnavailable,
    is_postgres,
    open_database,
    redacted,
    sqlite_path,
)


class TargetNotEmpty(Exception):
    """The target already holds rows: a copy would mix two histories."""


async def copy_database(source: str, target: str) -> dict[str, int]:
    """Copy every table of ``source`` into ``target`` (both migrated to the current schema
    first); the rows copied per table. Refuses a target with any row (``TargetNotEmpty``)."""
    if not is_postgres(source) and not Path(sqlite_path(source)).is_file():
        raise DatabaseUnavailable(f"{source}: no such database file (nothing to copy)")
    src = await open_database(source)
    try:
        dst = await open_database(target)
        try:
            return await _copy(src, dst, target)
        finally:
            await dst.close()
    finally:
        await src.close()


async def _copy(src: Database, dst: Database, target: str) -> dict[str, int]:
    tables = sorted(await src.tables(), key=lambda t: t != "tickets")
    for table in await dst.tables():
        row = await dst.fetchone(f"SELECT COUNT(*) FROM {table}")
        if row is not None and row[0]:
            raise TargetNotEmpty(f"{redacted(target)}: table {table} has {row[0]} rows")
    copied: dict[str, int] = {}  # tickets first: messages and labels reference them
    async with dst.writing():
        for table in tables:
            rows = await src.fetchall(f"SELECT * FROM {table}")
            copied[table] = len(rows)
            if not rows:
                continue
            columns = list(rows[0].keys())
            await dst.executemany(
                f"INSERT INTO {table} ({', '.join(columns)})"
                f" VALUES ({', '.join('?' for _ in columns)})",
                [tuple(r) for r in rows],
            )
        await dst.ids_past_max(tables)
    return copied
