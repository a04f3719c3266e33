"""The read model for reports and /whois (cosmicpython's ``views.py``): the rows the report is
aggregated from, and a subscriber's summary. Reads only."""

from __future__ import annotations

from handoff.reports import DISLIKED_LIMIT, ReportRows
from handoff.storage.database import Database, Repository
from handoff.storage.subscribers import SqliteSubscribers
from handoff.storage.tickets import _TICKET_COLUMNS, SqliteTickets, _ticket
from handoff.subscribers import SubscriberSummary


class SqliteReports(Repository):
    """Reads across the tables for ``handoff.reports`` and the desk's /whois."""

    def __init__(
        self, database: Database, subscribers: SqliteSubscribers, tickets: SqliteTickets
    ) -> None:
        super().__init__(database)
        self.subscribers = subscribers
        self.tickets = tickets

    async def ticket_metrics(self, since: float, until: float | None = None) -> list[dict]:
        """One row per ticket created in [since, until): every field and every duration
        (``time_to_handoff``, ``wait_until_claim``, ``first_response_time``,
        ``handling_time``, ``resolution_time``: seconds or None)."""
        rows = await self.db.fetchall(
            f"SELECT {_TICKET_COLUMNS} FROM tickets WHERE created_at >= ? AND created_at < ? "
            "ORDER BY created_at, id",
            (since, until if until is not None else float("inf")),
        )
        return [_ticket(r).metrics() for r in rows]

    async def tickets_alive(self, since: float, until: float) -> list[dict]:
        """One row per ticket open at some moment of [since, until), wherever it was created
        (the backlog and the ageing of ``handoff.insights``)."""
        rows = await self.db.fetchall(
            f"SELECT {_TICKET_COLUMNS} FROM tickets WHERE created_at < ?"
            " AND (closed_at IS NULL OR closed_at >= ?) ORDER BY created_at, id",
            (until, since),
        )
        return [_ticket(r).metrics() for r in rows]

    async def subscriber_summary(self, user_id: int, questions: int = 5) -> SubscriberSummary:
        """Everything /whois shows about a subscriber."""
        sub = await self.subscribers.subscriber(user_id)
        seen = await self.db.fetchone(
            "SELECT created_at FROM subscribers WHERE user_id = ?", (user_id,)
        )
        counts = await self.db.fetchone(
            "SELECT COUNT(*), AVG(csat) FROM tickets WHERE user_id = ?", (user_id,)
        )
        texts = await self.db.fetchall(
            "SELECT text FROM interactions WHERE user_id = ? ORDER BY id DESC LIMIT ?",
            (user_id, questions),
        )
        return SubscriberSummary(
            user_id=user_id,
            subscriber=sub,
            first_seen=seen[0] if seen else None,
            lang=(sub.lang or sub.language_code) if sub else None,
            tickets=int(counts[0]) if counts else 0,
            open_ticket=await self.tickets.open_ticket_of(user_id),
            last_ticket=await self.tickets.last_ticket(user_id),
            average_csat=float(counts[1]) if counts and counts[1] is not None else None,
            ban=await self.subscribers.ban_of(user_id),
            recent_questions=tuple(r[0] for r in texts),
        )

    async def past_tickets(
        self, user_id: int, but: int | None = None, limit: int = 5
    ) -> list[dict]:
        """/whois: the subscriber's latest tickets (not ``but``), newest first, each with the
        topic the bot found for its question when the question was asked (``topic``: None
        when it found none)."""
        return await self._rows(
            "SELECT t.id, t.status, t.question, t.close_reason, t.csat, t.created_at,"
            " t.closed_at, t.agent_name, (SELECT i.topic FROM interactions i"
            " WHERE i.user_id = t.user_id AND i.text = t.question AND i.ts <= t.created_at"
            " AND i.topic IS NOT NULL ORDER BY i.id DESC LIMIT 1) AS topic"
            " FROM tickets t WHERE t.user_id = ? AND t.id != ? ORDER BY t.id DESC LIMIT ?",
            (user_id, -1 if but is None else but, limit),
        )

    async def outage_reports_of(self, user_id: int, limit: int = 3) -> list[dict]:
        """/whois: the subscriber's latest outage reports, newest first."""
        return await self._rows(
            "SELECT district, description, ts FROM outages WHERE user_id = ?"
            " ORDER BY id DESC LIMIT ?",
            (user_id, limit),
        )

    async def latest_decisions(self, after_id: int = 0, limit: int = 30) -> list[dict]:
        """The newest decisions on subscribers' messages (id above ``after_id``), newest
        first: what was asked, how it was read, the kind, topic or intent, and the score."""
        return await self._rows(
            "SELECT id, user_id, ts, text, normalized, kind, topic, intent, score, lang"
            " FROM interactions WHERE id > ? ORDER BY id DESC LIMIT ?",
            (after_id, limit),
        )

    # -- the rows a report is aggregated from (``handoff.reports.aggregate``) ------------------

    async def report_rows(self, since: float, until: float) -> ReportRows:
        """Everything a report of ``[since, until)`` is made of, read in one go."""
        return ReportRows(
            questions=await self._rows(
                "SELECT user_id, ts, kind, topic, lang, latency_ms, chosen FROM interactions"
                " WHERE ts >= ? AND ts < ? AND kind != 'banned'",
                (since, until),
            ),
            tickets=await self.ticket_metrics(since, until),
            events=await self._rows(
                "SELECT e.ticket_id, e.name, e.ts, e.agent_id, e.detail FROM events e"
                " JOIN tickets t ON t.id = e.ticket_id"
                " WHERE t.created_at >= ? AND t.created_at < ? ORDER BY e.id",
                (since, until),
            ),
            votes=await self._rows(
                "SELECT topic, SUM(helpful) AS helpful, SUM(1 - helpful) AS unhelpful"
                " FROM feedback WHERE ts >= ? AND ts < ? GROUP BY topic",
                (since, until),
            ),
            disliked=await self._rows(
                "SELECT topic, question, COUNT(*) AS votes FROM feedback"
                " WHERE ts >= ? AND ts < ? AND helpful = 0 AND question != ''"
                " GROUP BY topic, question ORDER BY votes DESC, MAX(ts) DESC, topic LIMIT ?",
                (since, until, DISLIKED_LIMIT),
            ),
            outages=await self._rows(
                "SELECT district, ts FROM outages WHERE ts >= ? AND ts < ?", (since, until)
            ),
        )
