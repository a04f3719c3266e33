"""``/transfer <desk>``: a ticket moved to another desk. It keeps its id; a new topic in the
other desk's group gets the card and the history so far (the ticket's messages as the
database knows them, forwarded so each shows who wrote it: the subscriber's from their chat,
the agents' and their notes from the old topic), the old topic a pointer to the new one, and
is closed. From then on the relay goes to the new desk; a claimed ticket is waiting again,
for the new desk's agents (so only its agent or a supervisor may send it on)."""

from __future__ import annotations

import html
import logging
from typing import TYPE_CHECKING

from aiogram.exceptions import TelegramBadRequest

from bot.config import DeskConfig
from bot.desk import assign
from bot.report.format import topic_link
from bot.texts import t
from handoff.tickets import Ticket, TicketClosed, TicketMessage

if TYPE_CHECKING:
    from bot.desk.lookups import Agent
    from bot.desk.service import Desk

log = logging.getLogger(__name__)

HISTORY = 50  # messages carried at most (each a send in the new group's budget); older: a link


class SameDesk(Exception):
    """The ticket is on that desk already."""


async def to_desk(desk: Desk, ticket: Ticket, agent: Agent, target: DeskConfig) -> Ticket:
    """Move an open ticket to the ``target`` desk (raises ``TicketClosed``, ``SameDesk``, or
    the release's ``NotYourTicket`` for someone else's claimed ticket)."""
    async with desk.relay.in_order(ticket.id, "in"):  # the subscriber's next message after
        ticket = await desk.store.get_ticket(ticket.id) or ticket
        if not ticket.is_open:
            raise TicketClosed(ticket.id)
        old = desk.desks.of(ticket)
        if old is target:
            raise SameDesk(target.name)
        if ticket.status == "claimed":
            ticket = await desk.store.release(ticket.id, agent.id, force=agent.supervisor)
            # its agent's workspace is told and left: the ticket is the new desk's now
            await desk._left(ticket, t(desk.lang, "agent_workspace_left", ticket=ticket.id))
        history = await desk.store.messages(ticket.id)
        moved = await desk.store.move_to_desk(ticket.id, target.name, agent.id)
        moved = await desk.topics.complete(moved)
        name = html.escape(agent.name)
        here = t(desk.lang, "desk_moved_here", ticket=ticket.id, desk=_label(old), agent=name)
        await desk.topics.notify(moved, here)
        await _carry(desk, moved, history, old.group_id if old else None, ticket.thread_id)
        if old is not None and ticket.thread_id is not None:
            await _leave(desk, ticket, old.group_id, moved, target)
    return await assign.offer(desk, moved)


def _label(desk: DeskConfig | None) -> str:
    return html.escape(desk.name if desk is not None and desk.name else "—")


async def _carry(
    desk: Desk,
    ticket: Ticket,
    history: list[TicketMessage],
    old_group: int | None,
    old_thread: int | None,
) -> None:
    """The history forwarded into the new topic, oldest first (the last ``HISTORY``; the
    older ones are named with a link to the old topic)."""
    group = desk.desks.group_of(ticket)
    if len(history) > HISTORY:
        link = topic_link(old_group, old_thread) or ""
        earlier = t(desk.lang, "desk_history_earlier", count=len(history) - HISTORY, link=link)
        await desk.topics.notify(ticket, earlier)
        history = history[-HISTORY:]
    for item in history:
        source = _source(item, ticket.user_id, old_group)
        if source is None or group is None:
            continue
        try:
            await desk.bot.forward_message(
                group, source[0], source[1], message_thread_id=ticket.thread_id
            )
        except TelegramBadRequest as exc:  # deleted meanwhile: the rest still goes
            log.info("ticket #%s: message %s not carried: %s", ticket.id, item.id, exc.message)


def _source(item: TicketMessage, user_id: int, old_group: int | None) -> tuple[int, int] | None:
    """Where a recorded message is forwarded from: the subscriber's own message and a KB
    answer from the subscriber's chat, an agent's message and a note from the old group (or
    from the agent's workspace, where they wrote it)."""
    if item.direction == "in" or item.kind == "kb":
        mid = item.user_chat_message_id
        return (user_id, mid) if mid is not None else None
    chat = item.agent_chat_id if item.agent_chat_id is not None else old_group
    if chat is None or item.group_message_id is None:
        return None
    return chat, item.group_message_id


async def _leave(
    desk: Desk, ticket: Ticket, old_group: int, moved: Ticket, target: DeskConfig
) -> None:
    """The old topic: a pointer to the new one, then closed (a closed topic takes no more)."""
    link = topic_link(desk.desks.group_of(moved), moved.thread_id) or ""
    text = t(desk.lang, "desk_moved_away", ticket=ticket.id, desk=_label(target), link=link)
    try:
        await desk.bot.send_message(old_group, text, message_thread_id=ticket.thread_id)
        await desk.bot.close_forum_topic(old_group, ticket.thread_id)
    except TelegramBadRequest as exc:  # the old topic deleted: nothing to point from
        log.info("ticket #%s: old topic not closed: %s", ticket.id, exc.message)
