"""The assignment choice (``handoff.assign``): round-robin, least-loaded and the per-agent cap,
as properties over any set of agents on shift; and the agents' repository that feeds it."""

from __future__ import annotations

import inspect
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handoff.assign import OnShift, choose
from handoff.storage import Store, protocols
from handoff.storage.agents import SqliteAgents
from tests.handoff.conftest import T0, Clock

agents_on_shift = st.lists(
    st.builds(
        OnShift,
        agent_id=st.integers(1, 50),
        name=st.just("A"),
        last_assigned_at=st.one_of(st.none(), st.floats(0, 100, allow_nan=False)),
        open_tickets=st.integers(0, 5),
    ),
    unique_by=lambda a: a.agent_id,
    max_size=8,
)
caps = st.one_of(st.none(), st.integers(1, 6))


def _turn(a: OnShift) -> tuple[float, int]:
    return (-math.inf if a.last_assigned_at is None else a.last_assigned_at, a.agent_id)


@given(agents_on_shift, caps)
def test_round_robin_picks_the_free_agent_assigned_longest_ago(agents, cap) -> None:
    picked = choose("round_robin", agents, cap)
    free = [a for a in agents if cap is None or a.open_tickets < cap]
    if not free:
        assert picked is None
        return
    assert picked in free
    assert all(_turn(picked) <= _turn(a) for a in free)  # never-assigned first, then by id


@given(agents_on_shift, caps)
def test_least_loaded_picks_the_fewest_open_then_round_robin(agents, cap) -> None:
    picked = choose("least_loaded", agents, cap)
    free = [a for a in agents if cap is None or a.open_tickets < cap]
    if not free:
        assert picked is None
        return
    fewest = min(a.open_tickets for a in free)
    assert picked is not None and picked.open_tickets == fewest
    assert picked == choose("round_robin", [a for a in free if a.open_tickets == fewest])


@given(agents_on_shift, caps)
def test_none_never_picks(agents, cap) -> None:
    assert choose("none", agents, cap) is None


@given(st.integers(1, 6), st.integers(0, 30), caps)
def test_assigning_in_turn_spreads_tickets_evenly_and_keeps_the_cap(n, tickets, cap) -> None:
    """Tickets given one after another (each assignment updating the agent's turn and load),
    as the desk does: round-robin hands them out in turns, least-loaded never lets two
    agents differ by more than one, and nobody goes over the cap."""
    for policy in ("round_robin", "least_loaded"):
        agents = {i: OnShift(i, "A", None, 0) for i in range(1, n + 1)}
        order = []
        for ts in range(tickets):
            picked = choose(policy, agents.values(), cap)
            if picked is None:
                assert cap is not None and all(a.open_tickets >= cap for a in agents.values())
                break
            order.append(picked.agent_id)
            agents[picked.agent_id] = OnShift(picked.agent_id, "A", ts, picked.open_tickets + 1)
        loads = [a.open_tickets for a in agents.values()]
        assert max(loads) - min(loads) <= 1
        assert cap is None or max(loads) <= cap
        assert order == [1 + i % n for i in range(len(order))]
        assert len(order) == (tickets if cap is None else min(tickets, n * cap))


def test_an_unknown_policy_is_an_error() -> None:
    with pytest.raises(ValueError, match="round_robin"):
        choose("random", [OnShift(1, "A", None, 0)])


def test_the_repository_is_its_protocol() -> None:
    wanted = {n: m for n, m in vars(protocols.Agents).items() if not n.startswith("_")}
    wanted = {n: m for n, m in wanted.items() if callable(m)}
    given_ = {n: m for n, m in vars(SqliteAgents).items() if callable(m) and n[0] != "_"}
    assert set(wanted) == set(given_)
    for name, method in wanted.items():
        assert inspect.iscoroutinefunction(given_[name]), name
        assert list(inspect.signature(method).parameters) == list(
            inspect.signature(given_[name]).parameters
        ), name


async def test_shifts_are_recorded_once_per_change(store: Store, clock: Clock) -> None:
    agents = store.agents
    assert await agents.set_shift(7, "Dilnoza", True) is True
    clock.now = T0 + 60
    assert await agents.set_shift(7, "Dilnoza", True) is False  # already on: no event
    assert await agents.set_shift(8, "Rustam", False) is False  # never on: nothing to end
    clock.now = T0 + 3600
    assert await agents.set_shift(7, "Dilnoza", False) is True
    shifts, _ = await agents.shift_rows(0, math.inf)
    assert [(e["name"], e["agent_id"], e["ts"]) for e in shifts] == [
        ("shift_on", 7, T0),
        ("shift_off", 7, T0 + 3600),
    ]
    assert await agents.on_shift() == []


async def test_on_shift_counts_open_claimed_tickets_and_the_last_assignment(
    store: Store, clock: Clock
) -> None:
    agents = store.agents
    await agents.set_shift(7, "Dilnoza", True)
    await agents.set_shift(8, "Rustam", True)
    for user in (1, 2, 3):
        await store.touch_subscriber(user, user, f"U{user}", None, "ru")
        ticket, _ = await store.open_ticket(user, "asked", "?", "ru")
        await store.claim(ticket.id, 7 if user < 3 else 8, "x")
    await store.close_ticket(1, 7, "x")
    clock.now = T0 + 5
    await agents.assigned(2, 7, "round_robin")
    assert await agents.on_shift() == [
        OnShift(7, "Dilnoza", T0 + 5, 1),
        OnShift(8, "Rustam", None, 1),
    ]
    assert [(e.name, e.agent_id, e.detail) for e in await store.events(2)][-1] == (
        "assigned",
        7,
        "round_robin",
    )


async def test_open_of_gives_the_subscribers_last_message(store: Store, clock: Clock) -> None:
    await store.touch_subscriber(1, 1, "U1", None, "ru")
    ticket, _ = await store.open_ticket(1, "asked", "?", "ru")
    await store.claim(ticket.id, 7, "Dilnoza")
    [(got, last_in)] = await store.agents.open_of(7)
    assert (got.id, last_in) == (ticket.id, None)
    clock.now = T0 + 30
    await store.record_message(ticket.id, "in", 11, 12)
    clock.now = T0 + 40
    await store.record_message(ticket.id, "out", 13, 14)
    [(_, last_in)] = await store.agents.open_of(7)
    assert last_in == T0 + 30
    assert await store.agents.open_of(8) == []
