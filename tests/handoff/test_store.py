"""The desk in the database: tickets, races, relayed messages, the queue, bans and reports."""

from __future__ import annotations

import asyncio

import pytest

from handoff.storage import Store
from handoff.tickets import (
    AlreadyClaimed,
    Banned,
    InvalidScore,
    NotClosed,
    NotYourTicket,
    OpenTicketExists,
    ReopenExpired,
    TicketClosed,
    TicketNotFound,
)
from tests.handoff.conftest import T0, Clock

ALICE, BOB = 1001, 1002


async def subscriber(store: Store, user_id: int, lang: str | None = "ru") -> None:
    await store.touch_subscriber(user_id, user_id, f"User {user_id}", None, "ru")
    if lang:
        await store.set_language(user_id, lang)


async def ask_bot(store: Store, user_id: int, text: str) -> None:
    await store.log_interaction(user_id, text, text, "none", None, [], 0.1, "ru", 12.0)


# -- opening --------------------------------------------------------------------------------


async def test_open_a_ticket(store: Store, clock: Clock) -> None:
    await subscriber(store, 42, "tg")
    ticket, created = await store.open_ticket(42, "command", "интернет кор намекунад")
    assert created
    assert (ticket.status, ticket.user_id, ticket.reason, ticket.lang) == (
        "waiting",
        42,
        "command",
        "tg",
    )
    assert ticket.created_at == ticket.queued_at == T0
    assert ticket.thread_id is None and ticket.reopened == 0
    assert [e.name for e in await store.events(ticket.id)] == ["opened"]


async def test_one_open_ticket_per_subscriber(store: Store, clock: Clock) -> None:
    first, _ = await store.open_ticket(42, "command")
    clock.advance(10)
    again, created = await store.open_ticket(42, "button", "another question")
    assert (again.id, created, again.reason) == (first.id, False, "command")
    await store.claim(first.id, ALICE, "Alice")
    still, created = await store.open_ticket(42, "asked")
    assert (still.id, still.status, created) == (first.id, "claimed", False)


async def test_concurrent_opens_make_one_ticket(store: Store) -> None:
    results = await asyncio.gather(*(store.open_ticket(42, "button") for _ in range(5)))
    assert len({t.id for t, _ in results}) == 1
    assert sum(created for _, created in results) == 1


async def test_unknown_reason_is_a_bug(store: Store) -> None:
    with pytest.raises(ValueError, match="unknown hand-off reason"):
        await store.open_ticket(42, "whim")


async def test_conversation_start_is_taken_from_the_bot_log(store: Store, clock: Clock) -> None:
    await ask_bot(store, 42, "old question")
    clock.advance(3600)  # a new conversation after an hour of silence
    await ask_bot(store, 42, "баланс")
    clock.advance(40)
    await ask_bot(store, 42, "не работает")
    clock.advance(20)
    ticket, _ = await store.open_ticket(42, "bot_failed", "не работает")
    assert ticket.conversation_started_at == T0 + 3600
    assert ticket.time_to_handoff == 60


async def test_conversation_start_given_or_unknown(store: Store, clock: Clock) -> None:
    given, _ = await store.open_ticket(42, "asked", conversation_started_at=T0 - 5)
    assert given.time_to_handoff == 5
    unknown, _ = await store.open_ticket(43, "command")
    assert unknown.conversation_started_at is None and unknown.time_to_handoff is None


async def test_a_previous_ticket_bounds_the_conversation(store: Store, clock: Clock) -> None:
    await ask_bot(store, 42, "q1")
    first, _ = await store.open_ticket(42, "asked")
    clock.advance(60)
    await store.close_ticket(first.id, ALICE, "Alice")
    clock.advance(60)
    await ask_bot(store, 42, "q2")
    clock.advance(10)
    second, _ = await store.open_ticket(42, "asked")
    assert second.conversation_started_at == T0 + 120


# -- claiming and races ---------------------------------------------------------------------


