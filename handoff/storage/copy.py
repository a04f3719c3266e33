"""``dono db copy``: an existing database (SQLite) into an empty one (PostgreSQL), every
table with its ids, the target's id sequences moved past the copied ids."""

from __future__ import annotations

from handoff.storage.database import Database, open_database, redacted


class TargetNotEmpty(Exception):
    """The target already holds rows: a copy would mix two histories."""


async def copy_database(source: str, target: str) -> dict[str, int]:
    """Copy every table of ``source`` into ``target`` (both migrated to the current schema
    first); the rows copied per table. Refuses a target with any row (``TargetNotEmpty``)."""
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
