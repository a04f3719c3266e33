"""The update journal: the transport's own small database next to the bot's (``<db>.journal``).

Updates are stored here before Telegram is told they arrived, and what was sent for each is
kept, so a crash neither loses a message nor answers it twice (``bot.durable`` uses it). A
send is recorded as intended before it is made, so a send cut off by a crash is known as one
that may have arrived. A file
of its own means recording a send never waits for (or collides with) the handlers'
transactions. Its SQL is the transport's business, so it lives with the transport, not in
``handoff/storage/``.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from pathlib import Path

import aiosqlite

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


_unjournaled: ContextVar[bool] = ContextVar("dono_unjournaled", default=False)


@contextlib.contextmanager
def not_journaled() -> Iterator[None]:
    """Sends made inside are not recorded in (or answered from) the journal: for a send whose
    record is kept elsewhere (a ticket's hand-off step), so it does not take a place in the
    update's sequence of sends that handling the update again would have to repeat."""
    token = _unjournaled.set(True)
    try:
        yield
    finally:
        _unjournaled.reset(token)


def journaled() -> bool:
    """Whether a send made now is recorded in the journal (see ``not_journaled``)."""
    return not _unjournaled.get()


def journal_path(path: str | Path) -> str:
    return ":memory:" if str(path) == ":memory:" else f"{path}.journal"


class Journal:
    """Open with ``await Journal.open(database_path)``, close with ``await close()``."""

    def __init__(self, db: aiosqlite.Connection, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.clock = clock

    @classmethod
    async def open(cls, path: str | Path, clock: Callable[[], float] = time.time) -> Journal:
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

    async def inbox_put(self, updates: list[tuple[int, str]]) -> None:
        """Keep updates (id, JSON) before they are acknowledged to Telegram; repeats are
        ignored. Raises sqlite3 errors (locked, disk full) for the caller to retry."""
        await self.db.executemany(
            "INSERT OR IGNORE INTO inbox (update_id, body, received_at) VALUES (?, ?, ?)",
            [(uid, body, self.clock()) for uid, body in updates],
        )
        await self.db.commit()

    async def inbox_add(self, update_id: int, body: str) -> bool:
        """Keep one update (a webhook delivery); False when it was kept already (Telegram
        delivers again what it is not sure arrived). Raises sqlite3 errors like inbox_put."""
        cur = await self.db.execute(
            "INSERT OR IGNORE INTO inbox (update_id, body, received_at) VALUES (?, ?, ?)",
            (update_id, body, self.clock()),
        )
        await self.db.commit()
        return cur.rowcount == 1

    async def inbox_pending(
        self, limit: int = 1000, after: int | None = None
    ) -> list[tuple[int, str, int]]:
        """Stored updates not handled yet, oldest first (after ``after``, if given), at most
        ``limit``: (id, JSON, attempts so far)."""
        async with self.db.execute(
            "SELECT update_id, body, attempts FROM inbox WHERE done_at IS NULL"
            " AND update_id > ? ORDER BY update_id LIMIT ?",
            (-(2**63) if after is None else after, limit),
        ) as cur:
            rows = await cur.fetchall()
        return [(int(r[0]), str(r[1]), int(r[2])) for r in rows]

    async def inbox_last_id(self) -> int | None:
        async with self.db.execute("SELECT MAX(update_id) FROM inbox") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row and row[0] is not None else None

    async def inbox_attempt(self, update_id: int) -> None:
        await self.db.execute(
            "UPDATE inbox SET attempts = attempts + 1 WHERE update_id = ?", (update_id,)
        )
        await self.db.commit()

    async def inbox_done(self, update_id: int, error: str | None = None) -> None:
        await self.db.execute(
            "UPDATE inbox SET done_at = ?, error = ? WHERE update_id = ?",
            (self.clock(), error, update_id),
        )
        await self.db.commit()

    async def sent_get(self, update_id: int, chat_id: str, n: int) -> str | None:
        """The Bot API response already received for this update's n-th send to a chat; ""
        when the send was started (``sent_intended``) and its response never recorded."""
        async with self.db.execute(
            "SELECT response FROM sent WHERE update_id = ? AND chat_id = ? AND n = ?",
            (update_id, chat_id, n),
        ) as cur:
            row = await cur.fetchone()
        return str(row[0]) if row else None

    async def sent_put(
        self, update_id: int, chat_id: str, n: int, method: str, response: str
    ) -> None:
        await self.db.execute(
            "INSERT OR REPLACE INTO sent (update_id, chat_id, n, method, response, ts)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (update_id, chat_id, n, method, response, self.clock()),
        )
        await self.db.commit()

    async def sent_intended(self, update_id: int, chat_id: str, n: int, method: str) -> None:
        """Record that this send is about to be made (its response, once known, replaces it):
        handling the update again then knows a send whose answer never came may have
        reached Telegram."""
        await self.sent_put(update_id, chat_id, n, method, "")

    async def sent_refused(self, update_id: int, chat_id: str, n: int) -> None:
        """Telegram refused the intended send (an error, not silence): it was not made."""
        await self.db.execute(
            "DELETE FROM sent WHERE update_id = ? AND chat_id = ? AND n = ? AND response = ''",
            (update_id, chat_id, n),
        )
        await self.db.commit()

    async def prune(self, keep: float = 3600.0, keep_errors: float = 7 * 86400.0) -> int:
        """Forget handled updates (and what was sent for them) older than ``keep`` seconds, the
        ones that failed after ``keep_errors``; pending ones and the newest (the polling
        offset) stay. Returns how many updates were forgotten."""
        now = self.clock()
        old = (
            "done_at IS NOT NULL AND update_id < (SELECT MAX(update_id) FROM inbox)"
            " AND done_at < CASE WHEN error IS NULL THEN ? ELSE ? END"
        )
        args = (now - keep, now - keep_errors)
        await self.db.execute(
            f"DELETE FROM sent WHERE update_id IN (SELECT update_id FROM inbox WHERE {old})", args
        )
        cur = await self.db.execute(f"DELETE FROM inbox WHERE {old}", args)
        # sends whose update is gone already (kept by an older version, or an unknown update)
        await self.db.execute(
            "DELETE FROM sent WHERE ts < ? AND update_id NOT IN (SELECT update_id FROM inbox)",
            (now - keep,),
        )
        await self.db.commit()
        return cur.rowcount