async def test_claim(store: Store, clock: Clock) -> None:
    ticket, _ = await store.open_ticket(42, "command")
    clock.advance(45)
    t = await store.claim(ticket.id, ALICE, "Alice")
    assert (t.status, t.agent_id, t.agent_name, t.wait_until_claim) == (
        "claimed",
        ALICE,
        "Alice",
        45,
    )
    assert await store.claimed_by(ALICE) == [t]
    with pytest.raises(AlreadyClaimed) as err:
        await store.claim(ticket.id, BOB, "Bob")
    assert err.value.agent_name == "Alice"


async def test_two_agents_race_for_a_ticket_and_one_wins(store: Store) -> None:
    ticket, _ = await store.open_ticket(42, "command")
    results = await asyncio.gather(
        store.claim(ticket.id, ALICE, "Alice"),
        store.claim(ticket.id, BOB, "Bob"),
        return_exceptions=True,
    )
    winners = [r for r in results if not isinstance(r, BaseException)]
    losers = [r for r in results if isinstance(r, BaseException)]
    assert len(winners) == 1 and len(losers) == 1
    assert isinstance(losers[0], AlreadyClaimed)
    assert losers[0].agent_name == winners[0].agent_name
    stored = await store.get_ticket(ticket.id)
    assert stored is not None and stored.agent_name == winners[0].agent_name
    assert [e.name for e in await store.events(ticket.id)] == ["opened", "claimed"]


async def test_many_agents_race_across_connections(shared_url: str, clock: Clock) -> None:
    """Bot processes on one database: the compare-and-set still lets one win."""
    path = shared_url
    stores = [await Store.open(path, clock=clock) for _ in range(3)]
    try:
        ticket, _ = await stores[0].open_ticket(42, "command")
        results = await asyncio.gather(
            *(s.claim(ticket.id, 1 + i, f"Agent{i}") for i, s in enumerate(stores * 2)),
            return_exceptions=True,
        )
        winners = [r for r in results if not isinstance(r, BaseException)]
        assert len(winners) == 1
        assert all(isinstance(r, AlreadyClaimed) for r in results if r not in winners)
    finally:
        for s in stores:
            await s.close()


