"""The update journal (``bot/journal/``), on SQLite and on PostgreSQL: kept until handled,
forgotten after a while; on PostgreSQL shared by instances that claim updates (a chat held by
one waits for it, a dead one's are taken over), one of which leads."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.journal import Journal
from tests.conftest import Clock, wait_for
from tests.pg import fresh_schema


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


async def test_one_instance_claims_whatever_it_has_not_in_hand(journal: Journal) -> None:
    await journal.inbox_put([(1, "{}", "a"), (2, "{}", "a"), (3, "{}", None)])
    assert [u for u, _, _ in await journal.claim("me", 10, in_hand={2})] == [1, 3]
    await journal.inbox_done(1)
    assert [u for u, _, _ in await journal.claim("me", 10, in_hand={3})] == [2]


# -- several instances on one PostgreSQL journal ------------------------------------------------


@pytest.fixture
async def pair(clock: Clock) -> AsyncIterator[tuple[Journal, Journal]]:
    """Two instances' journals on one PostgreSQL schema (skipped without a server)."""
    async with fresh_schema() as url:
        first, second = await asyncio.gather(
            Journal.open(url, clock=clock), Journal.open(url, clock=clock)
        )  # at once: the tables are made once, under the lock
        try:
            yield first, second
        finally:
            await first.close()
            await second.close()


def ids(rows: list[tuple[int, str, int]]) -> list[int]:
    return [u for u, _, _ in rows]


async def test_a_chat_another_instance_holds_waits_for_it(pair: tuple[Journal, Journal]) -> None:
    a, b = pair
    await a.inbox_put([(1, "{}", "x"), (2, "{}", "y"), (3, "{}", "x"), (4, "{}", None)])
    await a.inbox_put([(5, "{}", "z"), (6, "{}", "y")])
    assert ids(await a.claim("A", 2)) == [1, 2]
    assert ids(await b.claim("B", 10)) == [4, 5]  # 3 and 6: chats x and y are A's now
    assert ids(await b.claim("B", 10, in_hand={4, 5})) == []
    assert ids(await a.claim("A", 10, in_hand={1, 2})) == [3, 6]  # its own chats go on
    for uid in (1, 2, 3, 6):
        await a.inbox_done(uid)
    await a.inbox_put([(7, "{}", "x")])
    assert ids(await b.claim("B", 10, in_hand={4, 5})) == [7]  # x is free again


async def test_a_dead_instances_updates_are_taken_over_when_its_lease_runs_out(
    pair: tuple[Journal, Journal],
) -> None:
    a, b = pair
    await a.inbox_put([(1, "{}", "x"), (2, "{}", "x")])
    assert ids(await a.claim("A", 1)) == [1]
    await a.inbox_attempt(1)
    a.lease = 60.0
    await a.renew("A", {1})
    assert ids(await b.claim("B", 10)) == []  # A is alive: its update and its chat wait
    a.lease = -1.0  # A's last renewal, then silence: the lease has run out
    await a.renew("A", {1})
    taken = await b.claim("B", 10)
    assert ids(taken) == [1, 2]
    assert taken[0][2] == 1  # the attempt A made counts: three crashes anywhere skip it
    assert ids(await a.claim("A", 10)) == []  # B holds them (and chat x) now


async def test_an_instance_that_stops_leaves_its_updates_to_the_others_at_once(
    pair: tuple[Journal, Journal],
) -> None:
    a, b = pair
    await a.inbox_put([(1, "{}", "x"), (2, "{}", None)])
    assert ids(await a.claim("A", 10)) == [1, 2]
    await a.inbox_done(2)
    assert await b.unclaimed() == 0
    await a.release("A")
    assert await b.unclaimed() == 1
    assert ids(await b.claim("B", 10)) == [1]


async def test_one_instance_leads_and_another_takes_over_when_it_is_gone(
    pair: tuple[Journal, Journal],
) -> None:
    a, b = pair
    assert await a.lead() is True
    assert await b.lead() is False
    assert await a.lead() is True  # kept while its connection answers
    await a.close()  # a kill -9 ends its connection the same way
    assert await wait_for(b.lead, lambda leading: leading, timeout=10)


async def test_an_update_stored_by_one_instance_wakes_the_others(
    pair: tuple[Journal, Journal],
) -> None:
    a, b = pair
    await b.wait_for_new(0)  # nothing new since it opened
    woken = asyncio.create_task(b.wait_for_new(60))
    await asyncio.sleep(0)
    assert not woken.done()
    await a.inbox_add(1, "{}", "x")
    await asyncio.wait_for(woken, timeout=10)
    assert await a.inbox_add(1, "{}", "x") is False  # a repeat is kept once
