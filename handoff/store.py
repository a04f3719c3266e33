"""SQLite storage (aiosqlite, WAL) for subscribers, bot decisions, feedback and hand-offs.

All SQL of the project lives here. The schema is versioned: ``MIGRATIONS[i]`` moves a database
from version i to i+1, so an old database is upgraded on open and nothing is lost.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import aiosqlite

MIGRATIONS: list[str] = [
    """
    CREATE TABLE subscribers (
        user_id       INTEGER PRIMARY KEY,
        chat_id       INTEGER NOT NULL,
        first_name    TEXT NOT NULL DEFAULT '',
        username      TEXT,
        language_code TEXT,
        lang          TEXT,
        blocked       INTEGER NOT NULL DEFAULT 0,
        created_at    REAL NOT NULL,
        updated_at    REAL NOT NULL
    );
    CREATE TABLE interactions (
        id          INTEGER PRIMARY KEY,
        user_id     INTEGER NOT NULL,
        ts          REAL NOT NULL,
        text        TEXT NOT NULL,
        normalized  TEXT NOT NULL,
        decision    TEXT NOT NULL,
        topic       TEXT,
        candidates  TEXT NOT NULL DEFAULT '',
        score       REAL NOT NULL,
        lang        TEXT,
        latency_ms  REAL NOT NULL
    );
    CREATE INDEX interactions_user_ts ON interactions(user_id, ts);
    CREATE INDEX interactions_ts ON interactions(ts);
    CREATE TABLE feedback (
        id       INTEGER PRIMARY KEY,
        user_id  INTEGER NOT NULL,
        topic    TEXT NOT NULL,
        helpful  INTEGER NOT NULL,
        ts       REAL NOT NULL
    );
    CREATE TABLE handoffs (
        id          INTEGER PRIMARY KEY,
        user_id     INTEGER NOT NULL,
        reason      TEXT NOT NULL,
        question    TEXT NOT NULL DEFAULT '',
        status      TEXT NOT NULL DEFAULT 'waiting',
        created_at  REAL NOT NULL
    );
    CREATE INDEX handoffs_status ON handoffs(status, created_at);
    """,
]


@dataclass(frozen=True, slots=True)
class Subscriber:
    user_id: int
    chat_id: int
    first_name: str
    username: str | None
    language_code: str | None
    lang: str | None
    blocked: bool


class Store:
    """The bot's database; open with ``await Store.open(path)``, close with ``await close()``."""

    def __init__(self, db: aiosqlite.Connection, clock=time.time) -> None:
        self.db = db
        self.clock = clock

    @classmethod
    async def open(cls, path: str | Path, clock=time.time) -> Store:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(str(path))
        db.row_factory = aiosqlite.Row
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA synchronous=NORMAL")
        await db.execute("PRAGMA busy_timeout=5000")
        store = cls(db, clock)
        await store._migrate()
        return store

    async def close(self) -> None:
        await self.db.close()

    async def _migrate(self) -> None:
        async with self.db.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        version = int(row[0]) if row else 0
        for i in range(version, len(MIGRATIONS)):
            await self.db.executescript(
                f"BEGIN;\n{MIGRATIONS[i]}\nPRAGMA user_version = {i + 1};\nCOMMIT;"
            )

    async def schema_version(self) -> int:
        async with self.db.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    # -- subscribers ---------------------------------------------------------------------------

    async def touch_subscriber(
        self,
        user_id: int,
        chat_id: int,
        first_name: str,
        username: str | None,
        language_code: str | None,
    ) -> Subscriber:
        """Create or refresh a subscriber from a Telegram update; returns the stored profile."""
        now = self.clock()
        await self.db.execute(
            """
            INSERT INTO subscribers
                (user_id, chat_id, first_name, username, language_code, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(user_id) DO UPDATE SET
                chat_id = excluded.chat_id, first_name = excluded.first_name,
                username = excluded.username, language_code = excluded.language_code,
                blocked = 0, updated_at = excluded.updated_at
            """,
            (user_id, chat_id, first_name, username, language_code, now, now),
        )
        await self.db.commit()
        sub = await self.subscriber(user_id)
        assert sub is not None
        return sub

    async def subscriber(self, user_id: int) -> Subscriber | None:
        async with self.db.execute(
            "SELECT user_id, chat_id, first_name, username, language_code, lang, blocked "
            "FROM subscribers WHERE user_id = ?",
            (user_id,),
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        return Subscriber(
            row["user_id"],
            row["chat_id"],
            row["first_name"],
            row["username"],
            row["language_code"],
            row["lang"],
            bool(row["blocked"]),
        )

    async def set_language(self, user_id: int, lang: str) -> None:
        await self.db.execute(
            "UPDATE subscribers SET lang = ?, updated_at = ? WHERE user_id = ?",
            (lang, self.clock(), user_id),
        )
        await self.db.commit()

    async def mark_blocked(self, chat_id: int) -> None:
        await self.db.execute(
            "UPDATE subscribers SET blocked = 1, updated_at = ? WHERE chat_id = ?",
            (self.clock(), chat_id),
        )
        await self.db.commit()

    # -- what the bot did ----------------------------------------------------------------------

    async def log_interaction(
        self,
        user_id: int,
        text: str,
        normalized: str,
        decision: str,
        topic: str | None,
        candidates: list[str],
        score: float,
        lang: str | None,
        latency_ms: float,
    ) -> int:
        cur = await self.db.execute(
            "INSERT INTO interactions (user_id, ts, text, normalized, decision, topic, candidates,"
            " score, lang, latency_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                user_id,
                self.clock(),
                text,
                normalized,
                decision,
                topic,
                ",".join(candidates),
                score,
                lang,
                latency_ms,
            ),
        )
        await self.db.commit()
        return int(cur.lastrowid or 0)

    async def recent_interactions(self, user_id: int, limit: int = 5) -> list[dict]:
        async with self.db.execute(
            "SELECT ts, text, decision, topic, score, lang FROM interactions "
            "WHERE user_id = ? ORDER BY id DESC LIMIT ?",
            (user_id, limit),
        ) as cur:
            rows = await cur.fetchall()
        return [dict(r) for r in rows]

    async def add_feedback(self, user_id: int, topic: str, helpful: bool) -> None:
        await self.db.execute(
            "INSERT INTO feedback (user_id, topic, helpful, ts) VALUES (?, ?, ?, ?)",
            (user_id, topic, int(helpful), self.clock()),
        )
        await self.db.commit()

    async def feedback_counts(self, topic: str) -> tuple[int, int]:
        """(helpful, not helpful) votes for a topic."""
        async with self.db.execute(
            "SELECT COALESCE(SUM(helpful), 0), COALESCE(SUM(1 - helpful), 0) "
            "FROM feedback WHERE topic = ?",
            (topic,),
        ) as cur:
            row = await cur.fetchone()
        return (int(row[0]), int(row[1])) if row else (0, 0)

    # -- hand-offs -----------------------------------------------------------------------------

    async def request_handoff(self, user_id: int, reason: str, question: str = "") -> int:
        """Record that a subscriber needs a human; one waiting request per subscriber."""
        async with self.db.execute(
            "SELECT id FROM handoffs WHERE user_id = ? AND status = 'waiting'", (user_id,)
        ) as cur:
            row = await cur.fetchone()
        if row is not None:
            return int(row[0])
        cur = await self.db.execute(
            "INSERT INTO handoffs (user_id, reason, question, created_at) VALUES (?, ?, ?, ?)",
            (user_id, reason, question, self.clock()),
        )
        await self.db.commit()
        return int(cur.lastrowid or 0)

    async def waiting_handoffs(self) -> list[dict]:
        async with self.db.execute(
            "SELECT id, user_id, reason, question, created_at FROM handoffs "
            "WHERE status = 'waiting' ORDER BY created_at, id"
        ) as cur:
            rows = await cur.fetchall()
        return [dict(r) for r in rows]

    async def queue_position(self, handoff_id: int) -> int:
        """1-based place of a waiting hand-off in the queue (oldest first)."""
        async with self.db.execute(
            "SELECT COUNT(*) FROM handoffs WHERE status = 'waiting' AND id <= ?", (handoff_id,)
        ) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0
