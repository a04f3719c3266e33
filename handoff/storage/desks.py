"""The desk a ticket is on (``tickets.desk``, ``agents.groups``' names): set when it is routed,
changed by ``/transfer <desk>``, and the tickets a per-desk ``/stats`` counts."""

from __future__ import annotations

from handoff.storage.database import Database, Repository
from handoff.storage.tickets import _TICKET_COLUMNS, SqliteTickets, _ticket
from handoff.tickets import Ticket, TicketClosed, TicketNotFound


class SqliteDesks(Repository):
    """The ``tickets.desk`` column (part of the ticket aggregate)."""

    def __init__(self, database: Database, tickets: SqliteTickets) -> None:
        super().__init__(database)
        self.tickets = tickets

    async def set_desk(self, ticket_id: int, desk: str) -> Ticket:
        """The desk a new ticket goes to, recorded before its topic is made there."""
        async with self._writing():
            changed = await self.db.execute(
                "UPDATE tickets SET desk = ? WHERE id = ?", (desk, ticket_id)
            )
            if changed == 0:
                raise TicketNotFound(ticket_id)
        return await self.tickets._get(ticket_id)

    async def move_to_desk(
        self, ticket_id: int, desk: str, agent_id: int | None = None, now: float | None = None
    ) -> Ticket:
        """An open ticket to another desk: no topic or card there yet (the desk makes them);
        recorded as a "desk_transfer" event with the desks it left and joined."""
        now = self._now(now)
        async with self._writing():
            old = await self.tickets._get(ticket_id)
            if not old.is_open:
                raise TicketClosed(ticket_id)
            await self.db.execute(
                "UPDATE tickets SET desk = ?, thread_id = NULL, card_message_id = NULL,"
                " topic_requested_at = NULL, version = version + 1 WHERE id = ?",
                (desk, ticket_id),
            )
            detail = f"{old.desk or ''}>{desk}"
            await self.tickets._add_event(ticket_id, "desk_transfer", now, agent_id, detail)
        return await self.tickets._get(ticket_id)

    async def tickets_since(self, since: float, until: float) -> list[Ticket]:
        """Tickets handed off in [since, until), oldest first (per-desk /stats)."""
        rows = await self.db.fetchall(
            f"SELECT {_TICKET_COLUMNS} FROM tickets WHERE created_at >= ? AND created_at < ?"
            " ORDER BY id",
            (since, until),
        )
        return [_ticket(r) for r in rows]
