"""The repositories' interfaces: what the bot needs from storage, one Protocol per aggregate (and
the read model). ``storage/`` implements them on SQLite; a second backend (PostgreSQL) implements
the same Protocols and passes the same tests."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from handoff.assign import OnShift
from handoff.reports import ReportRows
from handoff.subscribers import Subscriber, SubscriberSummary
from handoff.tickets import Ban, Event, QueueEntry, Ticket, TicketMessage


class Subscribers(Protocol):
    """Subscribers and bans."""

    async def touch_subscriber(
        self,
        user_id: int,
        chat_id: int,
        first_name: str,
        username: str | None,
        language_code: str | None,
    ) -> Subscriber: ...

    async def subscriber(self, user_id: int) -> Subscriber | None: ...

    async def set_language(self, user_id: int, lang: str) -> None: ...

    async def mark_blocked(self, chat_id: int) -> None: ...

    async def unban(self, user_id: int) -> bool: ...

    async def is_banned(self, user_id: int) -> bool: ...

    async def ban_of(self, user_id: int) -> Ban | None: ...

    async def ban(
        self, user_id: int, by: int | None, reason: str = "", now: float | None = None
    ) -> None: ...


class Interactions(Protocol):
    """What the bot decided, and the 👍/👎 its answers got."""

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
    ) -> int: ...

    async def recent_interactions(self, user_id: int, limit: int = 5) -> list[dict]: ...

    async def add_feedback(
        self,
        user_id: int,
        topic: str,
        helpful: bool,
        message_id: int | None = None,
        question: int | None = None,
    ) -> None: ...

    async def asked(self, user_id: int, interaction: int) -> str | None: ...

    async def chose(self, user_id: int, interaction: int, topic: str) -> bool: ...

    async def set_latency(self, interaction: int, latency_ms: float) -> None: ...

    async def unanswered(self, since: float) -> list[dict]: ...

    async def feedback_counts(self, topic: str) -> tuple[int, int]: ...

    async def conversation_start(
        self, user_id: int, now: float, gap: float, after: float | None
    ) -> float | None: ...


class Tickets(Protocol):
    """Tickets and their events: every desk transition, the queue."""

    async def request_handoff(self, user_id: int, reason: str, question: str = "") -> int: ...

    async def waiting_handoffs(self) -> list[dict]: ...

    async def queue_position(self, handoff_id: int) -> int: ...

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
    ) -> tuple[Ticket, bool]: ...

    async def hand_off_step(
        self, ticket_id: int, step: str, now: float | None = None, *, undo: bool = False
    ) -> Ticket: ...

    async def get_ticket(self, ticket_id: int) -> Ticket | None: ...

    async def open_ticket_of(self, user_id: int) -> Ticket | None: ...

    async def ticket_by_thread(
        self, thread_id: int, desks: tuple[str, ...] | None = None
    ) -> Ticket | None: ...

    async def ticket_by_card(
        self, message_id: int, desks: tuple[str, ...] | None = None
    ) -> Ticket | None: ...

    async def claimed_by(self, agent_id: int) -> list[Ticket]: ...

    async def set_thread(
        self, ticket_id: int, thread_id: int | None, card_message_id: int | None = None
    ) -> Ticket: ...

    async def claim(
        self, ticket_id: int, agent_id: int, agent_name: str, now: float | None = None
    ) -> Ticket: ...

    async def release(
        self, ticket_id: int, agent_id: int | None, now: float | None = None, *, force: bool = False
    ) -> Ticket: ...

    async def transfer(
        self,
        ticket_id: int,
        agent_id: int | None,
        to_agent_id: int,
        to_agent_name: str,
        now: float | None = None,
        *,
        force: bool = False,
    ) -> Ticket: ...

    async def take_over(
        self,
        ticket_id: int,
        agent_id: int,
        agent_name: str,
        now: float | None = None,
        *,
        supervisor: bool,
    ) -> Ticket: ...

    async def close_ticket(
        self,
        ticket_id: int,
        agent_id: int | None = None,
        agent_name: str | None = None,
        now: float | None = None,
        reason: str = "agent",
        *,
        force: bool = False,
    ) -> Ticket: ...

    async def reopen(
        self,
        ticket_id: int,
        agent_id: int | None = None,
        now: float | None = None,
        *,
        reopen_window: float = 0.0,
    ) -> Ticket: ...

    async def set_csat(self, ticket_id: int, score: int, now: float | None = None) -> Ticket: ...

    async def events(self, ticket_id: int) -> list[Event]: ...

    async def add_event(
        self,
        ticket_id: int | None,
        name: str,
        now: float | None = None,
        agent_id: int | None = None,
        detail: str | None = None,
    ) -> None: ...

    async def queue(
        self, now: float | None = None, desks: tuple[str, ...] | None = None
    ) -> list[QueueEntry]: ...

    async def estimated_wait(
        self, now: float | None = None, last_n: int = 20, horizon: float = 7 * 86400.0
    ) -> float | None: ...

    async def last_ticket(self, user_id: int) -> Ticket | None: ...


class Desks(Protocol):
    """The desk each ticket is on."""

    async def set_desk(self, ticket_id: int, desk: str) -> Ticket: ...

    async def move_to_desk(
        self, ticket_id: int, desk: str, agent_id: int | None = None, now: float | None = None
    ) -> Ticket: ...

    async def tickets_since(self, since: float, until: float) -> list[Ticket]: ...


class RelayedMessages(Protocol):
    """A ticket's relayed messages, both ways."""

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
    ) -> TicketMessage: ...

    async def find_message(
        self,
        *,
        group_message_id: int | None = None,
        user_id: int | None = None,
        user_chat_message_id: int | None = None,
        desks: tuple[str, ...] | None = None,
        agent_chat_id: int | None = None,
    ) -> TicketMessage | None: ...

    async def messages(self, ticket_id: int) -> list[TicketMessage]: ...


