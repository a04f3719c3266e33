"""Upgrading a database made before the agent desk: every row survives, hand-offs become tickets."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from handoff.storage import Store
from handoff.storage.migrations import MIGRATIONS
from tests.handoff.conftest import T0, Clock
from tests.pg import fresh_schema


def make_v1(path: Path) -> None:
    """A database as the first release left it: schema v1 and a few rows in every table."""
    db = sqlite3.connect(path)
    db.executescript(f"BEGIN;\n{MIGRATIONS[0]}\nPRAGMA user_version = 1;\nCOMMIT;")
    db.executemany(
        "INSERT INTO subscribers (user_id, chat_id, first_name, lang, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [(42, 42, "Фарход", "tg", T0 - 500, T0 - 500), (43, 43, "Anna", None, T0 - 400, T0)],
    )
    db.execute(
        "INSERT INTO interactions (user_id, ts, text, normalized, decision, score, latency_ms)"
        " VALUES (42, ?, 'баланс', 'баланс', 'answer', 0.9, 12.5)",
        (T0 - 300,),
    )
    db.execute(
        "INSERT INTO feedback (user_id, topic, helpful, ts) VALUES (42, 'balance', 1, ?)", (T0,)
    )
    db.executemany(
        "INSERT INTO handoffs (id, user_id, reason, question, status, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [
            (3, 42, "command", "", "waiting", T0 - 200),  # a duplicate an old race could leave
            (5, 43, "button", "roaming?", "waiting", T0 - 150),
            (7, 42, "asked", "интернет", "waiting", T0 - 100),
            (8, 44, "asked", "old", "done", T0 - 50),
        ],
    )
    db.commit()
    db.close()


async def test_a_v1_database_is_upgraded_and_keeps_its_data(tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "dono.sqlite3"
    make_v1(path)
    store = await Store.open(path, clock=clock)
    try:
        assert await store.schema_version() == len(MIGRATIONS) == 11
        sub = await store.subscriber(42)
        assert sub is not None and (sub.first_name, sub.lang) == ("Фарход", "tg")
        assert [i["text"] for i in await store.recent_interactions(42)] == ["баланс"]
        assert await store.feedback_counts("balance") == (1, 0)

        # The queue the subscribers were told about is still there, with the same numbers.
        assert [(w["id"], w["user_id"], w["reason"]) for w in await store.waiting_handoffs()] == [
            (5, 43, "button"),
            (7, 42, "asked"),
        ]
        assert [await store.queue_position(i) for i in (5, 7)] == [1, 2]
        latest = await store.get_ticket(7)
        assert latest is not None
        assert (latest.status, latest.lang, latest.question, latest.created_at) == (
            "waiting", "tg", "интернет", T0 - 100,
        )  # fmt: skip
        assert latest.told_at == latest.created_at  # told before: not told again (v5)
        for old in (3, 8):
            ticket = await store.get_ticket(old)
            assert ticket is not None and (ticket.status, ticket.close_reason) == (
                "closed",
                "migrated",
            )
        assert [e.name for e in await store.events(3)] == ["opened", "closed"]

        # The desk works on the upgraded data: claims, one open ticket per subscriber, new ids.
        assert (await store.claim(7, 1, "Alice")).status == "claimed"
        same, created = await store.open_ticket(42, "command")
        assert (same.id, created) == (7, False)
        fresh, created = await store.open_ticket(44, "command")
        assert created and fresh.id == 9
    finally:
        await store.close()
    # Opening again migrates nothing twice.
    store = await Store.open(path, clock=clock)
    try:
        assert await store.schema_version() == len(MIGRATIONS)
        assert len(await store.ticket_metrics(0)) == 5
    finally:
        await store.close()


async def test_v4_gives_small_talk_and_intents_their_own_columns(tmp_path: Path, clock) -> None:
    """Before v4 small talk was a "none" with its intent in the topic column, and a hand-off
    after misses a "handoff" with the made-up intent "bot_failed"."""
    path = tmp_path / "dono.sqlite3"
    db = sqlite3.connect(path)
    script = "".join(MIGRATIONS[:3])
    db.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = 3;\nCOMMIT;")
    rows = [
        ("как баланс", "answer", "balance_check"),
        ("спасибо", "none", "thanks"),
        ("кто написал", "none", None),
        ("фильм", "handoff", "bot_failed"),
        ("оператора", "handoff", "operator"),
        ("а или б", "clarify", None),
    ]
    db.executemany(
        "INSERT INTO interactions (user_id, ts, text, normalized, decision, topic, score,"
        " latency_ms) VALUES (42, ?, ?, ?, ?, ?, 0.5, 1)",
        [(T0 + i, text, text, kind, topic) for i, (text, kind, topic) in enumerate(rows)],
    )
    db.execute("INSERT INTO feedback (user_id, topic, helpful, ts) VALUES (42, 'b', 1, ?)", (T0,))
    db.commit()
    db.close()
    store = await Store.open(path, clock=clock)
    try:
        got = [
            (i["text"], i["kind"], i["topic"], i["intent"])
            for i in reversed(await store.recent_interactions(42, limit=10))
        ]
        assert got == [
            ("как баланс", "answer", "balance_check", None),
            ("спасибо", "smalltalk", None, "thanks"),
            ("кто написал", "none", None, None),
            ("фильм", "none", None, None),
            ("оператора", "handoff", None, "operator"),
            ("а или б", "clarify", None, None),
        ]
        assert await store.feedback_counts("b") == (1, 0)  # old votes are kept
    finally:
        await store.close()


async def test_a_new_database_gets_every_migration(store: Store) -> None:
    assert await store.schema_version() == len(MIGRATIONS)


async def _columns(store: Store) -> dict[str, list[str]]:
    """Each table's columns, in order, as the backend reports them."""
    database = store.database
    found: dict[str, list[str]] = {}
    for table in await database.tables():
        if database.dialect == "sqlite":
            rows = await database.fetchall(f"PRAGMA table_info({table})")
            found[table] = [r["name"] for r in rows]
        else:
            rows = await database.fetchall(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_schema = current_schema() AND table_name = ?"
                " ORDER BY ordinal_position",
                (table,),
            )
            found[table] = [r[0] for r in rows]
    return found


