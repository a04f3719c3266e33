"""The bot's storage as one object: the database and a repository per aggregate over it.

``Store.open(path)`` gives ``store.subscribers``, ``.interactions``, ``.tickets`` (with its
``.relayed`` messages), ``.outage_reports`` and ``.reports`` (the read model), all on one
SQLite connection with one write lock. The flat methods below are the same calls, kept so the
bot and the tests read as before; a workflow that spans aggregates (a ban closes the open
ticket) lives here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from handoff.labels import in_priority_order
from handoff.storage import protocols
from handoff.storage.agents import SqliteAgents
from handoff.storage.database import Database, open_database
from handoff.storage.desks import SqliteDesks
from handoff.storage.digests import SqliteDigests
from handoff.storage.interactions import SqliteInteractions
from handoff.storage.labels import SqliteLabels
from handoff.storage.messages import SqliteMessages
from handoff.storage.outages import SqliteOutages
from handoff.storage.ratings import SqliteRatings
from handoff.storage.subscribers import SqliteSubscribers
from handoff.storage.tickets import SqliteTickets
from handoff.storage.views import SqliteReports
from handoff.storage.workspaces import SqliteWorkspaces
from handoff.subscribers import Subscriber, SubscriberSummary
from handoff.tickets import Ban, Event, QueueEntry, Ticket, TicketClosed, TicketMessage


class Store:
    """The bot's database; open with ``await Store.open(path)``, close with ``await close()``."""

    def __init__(self, database: Database) -> None:
        self.database = database
        # typed as the interfaces (storage.protocols): the bot needs nothing SQLite-specific
        subscribers = SqliteSubscribers(database)
        interactions = SqliteInteractions(database)
        tickets = SqliteTickets(database, subscribers, interactions)
        self.subscribers: protocols.Subscribers = subscribers
        self.interactions: protocols.Interactions = interactions
        self.tickets: protocols.Tickets = tickets
        self.relayed: protocols.RelayedMessages = SqliteMessages(database, tickets)
        self.desks: protocols.Desks = SqliteDesks(database, tickets)
        self.outage_reports: protocols.Outages = SqliteOutages(database)
        self.reports: protocols.Reports = SqliteReports(database, subscribers, tickets)
        self.agents: protocols.Agents = SqliteAgents(database)  # shifts and assignment
        self.labels: protocols.Labels = SqliteLabels(database)  # priority, labels, nudges
        self.ratings: protocols.Ratings = SqliteRatings(database)
        self.workspaces = SqliteWorkspaces(database)  # tickets in agents' private chats
        self.digests = SqliteDigests(database)  # the daily digests posted, once a day

    @classmethod
    async def open(cls, path: str | Path, clock: Callable[[], float] = time.time) -> Store:
        return cls(await open_database(path, clock))

    async def close(self) -> None:
        await self.database.close()

    async def ping(self) -> None:
        """One cheap round trip: raises what an unreachable database raises."""
        await self.database.fetchone("SELECT 1")

    @property
    def db(self) -> Any:
        """The SQLite connection itself (tests fill or lock it to simulate a sick disk)."""
        return self.database.conn  # type: ignore[attr-defined]

    @property
    def clock(self) -> Callable[[], float]:
        return self.database.clock

    async def schema_version(self) -> int:
        return await self.database.schema_version()

    async def ban(
        self, user_id: int, by: int | None, reason: str = "", now: float | None = None
    ) -> Ticket | None:
        """Ban a subscriber (again: refreshes who and why); closes their open ticket as
        "banned" and returns it, so the desk can do the rest of the close."""
        now = self.database.now(now)
        await self.subscribers.ban(user_id, by, reason, now)
        ticket = await self.tickets.open_ticket_of(user_id)
        if ticket is None:
            return None
        try:
            return await self.tickets.close_ticket(
                ticket.id, by, now=now, reason="banned", force=True
            )
        except TicketClosed:
            return None  # closed meanwhile: nothing left to close

    async def touch_subscriber(
        self,
        user_id: int,
        chat_id: int,
        first_name: str,
        username: str | None,
        language_code: str | None,
    ) -> Subscriber:
        return await self.subscribers.touch_subscriber(
            user_id, chat_id, first_name, username, language_code
        )

    async def subscriber(self, user_id: int) -> Subscriber | None:
        return await self.subscribers.subscriber(user_id)

    async def set_language(self, user_id: int, lang: str) -> None:
        return await self.subscribers.set_language(user_id, lang)

    async def mark_blocked(self, chat_id: int) -> None:
        return await self.subscribers.mark_blocked(chat_id)

    async def unban(self, user_id: int) -> bool:
        return await self.subscribers.unban(user_id)

    async def is_banned(self, user_id: int) -> bool:
        return await self.subscribers.is_banned(user_id)

    async def ban_of(self, user_id: int) -> Ban | None:
        return await self.subscribers.ban_of(user_id)

    async def log_interaction(
        self,
        user_id: int,
        text: str,
        normalized: str,
        kind: str,
        topic: str | None,
        candidates: list[str],
        score: float,
        lang: str | None,
        latency_ms: float,
        intent: str | None = None,
        update_id: int | None = None,
    ) -> int:
        return await self.interactions.log_interaction(
            user_id,
            text,
            normalized,
            kind,
            topic,
            candidates,
            score,
            lang,
            latency_ms,
            intent,
            update_id,
        )

    async def recent_interactions(self, user_id: int, limit: int = 5) -> list[dict]:
        return await self.interactions.recent_interactions(user_id, limit)

    async def add_feedback(
        self,
        user_id: int,
        topic: str,
        helpful: bool,
        message_id: int | None = None,
        question: int | None = None,
    ) -> None:
        return await self.interactions.add_feedback(user_id, topic, helpful, message_id, question)

    async def asked(self, user_id: int, interaction: int) -> str | None:
        return await self.interactions.asked(user_id, interaction)

    async def chose(self, user_id: int, interaction: int, topic: str) -> bool:
        return await self.interactions.chose(user_id, interaction, topic)

    async def set_latency(self, interaction: int, latency_ms: float) -> None:
        return await self.interactions.set_latency(interaction, latency_ms)

    async def unanswered(self, since: float) -> list[dict]:
        return await self.interactions.unanswered(since)

    async def feedback_counts(self, topic: str) -> tuple[int, int]:
        return await self.interactions.feedback_counts(topic)

    async def conversation_start(
        self, user_id: int, now: float, gap: float, after: float | None
    ) -> float | None:
        return await self.interactions.conversation_start(user_id, now, gap, after)

    async def request_handoff(self, user_id: int, reason: str, question: str = "") -> int:
        return await self.tickets.request_handoff(user_id, reason, question)

    async def waiting_handoffs(self) -> list[dict]:
        return await self.tickets.waiting_handoffs()

    async def queue_position(self, handoff_id: int) -> int:
        return await self.tickets.queue_position(handoff_id)

    async def open_ticket(
        self,
        user_id: int,
        reason: str,
        question: str = "",
        lang: str | None = None,
        now: float | None = None,
        *,
        reopen_window: float = 0.0,
        conversation_started_at: float | None = None,
        conversation_gap: float = 1800.0,
        origin_message_id: int | None = None,
    ) -> tuple[Ticket, bool]:
        return await self.tickets.open_ticket(
            user_id,
            reason,
            question,
            lang,
            now,
            reopen_window=reopen_window,
            conversation_started_at=conversation_started_at,
            conversation_gap=conversation_gap,
            origin_message_id=origin_message_id,
        )

    async def hand_off_step(
        self, ticket_id: int, step: str, now: float | None = None, *, undo: bool = False
    ) -> Ticket:
        return await self.tickets.hand_off_step(ticket_id, step, now, undo=undo)

    async def get_ticket(self, ticket_id: int) -> Ticket | None:
        return await self.tickets.get_ticket(ticket_id)

    async def open_ticket_of(self, user_id: int) -> Ticket | None:
        return await self.tickets.open_ticket_of(user_id)

    async def ticket_by_thread(
        self, thread_id: int, desks: tuple[str, ...] | None = None
    ) -> Ticket | None:
        return await self.tickets.ticket_by_thread(thread_id, desks)

    async def ticket_by_card(
        self, message_id: int, desks: tuple[str, ...] | None = None
    ) -> Ticket | None:
        return await self.tickets.ticket_by_card(message_id, desks)

    async def set_desk(self, ticket_id: int, desk: str) -> Ticket:
        return await self.desks.set_desk(ticket_id, desk)

    async def move_to_desk(
        self, ticket_id: int, desk: str, agent_id: int | None = None, now: float | None = None
    ) -> Ticket:
        return await self.desks.move_to_desk(ticket_id, desk, agent_id, now)

    async def tickets_since(self, since: float, until: float) -> list[Ticket]:
        return await self.desks.tickets_since(since, until)

    async def claimed_by(self, agent_id: int) -> list[Ticket]:
        return await self.tickets.claimed_by(agent_id)

    async def set_thread(
        self, ticket_id: int, thread_id: int | None, card_message_id: int | None = None
    ) -> Ticket:
        return await self.tickets.set_thread(ticket_id, thread_id, card_message_id)

    async def claim(
        self, ticket_id: int, agent_id: int, agent_name: str, now: float | None = None
    ) -> Ticket:
        return await self.tickets.claim(ticket_id, agent_id, agent_name, now)

    async def release(
        self, ticket_id: int, agent_id: int | None, now: float | None = None, *, force: bool = False
    ) -> Ticket:
        return await self.tickets.release(ticket_id, agent_id, now, force=force)

    async def transfer(
        self,
        ticket_id: int,
        agent_id: int | None,
        to_agent_id: int,
        to_agent_name: str,
        now: float | None = None,
        *,
        force: bool = False,
    ) -> Ticket:
        return await self.tickets.transfer(
            ticket_id, agent_id, to_agent_id, to_agent_name, now, force=force
        )

    async def take_over(
        self,
        ticket_id: int,
        agent_id: int,
        agent_name: str,
        now: float | None = None,
        *,
        supervisor: bool,
    ) -> Ticket:
        return await self.tickets.take_over(
            ticket_id, agent_id, agent_name, now, supervisor=supervisor
        )

    async def close_ticket(
        self,
        ticket_id: int,
        agent_id: int | None = None,
        agent_name: str | None = None,
        now: float | None = None,
        reason: str = "agent",
        *,
        force: bool = False,
    ) -> Ticket:
        return await self.tickets.close_ticket(
            ticket_id, agent_id, agent_name, now, reason, force=force
        )

    async def reopen(
        self,
        ticket_id: int,
        agent_id: int | None = None,
        now: float | None = None,
        *,
        reopen_window: float = 0.0,
    ) -> Ticket:
        return await self.tickets.reopen(ticket_id, agent_id, now, reopen_window=reopen_window)

    async def set_csat(self, ticket_id: int, score: int, now: float | None = None) -> Ticket:
        return await self.tickets.set_csat(ticket_id, score, now)

    async def events(self, ticket_id: int) -> list[Event]:
        return await self.tickets.events(ticket_id)

    async def add_event(
        self,
        ticket_id: int | None,
        name: str,
        now: float | None = None,
        agent_id: int | None = None,
        detail: str | None = None,
    ) -> None:
        return await self.tickets.add_event(ticket_id, name, now, agent_id, detail)

    async def queue(
        self, now: float | None = None, desks: tuple[str, ...] | None = None
    ) -> list[QueueEntry]:
        """Waiting tickets (of ``desks``; None: all) in the order they are served
        (``handoff.labels``: by priority)."""
        return in_priority_order(await self.tickets.queue(now, desks))

    async def estimated_wait(
        self, now: float | None = None, last_n: int = 20, horizon: float = 7 * 86400.0
    ) -> float | None:
        return await self.tickets.estimated_wait(now, last_n, horizon)

    async def last_ticket(self, user_id: int) -> Ticket | None:
        return await self.tickets.last_ticket(user_id)

    async def record_message(
        self,
        ticket_id: int,
        direction: str,
        user_chat_message_id: int | None = None,
        group_message_id: int | None = None,
        thread_id: int | None = None,
        kind: str = "text",
        now: float | None = None,
        agent_chat_id: int | None = None,
    ) -> TicketMessage:
        return await self.relayed.record_message(
            ticket_id,
            direction,
            user_chat_message_id,
            group_message_id,
            thread_id,
            kind,
            now,
            agent_chat_id,
        )

    async def find_message(
        self,
        *,
        group_message_id: int | None = None,
        user_id: int | None = None,
        user_chat_message_id: int | None = None,
        desks: tuple[str, ...] | None = None,
        agent_chat_id: int | None = None,
    ) -> TicketMessage | None:
        return await self.relayed.find_message(
            group_message_id=group_message_id,
            user_id=user_id,
            user_chat_message_id=user_chat_message_id,
            desks=desks,
            agent_chat_id=agent_chat_id,
        )

    async def messages(self, ticket_id: int) -> list[TicketMessage]:
        return await self.relayed.messages(ticket_id)

    async def add_outage(
        self,
        user_id: int,
        district: str | None,
        description: str = "",
        latitude: float | None = None,
        longitude: float | None = None,
    ) -> int:
        return await self.outage_reports.add_outage(
            user_id, district, description, latitude, longitude
        )

    async def outage_cluster(self, district: str, since: float) -> list[dict]:
        return await self.outage_reports.outage_cluster(district, since)

    async def unnotified_outages(self, before: float) -> list[dict]:
        return await self.outage_reports.unnotified_outages(before)

    async def mark_outages_notified(self, ids: list[int]) -> None:
        return await self.outage_reports.mark_outages_notified(ids)

    async def outages(self, since: float, until: float | None = None) -> list[dict]:
        return await self.outage_reports.outages(since, until)

    async def ticket_metrics(self, since: float, until: float | None = None) -> list[dict]:
        return await self.reports.ticket_metrics(since, until)

    async def subscriber_summary(self, user_id: int, questions: int = 5) -> SubscriberSummary:
        return await self.reports.subscriber_summary(user_id, questions)
