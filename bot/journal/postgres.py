"""The PostgreSQL journal: tables in the bot's database, shared by every instance on it.

An instance claims pending updates under a short advisory lock, in update id order, and holds
each by a lease in the database's clock (``lease_until``), renewed while it handles them; an
update whose chat another live instance holds is left for that one, so a chat's updates are
handled one instance at a time, in order. An instance killed holds nothing once its leases run
out. A new update wakes every instance through LISTEN/NOTIFY. The leader is whoever holds a
session-level advisory lock on its own connection; PostgreSQL frees it when that connection
ends, a ``kill -9`` included. Locks and the notification channel are named per schema, so
deployments (and tests) in separate schemas of one database stay apart."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Collection, Sequence

import asyncpg

from bot.journal import LEASE, Journal, Row
from handoff.storage.postgres import unavailable

log = logging.getLogger("dono.journal")

SCHEMA = """
    CREATE TABLE IF NOT EXISTS journal_inbox (
        update_id   BIGINT PRIMARY KEY,
        body        TEXT NOT NULL,
        received_at DOUBLE PRECISION NOT NULL,
        attempts    INTEGER NOT NULL DEFAULT 0,
        done_at     DOUBLE PRECISION,
        error       TEXT,
        chat_key    TEXT,
        owner       TEXT,
        lease_until DOUBLE PRECISION
    );
    CREATE INDEX IF NOT EXISTS journal_inbox_pending ON journal_inbox (update_id)
        WHERE done_at IS NULL;
    CREATE INDEX IF NOT EXISTS journal_inbox_chat ON journal_inbox (chat_key)
        WHERE done_at IS NULL;
    CREATE TABLE IF NOT EXISTS journal_sent (
        update_id  BIGINT NOT NULL,
        chat_id    TEXT NOT NULL,
        n          INTEGER NOT NULL,
        method     TEXT NOT NULL,
        response   TEXT NOT NULL,
        ts         DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (update_id, chat_id, n)
    );
"""

# the second key of the advisory locks (the first is the schema's name hashed)
SCHEMA_LOCK, CLAIM_LOCK, LEADER_LOCK = 1, 2, 3
# the database's clock, not the instance's
NOW = "extract(epoch from clock_timestamp())::double precision"

CLAIM = f"""
    WITH free AS (
        SELECT i.update_id FROM journal_inbox i
        WHERE i.done_at IS NULL AND NOT (i.update_id = ANY($3::bigint[]))
          AND (i.owner IS NULL OR i.owner = $1 OR i.lease_until < {NOW})
          AND (i.chat_key IS NULL OR NOT EXISTS (
                SELECT 1 FROM journal_inbox o
                WHERE o.chat_key = i.chat_key AND o.done_at IS NULL AND o.owner <> $1
                  AND o.lease_until >= {NOW}))
        ORDER BY i.update_id LIMIT $2
    )
    UPDATE journal_inbox j SET owner = $1, lease_until = {NOW} + $4
    FROM free WHERE j.update_id = free.update_id
    RETURNING j.update_id, j.body, j.attempts
