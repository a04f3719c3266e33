"""Relayed messages of a ticket (SQLite): each message's id in the subscriber's chat and its
copy in the agents' group, so replies and edits are mirrored and the counts kept."""

from __future__ import annotations

from typing import Any

from handoff.storage.database import Database, Repository
from handoff.storage.tickets import SqliteTickets, desk_filter
from handoff.tickets import DIRECTIONS, Ticket, TicketMessage


class SqliteMessages(Repository):
    """The ``ticket_messages`` table (part of the ticket aggregate: counts go on the ticket)."""

    def __init__(self, database: Database, tickets: SqliteTickets) -> None:
        super().__init__(database)
        self.tickets = tickets

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
        """Map a relayed message between the private chat and the group and count it: "in"
        from the subscriber, "out" from an agent (the first sets ``first_response_at``),
        "note" an agents-only remark (not counted). ``thread_id`` defaults to the ticket's;
        ``agent_chat_id``: the agents' side is that workspace, not the group."""
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {sorted(DIRECTIONS)}, got {direction!r}")
        now = self._now(now)
        ticket = await self.tickets._get(ticket_id)
        async with self._writing():
            message_id = await self.db.insert(
                "INSERT INTO ticket_messages (ticket_id, direction, user_chat_message_id,"
                " group_message_id, thread_id, kind, ts, agent_chat_id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    ticket_id,
                    direction,
                    user_chat_message_id,
                    group_message_id,
                    thread_id if thread_id is not None else ticket.thread_id,
                    kind,
                    now,
                    agent_chat_id,
                ),
            )
            await self._count(ticket, direction, now)
        return TicketMessage(
            message_id,
            ticket_id,
            direction,  # type: ignore[arg-type]
            user_chat_message_id,
            group_message_id,
            thread_id if thread_id is not None else ticket.thread_id,
            kind,
            now,
            agent_chat_id,
        )

    async def _count(self, ticket: Ticket, direction: str, now: float) -> None:
        """The ticket's message counts, and its first response (inside the write section)."""
        if direction == "in":
            await self.db.execute(
                "UPDATE tickets SET msgs_from_user = msgs_from_user + 1 WHERE id = ?",
                (ticket.id,),
            )
        elif direction == "out":
            await self.db.execute(
                "UPDATE tickets SET msgs_from_agent = msgs_from_agent + 1 WHERE id = ?",
                (ticket.id,),
            )
            # The WHERE makes "first" hold even when two replies are relayed at once.
            first = await self.db.execute(
                "UPDATE tickets SET first_response_at = ? "
                "WHERE id = ? AND first_response_at IS NULL",
                (now, ticket.id),
            )
            if first:
                await self.tickets._add_event(ticket.id, "first_response", now, ticket.agent_id)

    async def find_message(
        self,
        *,
        group_message_id: int | None = None,
        user_id: int | None = None,
        user_chat_message_id: int | None = None,
        desks: tuple[str, ...] | None = None,
        agent_chat_id: int | None = None,
    ) -> TicketMessage | None:
        """The relayed message by its id in the agents' group (of a ticket on one of
        ``desks``) or in the workspace ``agent_chat_id``, or by the subscriber and its id in
        their private chat (message ids are only unique per chat)."""
        columns = (
            "m.id, m.ticket_id, m.direction, m.user_chat_message_id, m.group_message_id,"
            " m.thread_id, m.kind, m.ts, m.agent_chat_id"
        )
        if group_message_id is not None and user_id is None and user_chat_message_id is None:
            where, marks = desk_filter(desks, "t.desk")
            side = "m.agent_chat_id IS NULL" if agent_chat_id is None else "m.agent_chat_id = ?"
            sql = (
                f"SELECT {columns} FROM ticket_messages m JOIN tickets t ON t.id = m.ticket_id"
                f" WHERE m.group_message_id = ? AND {side}{where} ORDER BY m.id DESC LIMIT 1"
            )
            chat = () if agent_chat_id is None else (agent_chat_id,)
            params: tuple[Any, ...] = (group_message_id, *chat, *marks)
        elif group_message_id is None and user_id is not None and user_chat_message_id is not None:
            sql = (
                f"SELECT {columns} FROM ticket_messages m JOIN tickets t ON t.id = m.ticket_id "
                "WHERE m.user_chat_message_id = ? AND t.user_id = ? ORDER BY m.id DESC LIMIT 1"
            )
            params = (user_chat_message_id, user_id)
        else:
            raise ValueError("pass group_message_id, or user_id and user_chat_message_id")
        row = await self.db.fetchone(sql, params)
        return None if row is None else TicketMessage(*row)

    async def messages(self, ticket_id: int) -> list[TicketMessage]:
        """A ticket's relayed messages, oldest first."""
        rows = await self.db.fetchall(
            "SELECT id, ticket_id, direction, user_chat_message_id, group_message_id, thread_id,"
            " kind, ts, agent_chat_id FROM ticket_messages WHERE ticket_id = ? ORDER BY id",
            (ticket_id,),
        )
        return [TicketMessage(*r) for r in rows]
