"""``dono db copy``: a SQLite database filled by the desk into an empty PostgreSQL one, every
row of every table with its ids, new ids after the copied ones, a non-empty target refused."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.cli import main
from handoff.storage import Store
from handoff.storage.database import Database
from tests.handoff.conftest import Clock
from tests.handoff.test_reports import DAY0, fill_scenario
from tests.pg import fresh_schema, on_store


async def _filled(store: Store, clock: Clock) -> None:
    await fill_scenario(store, clock, days=2, per_day=15, seed=14, hostile=True)
    await store.agents.set_shift(7_300_000_001, "Мадина", True)
    await store.labels.set_labels(1, ["roaming", "sim"], 7_300_000_001)
    await store.ban(7_300_000_002, 7_300_000_001, "spam")


async def _everything(database: Database) -> dict[str, list[tuple]]:
    found = {}
    for table in await database.tables():
        rows = await database.fetchall(f"SELECT * FROM {table}")
        found[table] = sorted((tuple(r) for r in rows), key=repr)
    return found


async def test_a_sqlite_database_is_copied_into_an_empty_postgresql_one(
    tmp_path: Path, capsys
) -> None:
    path = tmp_path / "dono.sqlite3"
    await on_store(path, _filled, DAY0)
    async with fresh_schema() as url:
        argv = ["db", "copy", "--from", f"sqlite:///{path}", "--to", url]
        assert await asyncio.to_thread(main, argv) == 0
        assert "tickets:" in capsys.readouterr().out
        sqlite, pg = await Store.open(path), await Store.open(url)
        try:
            before, after = await _everything(sqlite.database), await _everything(pg.database)
            assert before == after and sum(map(len, after.values())) > 100
            # ids go on after the copied ones
            last = max(r[0] for r in before["tickets"])
            assert await pg.request_handoff(99_999, "command") == last + 1
            # a second copy would mix two histories: refused, nothing written
            assert await asyncio.to_thread(main, argv) == 1
            assert "table" in capsys.readouterr().err
            assert len((await _everything(pg.database))["tickets"]) == len(before["tickets"]) + 1
        finally:
            await sqlite.close()
            await pg.close()


def test_a_missing_source_is_refused_not_created(tmp_path: Path, capsys) -> None:
    """A mistyped source path copied nothing, said it had, and left an empty file behind."""
    missing = tmp_path / "typo.sqlite3"
    argv = ["db", "copy", "--from", f"sqlite:///{missing}", "--to", "postgresql://x@127.0.0.1/x"]
    assert main(argv) == 2
    assert "no such database file" in capsys.readouterr().err
    assert not missing.exists()
