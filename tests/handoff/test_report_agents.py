"""Per-agent report figures credit the agent who did the thing."""

from __future__ import annotations

from handoff.credit import held
from handoff.reports import build_report
from handoff.storage import Store
from tests.conftest import T0, Clock

ALICE, BOB = 1, 2


async def test_a_transferred_ticket_credits_each_agent_with_their_part(
    store: Store, clock: Clock
) -> None:
    ticket, _ = await store.open_ticket(42, "command")
    clock.advance(10)
    await store.claim(ticket.id, ALICE, "Alice")
    clock.advance(10)
    await store.record_message(ticket.id, "out", 1, 1)  # Alice's first answer, 20 s in
    clock.advance(10)
    await store.transfer(ticket.id, ALICE, BOB, "Bob")  # she held it 20 s
    clock.advance(60)
    await store.close_ticket(ticket.id, BOB, "Bob")  # he held it 60 s and closed it

    # a second ticket: Bob has it 6.7 s, then the subscriber blocks the bot
    other, _ = await store.open_ticket(43, "command")
    await store.claim(other.id, BOB, "Bob")
    clock.advance(6.7)
    await store.close_ticket(other.id, reason="blocked")

    report = await build_report(store, T0 - 1, T0 + 1000, "UTC")
    agents = {a.agent_id: a for a in report.agents}
    alice, bob = agents[ALICE], agents[BOB]
    assert bob.agent_name == "Bob"  # Alice kept no ticket to name her: shown by her id
    assert alice.agent_name == str(ALICE)
    assert (alice.tickets, alice.closed) == (1, 0)
    assert (alice.first_response_time.p50, alice.first_response_time.count) == (20, 1)
    assert (alice.handling_time.p50, alice.handling_time.count) == (20, 1)
    assert (bob.tickets, bob.closed) == (2, 1)  # the blocked one is not his close
    assert bob.first_response_time.count == 0  # the first answer was Alice's
    assert (bob.handling_time.p50, bob.handling_time.count) == (60, 1)  # not 80, not 6.7


async def test_a_supervisor_takeover_and_a_release_split_the_handling(
    store: Store, clock: Clock
) -> None:
    ticket, _ = await store.open_ticket(42, "command")
    await store.claim(ticket.id, ALICE, "Alice")
    clock.advance(30)
    await store.release(ticket.id, ALICE)  # back in the queue: nobody's time
    clock.advance(100)
    await store.claim(ticket.id, ALICE, "Alice")
    clock.advance(5)
    await store.take_over(ticket.id, BOB, "Bob", supervisor=True)
    clock.advance(15)
    await store.close_ticket(ticket.id, BOB, "Bob")
    events = [
        {"name": e.name, "ts": e.ts, "agent_id": e.agent_id, "detail": e.detail}
        for e in await store.events(ticket.id)
    ]
    assert held(events) == {ALICE: 35, BOB: 15}
