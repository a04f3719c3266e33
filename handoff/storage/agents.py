"""Agents (SQLite): who is on shift, whom assignment gave a ticket last, and the events that
record both (``shift_on``/``shift_off`` with no ticket, ``assigned`` with the policy)."""

from __future__ import annotations

from handoff.assign import OnShift
from handoff.storage.database import Repository
from handoff.storage.tickets import _TICKET_COLUMNS, _ticket
from handoff.tickets import Ticket


class SqliteAgents(Repository):
    """The ``agents`` table (and its events in ``events``)."""

    async def set_shift(self, agent_id: int, name: str, on: bool, now: float | None = None) -> bool:
        """Put an agent on or off shift; True when that changed something (only a change is
        recorded as a ``shift_on``/``shift_off`` event)."""
        now = self._now(now)
        async with self._writing():
            row = await self.db.fetchone(
                "SELECT on_shift FROM agents WHERE agent_id = ?", (agent_id,)
            )
            was = bool(row[0]) if row is not None else False
            await self.db.execute(
                "INSERT INTO agents (agent_id, name, on_shift, changed_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(agent_id) DO UPDATE SET name = excluded.name,"
                " on_shift = excluded.on_shift,"
                " changed_at = CASE WHEN agents.on_shift = excluded.on_shift THEN agents.changed_at"
                " ELSE excluded.changed_at END",
                (agent_id, name, int(on), now),
            )
            if was != on:
                await self.db.execute(
                    "INSERT INTO events (ticket_id, name, ts, agent_id) VALUES (NULL, ?, ?, ?)",
                    ("shift_on" if on else "shift_off", now, agent_id),
                )
        return was != on

    async def on_shift(self) -> list[OnShift]:
        """The agents on shift with their open claimed tickets, by id."""
        rows = await self.db.fetchall(
            "SELECT a.agent_id, a.name, a.last_assigned_at,"
            " (SELECT COUNT(*) FROM tickets t WHERE t.agent_id = a.agent_id"
            "  AND t.status = 'claimed') AS open_tickets"
            " FROM agents a WHERE a.on_shift = 1 ORDER BY a.agent_id"
        )
        return [OnShift(r[0], r[1], r[2], int(r[3])) for r in rows]

    async def assigned(
        self, ticket_id: int, agent_id: int, policy: str, now: float | None = None
    ) -> None:
        """Assignment gave the ticket to the agent: their turn is recorded, and the event."""
        now = self._now(now)
        async with self._writing():
            await self.db.execute(
                "UPDATE agents SET last_assigned_at = ? WHERE agent_id = ?", (now, agent_id)
            )
            await self.db.execute(
                "INSERT INTO events (ticket_id, name, ts, agent_id, detail)"
                " VALUES (?, 'assigned', ?, ?, ?)",
                (ticket_id, now, agent_id, policy),
            )

    async def open_of(self, agent_id: int) -> list[tuple[Ticket, float | None]]:
        """An agent's claimed tickets, oldest first, each with its subscriber's last message
        relayed into the topic (None: none since the ticket opened)."""
        rows = await self.db.fetchall(
            f"SELECT {_TICKET_COLUMNS}, (SELECT MAX(m.ts) FROM ticket_messages m"
            " WHERE m.ticket_id = tickets.id AND m.direction = 'in') AS last_in"
            " FROM tickets WHERE agent_id = ? AND status = 'claimed' ORDER BY id",
            (agent_id,),
        )
        return [(_ticket(r), r["last_in"]) for r in rows]

    async def shift_rows(self, since: float, until: float) -> tuple[list[dict], list[dict]]:
        """What tickets per hour on shift are computed from: every shift event before
        ``until`` (the ones before ``since`` say who was on shift when the window began), and
        the closes by an agent in ``[since, until)``."""
        shifts = await self._rows(
            "SELECT agent_id, name, ts FROM events WHERE name IN ('shift_on', 'shift_off')"
            " AND ts < ? ORDER BY ts, id",
            (until,),
        )
        closes = await self._rows(
            "SELECT ticket_id, agent_id, ts FROM events WHERE name = 'closed'"
            " AND agent_id IS NOT NULL AND ts >= ? AND ts < ? ORDER BY ts, id",
            (since, until),
        )
        return shifts, closes

    async def names(self) -> dict[int, str]:
        """Every agent's last known name."""
        return {r[0]: r[1] for r in await self.db.fetchall("SELECT agent_id, name FROM agents")}
