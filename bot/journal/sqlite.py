"""The SQLite journal: the transport's own small file next to the bot's database
(``<db>.journal``), for one instance. A file of its own means recording a send never waits for
(or collides with) the handlers' transactions."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Collection, Sequence
from pathlib import Path

import aiosqlite

from bot.journal import Journal, Row, journal_path

JOURNAL_SCHEMA = """
    CREATE TABLE IF NOT EXISTS inbox (
        update_id   INTEGER PRIMARY KEY,
        body        TEXT NOT NULL,
        received_at REAL NOT NULL,
        attempts    INTEGER NOT NULL DEFAULT 0,
        done_at     REAL,
        error       TEXT
    );
    CREATE INDEX IF NOT EXISTS inbox_pending ON inbox(done_at, update_id);
    CREATE TABLE IF NOT EXISTS sent (
        update_id  INTEGER NOT NULL,
        chat_id    TEXT NOT NULL,
        n          INTEGER NOT NULL,
        method     TEXT NOT NULL,
        response   TEXT NOT NULL,
        ts         REAL NOT NULL,
        PRIMARY KEY (update_id, chat_id, n)
    );
"""

ERRORS = (sqlite3.Error, ValueError)  # ValueError: the connection was closed


class SqliteJournal(Journal):
    """One instance: it claims every pending update it does not have in hand already."""

    def __init__(self, db: aiosqlite.Connection, clock: Callable[[], float] = time.time) -> None:
        super().__init__(clock)
        self.db = db

    @classmethod
    async def connect(
        cls, path: str | Path, clock: Callable[[], float] = time.time
    ) -> SqliteJournal:
        """The journal of the database at ``path`` (``:memory:`` for one in memory)."""
        file = journal_path(path)
        if file != ":memory:":
            Path(file).parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(file)
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA synchronous=NORMAL")
        await db.executescript(JOURNAL_SCHEMA)
        return cls(db, clock)

    async def close(self) -> None:
        await self.db.close()

    async def inbox_put(self, updates: Sequence[Row]) -> None:
        with self.unavailable_as(ERRORS):
            await self.db.executemany(
                "INSERT OR IGNORE INTO inbox (update_id, body, received_at) VALUES (?, ?, ?)",
                [(u[0], u[1], self.clock()) for u in updates],
            )
            await self.db.commit()
        self.stored()

    async def inbox_add(self, update_id: int, body: str, chat: str | None = None) -> bool:
        with self.unavailable_as(ERRORS):
            cur = await self.db.execute(
                "INSERT OR IGNORE INTO inbox (update_id, body, received_at) VALUES (?, ?, ?)",
                (update_id, body, self.clock()),
            )
            await self.db.commit()
        self.stored()
        return cur.rowcount == 1

    async def inbox_pending(
        self, limit: int = 1000, after: int | None = None
    ) -> list[tuple[int, str, int]]:
        with self.unavailable_as(ERRORS):
            async with self.db.execute(
                "SELECT update_id, body, attempts FROM inbox WHERE done_at IS NULL"
                " AND update_id > ? ORDER BY update_id LIMIT ?",
                (-(2**63) if after is None else after, limit),
            ) as cur:
                rows = await cur.fetchall()
        return [(int(r[0]), str(r[1]), int(r[2])) for r in rows]

    async def inbox_last_id(self) -> int | None:
        with self.unavailable_as(ERRORS):
            async with self.db.execute("SELECT MAX(update_id) FROM inbox") as cur:
                row = await cur.fetchone()
        return int(row[0]) if row and row[0] is not None else None

    async def inbox_attempt(self, update_id: int) -> None:
        with self.unavailable_as(ERRORS):
            await self.db.execute(
                "UPDATE inbox SET attempts = attempts + 1 WHERE update_id = ?", (update_id,)
            )
            await self.db.commit()

    async def inbox_done(self, update_id: int, error: str | None = None) -> None:
        with self.unavailable_as(ERRORS):
            await self.db.execute(
                "UPDATE inbox SET done_at = ?, error = ? WHERE update_id = ?",
                (self.clock(), error, update_id),
            )
            await self.db.commit()

    async def claim(
        self, owner: str, limit: int, in_hand: Collection[int] = ()
    ) -> list[tuple[int, str, int]]:
        held = set(in_hand)
        pending = await self.inbox_pending(limit=limit + len(held))
        return [row for row in pending if row[0] not in held][:limit]

    async def sent_get(self, update_id: int, chat_id: str, n: int) -> str | None:
        with self.unavailable_as(ERRORS):
            async with self.db.execute(
                "SELECT response FROM sent WHERE update_id = ? AND chat_id = ? AND n = ?",
                (update_id, chat_id, n),
            ) as cur:
                row = await cur.fetchone()
        return str(row[0]) if row else None

    async def sent_put(
        self, update_id: int, chat_id: str, n: int, method: str, response: str
    ) -> None:
        with self.unavailable_as(ERRORS):
            await self.db.execute(
                "INSERT OR REPLACE INTO sent (update_id, chat_id, n, method, response, ts)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (update_id, chat_id, n, method, response, self.clock()),
            )
            await self.db.commit()

    async def sent_refused(self, update_id: int, chat_id: str, n: int) -> None:
        with self.unavailable_as(ERRORS):
            await self.db.execute(
                "DELETE FROM sent WHERE update_id = ? AND chat_id = ? AND n = ? AND response = ''",
                (update_id, chat_id, n),
            )
            await self.db.commit()

    async def prune(self, keep: float = 3600.0, keep_errors: float = 7 * 86400.0) -> int:
        now = self.clock()
        old = (
            "done_at IS NOT NULL AND update_id < (SELECT MAX(update_id) FROM inbox)"
            " AND done_at < CASE WHEN error IS NULL THEN ? ELSE ? END"
        )
        args = (now - keep, now - keep_errors)
        with self.unavailable_as(ERRORS):
            await self.db.execute(
                f"DELETE FROM sent WHERE update_id IN (SELECT update_id FROM inbox WHERE {old})",
                args,
            )
            cur = await self.db.execute(f"DELETE FROM inbox WHERE {old}", args)
            # sends whose update is gone already (kept by an older version, or an unknown one)
            await self.db.execute(
                "DELETE FROM sent WHERE ts < ? AND update_id NOT IN (SELECT update_id FROM inbox)",
                (now - keep,),
            )
            await self.db.commit()
        return cur.rowcount