async def test_a_stale_writer_in_another_process_loses(
    shared_url: str, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bob's process reads the waiting ticket, Alice's claims it, then Bob's writes: his
    compare-and-set updates nothing, he reads again and is told who has it."""
    path = shared_url
    alice, bob = await Store.open(path, clock=clock), await Store.open(path, clock=clock)
    try:
        ticket, _ = await alice.open_ticket(42, "command")
        execute = bob.database.execute

        def alice_first(sql: str, params: object = ()):  # type: ignore[no-untyped-def]
            async def run():  # type: ignore[no-untyped-def]
                monkeypatch.setattr(bob.database, "execute", execute)
                await alice.claim(ticket.id, ALICE, "Alice")
                return await execute(sql, params)

            return run() if sql.startswith("UPDATE tickets SET status") else execute(sql, params)

        monkeypatch.setattr(bob.database, "execute", alice_first)
        with pytest.raises(AlreadyClaimed) as err:
            await bob.claim(ticket.id, BOB, "Bob")
        assert err.value.agent_name == "Alice"
        # Bob's empty update left no write lock behind.
        closed = await alice.close_ticket(ticket.id, ALICE, "Alice")
        assert closed.status == "closed"
        assert [e.name for e in await bob.events(ticket.id)] == ["opened", "claimed", "closed"]
    finally:
        await alice.close()
        await bob.close()


async def test_unknown_ticket(store: Store) -> None:
    for call in (
        store.claim(999, ALICE, "Alice"),
        store.release(999, ALICE),
        store.close_ticket(999),
        store.reopen(999),
        store.set_csat(999, 5),
        store.record_message(999, "in", 1),
        store.set_thread(999, 5, 6),
    ):
        with pytest.raises(TicketNotFound) as err:
            await call
        assert err.value.code == "not_found"


# -- release, transfer, close, reopen -------------------------------------------------------


async def test_release_keeps_the_place_in_the_queue(store: Store, clock: Clock) -> None:
    first, _ = await store.open_ticket(42, "command")
    clock.advance(1)
    await store.open_ticket(43, "command")
    await store.claim(first.id, ALICE, "Alice")
    assert await store.queue_position(first.id) == 0
    with pytest.raises(NotYourTicket):
        await store.release(first.id, BOB)
    released = await store.release(first.id, ALICE)
    assert (released.status, released.agent_id) == ("waiting", None)
    assert await store.queue_position(first.id) == 1
    assert await store.claimed_by(ALICE) == []


async def test_transfer(store: Store) -> None:
    ticket, _ = await store.open_ticket(42, "command")
    await store.claim(ticket.id, ALICE, "Alice")
    t = await store.transfer(ticket.id, ALICE, BOB, "Bob")
    assert (t.agent_id, t.agent_name) == (BOB, "Bob")
    events = await store.events(ticket.id)
    assert (events[-1].name, events[-1].agent_id, events[-1].detail) == (
        "transferred",
        ALICE,
        str(BOB),
    )


async def test_close_and_close_again(store: Store, clock: Clock) -> None:
    ticket, _ = await store.open_ticket(42, "command")
    clock.advance(10)
    await store.claim(ticket.id, ALICE, "Alice")
    clock.advance(100)
    with pytest.raises(NotYourTicket):
        await store.close_ticket(ticket.id, BOB, "Bob")
    t = await store.close_ticket(ticket.id, ALICE, "Alice")
    assert (t.status, t.close_reason, t.handling_time, t.resolution_time) == (
        "closed",
        "agent",
        100,
        110,
    )
    with pytest.raises(TicketClosed):
        await store.close_ticket(ticket.id, ALICE, "Alice")
    assert await store.open_ticket_of(42) is None
    events = await store.events(ticket.id)
    assert [(e.name, e.detail) for e in events] == [
        ("opened", "command"), ("claimed", None), ("closed", "agent"),
    ]  # fmt: skip


async def test_system_close(store: Store) -> None:
    ticket, _ = await store.open_ticket(42, "command")
    await store.claim(ticket.id, ALICE, "Alice")
    t = await store.close_ticket(ticket.id, reason="blocked")
    assert (t.close_reason, t.agent_name) == ("blocked", "Alice")


async def test_reopen_window(store: Store, clock: Clock) -> None:
    ticket, _ = await store.open_ticket(42, "command")
    await store.claim(ticket.id, ALICE, "Alice")
    await store.close_ticket(ticket.id, ALICE)
    clock.advance(299)
    back, created = await store.open_ticket(42, "asked", reopen_window=300)
    assert (back.id, back.status, back.reopened, created) == (ticket.id, "waiting", 1, True)
    assert back.queued_at == T0 + 299
    await store.close_ticket(back.id, reason="user")
    clock.advance(301)
    fresh, created = await store.open_ticket(42, "asked", reopen_window=300)
    assert fresh.id != ticket.id and created
    assert fresh.reopened == 0


async def test_no_reopen_by_default(store: Store) -> None:
    ticket, _ = await store.open_ticket(42, "command")
    await store.close_ticket(ticket.id)
    fresh, created = await store.open_ticket(42, "command")
    assert created and fresh.id != ticket.id


async def test_reopen_by_the_subscriber_or_an_agent(store: Store, clock: Clock) -> None:
    ticket, _ = await store.open_ticket(42, "command")
    await store.close_ticket(ticket.id)
    clock.advance(3600)
    with pytest.raises(ReopenExpired):
        await store.reopen(ticket.id, reopen_window=600)
    t = await store.reopen(ticket.id, ALICE)  # /reopen in the topic: no window
    assert (t.status, t.reopened) == ("waiting", 1)
    with pytest.raises(NotClosed):
        await store.reopen(ticket.id, ALICE)


async def test_reopen_refused_while_another_ticket_is_open(store: Store) -> None:
    old, _ = await store.open_ticket(42, "command")
    await store.close_ticket(old.id)
    new, _ = await store.open_ticket(42, "command")
    with pytest.raises(OpenTicketExists) as err:
        await store.reopen(old.id, ALICE)
    assert (err.value.code, err.value.ticket_id) == ("open_exists", new.id)


async def test_thread_and_card_lookups(store: Store) -> None:
    ticket, _ = await store.open_ticket(42, "command")
    t = await store.set_thread(ticket.id, 555, 777)
    assert (t.thread_id, t.card_message_id) == (555, 777)
    assert await store.set_thread(ticket.id, None, 778) == (await store.ticket_by_card(778))
    assert (await store.ticket_by_thread(555)).id == ticket.id  # type: ignore[union-attr]
    assert await store.ticket_by_thread(1) is None and await store.ticket_by_card(777) is None


# -- relayed messages -----------------------------------------------------------------------


async def test_messages_are_counted_and_mapped_both_ways(store: Store, clock: Clock) -> None:
    ticket, _ = await store.open_ticket(42, "command")
    await store.set_thread(ticket.id, 555, 777)
    await store.record_message(ticket.id, "in", user_chat_message_id=10, group_message_id=900)
    clock.advance(30)
    await store.claim(ticket.id, ALICE, "Alice")
    clock.advance(30)
    out = await store.record_message(ticket.id, "out", 11, 901, kind="photo")
    assert (out.thread_id, out.kind, out.ts) == (555, "photo", T0 + 60)
    clock.advance(30)
    await store.record_message(ticket.id, "out", 12, 902)
    await store.record_message(ticket.id, "note", None, 903)
    t = await store.get_ticket(ticket.id)
    assert t is not None
    assert (t.msgs_from_user, t.msgs_from_agent, t.first_response_at) == (1, 2, T0 + 60)
    assert t.first_response_time == 60
    by_group = await store.find_message(group_message_id=901)
    by_user = await store.find_message(user_id=42, user_chat_message_id=11)
    assert by_group == by_user == out
    assert await store.find_message(user_id=43, user_chat_message_id=11) is None
    assert await store.find_message(group_message_id=12345) is None
    assert [m.direction for m in await store.messages(ticket.id)] == ["in", "out", "out", "note"]
    names = [e.name for e in await store.events(ticket.id)]
    assert names.count("first_response") == 1


async def test_concurrent_first_replies_set_the_first_response_once(store: Store) -> None:
    ticket, _ = await store.open_ticket(42, "command")
    await asyncio.gather(*(store.record_message(ticket.id, "out", i, 100 + i) for i in range(4)))
    names = [e.name for e in await store.events(ticket.id)]
    assert names.count("first_response") == 1
    t = await store.get_ticket(ticket.id)
    assert t is not None and t.msgs_from_agent == 4


async def test_message_arguments_are_checked(store: Store) -> None:
    ticket, _ = await store.open_ticket(42, "command")
    with pytest.raises(ValueError, match="direction"):
        await store.record_message(ticket.id, "sideways", 1, 2)
    with pytest.raises(ValueError):
        await store.find_message()
    with pytest.raises(ValueError):
        await store.find_message(group_message_id=1, user_id=42, user_chat_message_id=1)


# -- CSAT -----------------------------------------------------------------------------------


async def test_csat(store: Store) -> None:
    ticket, _ = await store.open_ticket(42, "command")
    with pytest.raises(NotClosed):
        await store.set_csat(ticket.id, 5)
    await store.close_ticket(ticket.id)
    with pytest.raises(InvalidScore):
        await store.set_csat(ticket.id, 0)
    assert (await store.set_csat(ticket.id, 4)).csat == 4
    assert (await store.events(ticket.id))[-1].detail == "4"


# -- the queue and the estimate -------------------------------------------------------------


async def test_queue_oldest_first_with_waits(store: Store, clock: Clock) -> None:
    ids = []
    for user in (42, 43, 44):
        ticket, _ = await store.open_ticket(user, "button")
        ids.append(ticket.id)
        clock.advance(60)
    await store.claim(ids[1], ALICE, "Alice")
    queue = await store.queue()
    assert [(e.position, e.ticket.id, e.wait) for e in queue] == [(1, ids[0], 180), (2, ids[2], 60)]
    assert [await store.queue_position(i) for i in ids] == [1, 0, 2]
    assert [w["id"] for w in await store.waiting_handoffs()] == [ids[0], ids[2]]


async def test_a_reopened_ticket_joins_the_end_of_the_queue(store: Store, clock: Clock) -> None:
    old, _ = await store.open_ticket(42, "command")
    await store.close_ticket(old.id)
    clock.advance(10)
    other, _ = await store.open_ticket(43, "command")
    clock.advance(10)
    await store.reopen(old.id, ALICE)
    assert [e.ticket.id for e in await store.queue()] == [other.id, old.id]


async def test_estimated_wait_is_the_median_of_recent_first_responses(
    store: Store, clock: Clock
) -> None:
    assert await store.estimated_wait() is None
    for user, response_after in ((1, 60), (2, 300), (3, 120), (4, 10_000)):
        ticket, _ = await store.open_ticket(user, "command")
        clock.advance(response_after)
        await store.record_message(ticket.id, "out", 1, user)
    assert await store.estimated_wait() == 210  # median of 60, 300, 120, 10000
    assert await store.estimated_wait(last_n=2) == (10_000 + 120) / 2
    assert await store.estimated_wait(clock.now + 30 * 86400) is None  # all too old


# -- bans -----------------------------------------------------------------------------------


async def test_ban_closes_the_open_ticket_and_stops_new_ones(store: Store) -> None:
    ticket, _ = await store.open_ticket(42, "command")
    await store.claim(ticket.id, ALICE, "Alice")
    closed = await store.ban(42, BOB, "spam")
    assert closed is not None and (closed.id, closed.close_reason) == (ticket.id, "banned")
    assert await store.is_banned(42)
    ban = await store.ban_of(42)
    assert ban is not None and (ban.banned_by, ban.reason, ban.ts) == (BOB, "spam", T0)
    with pytest.raises(Banned) as err:
        await store.open_ticket(42, "command")
    assert err.value.code == "banned"
    with pytest.raises(Banned):
        await store.request_handoff(42, "command")
    with pytest.raises(Banned):
        await store.reopen(ticket.id, ALICE)
    assert await store.ban(42, ALICE, "still spam") is None  # again: nothing open to close
    assert await store.unban(42) and not await store.unban(42)
    assert not await store.is_banned(42)
    again, created = await store.open_ticket(42, "command", reopen_window=3600)
    assert created and again.id != ticket.id  # a banned ticket never reopens


# -- reports --------------------------------------------------------------------------------


async def test_subscriber_summary(store: Store, clock: Clock) -> None:
    empty = await store.subscriber_summary(42)
    assert (empty.subscriber, empty.tickets, empty.open_ticket, empty.lang) == (None, 0, None, None)
    await subscriber(store, 42, "tg")
    await ask_bot(store, 42, "баланс")
    await ask_bot(store, 42, "интернет")
    ticket, _ = await store.open_ticket(42, "asked")
    await store.close_ticket(ticket.id)
    await store.set_csat(ticket.id, 4)
    second, _ = await store.open_ticket(42, "command")
    await store.ban(42, ALICE, "spam")
    s = await store.subscriber_summary(42)
    assert (s.lang, s.tickets, s.open_ticket, s.average_csat) == ("tg", 2, None, 4.0)
    assert s.last_ticket is not None and s.last_ticket.id == second.id
    assert s.recent_questions == ("интернет", "баланс")
    assert s.ban is not None and s.first_seen == T0
    assert s.subscriber is not None and s.subscriber.first_name == "User 42"


async def test_ticket_metrics(store: Store, clock: Clock) -> None:
    await ask_bot(store, 42, "не работает")
    clock.advance(20)
    ticket, _ = await store.open_ticket(42, "bot_failed")
    await store.record_message(ticket.id, "in", 1, 101)
    clock.advance(40)
    await store.claim(ticket.id, ALICE, "Alice")
    clock.advance(20)
    await store.record_message(ticket.id, "out", 2, 102)
    clock.advance(240)
    await store.close_ticket(ticket.id, ALICE)
    await store.set_csat(ticket.id, 5)
    clock.advance(1000)
    later, _ = await store.open_ticket(43, "command")
    [row] = await store.ticket_metrics(T0, until=later.created_at)
    assert {k: row[k] for k in (
        "id", "status", "agent_name", "csat", "msgs_from_user", "msgs_from_agent",
        "time_to_handoff", "wait_until_claim", "first_response_time", "handling_time",
        "resolution_time",
    )} == {
        "id": ticket.id, "status": "closed", "agent_name": "Alice", "csat": 5,
        "msgs_from_user": 1, "msgs_from_agent": 1, "time_to_handoff": 20,
        "wait_until_claim": 40, "first_response_time": 60, "handling_time": 260,
        "resolution_time": 300,
    }  # fmt: skip
    assert [r["id"] for r in await store.ticket_metrics(T0)] == [ticket.id, later.id]
    assert await store.ticket_metrics(clock.now + 1) == []


# -- the first hand-off API, now on tickets -------------------------------------------------


async def test_request_handoff_keeps_its_old_contract(store: Store, clock: Clock) -> None:
    await subscriber(store, 42, "ru")
    first = await store.request_handoff(42, "command", "где мой баланс")
    assert await store.request_handoff(42, "button") == first
    clock.advance(5)
    second = await store.request_handoff(43, "button")
    assert [await store.queue_position(first), await store.queue_position(second)] == [1, 2]
    assert await store.waiting_handoffs() == [
        {
            "id": first,
            "user_id": 42,
            "reason": "command",
            "question": "где мой баланс",
            "created_at": T0,
        },
        {"id": second, "user_id": 43, "reason": "button", "question": "", "created_at": T0 + 5},
    ]
    ticket = await store.get_ticket(first)
    assert ticket is not None and ticket.lang == "ru"


async def test_add_event(store: Store) -> None:
    ticket, _ = await store.open_ticket(42, "command")
    await store.add_event(ticket.id, "csat_asked", agent_id=ALICE)
    assert (await store.events(ticket.id))[-1].name == "csat_asked"


# -- interactions -----------------------------------------------------------------------------


async def test_a_question_is_logged_once_per_update(store: Store, clock: Clock) -> None:
    """Handling an update again (a write after the log failed, a crash, another instance)
    finds the question's row instead of logging it twice."""

    async def log(user_id: int, text: str, update_id: int | None) -> int:
        return await store.log_interaction(
            user_id, text, text, "answer", "balance", [], 0.9, "ru", 5.0, update_id=update_id
        )

    first = await log(42, "баланс", 7001)
    assert await log(42, "баланс", 7001) == first
    other_user = await log(43, "баланс", 7001)
    no_update = [await log(42, "баланс", None), await log(42, "баланс", None)]
    assert len({first, other_user, *no_update}) == 4
    clock.advance(8 * 86400)  # Telegram picks update ids at random after a quiet week
    reused = await log(42, "роуминг", 7001)
    assert reused != first
    rows = await store.recent_interactions(42, limit=10)
    assert [r["text"] for r in rows] == ["роуминг", "баланс", "баланс", "баланс"]


async def test_a_workspace_copy_is_found_in_its_chat_never_as_a_group_message(
    store: Store,
) -> None:
    """Message ids are per chat: id 700 in an agent's workspace and id 700 in the group are
    two messages, each found only where it is."""
    group_ticket, _ = await store.open_ticket(42, "command")
    other, _ = await store.open_ticket(43, "command")
    in_group = await store.record_message(group_ticket.id, "in", 10, 700)
    in_workspace = await store.record_message(other.id, "out", 11, 700, agent_chat_id=555)
    assert in_workspace.agent_chat_id == 555 and in_group.agent_chat_id is None
    assert await store.find_message(group_message_id=700) == in_group
    assert await store.find_message(group_message_id=700, agent_chat_id=555) == in_workspace
    assert await store.find_message(group_message_id=700, agent_chat_id=556) is None
    by_user = await store.find_message(user_id=43, user_chat_message_id=11)
    assert by_user == in_workspace
    assert [m.agent_chat_id for m in await store.messages(other.id)] == [555]


async def test_a_digest_day_is_claimed_once_and_a_dead_claim_taken_over(
    store: Store, clock: Clock
) -> None:
    assert await store.digests.claim("2026-12-01", "a")
    assert not await store.digests.claim("2026-12-01", "b")  # a posts it
    clock.advance(11 * 60)  # a died before marking it posted: b takes it over
    assert await store.digests.claim("2026-12-01", "b")
    await store.digests.posted("2026-12-01")
    clock.advance(3600)
    assert not await store.digests.claim("2026-12-01", "a")  # posted: never again
    assert await store.digests.claim("2026-12-02", "a")
    await store.digests.release("2026-12-02")  # could not post it: free to try again
    assert await store.digests.claim("2026-12-02", "b")
