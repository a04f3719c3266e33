"""A ticket's triage (SQLite): its priority and labels (each change an event), the one SLA
nudge sent for it, and who is on shift to be told. The rules are in ``handoff.labels``."""

from __future__ import annotations

from collections.abc import Sequence

from handoff.storage.database import Repository
from handoff.tickets import TicketNotFound


class SqliteLabels(Repository):
    """``tickets.priority`` and ``tickets.nudged_at``, the ``ticket_labels`` table, and a
    read of ``agents``."""

    async def set_priority(
        self, ticket_id: int, priority: str, agent_id: int | None, now: float | None = None
    ) -> bool:
        """The ticket's priority, recorded as a "priority" event; False if it had it already.
        Raises ``TicketNotFound``."""
        now = self._now(now)
        async with self._writing():
            changed = await self.db.execute(
                "UPDATE tickets SET priority = ? WHERE id = ? AND priority != ?",
                (priority, ticket_id, priority),
            )
            if changed != 1:
                await self.db.rollback()
                await self._exists(ticket_id)
                return False
            await self._event(ticket_id, "priority", now, agent_id, priority)
        return True

    async def labels(self, ticket_id: int) -> list[str]:
        """The ticket's labels in the order they were added."""
        return [
            r[0]
            for r in await self.db.fetchall(
                f"SELECT label FROM ticket_labels WHERE ticket_id = ? ORDER BY ts, {self.db.rowid}",
                (ticket_id,),
            )
        ]

    async def set_labels(
        self,
        ticket_id: int,
        labels: Sequence[str],
        agent_id: int | None,
        now: float | None = None,
    ) -> tuple[list[str], list[str]]:
        """Make the ticket's labels ``labels`` (already checked by ``handoff.labels``): each
        added one a "label_added" event, each removed one "label_removed". Returns (added,
        removed). Raises ``TicketNotFound``."""
        now = self._now(now)
        await self._exists(ticket_id)
        async with self._writing():
            before = {
                r[0]
                for r in await self.db.fetchall(
                    "SELECT label FROM ticket_labels WHERE ticket_id = ?", (ticket_id,)
                )
            }
            added = [label for label in labels if label not in before]
            removed = sorted(before - set(labels))
            for label in removed:
                await self.db.execute(
                    "DELETE FROM ticket_labels WHERE ticket_id = ? AND label = ?",
                    (ticket_id, label),
                )
                await self._event(ticket_id, "label_removed", now, agent_id, label)
            for label in added:
                await self.db.execute(
                    "INSERT INTO ticket_labels (ticket_id, label, ts) VALUES (?, ?, ?)",
                    (ticket_id, label, now),
                )
                await self._event(ticket_id, "label_added", now, agent_id, label)
        return added, removed

    async def labels_of_tickets(self, since: float, until: float) -> dict[int, list[str]]:
        """The labels of the tickets created in ``[since, until)`` (for the report)."""
        rows = await self.db.fetchall(
            "SELECT l.ticket_id, l.label FROM ticket_labels l JOIN tickets t ON t.id = l.ticket_id"
            " WHERE t.created_at >= ? AND t.created_at < ?"
            f" ORDER BY l.ticket_id, l.ts, l.{self.db.rowid}",
            (since, until),
        )
        found: dict[int, list[str]] = {}
        for ticket_id, label in rows:
            found.setdefault(ticket_id, []).append(label)
        return found

    async def unanswered(self) -> list[int]:
        """Open tickets no agent has answered yet and no nudge was sent for, oldest first."""
        return [
            r[0]
            for r in await self.db.fetchall(
                "SELECT id FROM tickets WHERE status != 'closed' AND first_response_at IS NULL"
                " AND nudged_at IS NULL ORDER BY created_at, id"
            )
        ]

    async def mark_nudged(self, ticket_id: int, now: float | None = None) -> bool:
        """Record the nudge before it is sent, so no restart sends it twice; False if one
        was recorded already (``undo``: the send was refused, so it may be tried again)."""
        async with self._writing():
            changed = await self.db.execute(
                "UPDATE tickets SET nudged_at = ? WHERE id = ? AND nudged_at IS NULL",
                (self._now(now), ticket_id),
            )
        return changed == 1

    async def unmark_nudged(self, ticket_id: int) -> None:
        async with self._writing():
            await self.db.execute("UPDATE tickets SET nudged_at = NULL WHERE id = ?", (ticket_id,))

    async def nudged_at(self, ticket_id: int) -> float | None:
        row = await self.db.fetchone("SELECT nudged_at FROM tickets WHERE id = ?", (ticket_id,))
        return None if row is None else row[0]

    async def _exists(self, ticket_id: int) -> None:
        if await self.db.fetchone("SELECT 1 FROM tickets WHERE id = ?", (ticket_id,)) is None:
            raise TicketNotFound(ticket_id)

    async def _event(
        self, ticket_id: int, name: str, now: float, agent_id: int | None, detail: str
    ) -> None:
        await self.db.execute(
            "INSERT INTO events (ticket_id, name, ts, agent_id, detail) VALUES (?, ?, ?, ?, ?)",
            (ticket_id, name, now, agent_id, detail),
        )
