"""Whatever subscribers and agents do, in any order, the desk's invariants hold."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handoff.storage import Store
from handoff.tickets import DeskError
from tests.handoff.conftest import Clock

USERS = st.integers(1, 3)
AGENTS = st.integers(101, 103)
PICK = st.integers(0, 10)  # which existing ticket, modulo how many there are

OPERATIONS = st.one_of(
    st.tuples(st.just("open"), USERS, st.sampled_from(["asked", "command", "button"]),
              st.sampled_from([0.0, 60.0, 3600.0])),
    st.tuples(st.just("claim"), PICK, AGENTS),
    st.tuples(st.just("release"), PICK, AGENTS, st.booleans()),
    st.tuples(st.just("transfer"), PICK, AGENTS, AGENTS),
    st.tuples(st.just("close"), PICK, st.none() | AGENTS, st.sampled_from(["agent", "blocked"])),
    st.tuples(st.just("reopen"), PICK, st.none() | AGENTS, st.sampled_from([0.0, 120.0])),
    st.tuples(st.just("message"), PICK, st.sampled_from(["in", "out", "note"])),
    st.tuples(st.just("csat"), PICK, st.integers(0, 6)),
    st.tuples(st.just("ban"), USERS, AGENTS),
    st.tuples(st.just("unban"), USERS),
    st.tuples(st.just("wait"), st.floats(0, 600)),
)  # fmt: skip


async def apply(store: Store, clock: Clock, op: tuple, ids: list[int]) -> None:
    name, *args = op
    pick = ids[args[0] % len(ids)] if ids and name not in ("open", "ban", "unban", "wait") else None
    if name == "open":
        user, reason, window = args
        ticket, _ = await store.open_ticket(user, reason, f"q{user}", reopen_window=window)
        if ticket.id not in ids:
            ids.append(ticket.id)
    elif name == "wait":
        clock.advance(args[0])
    elif name == "ban":
        await store.ban(args[0], args[1], "spam")
    elif name == "unban":
        await store.unban(args[0])
    elif pick is None:
        return
    elif name == "claim":
        await store.claim(pick, args[1], f"agent{args[1]}")
    elif name == "release":
        await store.release(pick, args[1], force=args[2])
    elif name == "transfer":
        await store.transfer(pick, args[1], args[2], f"agent{args[2]}")
    elif name == "close":
        agent, reason = args[1], args[2]
        await store.close_ticket(pick, agent, f"agent{agent}", reason=reason)
    elif name == "reopen":
        await store.reopen(pick, args[1], reopen_window=args[2])
    elif name == "message":
        await store.record_message(pick, args[1], 1, 2)
    elif name == "csat":
        await store.set_csat(pick, args[1])


async def check_invariants(store: Store) -> None:
    rows = await store.ticket_metrics(0)
    open_per_user = Counter(r["user_id"] for r in rows if r["status"] in ("waiting", "claimed"))
    assert all(n == 1 for n in open_per_user.values()), open_per_user
    for r in rows:
        assert r["queued_at"] >= r["created_at"]
        if r["status"] == "closed":
            assert r["closed_at"] is not None and r["closed_at"] >= r["created_at"]
            assert r["close_reason"] is not None
        else:
            assert r["closed_at"] is None and r["close_reason"] is None
        if r["status"] == "claimed":
            assert r["agent_id"] is not None and r["claimed_at"] is not None
        if r["status"] == "waiting":
            assert r["agent_id"] is None
        for step in ("claimed_at", "first_response_at"):
            assert r[step] is None or r[step] >= r["created_at"]
        if r["csat"] is not None:
            assert 1 <= r["csat"] <= 5
        messages = Counter(m.direction for m in await store.messages(r["id"]))
        assert (r["msgs_from_user"], r["msgs_from_agent"]) == (messages["in"], messages["out"])
        assert (r["first_response_at"] is None) == (messages["out"] == 0)
        if await store.is_banned(r["user_id"]):
            assert r["status"] == "closed"
    queue = await store.queue()
    assert [e.position for e in queue] == list(range(1, len(queue) + 1))
    assert [await store.queue_position(e.ticket.id) for e in queue] == [e.position for e in queue]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(OPERATIONS, max_size=30))
def test_any_sequence_of_operations_keeps_the_invariants(ops: list[tuple]) -> None:
    async def run() -> None:
        clock = Clock()
        store = await Store.open(":memory:", clock=clock)
        try:
            ids: list[int] = []
            for op in ops:
                # A refusal is a fine answer; breaking an invariant is not.
                with contextlib.suppress(DeskError):
                    await apply(store, clock, op, ids)
                await check_invariants(store)
        finally:
            await store.close()

    asyncio.run(run())