class Outages(Protocol):
    """Outage reports."""

    async def add_outage(
        self,
        user_id: int,
        district: str | None,
        description: str = "",
        latitude: float | None = None,
        longitude: float | None = None,
    ) -> int: ...

    async def outage_cluster(self, district: str, since: float) -> list[dict]: ...

    async def unnotified_outages(self, before: float) -> list[dict]: ...

    async def mark_outages_notified(self, ids: list[int]) -> None: ...

    async def outages(self, since: float, until: float | None = None) -> list[dict]: ...


class Labels(Protocol):
    """A ticket's priority and labels, its one SLA nudge."""

    async def set_priority(
        self, ticket_id: int, priority: str, agent_id: int | None, now: float | None = None
    ) -> bool: ...

    async def labels(self, ticket_id: int) -> list[str]: ...

    async def set_labels(
        self, ticket_id: int, labels: Sequence[str], agent_id: int | None, now: float | None = None
    ) -> tuple[list[str], list[str]]: ...

    async def labels_of_tickets(self, since: float, until: float) -> dict[int, list[str]]: ...

    async def unanswered(self) -> list[int]: ...

    async def mark_nudged(self, ticket_id: int, now: float | None = None) -> bool: ...

    async def unmark_nudged(self, ticket_id: int) -> None: ...

    async def nudged_at(self, ticket_id: int) -> float | None: ...


class Ratings(Protocol):
    """A low rating's follow-up: the lead's one alert, the subscriber's comment."""

    async def mark_low_rating_alerted(self, ticket_id: int, now: float | None = None) -> bool: ...

    async def add_csat_comment(
        self, ticket_id: int, text: str, now: float | None = None
    ) -> bool: ...


class Reports(Protocol):
    """The read model for reports and /whois."""

    async def ticket_metrics(self, since: float, until: float | None = None) -> list[dict]: ...

    async def subscriber_summary(self, user_id: int, questions: int = 5) -> SubscriberSummary: ...

    async def report_rows(self, since: float, until: float) -> ReportRows: ...

    async def tickets_alive(self, since: float, until: float) -> list[dict]: ...

    async def past_tickets(
        self, user_id: int, but: int | None = None, limit: int = 5
    ) -> list[dict]: ...

    async def outage_reports_of(self, user_id: int, limit: int = 3) -> list[dict]: ...

    async def latest_decisions(self, after_id: int = 0, limit: int = 30) -> list[dict]: ...


class Agents(Protocol):
    """Who is on shift and whom assignment gave a ticket last."""

    async def set_shift(
        self, agent_id: int, name: str, on: bool, now: float | None = None
    ) -> bool: ...

    async def on_shift(self) -> list[OnShift]: ...

    async def assigned(
        self, ticket_id: int, agent_id: int, policy: str, now: float | None = None
    ) -> None: ...

    async def open_of(self, agent_id: int) -> list[tuple[Ticket, float | None]]: ...

    async def shift_rows(self, since: float, until: float) -> tuple[list[dict], list[dict]]: ...

    async def names(self) -> dict[int, str]: ...