"""

OLD = (
    "done_at IS NOT NULL AND update_id < (SELECT MAX(update_id) FROM journal_inbox)"
    " AND done_at < CASE WHEN error IS NULL THEN $1::float8 ELSE $2::float8 END"
)


class PostgresJournal(Journal):
    shared = True
    poll_every = 0.5  # a chat another instance held may be free now: look again this soon
    claim_batch = 20  # a few at a time: instances claiming at once take turns

    def __init__(
        self,
        pool: asyncpg.Pool,
        url: str,
        schema: str,
        clock: Callable[[], float] = time.time,
        lease: float = LEASE,
    ) -> None:
        super().__init__(clock)
        self.pool, self.url, self.lease = pool, url, lease
        self.channel = f"dono_journal_{schema}"[:63]
        self.errors = unavailable()
        self._session: asyncpg.Connection | None = None  # LISTEN, and the leader's lock
        self._leading = False

    @classmethod
    async def connect(
        cls, url: str, clock: Callable[[], float] = time.time, lease: float = LEASE
    ) -> PostgresJournal:
        """The journal's tables in the database at ``url``, made if missing (under a lock:
        instances starting together make them once)."""
        pool = await asyncpg.create_pool(url, min_size=1, max_size=4)
        try:
            async with pool.acquire() as conn, conn.transaction():
                await conn.execute(
                    "SELECT pg_advisory_xact_lock(hashtext(current_schema()), $1)", SCHEMA_LOCK
                )
                await conn.execute(SCHEMA)
                schema = await conn.fetchval("SELECT current_schema()")
            journal = cls(pool, url, str(schema), clock, lease)
            with contextlib.suppress(*journal.errors):
                await journal._connect_session()  # else the next lead() tries again
        except BaseException:
            await pool.close()
            raise
        return journal

    async def close(self) -> None:
        if self._session is not None:
            with contextlib.suppress(*self.errors):
                await self._session.close(timeout=2)
            self._session = None
        await self.pool.close()

    async def _connect_session(self) -> asyncpg.Connection:
        conn = await asyncpg.connect(self.url, timeout=5)
        await conn.add_listener(self.channel, lambda *_: self.stored())
        self._session = conn
        return conn

    async def lead(self) -> bool:
        """The session connection's advisory lock: kept while the connection answers, tried
        for when not held."""
        with contextlib.suppress(*self.errors):
            conn = self._session
            if conn is None or conn.is_closed():
                self._leading = False
                conn = await self._connect_session()
            if self._leading:
                await conn.fetchval("SELECT 1", timeout=2)
            else:
                self._leading = bool(
                    await conn.fetchval(
                        "SELECT pg_try_advisory_lock(hashtext(current_schema()), $1)",
                        LEADER_LOCK,
                        timeout=2,
                    )
                )
            return self._leading
        self._leading = False
        if self._session is not None:
            self._session.terminate()  # a session that doesn't answer holds no lock of ours
            self._session = None
        return False

    async def inbox_put(self, updates: Sequence[Row]) -> None:
        rows = [(u[0], u[1], self.clock(), u[2] if len(u) > 2 else None) for u in updates]
        with self.unavailable_as(self.errors):
            async with self.pool.acquire() as conn, conn.transaction():
                await conn.executemany(
                    "INSERT INTO journal_inbox (update_id, body, received_at, chat_key)"
                    " VALUES ($1, $2, $3, $4) ON CONFLICT (update_id) DO NOTHING",
                    rows,
                )
                await conn.execute("SELECT pg_notify($1, '')", self.channel)
        self.stored()

    async def inbox_add(self, update_id: int, body: str, chat: str | None = None) -> bool:
        with self.unavailable_as(self.errors):
            async with self.pool.acquire() as conn, conn.transaction():
                status = await conn.execute(
                    "INSERT INTO journal_inbox (update_id, body, received_at, chat_key)"
                    " VALUES ($1, $2, $3, $4) ON CONFLICT (update_id) DO NOTHING",
                    update_id,
                    body,
                    self.clock(),
                    chat,
                )
                new = status.endswith(" 1")
                if new:
                    await conn.execute("SELECT pg_notify($1, '')", self.channel)
        if new:
            self.stored()
        return new

    async def _fetch(self, sql: str, *args: object) -> list[asyncpg.Record]:
        with self.unavailable_as(self.errors):
            async with self.pool.acquire() as conn:
                return list(await conn.fetch(sql, *args))

    async def _execute(self, sql: str, *args: object) -> str:
        with self.unavailable_as(self.errors):
            async with self.pool.acquire() as conn:
                return str(await conn.execute(sql, *args))

    async def inbox_pending(
        self, limit: int = 1000, after: int | None = None
    ) -> list[tuple[int, str, int]]:
        rows = await self._fetch(
            "SELECT update_id, body, attempts FROM journal_inbox WHERE done_at IS NULL"
            " AND update_id > $1 ORDER BY update_id LIMIT $2",
            -(2**63) if after is None else after,
            limit,
        )
        return [(int(r[0]), str(r[1]), int(r[2])) for r in rows]

    async def inbox_last_id(self) -> int | None:
        rows = await self._fetch("SELECT MAX(update_id) FROM journal_inbox")
        return int(rows[0][0]) if rows and rows[0][0] is not None else None

    async def inbox_attempt(self, update_id: int) -> None:
        await self._execute(
            "UPDATE journal_inbox SET attempts = attempts + 1 WHERE update_id = $1", update_id
        )

    async def inbox_done(self, update_id: int, error: str | None = None) -> None:
        await self._execute(
            "UPDATE journal_inbox SET done_at = $1, error = $2 WHERE update_id = $3",
            self.clock(),
            error,
            update_id,
        )

    async def claim(
        self, owner: str, limit: int, in_hand: Collection[int] = ()
    ) -> list[tuple[int, str, int]]:
        with self.unavailable_as(self.errors):
            async with self.pool.acquire() as conn, conn.transaction():
                await conn.execute(
                    "SELECT pg_advisory_xact_lock(hashtext(current_schema()), $1)", CLAIM_LOCK
                )
                rows = await conn.fetch(CLAIM, owner, limit, list(in_hand), self.lease)
        return sorted((int(r[0]), str(r[1]), int(r[2])) for r in rows)

    async def unclaimed(self) -> int:
        rows = await self._fetch(
            "SELECT COUNT(*) FROM journal_inbox WHERE done_at IS NULL"
            f" AND (owner IS NULL OR lease_until < {NOW})"
        )
        return int(rows[0][0])

    async def renew(self, owner: str, in_hand: Collection[int]) -> None:
        await self._execute(
            f"UPDATE journal_inbox SET lease_until = {NOW} + $3 WHERE owner = $1"
            " AND done_at IS NULL AND update_id = ANY($2::bigint[])",
            owner,
            list(in_hand),
            self.lease,
        )

    async def release(self, owner: str) -> None:
        await self._execute(
            "UPDATE journal_inbox SET owner = NULL, lease_until = NULL"
            " WHERE owner = $1 AND done_at IS NULL",
            owner,
        )

    async def sent_get(self, update_id: int, chat_id: str, n: int) -> str | None:
        rows = await self._fetch(
            "SELECT response FROM journal_sent WHERE update_id = $1 AND chat_id = $2 AND n = $3",
            update_id,
            chat_id,
            n,
        )
        return str(rows[0][0]) if rows else None

    async def sent_put(
        self, update_id: int, chat_id: str, n: int, method: str, response: str
    ) -> None:
        await self._execute(
            "INSERT INTO journal_sent (update_id, chat_id, n, method, response, ts)"
            " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (update_id, chat_id, n)"
            " DO UPDATE SET method = EXCLUDED.method, response = EXCLUDED.response,"
            " ts = EXCLUDED.ts",
            update_id,
            chat_id,
            n,
            method,
            response,
            self.clock(),
        )

    async def sent_refused(self, update_id: int, chat_id: str, n: int) -> None:
        await self._execute(
            "DELETE FROM journal_sent WHERE update_id = $1 AND chat_id = $2 AND n = $3"
            " AND response = ''",
            update_id,
            chat_id,
            n,
        )

    async def prune(self, keep: float = 3600.0, keep_errors: float = 7 * 86400.0) -> int:
        now = self.clock()
        args = (now - keep, now - keep_errors)
        with self.unavailable_as(self.errors):
            async with self.pool.acquire() as conn, conn.transaction():
                await conn.execute(
                    "DELETE FROM journal_sent WHERE update_id IN"
                    f" (SELECT update_id FROM journal_inbox WHERE {OLD})",
                    *args,
                )
                status = await conn.execute(f"DELETE FROM journal_inbox WHERE {OLD}", *args)
                await conn.execute(
                    "DELETE FROM journal_sent WHERE ts < $1"
                    " AND update_id NOT IN (SELECT update_id FROM journal_inbox)",
                    now - keep,
                )
        return int(status.rsplit(" ", 1)[-1])
