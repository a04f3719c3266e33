"""Tickets with their events and relayed messages (SQLite): every desk transition is a rule of
``handoff.tickets`` applied as a compare-and-set on the ticket's row."""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Callable
from typing import Any

from handoff import tickets as rules
from handoff.storage.database import Database, IntegrityError, Repository, Row
from handoff.storage.interactions import SqliteInteractions
from handoff.storage.subscribers import SqliteSubscribers
from handoff.tickets import (
    REASONS,
    Banned,
    Busy,
    Event,
    NotClosed,
    OpenTicketExists,
    QueueEntry,
    ReopenExpired,
    Ticket,
    TicketNotFound,
)


class SqliteTickets(Repository):
    """The ``tickets``, ``events`` and ``ticket_messages`` tables."""

    def __init__(
        self, database: Database, subscribers: SqliteSubscribers, interactions: SqliteInteractions
    ) -> None:
        super().__init__(database)
        self.subscribers = subscribers
        self.interactions = interactions

    async def request_handoff(self, user_id: int, reason: str, question: str = "") -> int:
        """Record that a subscriber needs a human; one open ticket per subscriber, whose id
        this returns."""
        ticket, _ = await self.open_ticket(user_id, reason, question)
        return ticket.id

    async def waiting_handoffs(self) -> list[dict]:
        return [
            {
                "id": e.ticket.id,
                "user_id": e.ticket.user_id,
                "reason": e.ticket.reason,
                "question": e.ticket.question,
                "created_at": e.ticket.created_at,
            }
            for e in await self.queue()
        ]

    async def queue_position(self, handoff_id: int) -> int:
        """1-based place of a waiting ticket in the queue (oldest first); 0 when not waiting."""
        row = await self.db.fetchone(
            "SELECT COUNT(*) FROM tickets w JOIN tickets t ON t.id = ? "
            "WHERE t.status = 'waiting' AND w.status = 'waiting' "
            "AND (w.queued_at < t.queued_at OR (w.queued_at = t.queued_at AND w.id <= t.id))",
            (handoff_id,),
        )
        return int(row[0]) if row else 0

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
        """The subscriber's open ticket, creating one if needed (``origin_message_id``: the
        subscriber's message that asked, kept with a new ticket).

        ``created`` is True when the desk must be told: a new ticket (``thread_id`` is None:
        make a topic) or the last one reopened because it was closed less than
        ``reopen_window`` seconds ago (its topic exists: reopen it). False: it was already open.
        Raises ``Banned`` for a banned subscriber.
        ``conversation_started_at`` defaults to the first of the subscriber's interactions
        with the bot that are at most ``conversation_gap`` seconds apart, counting back.
        """
        if reason not in REASONS:
            raise ValueError(
                f"unknown hand-off reason {reason!r}; expected one of {sorted(REASONS)}"
            )
        now = self._now(now)
        if await self.subscribers.is_banned(user_id):
            raise Banned(user_id)
        if lang is None:
            sub = await self.subscribers.subscriber(user_id)
            lang = sub.lang if sub else None
        for _ in range(_RETRIES):
            async with self._writing():
                existing = await self.open_ticket_of(user_id)
                if existing is not None:
                    return existing, False
                last = await self.last_ticket(user_id)
                if last is None or not rules.reopenable(last, now, reopen_window):
                    started = conversation_started_at
                    if started is None:
                        started = await self.interactions.conversation_start(
                            user_id, now, conversation_gap, after=last.closed_at if last else None
                        )
                    ticket_id = await self._insert(
                        user_id, reason, question, lang, now, started, origin_message_id
                    )
                    if ticket_id is None:
                        continue  # another process opened one first: look again
                    return await self._get(ticket_id), True
            # Outside the lock: reopen takes it itself.
            try:
                return await self.reopen(last.id, now=now, reopen_window=reopen_window), True
            except (OpenTicketExists, NotClosed, ReopenExpired):
                continue  # it changed meanwhile: look again
        raise Busy(None)

    async def _insert(
        self,
        user_id: int,
        reason: str,
        question: str,
        lang: str | None,
        now: float,
        started: float | None,
        origin_message_id: int | None = None,
    ) -> int | None:
        """A new waiting ticket and its "opened" event, inside the caller's write section;
        None when the one-open-ticket index says another process was first."""
        try:
            ticket_id = await self.db.insert(
                "INSERT INTO tickets (user_id, status, reason, question, lang,"
                " created_at, queued_at, conversation_started_at, origin_message_id)"
                " VALUES (?, 'waiting', ?, ?, ?, ?, ?, ?, ?)",
                (user_id, reason, question, lang, now, now, started, origin_message_id),
            )
        except IntegrityError:
            return None  # rolled back
        await self._add_event(ticket_id, "opened", now, detail=reason)
        return ticket_id

    async def get_ticket(self, ticket_id: int) -> Ticket | None:
        return await self._one_ticket("id = ?", (ticket_id,))

    async def open_ticket_of(self, user_id: int) -> Ticket | None:
        return await self._one_ticket(
            "user_id = ? AND status IN ('waiting', 'claimed')", (user_id,)
        )

    async def ticket_by_thread(
        self, thread_id: int, desks: tuple[str, ...] | None = None
    ) -> Ticket | None:
        """The latest ticket shown in a forum topic (of a desk named one of ``desks``: a
        topic's id is only unique in its group)."""
        where, params = desk_filter(desks)
        return await self._one_ticket(f"thread_id = ?{where}", (thread_id, *params))

    async def ticket_by_card(
        self, message_id: int, desks: tuple[str, ...] | None = None
    ) -> Ticket | None:
        """The ticket whose card (the message with the Claim button) this is."""
        where, params = desk_filter(desks)
        return await self._one_ticket(f"card_message_id = ?{where}", (message_id, *params))

    async def claimed_by(self, agent_id: int) -> list[Ticket]:
        """An agent's claimed tickets, oldest first."""
        rows = await self.db.fetchall(
            f"SELECT {_TICKET_COLUMNS} FROM tickets WHERE agent_id = ? AND status = 'claimed' "
            "ORDER BY id",
            (agent_id,),
        )
        return [_ticket(r) for r in rows]

    async def set_thread(
        self, ticket_id: int, thread_id: int | None, card_message_id: int | None = None
    ) -> Ticket:
        """Remember the ticket's forum topic and card; None keeps what is stored."""
        async with self._writing():
            changed = await self.db.execute(
                "UPDATE tickets SET thread_id = COALESCE(?, thread_id),"
                " card_message_id = COALESCE(?, card_message_id) WHERE id = ?",
                (thread_id, card_message_id, ticket_id),
            )
            if changed == 0:
                raise TicketNotFound(ticket_id)
        return await self._get(ticket_id)

    async def hand_off_step(
        self, ticket_id: int, step: str, now: float | None = None, *, undo: bool = False
    ) -> Ticket:
        """Record a step of the ticket's hand-off done now (``undo``: not done after all):
        "topic_requested" (before the topic is asked of Telegram), "told" or
        "unavailable_told" (the subscriber was told)."""
        column = _STEPS[step]  # a fixed name, never the caller's text
        value = None if undo else self._now(now)
        async with self._writing():
            changed = await self.db.execute(
                f"UPDATE tickets SET {column} = ? WHERE id = ?", (value, ticket_id)
            )
            if changed == 0:
                raise TicketNotFound(ticket_id)
        return await self._get(ticket_id)

    async def claim(
        self, ticket_id: int, agent_id: int, agent_name: str, now: float | None = None
    ) -> Ticket:
        """waiting → claimed; of agents racing for one ticket exactly one wins, the others get
        ``AlreadyClaimed``."""
        return await self._transition(
            ticket_id,
            lambda t, now: rules.claim(t, agent_id, agent_name, now),
            "claimed",
            now,
            agent_id,
        )

    async def release(
        self, ticket_id: int, agent_id: int | None, now: float | None = None, *, force: bool = False
    ) -> Ticket:
        """claimed → waiting, keeping its place in the queue."""
        return await self._transition(
            ticket_id,
            lambda t, _: rules.release(t, agent_id, force=force),
            "released",
            now,
            agent_id,
        )

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
        """claimed by ``agent_id`` → claimed by ``to_agent_id``."""
        return await self._transition(
            ticket_id,
            lambda t, _: rules.transfer(t, agent_id, to_agent_id, to_agent_name, force=force),
            "transferred",
            now,
            agent_id,
            detail=str(to_agent_id),
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
        """A supervisor takes an open ticket (``NotSupervisor`` for anyone else's claimed one);
        the event's detail is the agent it was taken from."""
        before = await self._get(ticket_id)
        return await self._transition(
            ticket_id,
            lambda t, now: rules.take_over(t, agent_id, agent_name, now, supervisor=supervisor),
            "taken_over",
            now,
            agent_id,
            detail=str(before.agent_id) if before.agent_id is not None else None,
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
        """waiting|claimed → closed; pass no agent for system closes ("blocked", "timeout").

        Not ``close``: that name closes the database."""
        return await self._transition(
            ticket_id,
            lambda t, now: rules.close(t, now, reason, agent_id, agent_name, force=force),
            "closed",
            now,
            agent_id,
            detail=reason,
        )

    async def reopen(
        self,
        ticket_id: int,
        agent_id: int | None = None,
        now: float | None = None,
        *,
        reopen_window: float = 0.0,
    ) -> Ticket:
        """closed → waiting: by an agent (``agent_id`` given) at any time, otherwise within
        ``reopen_window`` seconds of the close. Not while the subscriber has another open
        ticket (``OpenTicketExists``) or is banned."""
        ticket = await self._get(ticket_id)
        if await self.subscribers.is_banned(ticket.user_id):
            raise Banned(ticket.user_id)
        other = await self.open_ticket_of(ticket.user_id)
        if other is not None and other.id != ticket_id:
            raise OpenTicketExists(other.id)
        return await self._transition(
            ticket_id,
            lambda t, now: rules.reopen(t, now, reopen_window, by_agent=agent_id is not None),
            "reopened",
            now,
            agent_id,
        )

    async def set_csat(self, ticket_id: int, score: int, now: float | None = None) -> Ticket:
        """The subscriber's 1..5 rating of a closed ticket (``InvalidScore``, ``NotClosed``)."""
        return await self._transition(
            ticket_id, lambda t, _: rules.rate(t, score), "csat", now, None, detail=str(score)
        )

    async def events(self, ticket_id: int) -> list[Event]:
        """A ticket's steps, oldest first."""
        rows = await self.db.fetchall(
            "SELECT ticket_id, name, ts, agent_id, detail FROM events WHERE ticket_id = ? "
            "ORDER BY id",
            (ticket_id,),
        )
        return [Event(**dict(r)) for r in rows]

    async def add_event(
        self,
        ticket_id: int | None,
        name: str,
        now: float | None = None,
        agent_id: int | None = None,
        detail: str | None = None,
    ) -> None:
        """Record a step the desk doesn't see itself (e.g. "csat_asked", "topic_created")."""
        async with self._writing():
            await self._add_event(ticket_id, name, self._now(now), agent_id, detail)

    async def queue(
        self, now: float | None = None, desks: tuple[str, ...] | None = None
    ) -> list[QueueEntry]:
        """Waiting tickets (of the desks named ``desks``; None: all), longest waiting first,
        with their wait in seconds."""
        now = self._now(now)
        where, params = desk_filter(desks)
        rows = await self.db.fetchall(
            f"SELECT {_TICKET_COLUMNS} FROM tickets WHERE status = 'waiting'{where}"
            " ORDER BY queued_at, id",
            params,
        )
        entries = []
        for position, row in enumerate(rows, start=1):
            ticket = _ticket(row)
            queued = ticket.queued_at if ticket.queued_at is not None else ticket.created_at
            entries.append(QueueEntry(position, ticket, max(0.0, now - queued)))
        return entries

    async def estimated_wait(
        self, now: float | None = None, last_n: int = 20, horizon: float = 7 * 86400.0
    ) -> float | None:
        """Median first-response time of the last ``last_n`` answered tickets whose first
        response came within ``horizon`` seconds; None without such tickets."""
        now = self._now(now)
        rows = await self.db.fetchall(
            "SELECT first_response_at - created_at FROM tickets "
            "WHERE first_response_at IS NOT NULL AND first_response_at >= ? "
            "ORDER BY first_response_at DESC LIMIT ?",
            (now - horizon, last_n),
        )
        return float(statistics.median(r[0] for r in rows)) if rows else None

    async def last_ticket(self, user_id: int) -> Ticket | None:
        """The subscriber's most recent ticket, whatever its state."""
        return await self._one_ticket("user_id = ?", (user_id,))

    async def _one_ticket(self, where: str, params: tuple[Any, ...]) -> Ticket | None:
        row = await self.db.fetchone(
            f"SELECT {_TICKET_COLUMNS} FROM tickets WHERE {where} ORDER BY id DESC LIMIT 1",
            params,
        )
        return None if row is None else _ticket(row)

    async def _get(self, ticket_id: int) -> Ticket:
        ticket = await self.get_ticket(ticket_id)
        if ticket is None:
            raise TicketNotFound(ticket_id)
        return ticket

    async def _add_event(
        self,
        ticket_id: int | None,
        name: str,
        now: float,
        agent_id: int | None = None,
        detail: str | None = None,
    ) -> None:
        await self.db.execute(
            "INSERT INTO events (ticket_id, name, ts, agent_id, detail) VALUES (?, ?, ?, ?, ?)",
            (ticket_id, name, now, agent_id, detail),
        )

    async def _transition(
        self,
        ticket_id: int,
        rule: Callable[[Ticket, float], Ticket],
        event: str,
        now: float | None,
        agent_id: int | None,
        detail: str | None = None,
    ) -> Ticket:
        """Apply a rule of ``handoff.tickets`` as a compare-and-set on the row's version.

        In one process the write lock already serializes writers; the version check is for
        another process on the same file: a writer that read a stale ticket updates nothing,
        reads again and lets the rule decide (usually raising, e.g. ``AlreadyClaimed``)."""
        now = self._now(now)
        for _ in range(_RETRIES):
            async with self._writing():
                row = await self.db.fetchone(
                    f"SELECT {_TICKET_COLUMNS}, version FROM tickets WHERE id = ?", (ticket_id,)
                )
                if row is None:
                    raise TicketNotFound(ticket_id)
                new = rule(_ticket(row), now)
                try:
                    changed = await self.db.execute(
                        "UPDATE tickets SET status = ?, claimed_at = ?, closed_at = ?,"
                        " agent_id = ?, agent_name = ?, close_reason = ?, csat = ?, reopened = ?,"
                        " queued_at = ?, version = version + 1 WHERE id = ? AND version = ?",
                        (
                            new.status,
                            new.claimed_at,
                            new.closed_at,
                            new.agent_id,
                            new.agent_name,
                            new.close_reason,
                            new.csat,
                            new.reopened,
                            new.queued_at,
                            ticket_id,
                            row["version"],
                        ),
                    )
                except IntegrityError:
                    # Only a reopen can hit the one-open-ticket index: another ticket is open.
                    other = await self.open_ticket_of(new.user_id)
                    raise OpenTicketExists(other.id if other else ticket_id) from None
                if changed == 1:
                    await self._add_event(ticket_id, event, now, agent_id, detail)
                    return await self._get(ticket_id)
                # Even an UPDATE of no row holds the write lock: let the other process go on.
                await self.db.rollback()
        raise Busy(ticket_id)


_STEPS = {
    "topic_requested": "topic_requested_at",
    "told": "told_at",
    "unavailable_told": "unavailable_told_at",
}

# Only a writer starved by a stream of concurrent changes to one ticket runs out of tries.
_RETRIES = 8

_TICKET_FIELDS = tuple(f.name for f in dataclasses.fields(Ticket))
_TICKET_COLUMNS = ", ".join(_TICKET_FIELDS)


def desk_filter(desks: tuple[str, ...] | None, column: str = "desk") -> tuple[str, tuple]:
    """An ``AND`` clause keeping the tickets on one of ``desks`` (NULL counts as ""); None:
    no clause."""
    if desks is None:
        return "", ()
    marks = ", ".join("?" for _ in desks) or "NULL"
    return f" AND COALESCE({column}, '') IN ({marks})", tuple(desks)


def _ticket(row: Row) -> Ticket:
    return Ticket(**{name: row[name] for name in _TICKET_FIELDS})
