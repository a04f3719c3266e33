"""SQLite storage (aiosqlite, WAL) for subscribers, bot decisions, feedback and the agent desk.

All SQL of the project lives here. The schema is versioned: ``MIGRATIONS[i]`` moves a database
from version i to i+1, so an old database is upgraded on open and nothing is lost.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
import statistics
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite

from handoff import tickets as rules
from handoff.tickets import (
    DIRECTIONS,
    REASONS,
    Ban,
    Banned,
    Busy,
    Event,
    NotClosed,
    OpenTicketExists,
    QueueEntry,
    ReopenExpired,
    Ticket,
    TicketClosed,
    TicketMessage,
    TicketNotFound,
)

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
    # v2, the agent desk: hand-offs become tickets (same ids, so numbers subscribers were told
    # stay valid); at most one waiting hand-off per subscriber survives as waiting, the rest
    # are closed as "migrated" so the one-open-ticket index holds.
    """
    CREATE TABLE tickets (
        id                      INTEGER PRIMARY KEY,
        user_id                 INTEGER NOT NULL,
        status                  TEXT NOT NULL CHECK (status IN ('waiting', 'claimed', 'closed')),
        reason                  TEXT NOT NULL,
        question                TEXT NOT NULL DEFAULT '',
        lang                    TEXT,
        created_at              REAL NOT NULL,
        queued_at               REAL NOT NULL,
        claimed_at              REAL,
        first_response_at       REAL,
        closed_at               REAL,
        agent_id                INTEGER,
        agent_name              TEXT,
        thread_id               INTEGER,
        card_message_id         INTEGER,
        close_reason            TEXT,
        csat                    INTEGER CHECK (csat BETWEEN 1 AND 5),
        msgs_from_user          INTEGER NOT NULL DEFAULT 0,
        msgs_from_agent         INTEGER NOT NULL DEFAULT 0,
        reopened                INTEGER NOT NULL DEFAULT 0,
        conversation_started_at REAL,
        version                 INTEGER NOT NULL DEFAULT 0
    );
    CREATE UNIQUE INDEX tickets_one_open ON tickets(user_id)
        WHERE status IN ('waiting', 'claimed');
    CREATE INDEX tickets_queue ON tickets(status, queued_at, id);
    CREATE INDEX tickets_user ON tickets(user_id, id);
    CREATE INDEX tickets_thread ON tickets(thread_id);
    CREATE INDEX tickets_card ON tickets(card_message_id);
    CREATE INDEX tickets_created ON tickets(created_at);
    CREATE INDEX tickets_first_response ON tickets(first_response_at);
    CREATE INDEX tickets_agent ON tickets(agent_id, status);
    CREATE TABLE ticket_messages (
        id                   INTEGER PRIMARY KEY,
        ticket_id            INTEGER NOT NULL REFERENCES tickets(id),
        direction            TEXT NOT NULL CHECK (direction IN ('in', 'out', 'note')),
        user_chat_message_id INTEGER,
        group_message_id     INTEGER,
        thread_id            INTEGER,
        kind                 TEXT NOT NULL DEFAULT 'text',
        ts                   REAL NOT NULL
    );
    CREATE INDEX ticket_messages_ticket ON ticket_messages(ticket_id, id);
    CREATE INDEX ticket_messages_group ON ticket_messages(group_message_id);
    CREATE INDEX ticket_messages_user ON ticket_messages(user_chat_message_id);
    CREATE TABLE bans (
        user_id    INTEGER PRIMARY KEY,
        banned_by  INTEGER,
        reason     TEXT NOT NULL DEFAULT '',
        ts         REAL NOT NULL
    );
    CREATE TABLE events (
        id         INTEGER PRIMARY KEY,
        ticket_id  INTEGER,
        name       TEXT NOT NULL,
        ts         REAL NOT NULL,
        agent_id   INTEGER,
        detail     TEXT
    );
    CREATE INDEX events_ticket ON events(ticket_id, id);
    CREATE INDEX events_ts ON events(ts);
    INSERT INTO tickets (id, user_id, status, reason, question, lang, created_at, queued_at,
                         closed_at, close_reason)
    SELECT h.id, h.user_id,
           CASE WHEN keep THEN 'waiting' ELSE 'closed' END,
           h.reason, h.question, s.lang, h.created_at, h.created_at,
           CASE WHEN keep THEN NULL ELSE h.created_at END,
           CASE WHEN keep THEN NULL ELSE 'migrated' END
    FROM (
        SELECT handoffs.*,
               status = 'waiting' AND id = (
                   SELECT MAX(w.id) FROM handoffs w
                   WHERE w.user_id = handoffs.user_id AND w.status = 'waiting'
               ) AS keep
        FROM handoffs
    ) h
    LEFT JOIN subscribers s ON s.user_id = h.user_id;
    INSERT INTO events (ticket_id, name, ts) SELECT id, 'opened', created_at FROM tickets;
    INSERT INTO events (ticket_id, name, ts, detail)
        SELECT id, 'closed', closed_at, close_reason FROM tickets WHERE status = 'closed';
    DROP TABLE handoffs;
    """,
    # v3, admins and reports: outage reports from subscribers, and 👎 kept with the question
    """
    CREATE TABLE outages (
        id          INTEGER PRIMARY KEY,
        user_id     INTEGER NOT NULL,
        district    TEXT,
        latitude    REAL,
        longitude   REAL,
        description TEXT NOT NULL DEFAULT '',
        ts          REAL NOT NULL,
        notified    INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX outages_ts ON outages(ts);
    CREATE INDEX outages_district ON outages(district, ts);
    ALTER TABLE feedback ADD COLUMN question TEXT NOT NULL DEFAULT '';
    """,
    # v4, decisions say what they are: the intent gets its own column (small talk was stored
    # as a "none" with its intent in the topic column, a hand-off with its intent there too),
    # and a 👍/👎 belongs to one answer message: pressing again replaces the vote.
    """
    ALTER TABLE interactions ADD COLUMN intent TEXT;
    UPDATE interactions SET decision = 'smalltalk', intent = topic, topic = NULL
        WHERE decision = 'none' AND topic IS NOT NULL;
    UPDATE interactions SET decision = 'none', intent = NULL, topic = NULL
        WHERE decision = 'handoff' AND topic = 'bot_failed';
    UPDATE interactions SET intent = topic, topic = NULL
        WHERE decision = 'handoff' AND topic IS NOT NULL;
    ALTER TABLE feedback ADD COLUMN message_id INTEGER;
    CREATE UNIQUE INDEX feedback_one_per_answer ON feedback(user_id, message_id)
        WHERE message_id IS NOT NULL;
    """,
]


# The update journal lives in a file of its own next to the database: updates are stored
# there before Telegram is told they arrived, and what was sent for each is kept, so a crash
# neither loses a message nor answers it twice. A file of its own means recording a send never
# waits for (or collides with) the handlers' transactions.
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


def journal_path(path: str | Path) -> str:
    return ":memory:" if str(path) == ":memory:" else f"{path}.journal"


@dataclass(frozen=True, slots=True)
class Subscriber:
    user_id: int
    chat_id: int
    first_name: str
    username: str | None
    language_code: str | None
    lang: str | None
    blocked: bool


@dataclass(frozen=True, slots=True)
class SubscriberSummary:
    """What an agent sees on /whois: profile, language, ticket history, recent questions."""

    user_id: int
    subscriber: Subscriber | None
    first_seen: float | None
    lang: str | None  # chosen language, else Telegram's language_code
    tickets: int
    open_ticket: Ticket | None
    last_ticket: Ticket | None
    average_csat: float | None
    ban: Ban | None
    recent_questions: tuple[str, ...]  # newest first


class Store:
    """The bot's database; open with ``await Store.open(path)``, close with ``await close()``."""

    def __init__(self, db: aiosqlite.Connection, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.clock = clock
        # Tasks share this connection and so its transaction: a write section holds the lock
        # from its first statement to its commit (or rollback), so no task commits or rolls
        # back another's half-done work. Other connections are kept out by SQLite itself.
        self._lock = asyncio.Lock()
        # the update journal (see JOURNAL_SCHEMA): its own file, connection and thread
        self.journal: aiosqlite.Connection = db

    @classmethod
    async def open(cls, path: str | Path, clock: Callable[[], float] = time.time) -> Store:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(str(path))
        db.row_factory = aiosqlite.Row
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA synchronous=NORMAL")
        await db.execute("PRAGMA busy_timeout=5000")
        store = cls(db, clock)
        await store._migrate()
        store.journal = await aiosqlite.connect(journal_path(path))
        await store.journal.execute("PRAGMA journal_mode=WAL")
        await store.journal.execute("PRAGMA synchronous=NORMAL")
        await store.journal.executescript(JOURNAL_SCHEMA)
        return store

    async def close(self) -> None:
        if self.journal is not self.db:
            await self.journal.close()
        await self.db.close()

    async def _migrate(self) -> None:
        async with self.db.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        version = int(row[0]) if row else 0
        for i in range(version, len(MIGRATIONS)):
            await self.db.executescript(
                f"BEGIN;\n{MIGRATIONS[i]}\nPRAGMA user_version = {i + 1};\nCOMMIT;"
            )

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[None]:
        async with self._lock:
            try:
                yield
            except BaseException:
                await self.db.rollback()
                raise

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
        async with self._writing():
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
        async with self._writing():
            await self.db.execute(
                "UPDATE subscribers SET lang = ?, updated_at = ? WHERE user_id = ?",
                (lang, self.clock(), user_id),
            )
            await self.db.commit()

    async def mark_blocked(self, chat_id: int) -> None:
        async with self._writing():
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
        intent: str | None = None,
    ) -> int:
        """One message the bot decided on: ``decision`` is the matcher's kind (answer, clarify,
        handoff, smalltalk, none; "banned" for a banned subscriber's message), ``topic`` the
        answered topic, ``intent`` the small talk or hand-off intent."""
        async with self._writing():
            cur = await self.db.execute(
                "INSERT INTO interactions (user_id, ts, text, normalized, decision, topic,"
                " candidates, score, lang, latency_ms, intent)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
                    intent,
                ),
            )
            await self.db.commit()
        return int(cur.lastrowid or 0)

    async def recent_interactions(self, user_id: int, limit: int = 5) -> list[dict]:
        async with self.db.execute(
            "SELECT ts, text, normalized, decision, decision AS kind, topic, intent, score, lang"
            " FROM interactions "
            "WHERE user_id = ? ORDER BY id DESC LIMIT ?",
            (user_id, limit),
        ) as cur:
            rows = await cur.fetchall()
        return [dict(r) for r in rows]

    async def add_feedback(
        self, user_id: int, topic: str, helpful: bool, message_id: int | None = None
    ) -> None:
        """A 👍/👎 on a topic's answer, kept with the question that got that answer; one per
        answer message (``message_id``) and subscriber: pressing again replaces the vote."""
        async with self._writing():
            await self.db.execute(
                "INSERT INTO feedback (user_id, topic, helpful, ts, question, message_id)"
                " VALUES (?, ?, ?, ?, COALESCE((SELECT text FROM interactions WHERE user_id = ?"
                " AND topic = ? ORDER BY id DESC LIMIT 1), ''), ?)"
                " ON CONFLICT (user_id, message_id) WHERE message_id IS NOT NULL"
                " DO UPDATE SET helpful = excluded.helpful, ts = excluded.ts,"
                " topic = excluded.topic",
                (user_id, topic, int(helpful), self.clock(), user_id, topic, message_id),
            )
            await self.db.commit()

    async def unanswered(self, since: float) -> list[dict]:
        """What the bot could not answer well since ``since``: "none" and "clarify" decisions
        (smalltalk and banned users' messages left out) and questions whose answer got 👎."""
        async with self.db.execute(
            "SELECT ts, text, normalized, decision AS kind, topic FROM interactions"
            " WHERE ts >= ? AND (decision = 'clarify' OR (decision = 'none' AND topic IS NULL))"
            " AND normalized != ''"
            " UNION ALL SELECT ts, question, '', 'dislike', topic FROM feedback"
            " WHERE ts >= ? AND helpful = 0 AND question != '' ORDER BY ts",
            (since, since),
        ) as cur:
            rows = await cur.fetchall()
        return [dict(r) for r in rows]

    # -- durable updates -----------------------------------------------------------------------

    async def inbox_put(self, updates: list[tuple[int, str]]) -> None:
        """Keep updates (id, JSON) before they are acknowledged to Telegram; repeats are
        ignored. Raises sqlite3 errors (locked, disk full) for the caller to retry."""
        await self.journal.executemany(
            "INSERT OR IGNORE INTO inbox (update_id, body, received_at) VALUES (?, ?, ?)",
            [(uid, body, self.clock()) for uid, body in updates],
        )
        await self.journal.commit()

    async def inbox_add(self, update_id: int, body: str) -> bool:
        """Keep one update (a webhook delivery); False when it was kept already (Telegram
        delivers again what it is not sure arrived). Raises sqlite3 errors like inbox_put."""
        cur = await self.journal.execute(
            "INSERT OR IGNORE INTO inbox (update_id, body, received_at) VALUES (?, ?, ?)",
            (update_id, body, self.clock()),
        )
        await self.journal.commit()
        return cur.rowcount == 1

    async def inbox_pending(
        self, limit: int = 1000, after: int | None = None
    ) -> list[tuple[int, str, int]]:
        """Stored updates not handled yet, oldest first (after ``after``, if given), at most
        ``limit``: (id, JSON, attempts so far)."""
        async with self.journal.execute(
            "SELECT update_id, body, attempts FROM inbox WHERE done_at IS NULL"
            " AND update_id > ? ORDER BY update_id LIMIT ?",
            (-(2**63) if after is None else after, limit),
        ) as cur:
            rows = await cur.fetchall()
        return [(int(r[0]), str(r[1]), int(r[2])) for r in rows]

    async def inbox_last_id(self) -> int | None:
        async with self.journal.execute("SELECT MAX(update_id) FROM inbox") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row and row[0] is not None else None

    async def inbox_attempt(self, update_id: int) -> None:
        await self.journal.execute(
            "UPDATE inbox SET attempts = attempts + 1 WHERE update_id = ?", (update_id,)
        )
        await self.journal.commit()

    async def inbox_done(self, update_id: int, error: str | None = None) -> None:
        await self.journal.execute(
            "UPDATE inbox SET done_at = ?, error = ? WHERE update_id = ?",
            (self.clock(), error, update_id),
        )
        await self.journal.commit()

    async def sent_get(self, update_id: int, chat_id: str, n: int) -> str | None:
        """The Bot API response already received for this update's n-th send to a chat."""
        async with self.journal.execute(
            "SELECT response FROM sent WHERE update_id = ? AND chat_id = ? AND n = ?",
            (update_id, chat_id, n),
        ) as cur:
            row = await cur.fetchone()
        return str(row[0]) if row else None

    async def sent_put(
        self, update_id: int, chat_id: str, n: int, method: str, response: str
    ) -> None:
        await self.journal.execute(
            "INSERT OR REPLACE INTO sent (update_id, chat_id, n, method, response, ts)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (update_id, chat_id, n, method, response, self.clock()),
        )
        await self.journal.commit()

    async def journal_prune(self, keep: float = 3600.0, keep_errors: float = 7 * 86400.0) -> int:
        """Forget handled updates (and what was sent for them) older than ``keep`` seconds, the
        ones that failed after ``keep_errors``; pending ones and the newest (the polling
        offset) stay. Returns how many updates were forgotten."""
        now = self.clock()
        old = (
            "done_at IS NOT NULL AND update_id < (SELECT MAX(update_id) FROM inbox)"
            " AND done_at < CASE WHEN error IS NULL THEN ? ELSE ? END"
        )
        args = (now - keep, now - keep_errors)
        await self.journal.execute(
            f"DELETE FROM sent WHERE update_id IN (SELECT update_id FROM inbox WHERE {old})", args
        )
        cur = await self.journal.execute(f"DELETE FROM inbox WHERE {old}", args)
        # sends whose update is gone already (kept by an older version, or an unknown update)
        await self.journal.execute(
            "DELETE FROM sent WHERE ts < ? AND update_id NOT IN (SELECT update_id FROM inbox)",
            (now - keep,),
        )
        await self.journal.commit()
        return cur.rowcount

    # -- outages -------------------------------------------------------------------------------

    async def add_outage(
        self,
        user_id: int,
        district: str | None,
        description: str = "",
        latitude: float | None = None,
        longitude: float | None = None,
    ) -> int:
        async with self._writing():
            cur = await self.db.execute(
                "INSERT INTO outages (user_id, district, latitude, longitude, description, ts)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (user_id, district, latitude, longitude, description, self.clock()),
            )
            await self.db.commit()
        return int(cur.lastrowid or 0)

    async def outage_cluster(self, district: str, since: float) -> list[dict]:
        """Reports from one district since ``since`` that agents have not been told about."""
        async with self.db.execute(
            "SELECT id, user_id, description, ts FROM outages"
            " WHERE district = ? AND ts >= ? AND notified = 0 ORDER BY ts",
            (district, since),
        ) as cur:
            rows = await cur.fetchall()
        return [dict(r) for r in rows]

    async def mark_outages_notified(self, ids: list[int]) -> None:
        if not ids:
            return
        async with self._writing():
            await self.db.executemany(
                "UPDATE outages SET notified = 1 WHERE id = ?", [(i,) for i in ids]
            )
            await self.db.commit()

    async def outages(self, since: float, until: float | None = None) -> list[dict]:
        async with self.db.execute(
            "SELECT id, user_id, district, latitude, longitude, description, ts FROM outages"
            " WHERE ts >= ? AND ts < ? ORDER BY ts",
            (since, until if until is not None else float("inf")),
        ) as cur:
            rows = await cur.fetchall()
        return [dict(r) for r in rows]

    async def feedback_counts(self, topic: str) -> tuple[int, int]:
        """(helpful, not helpful) votes for a topic."""
        async with self.db.execute(
            "SELECT COALESCE(SUM(helpful), 0), COALESCE(SUM(1 - helpful), 0) "
            "FROM feedback WHERE topic = ?",
            (topic,),
        ) as cur:
            row = await cur.fetchone()
        return (int(row[0]), int(row[1])) if row else (0, 0)

    # -- hand-offs (the first bot API, kept on top of tickets) ---------------------------------

    async def request_handoff(self, user_id: int, reason: str, question: str = "") -> int:
        """Record that a subscriber needs a human; one open ticket per subscriber, whose id
        this returns."""
        ticket, _ = await self.open_ticket(user_id, reason, question)
        return ticket.id

    async def waiting_handoffs(self) -> list[dict]:
        return [
            {
                "id": e.ticket.id,
                "user_id": e.ticket.user_id,
                "reason": e.ticket.reason,
                "question": e.ticket.question,
                "created_at": e.ticket.created_at,
            }
            for e in await self.queue()
        ]

    async def queue_position(self, handoff_id: int) -> int:
        """1-based place of a waiting ticket in the queue (oldest first); 0 when not waiting."""
        async with self.db.execute(
            "SELECT COUNT(*) FROM tickets w JOIN tickets t ON t.id = ? "
            "WHERE t.status = 'waiting' AND w.status = 'waiting' "
            "AND (w.queued_at < t.queued_at OR (w.queued_at = t.queued_at AND w.id <= t.id))",
            (handoff_id,),
        ) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    # -- tickets -------------------------------------------------------------------------------

    async def open_ticket(
        self,
        user_id: int,
        reason: str,
        question: str = "",
        lang: str | None = None,
        now: float | None = None,
        *,
        reopen_window: float = 0.0,
        conversation_started_at: float | None = None,
        conversation_gap: float = 1800.0,
    ) -> tuple[Ticket, bool]:
        """The subscriber's open ticket, creating one if needed.

        ``created`` is True when the desk must be told: a new ticket (``thread_id`` is None:
        make a topic) or the last one reopened because it was closed less than
        ``reopen_window`` seconds ago (its topic exists: reopen it). False: it was already open.
        Raises ``Banned`` for a banned subscriber.
        ``conversation_started_at`` defaults to the first of the subscriber's interactions
        with the bot that are at most ``conversation_gap`` seconds apart, counting back.
        """
        if reason not in REASONS:
            raise ValueError(
                f"unknown hand-off reason {reason!r}; expected one of {sorted(REASONS)}"
            )
        now = self._now(now)
        if await self.is_banned(user_id):
            raise Banned(user_id)
        if lang is None:
            sub = await self.subscriber(user_id)
            lang = sub.lang if sub else None
        for _ in range(_RETRIES):
            async with self._writing():
                existing = await self.open_ticket_of(user_id)
                if existing is not None:
                    return existing, False
                last = await self.last_ticket(user_id)
                if last is None or not rules.reopenable(last, now, reopen_window):
                    started = conversation_started_at
                    if started is None:
                        started = await self._conversation_start(
                            user_id, now, conversation_gap, after=last.closed_at if last else None
                        )
                    try:
                        cur = await self.db.execute(
                            "INSERT INTO tickets (user_id, status, reason, question, lang,"
                            " created_at, queued_at, conversation_started_at)"
                            " VALUES (?, 'waiting', ?, ?, ?, ?, ?, ?)",
                            (user_id, reason, question, lang, now, now, started),
                        )
                    except sqlite3.IntegrityError:
                        # Another process opened one first (the one-open-ticket index).
                        await self.db.rollback()
                        continue
                    ticket_id = int(cur.lastrowid or 0)
                    await self._add_event(ticket_id, "opened", now, detail=reason)
                    await self.db.commit()
                    return await self._get(ticket_id), True
            # Outside the lock: reopen takes it itself.
            try:
                return await self.reopen(last.id, now=now, reopen_window=reopen_window), True
            except (OpenTicketExists, NotClosed, ReopenExpired):
                continue  # it changed meanwhile: look again
        raise Busy(None)

    async def get_ticket(self, ticket_id: int) -> Ticket | None:
        return await self._one_ticket("id = ?", (ticket_id,))

    async def open_ticket_of(self, user_id: int) -> Ticket | None:
        return await self._one_ticket(
            "user_id = ? AND status IN ('waiting', 'claimed')", (user_id,)
        )

    async def ticket_by_thread(self, thread_id: int) -> Ticket | None:
        """The latest ticket shown in a forum topic."""
        return await self._one_ticket("thread_id = ?", (thread_id,))

    async def ticket_by_card(self, message_id: int) -> Ticket | None:
        """The ticket whose card (the message with the Claim button) this is."""
        return await self._one_ticket("card_message_id = ?", (message_id,))

    async def claimed_by(self, agent_id: int) -> list[Ticket]:
        """An agent's claimed tickets, oldest first."""
        async with self.db.execute(
            f"SELECT {_TICKET_COLUMNS} FROM tickets WHERE agent_id = ? AND status = 'claimed' "
            "ORDER BY id",
            (agent_id,),
        ) as cur:
            rows = await cur.fetchall()
        return [_ticket(r) for r in rows]

    async def set_thread(
        self, ticket_id: int, thread_id: int | None, card_message_id: int | None = None
    ) -> Ticket:
        """Remember the ticket's forum topic and card; None keeps what is stored."""
        async with self._writing():
            cur = await self.db.execute(
                "UPDATE tickets SET thread_id = COALESCE(?, thread_id),"
                " card_message_id = COALESCE(?, card_message_id) WHERE id = ?",
                (thread_id, card_message_id, ticket_id),
            )
            if cur.rowcount == 0:
                raise TicketNotFound(ticket_id)
            await self.db.commit()
        return await self._get(ticket_id)

    async def claim(
        self, ticket_id: int, agent_id: int, agent_name: str, now: float | None = None
    ) -> Ticket:
        """waiting → claimed; of agents racing for one ticket exactly one wins, the others get
        ``AlreadyClaimed``."""
        return await self._transition(
            ticket_id,
            lambda t, now: rules.claim(t, agent_id, agent_name, now),
            "claimed",
            now,
            agent_id,
        )

    async def release(
        self, ticket_id: int, agent_id: int | None, now: float | None = None, *, force: bool = False
    ) -> Ticket:
        """claimed → waiting, keeping its place in the queue."""
        return await self._transition(
            ticket_id,
            lambda t, _: rules.release(t, agent_id, force=force),
            "released",
            now,
            agent_id,
        )

    async def transfer(
        self,
        ticket_id: int,
        agent_id: int | None,
        to_agent_id: int,
        to_agent_name: str,
        now: float | None = None,
        *,
        force: bool = False,
    ) -> Ticket:
        """claimed by ``agent_id`` → claimed by ``to_agent_id``."""
        return await self._transition(
            ticket_id,
            lambda t, _: rules.transfer(t, agent_id, to_agent_id, to_agent_name, force=force),
            "transferred",
            now,
            agent_id,
            detail=str(to_agent_id),
        )

    async def take_over(
        self,
        ticket_id: int,
        agent_id: int,
        agent_name: str,
        now: float | None = None,
        *,
        supervisor: bool,
    ) -> Ticket:
        """A supervisor takes an open ticket (``NotSupervisor`` for anyone else's claimed one);
        the event's detail is the agent it was taken from."""
        before = await self._get(ticket_id)
        return await self._transition(
            ticket_id,
            lambda t, now: rules.take_over(t, agent_id, agent_name, now, supervisor=supervisor),
            "taken_over",
            now,
            agent_id,
            detail=str(before.agent_id) if before.agent_id is not None else None,
        )

    async def close_ticket(
        self,
        ticket_id: int,
        agent_id: int | None = None,
        agent_name: str | None = None,
        now: float | None = None,
        reason: str = "agent",
        *,
        force: bool = False,
    ) -> Ticket:
        """waiting|claimed → closed; pass no agent for system closes ("blocked", "timeout").

        Not ``close``: that name closes the database."""
        return await self._transition(
            ticket_id,
            lambda t, now: rules.close(t, now, reason, agent_id, agent_name, force=force),
            "closed",
            now,
            agent_id,
            detail=reason,
        )

    async def reopen(
        self,
        ticket_id: int,
        agent_id: int | None = None,
        now: float | None = None,
        *,
        reopen_window: float = 0.0,
    ) -> Ticket:
        """closed → waiting: by an agent (``agent_id`` given) at any time, otherwise within
        ``reopen_window`` seconds of the close. Not while the subscriber has another open
        ticket (``OpenTicketExists``) or is banned."""
        ticket = await self._get(ticket_id)
        if await self.is_banned(ticket.user_id):
            raise Banned(ticket.user_id)
        other = await self.open_ticket_of(ticket.user_id)
        if other is not None and other.id != ticket_id:
            raise OpenTicketExists(other.id)
        return await self._transition(
            ticket_id,
            lambda t, now: rules.reopen(t, now, reopen_window, by_agent=agent_id is not None),
            "reopened",
            now,
            agent_id,
        )

    async def set_csat(self, ticket_id: int, score: int, now: float | None = None) -> Ticket:
        """The subscriber's 1..5 rating of a closed ticket (``InvalidScore``, ``NotClosed``)."""
        return await self._transition(
            ticket_id, lambda t, _: rules.rate(t, score), "csat", now, None, detail=str(score)
        )

    async def events(self, ticket_id: int) -> list[Event]:
        """A ticket's steps, oldest first."""
        async with self.db.execute(
            "SELECT ticket_id, name, ts, agent_id, detail FROM events WHERE ticket_id = ? "
            "ORDER BY id",
            (ticket_id,),
        ) as cur:
            rows = await cur.fetchall()
        return [Event(**dict(r)) for r in rows]

    async def add_event(
        self,
        ticket_id: int | None,
        name: str,
        now: float | None = None,
        agent_id: int | None = None,
        detail: str | None = None,
    ) -> None:
        """Record a step the desk doesn't see itself (e.g. "csat_asked", "topic_created")."""
        async with self._writing():
            await self._add_event(ticket_id, name, self._now(now), agent_id, detail)
            await self.db.commit()

    # -- relayed messages ----------------------------------------------------------------------

    async def record_message(
        self,
        ticket_id: int,
        direction: str,
        user_chat_message_id: int | None = None,
        group_message_id: int | None = None,
        thread_id: int | None = None,
        kind: str = "text",
        now: float | None = None,
    ) -> TicketMessage:
        """Map a relayed message between the private chat and the group and count it: "in"
        from the subscriber, "out" from an agent (the first sets ``first_response_at``),
        "note" an agents-only remark (not counted). ``thread_id`` defaults to the ticket's."""
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {sorted(DIRECTIONS)}, got {direction!r}")
        now = self._now(now)
        ticket = await self._get(ticket_id)
        async with self._writing():
            cur = await self.db.execute(
                "INSERT INTO ticket_messages (ticket_id, direction, user_chat_message_id,"
                " group_message_id, thread_id, kind, ts) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    ticket_id,
                    direction,
                    user_chat_message_id,
                    group_message_id,
                    thread_id if thread_id is not None else ticket.thread_id,
                    kind,
                    now,
                ),
            )
            message_id = int(cur.lastrowid or 0)
            if direction == "in":
                await self.db.execute(
                    "UPDATE tickets SET msgs_from_user = msgs_from_user + 1 WHERE id = ?",
                    (ticket_id,),
                )
            elif direction == "out":
                await self.db.execute(
                    "UPDATE tickets SET msgs_from_agent = msgs_from_agent + 1 WHERE id = ?",
                    (ticket_id,),
                )
                # The WHERE makes "first" hold even when two replies are relayed at once.
                first = await self.db.execute(
                    "UPDATE tickets SET first_response_at = ? "
                    "WHERE id = ? AND first_response_at IS NULL",
                    (now, ticket_id),
                )
                if first.rowcount:
                    await self._add_event(ticket_id, "first_response", now, ticket.agent_id)
            await self.db.commit()
        return TicketMessage(
            message_id,
            ticket_id,
            direction,  # type: ignore[arg-type]
            user_chat_message_id,
            group_message_id,
            thread_id if thread_id is not None else ticket.thread_id,
            kind,
            now,
        )

    async def find_message(
        self,
        *,
        group_message_id: int | None = None,
        user_id: int | None = None,
        user_chat_message_id: int | None = None,
    ) -> TicketMessage | None:
        """The relayed message by its id in the agents' group, or by the subscriber and its id
        in their private chat (message ids are only unique per chat)."""
        columns = (
            "m.id, m.ticket_id, m.direction, m.user_chat_message_id, m.group_message_id,"
            " m.thread_id, m.kind, m.ts"
        )
        if group_message_id is not None and user_id is None and user_chat_message_id is None:
            sql = (
                f"SELECT {columns} FROM ticket_messages m WHERE m.group_message_id = ? "
                "ORDER BY m.id DESC LIMIT 1"
            )
            params: tuple[Any, ...] = (group_message_id,)
        elif group_message_id is None and user_id is not None and user_chat_message_id is not None:
            sql = (
                f"SELECT {columns} FROM ticket_messages m JOIN tickets t ON t.id = m.ticket_id "
                "WHERE m.user_chat_message_id = ? AND t.user_id = ? ORDER BY m.id DESC LIMIT 1"
            )
            params = (user_chat_message_id, user_id)
        else:
            raise ValueError("pass group_message_id, or user_id and user_chat_message_id")
        async with self.db.execute(sql, params) as cur:
            row = await cur.fetchone()
        return None if row is None else TicketMessage(*row)

    async def messages(self, ticket_id: int) -> list[TicketMessage]:
        """A ticket's relayed messages, oldest first."""
        async with self.db.execute(
            "SELECT id, ticket_id, direction, user_chat_message_id, group_message_id, thread_id,"
            " kind, ts FROM ticket_messages WHERE ticket_id = ? ORDER BY id",
            (ticket_id,),
        ) as cur:
            rows = await cur.fetchall()
        return [TicketMessage(*r) for r in rows]

    # -- the queue -----------------------------------------------------------------------------

    async def queue(self, now: float | None = None) -> list[QueueEntry]:
        """Waiting tickets, longest waiting first, with their wait in seconds."""
        now = self._now(now)
        async with self.db.execute(
            f"SELECT {_TICKET_COLUMNS} FROM tickets WHERE status = 'waiting' ORDER BY queued_at, id"
        ) as cur:
            rows = await cur.fetchall()
        entries = []
        for position, row in enumerate(rows, start=1):
            ticket = _ticket(row)
            queued = ticket.queued_at if ticket.queued_at is not None else ticket.created_at
            entries.append(QueueEntry(position, ticket, max(0.0, now - queued)))
        return entries

    async def estimated_wait(
        self, now: float | None = None, last_n: int = 20, horizon: float = 7 * 86400.0
    ) -> float | None:
        """Median first-response time of the last ``last_n`` answered tickets whose first
        response came within ``horizon`` seconds; None without such tickets."""
        now = self._now(now)
        async with self.db.execute(
            "SELECT first_response_at - created_at FROM tickets "
            "WHERE first_response_at IS NOT NULL AND first_response_at >= ? "
            "ORDER BY first_response_at DESC LIMIT ?",
            (now - horizon, last_n),
        ) as cur:
            rows = await cur.fetchall()
        return float(statistics.median(r[0] for r in rows)) if rows else None

    # -- bans ----------------------------------------------------------------------------------

    async def ban(
        self, user_id: int, by: int | None, reason: str = "", now: float | None = None
    ) -> Ticket | None:
        """Ban a subscriber (again: refreshes who and why); closes their open ticket as
        "banned" and returns it, so the bot can close its topic."""
        now = self._now(now)
        async with self._writing():
            await self.db.execute(
                "INSERT INTO bans (user_id, banned_by, reason, ts) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(user_id) DO UPDATE SET banned_by = excluded.banned_by,"
                " reason = excluded.reason, ts = excluded.ts",
                (user_id, by, reason, now),
            )
            await self.db.commit()
        ticket = await self.open_ticket_of(user_id)
        if ticket is None:
            return None
        try:
            return await self.close_ticket(ticket.id, by, now=now, reason="banned", force=True)
        except TicketClosed:
            return None  # closed meanwhile: nothing left to close

    async def unban(self, user_id: int) -> bool:
        """Lift a ban; False when there was none."""
        async with self._writing():
            cur = await self.db.execute("DELETE FROM bans WHERE user_id = ?", (user_id,))
            await self.db.commit()
        return cur.rowcount > 0

    async def is_banned(self, user_id: int) -> bool:
        return await self.ban_of(user_id) is not None

    async def ban_of(self, user_id: int) -> Ban | None:
        async with self.db.execute(
            "SELECT user_id, banned_by, reason, ts FROM bans WHERE user_id = ?", (user_id,)
        ) as cur:
            row = await cur.fetchone()
        return None if row is None else Ban(*row)

    # -- reports -------------------------------------------------------------------------------

    async def subscriber_summary(self, user_id: int, questions: int = 5) -> SubscriberSummary:
        """Everything /whois shows about a subscriber."""
        sub = await self.subscriber(user_id)
        async with self.db.execute(
            "SELECT created_at FROM subscribers WHERE user_id = ?", (user_id,)
        ) as cur:
            seen = await cur.fetchone()
        async with self.db.execute(
            "SELECT COUNT(*), AVG(csat) FROM tickets WHERE user_id = ?", (user_id,)
        ) as cur:
            counts = await cur.fetchone()
        async with self.db.execute(
            "SELECT text FROM interactions WHERE user_id = ? ORDER BY id DESC LIMIT ?",
            (user_id, questions),
        ) as cur:
            texts = await cur.fetchall()
        return SubscriberSummary(
            user_id=user_id,
            subscriber=sub,
            first_seen=seen[0] if seen else None,
            lang=(sub.lang or sub.language_code) if sub else None,
            tickets=int(counts[0]) if counts else 0,
            open_ticket=await self.open_ticket_of(user_id),
            last_ticket=await self.last_ticket(user_id),
            average_csat=float(counts[1]) if counts and counts[1] is not None else None,
            ban=await self.ban_of(user_id),
            recent_questions=tuple(r[0] for r in texts),
        )

    async def ticket_metrics(self, since: float, until: float | None = None) -> list[dict]:
        """One row per ticket created in [since, until): every field and every duration
        (``time_to_handoff``, ``wait_until_claim``, ``first_response_time``,
        ``handling_time``, ``resolution_time``: seconds or None)."""
        async with self.db.execute(
            f"SELECT {_TICKET_COLUMNS} FROM tickets WHERE created_at >= ? AND created_at < ? "
            "ORDER BY created_at, id",
            (since, until if until is not None else float("inf")),
        ) as cur:
            rows = await cur.fetchall()
        return [_ticket(r).metrics() for r in rows]

    # -- internals -----------------------------------------------------------------------------

    def _now(self, now: float | None) -> float:
        return float(now) if now is not None else float(self.clock())

    async def _one_ticket(self, where: str, params: tuple[Any, ...]) -> Ticket | None:
        async with self.db.execute(
            f"SELECT {_TICKET_COLUMNS} FROM tickets WHERE {where} ORDER BY id DESC LIMIT 1",
            params,
        ) as cur:
            row = await cur.fetchone()
        return None if row is None else _ticket(row)

    async def _get(self, ticket_id: int) -> Ticket:
        ticket = await self.get_ticket(ticket_id)
        if ticket is None:
            raise TicketNotFound(ticket_id)
        return ticket

    async def last_ticket(self, user_id: int) -> Ticket | None:
        """The subscriber's most recent ticket, whatever its state."""
        return await self._one_ticket("user_id = ?", (user_id,))

    async def _conversation_start(
        self, user_id: int, now: float, gap: float, after: float | None
    ) -> float | None:
        async with self.db.execute(
            "SELECT ts FROM interactions WHERE user_id = ? AND ts <= ? AND ts > ? "
            "ORDER BY ts DESC LIMIT 500",
            (user_id, now, after if after is not None else float("-inf")),
        ) as cur:
            rows = await cur.fetchall()
        start: float | None = None
        edge = now
        for (ts,) in rows:
            if edge - ts > gap:
                break
            start = edge = ts
        return start

    async def _add_event(
        self,
        ticket_id: int | None,
        name: str,
        now: float,
        agent_id: int | None = None,
        detail: str | None = None,
    ) -> None:
        await self.db.execute(
            "INSERT INTO events (ticket_id, name, ts, agent_id, detail) VALUES (?, ?, ?, ?, ?)",
            (ticket_id, name, now, agent_id, detail),
        )

    async def _transition(
        self,
        ticket_id: int,
        rule: Callable[[Ticket, float], Ticket],
        event: str,
        now: float | None,
        agent_id: int | None,
        detail: str | None = None,
    ) -> Ticket:
        """Apply a rule of ``handoff.tickets`` as a compare-and-set on the row's version.

        In one process the write lock already serializes writers; the version check is for
        another process on the same file: a writer that read a stale ticket updates nothing,
        reads again and lets the rule decide (usually raising, e.g. ``AlreadyClaimed``)."""
        now = self._now(now)
        for _ in range(_RETRIES):
            async with self._writing():
                async with self.db.execute(
                    f"SELECT {_TICKET_COLUMNS}, version FROM tickets WHERE id = ?", (ticket_id,)
                ) as cur:
                    row = await cur.fetchone()
                if row is None:
                    raise TicketNotFound(ticket_id)
                new = rule(_ticket(row), now)
                try:
                    cur = await self.db.execute(
                        "UPDATE tickets SET status = ?, claimed_at = ?, closed_at = ?,"
                        " agent_id = ?, agent_name = ?, close_reason = ?, csat = ?, reopened = ?,"
                        " queued_at = ?, version = version + 1 WHERE id = ? AND version = ?",
                        (
                            new.status,
                            new.claimed_at,
                            new.closed_at,
                            new.agent_id,
                            new.agent_name,
                            new.close_reason,
                            new.csat,
                            new.reopened,
                            new.queued_at,
                            ticket_id,
                            row["version"],
                        ),
                    )
                except sqlite3.IntegrityError:
                    # Only a reopen can hit the one-open-ticket index: another ticket is open.
                    other = await self.open_ticket_of(new.user_id)
                    raise OpenTicketExists(other.id if other else ticket_id) from None
                if cur.rowcount == 1:
                    await self._add_event(ticket_id, event, now, agent_id, detail)
                    await self.db.commit()
                    return await self._get(ticket_id)
                # Even an UPDATE of no row holds the write lock: let the other process go on.
                await self.db.rollback()
        raise Busy(ticket_id)


# Only a writer starved by a stream of concurrent changes to one ticket runs out of tries.
_RETRIES = 8

_TICKET_FIELDS = tuple(f.name for f in dataclasses.fields(Ticket))
_TICKET_COLUMNS = ", ".join(_TICKET_FIELDS)


def _ticket(row: aiosqlite.Row) -> Ticket:
    return Ticket(**{name: row[name] for name in _TICKET_FIELDS})