async def test_the_same_migrations_make_the_same_schema_on_postgresql(clock: Clock) -> None:
    sqlite = await Store.open(":memory:", clock=clock)
    async with fresh_schema() as url:
        pg = await Store.open(url, clock=clock)
        try:
            assert await pg.schema_version() == len(MIGRATIONS)
            assert await _columns(pg) == await _columns(sqlite)
            # Telegram's ids exceed 32 bits; ids keep numbering themselves
            await pg.touch_subscriber(7_300_000_000, 7_300_000_000, "Big", None, "ru")
            first = await pg.request_handoff(7_300_000_000, "command")
            second = await pg.request_handoff(7_300_000_001, "command")
            assert (await pg.subscriber(7_300_000_000)).chat_id == 7_300_000_000
            assert second == first + 1
        finally:
            await pg.close()
            await sqlite.close()


async def test_instances_starting_at_once_migrate_once(clock: Clock) -> None:
    """Four instances open an empty PostgreSQL schema together: the advisory lock lets one
    migrate, the others find it done, and none fails."""
    async with fresh_schema() as url:
        stores = await asyncio.gather(*(Store.open(url, clock=clock) for _ in range(4)))
        try:
            assert [await s.schema_version() for s in stores] == [len(MIGRATIONS)] * 4
            rows = await stores[0].database.fetchall("SELECT version FROM schema_version")
            assert [r[0] for r in rows] == [len(MIGRATIONS)]
        finally:
            for s in stores:
                await s.close()


async def test_v10_tells_an_agents_workspace_answers_from_the_groups(tmp_path: Path) -> None:
    """A v9 database (workspaces, no agent_chat_id): the answers and notes written in the
    ticket's workspace topic after it opened become that workspace's; the group's stay."""
    path, clock = tmp_path / "dono.sqlite3", Clock(T0)
    store = await Store.open(path, clock=clock)
    ticket, _ = await store.open_ticket(42, "command")
    await store.set_thread(ticket.id, 3, 777)  # its topic in the group: thread 3 as well
    await store.record_message(ticket.id, "out", 10, 900)  # an answer in the group, before
    clock.advance(60)
    await store.workspaces.open_workspace(ticket.id, 7001, 3, 7001)
    clock.advance(60)
    await store.record_message(ticket.id, "out", 11, 40, thread_id=3)  # in the workspace
    await store.record_message(ticket.id, "note", None, 41, thread_id=3)
    await store.record_message(ticket.id, "in", 12, None)
    await store.close()
    db = sqlite3.connect(path)  # back to v9, as a bot of yesterday left it
    db.executescript(
        "UPDATE ticket_messages SET agent_chat_id = NULL;"
        "DROP TABLE digests; ALTER TABLE ticket_messages DROP COLUMN agent_chat_id;"
        "PRAGMA user_version = 9;"
    )
    db.close()
    store = await Store.open(path)
    try:
        assert await store.schema_version() == len(MIGRATIONS)
        rows = [
            (m.direction, m.group_message_id, m.agent_chat_id)
            for m in await store.messages(ticket.id)
        ]
        assert rows == [
            ("out", 900, None),
            ("out", 40, 7001),
            ("note", 41, 7001),
            ("in", None, None),
        ]
    finally:
        await store.close()
