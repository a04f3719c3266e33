"""A low rating's follow-up (SQLite): the lead's one alert per ticket, and the subscriber's
answer to "what went wrong?" kept with the ticket."""

from __future__ import annotations

from handoff.insights import CSAT_COMMENT
from handoff.storage.database import Repository


class SqliteRatings(Repository):
    """``tickets.low_rating_alerted_at`` and the ``csat_comment`` events."""

    async def mark_low_rating_alerted(self, ticket_id: int, now: float | None = None) -> bool:
        """Claim the ticket's one low-rating alert: True the first time, False ever after."""
        async with self._writing():
            changed = await self.db.execute(
                "UPDATE tickets SET low_rating_alerted_at = ?"
                " WHERE id = ? AND low_rating_alerted_at IS NULL",
                (self._now(now), ticket_id),
            )
        return changed > 0

    async def add_csat_comment(self, ticket_id: int, text: str, now: float | None = None) -> bool:
        """The subscriber's first message after the ticket's latest rating, kept as its
        ``csat_comment`` event; False (nothing kept) when the ticket has no rating, or that
        rating has its comment already."""
        async with self._writing():
            changed = await self.db.execute(
                "INSERT INTO events (ticket_id, name, ts, detail)"
                " SELECT r.ticket_id, CAST(? AS TEXT), CAST(? AS DOUBLE PRECISION), CAST(? AS TEXT)"
                " FROM events r WHERE r.id ="
                " (SELECT MAX(id) FROM events WHERE ticket_id = ? AND name = 'csat')"
                " AND NOT EXISTS (SELECT 1 FROM events c WHERE c.ticket_id = r.ticket_id"
                " AND c.name = ? AND c.id > r.id)",
                (CSAT_COMMENT, self._now(now), text, ticket_id, CSAT_COMMENT),
            )
        return changed > 0
