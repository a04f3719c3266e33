"""The database goes away (locked by another process, disk full) and comes back: the bot says
what is wrong, keeps the messages, does not crash or spin, and answers each one once after."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.app import Dono
from emulator import Emulator
from tests.e2e.conftest import Person, make_config, roomy_private, start_dono, wait_for


@pytest.fixture
async def dono(emu: Emulator, tmp_path: Path) -> AsyncIterator[Dono]:
    """The bot, with its subscriber's chat roomier than Telegram's 1 a second: these tests
    ask question after question (until the disk is full), and are about storage, not pacing."""
    config = make_config(tmp_path)
    roomy_private(emu, config)
    bot = await start_dono(emu, config)
    try:
        yield bot
    finally:
        await bot.stop()


BIG = 2**30


@contextlib.contextmanager
def locked(path: Path, seconds: float) -> Iterator[threading.Event]:
    """Another process's write transaction on ``path`` for ``seconds`` (longer than the
    bot's busy timeout, so its writes fail with "database is locked")."""
    holding = threading.Event()

    def hold() -> None:
        db = sqlite3.connect(path, isolation_level=None)
        try:
            db.execute("BEGIN IMMEDIATE")
            holding.set()
            threading.Event().wait(seconds)
            db.execute("ROLLBACK")
        finally:
            db.close()

    thread = threading.Thread(target=hold)
    thread.start()
    holding.wait(5)
    try:
        yield holding
    finally:
        thread.join()


async def fill(db, table: str) -> None:
    """Let the database grow no further and use up its free pages: the next write that needs
    a page fails with "database or disk is full", as on a full disk."""
    async with db.execute("PRAGMA page_count") as cur:
        (pages,) = await cur.fetchone()
    await db.execute(f"PRAGMA max_page_count = {pages + 2}")
    await db.execute(f"CREATE TABLE IF NOT EXISTS {table} (b BLOB)")
    rows = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)"
    for size in (512, 64, 1):  # big rows first, then the gaps they leave
        for many in (1000, 100, 10, 1):  # a statement that doesn't fit changes nothing
            with contextlib.suppress(sqlite3.OperationalError):
                for _ in range(10_000):
                    await db.execute(
                        f"INSERT INTO {table} {rows} SELECT zeroblob({size}) FROM n", (many,)
                    )
    await db.commit()


async def free(db, table: str) -> None:
    await db.execute(f"DROP TABLE IF EXISTS {table}")
    await db.commit()
    await db.execute(f"PRAGMA max_page_count = {BIG}")


async def log_says(caplog: pytest.LogCaptureFixture, ok, timeout: float) -> str:
    """Waits until the bot's log says what ``ok`` looks for."""

    async def text() -> str:
        return caplog.text

    return await wait_for(text, ok, timeout=timeout)


def answers(emu: Emulator, chat: int) -> list[str]:
    return [m.get("text") or "" for m in emu.bot_messages(chat)]


@pytest.mark.slow
async def test_locked_database_delays_what_needs_it_and_loses_nothing(
    person: Person, emu: Emulator, dono: Dono, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert "*100#" in (await person.send("как проверить баланс"))["text"]
    newcomer = Person(emu, await emu.create_user("Zarina", language_code="ru"))
    questions = ["kak popolnit balans", "какой у меня номер", "роуминг"]
    with caplog.at_level(logging.WARNING), locked(tmp_path / "dono.sqlite3", seconds=7):
        for q in questions:
            await emu.send_text(person.user, q)
        await emu.send_text(newcomer.user, "роуминг")
        # the bot's writes give up after its 5 s busy timeout
        await log_says(caplog, lambda text: "database is locked" in text, timeout=6.5)
        # a known subscriber is answered (reading works), logging the question waits; a new
        # one must be written down first, so their answer waits for the database
        assert emu.bot_messages(newcomer.user.id) == []
        assert not dono.task.done()
    assert "оуминг" in (await newcomer.next(timeout=30))["text"]

    # their own questions are answered one after another, in order, each once the one before
    # has been (its logging waited for the database too)
    async def answered() -> list[str]:
        return answers(emu, person.user.id)

    said = await wait_for(answered, lambda got: len(got) >= 4, timeout=30)
    texts = " | ".join(said)
    assert "ополн" in texts and "*111#" in texts and "оуминг" in texts
    store = dono.store
    logged = await wait_for(
        lambda: store.recent_interactions(person.user.id, limit=10),
        lambda rows: len(rows) == 4,
        timeout=30,
    )
    assert sorted(r["text"] for r in logged) == sorted(["как проверить баланс", *questions])
    assert len(answers(emu, person.user.id)) == 4  # retried, yet each answered once
    assert "database is locked" in caplog.text  # said, then waited out: nothing lost or twice
    # health follows the next database call: it turns ok once one has gone through
    await wait_for(dono.status, lambda health: health["status"] == "ok", timeout=10)


@pytest.mark.slow
async def test_full_disk_keeps_updates_in_memory_until_there_is_room(
    person: Person, emu: Emulator, dono: Dono, caplog: pytest.LogCaptureFixture
) -> None:
    assert "*100#" in (await person.send("как проверить баланс"))["text"]
    store = dono.store
    await fill(dono.journal.db, "filler")
    await fill(store.db, "filler")
    asked = 1
    with caplog.at_level(logging.WARNING):
        # the pages already in use still have some room: ask until the journal is full
        for _ in range(30):
            await emu.send_text(person.user, "kak popolnit balans")
            asked += 1
            try:
                await person.next(timeout=3)
            except TimeoutError:
                break
        assert "cannot store" in caplog.text and "database or disk is full" in caplog.text
        await emu.send_text(person.user, "какой у меня номер")
        asked += 1
        tries = caplog.text.count("cannot store")
        await log_says(caplog, lambda text: text.count("cannot store") > tries, timeout=10)
        assert len(answers(emu, person.user.id)) == asked - 2  # the last two are waiting
        health = await dono.status()
        assert health["status"] == "degraded" and "full" in health["database"]
        assert not dono.task.done()
        await free(dono.journal.db, "filler")
        await free(store.db, "filler")
    rest = " | ".join([(await person.next(timeout=30))["text"] for _ in range(2)])
    assert "ополн" in rest and "*111#" in rest
    logged = await wait_for(
        lambda: store.recent_interactions(person.user.id, limit=100),
        lambda rows: len(rows) == asked,
        timeout=30,
    )
    assert len(logged) == asked
    assert len(answers(emu, person.user.id)) == asked  # each question answered once
    # health follows the next database call: it turns ok once one has gone through
    await wait_for(dono.status, lambda health: health["status"] == "ok", timeout=10)
