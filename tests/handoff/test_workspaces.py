"""Agents' workspaces in the store, on both backends: one per ticket, found by its topic."""

from __future__ import annotations

from handoff.storage import Store


async def test_a_ticket_has_one_workspace_found_by_its_topic(store: Store) -> None:
    ticket, _ = await store.open_ticket(1001, "asked", "баланс", "ru")
    other, _ = await store.open_ticket(1002, "asked", "роуминг", "ru")
    assert await store.workspaces.workspace_of(ticket.id) is None
    await store.workspaces.open_workspace(ticket.id, 7_000_000_001, 5, 7_000_000_001)
    await store.workspaces.open_workspace(other.id, 7_000_000_001, 9, 7_000_000_001)
    found = await store.workspaces.workspace_at(7_000_000_001, 5)
    assert found is not None and found.ticket_id == ticket.id
    assert await store.workspaces.workspace_at(7_000_000_002, 5) is None  # another chat
    # handed to another agent: the ticket's workspace moves, one row still
    await store.workspaces.open_workspace(ticket.id, 7_000_000_002, 3, 7_000_000_002)
    moved = await store.workspaces.workspace_of(ticket.id)
    assert moved is not None and (moved.chat_id, moved.thread_id) == (7_000_000_002, 3)
    assert await store.workspaces.workspace_at(7_000_000_001, 5) is None
    await store.workspaces.close_workspace(ticket.id)
    assert await store.workspaces.workspace_of(ticket.id) is None
    assert await store.workspaces.workspace_of(other.id) is not None
