"""The update journal (``bot/journal.py``): kept until handled, forgotten after a while."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.journal import Journal
from tests.conftest import Clock


@pytest.fixture
async def journal(clock: Clock) -> AsyncIterator[Journal]:
    j = await Journal.open(":memory:", clock=clock)
    try:
        yield j
    finally:
        await j.close()


async def test_journal_forgets_old_handled_updates_but_not_pending_or_the_offset(
    journal: Journal, clock: Clock
) -> None:
    await journal.inbox_put([(1, "{}"), (2, "{}"), (3, "{}"), (4, "{}"), (5, "{}")])
    for uid in (1, 2, 5):
        await journal.inbox_done(uid)
    await journal.inbox_done(3, "ValueError('poison')")
    for uid in (1, 2, 3, 4, 5):
        await journal.sent_put(uid, "42", 0, "SendMessage", "{}")
    clock.advance(1800)
    assert await journal.prune(keep=3600) == 0  # nothing is old enough yet
    clock.advance(3600)
    assert await journal.prune(keep=3600) == 2  # 1 and 2; 3 failed, 4 pending, 5 newest
    assert [u for u, _, _ in await journal.inbox_pending()] == [4]
    assert await journal.inbox_last_id() == 5
    assert await journal.sent_get(1, "42", 0) is None and await journal.sent_get(2, "42", 0) is None
    for uid in (3, 4, 5):
        assert await journal.sent_get(uid, "42", 0) == "{}"
    clock.advance(7 * 86400)
    assert await journal.prune(keep=3600) == 1  # the failed one, after a week
    assert await journal.sent_get(3, "42", 0) is None


async def test_the_journal_makes_its_folder(tmp_path) -> None:
    """Beside a PostgreSQL database the journal's default is var/dono: on a fresh clone there
    is no var/ yet, and opening it failed ("unable to open database file")."""
    journal = await Journal.open(tmp_path / "var" / "dono")
    try:
        await journal.inbox_put([(1, "{}")])
    finally:
        await journal.close()
    assert (tmp_path / "var" / "dono.journal").is_file()
