"""Agents' workspaces (issue 13, item 2; ``agents.workspaces``): a ticket its agent claims (or
is given) becomes a topic in that agent's private chat with the bot (Bot API 9.4 lets a bot
create topics there), with the card and the history so far; the subscriber's messages are
relayed there, at the private chat's budget (about one a second) instead of the group's 20 a
minute. The operators' group keeps the card and the status notices, for supervision. The
agent works there as in the group: writing answers, ``!``/``/note`` a note, ``/kb``, ``/close``.

An agent who never started the bot (or blocked it), or a bot without topic mode, gets the
ticket in the group as before, and the topic says why. A workspace topic the agent deleted is
made again with the history when the next message arrives.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.filters import Filter
from aiogram.types import CallbackQuery, Message

from bot.desk import views
from bot.desk.relay import input_media, message_kind, topic_gone
from bot.desk.service import Agent, Desk
from bot.texts import t
from handoff.storage.workspaces import Workspace
from handoff.tickets import Ticket

log = logging.getLogger(__name__)


def enabled(desk: Desk, ticket: Ticket | None = None) -> bool:
    """Whether the ticket's desk gives agents their tickets in their private chats (no
    ticket: whether any desk does)."""
    if ticket is None:
        return any(d.workspaces for d in desk.desks.all)
    on = desk.desks.of(ticket)
    return on is not None and on.workspaces


async def opened(desk: Desk, ticket: Ticket, agent: Agent) -> Workspace | None:
    """The ticket's topic in ``agent``'s private chat, made (with the card and the history)
    unless it is there already; None when the agent can't have one (the group keeps it)."""
    if not enabled(desk, ticket):
        return None
    current = await desk.store.workspaces.workspace_of(ticket.id)
    if current is not None and current.agent_id == agent.id:
        return current
    if current is not None:  # handed to another agent: the old workspace is told
        await _tell(desk, current, t(desk.lang, "agent_workspace_left", ticket=ticket.id))
    try:
        workspace = await _new_topic(desk, ticket, agent.id)
    except (TelegramForbiddenError, TelegramBadRequest) as exc:
        if isinstance(exc, TelegramBadRequest):  # "the chat is not a forum": no topic mode
            log.warning("no workspaces: the bot needs BotFather's Threaded Mode (%s)", exc.message)
        log.info("no workspace for agent %s (#%s): %s", agent.id, ticket.id, exc.message)
        await desk.store.workspaces.close_workspace(ticket.id)
        me = await desk.bot.me()
        text = t(
            desk.lang,
            "agent_workspace_unavailable",
            agent=html.escape(agent.name),
            bot=html.escape(me.username or ""),
            ticket=ticket.id,
        )
        await desk.topics.notify(ticket, text)
        return None
    return workspace


async def _new_topic(desk: Desk, ticket: Ticket, agent_id: int) -> Workspace:
    """A topic for the ticket in the agent's chat, recorded, then its card and history."""
    sub = await desk.store.subscriber(ticket.user_id)
    title = await desk.topics.title(ticket, sub)
    topic = await desk.bot.create_forum_topic(agent_id, title)
    workspace = await desk.store.workspaces.open_workspace(
        ticket.id, agent_id, topic.message_thread_id, agent_id
    )
    card = await desk.topics.card_text(ticket, sub)
    await desk.bot.send_message(agent_id, card, message_thread_id=workspace.thread_id)
    header = t(desk.lang, "agent_workspace_opened", ticket=ticket.id)
    await views.post_history(desk.topics, ticket, agent_id, workspace.thread_id, header)
    return workspace


async def closed(desk: Desk, ticket: Ticket, notice: str) -> None:
    """The ticket's agent left it (closed, released): its workspace topic is told and left (it
    stays in the agent's chat, with its history); claimed again, the ticket gets a new one."""
    workspace = await desk.store.workspaces.workspace_of(ticket.id)
    if workspace is not None:
        await desk.store.workspaces.close_workspace(ticket.id)
        await _tell(desk, workspace, notice)


async def _tell(desk: Desk, workspace: Workspace, text: str) -> None:
    try:
        await desk.bot.send_message(workspace.chat_id, text, message_thread_id=workspace.thread_id)
    except (TelegramForbiddenError, TelegramBadRequest) as exc:
        log.info("workspace of #%s not told: %s", workspace.ticket_id, exc.message)


async def relay_in(desk: Desk, message: Message, ticket: Ticket) -> bool:
    """A subscriber's message into the ticket's workspace, if it has one (True: done there;
    False: the group's topic takes it), a reply kept as a reply to its copy there. Recorded
    with the workspace's chat: its message ids mean nothing in the group."""

    async def copy(chat: int, thread: int) -> Any:
        reply = await desk.relay.group_reply_target(message, chat)
        return await desk.bot.copy_message(
            chat,
            message.chat.id,
            message.message_id,
            message_thread_id=thread,
            reply_parameters=reply,
        )

    sent = await _send(desk, ticket, copy)
    if sent is None:
        return False
    copied, workspace = sent
    await _record_in(desk, ticket, message, copied.message_id, workspace)
    return True


async def _record_in(
    desk: Desk, ticket: Ticket, message: Message, copy_id: int, workspace: Workspace
) -> None:
    """A subscriber's message recorded with its copy in the workspace (whose message ids
    mean nothing in the group)."""
    await desk.store.record_message(
        ticket.id,
        "in",
        message.message_id,
        copy_id,
        thread_id=workspace.thread_id,
        kind=message_kind(message),
        agent_chat_id=workspace.chat_id,
    )


async def album_in(desk: Desk, messages: list[Message], ticket: Ticket) -> bool:
    """An album into the ticket's workspace, if it has one (see ``relay_in``)."""
    media = [m for m in map(input_media, messages) if m is not None]
    sent = await _send(
        desk,
        ticket,
        lambda chat, thread: desk.bot.send_media_group(chat, media, message_thread_id=thread),
    )
    if sent is None:
        return False
    copies, workspace = sent
    for msg, copied in zip(messages, copies, strict=False):
        await _record_in(desk, ticket, msg, copied.message_id, workspace)
    return True


async def _send(
    desk: Desk, ticket: Ticket, send: Callable[[int, int], Awaitable[Any]]
) -> tuple[Any, Workspace] | None:
    """Send into the workspace: what Telegram answered and the workspace (its topic made
    again if the agent deleted it); None (the group takes it) when there is none or the
    agent blocked the bot."""
    workspace = await current(desk, ticket)
    if workspace is None:
        return None
    try:
        try:
            return await send(workspace.chat_id, workspace.thread_id), workspace
        except TelegramBadRequest as exc:
            if not topic_gone(exc):
                raise
            workspace = await _new_topic(desk, ticket, workspace.agent_id)
            return await send(workspace.chat_id, workspace.thread_id), workspace
    except TelegramForbiddenError as exc:  # the agent blocked the bot: back to the group
        log.info("workspace of #%s refused (%s); relaying in the group", ticket.id, exc.message)
        await desk.store.workspaces.close_workspace(ticket.id)
        return None


async def current(desk: Desk, ticket: Ticket) -> Workspace | None:
    """The ticket's workspace, while its agent has the ticket (a ticket back in the queue by
    any way — released, its agent off shift — is relayed in the group again)."""
    if not enabled(desk, ticket):
        return None
    workspace = await desk.store.workspaces.workspace_of(ticket.id)
    fresh = await desk.store.get_ticket(ticket.id) or ticket
    if workspace is None or fresh.status != "claimed" or fresh.agent_id != workspace.agent_id:
        return None
    return workspace


async def ticket_in(desk: Desk, message: Message) -> Ticket | None:
    """The ticket whose workspace topic an agent's private message is in."""
    if message.message_thread_id is None:
        return None
    workspace = await desk.store.workspaces.workspace_at(message.chat.id, message.message_thread_id)
    return await desk.store.get_ticket(workspace.ticket_id) if workspace else None


class DeskChat(Filter):
    """The operators' group, or (with workspaces) a topic of an agent's private chat that
    is a ticket's workspace: where the desk's handlers act."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    async def __call__(self, event: Message | CallbackQuery) -> bool:
        message = event.message if isinstance(event, CallbackQuery) else event
        if not isinstance(message, Message):
            return False
        if message.chat.id in self.desk.desks.group_ids:
            return True
        if not enabled(self.desk) or message.chat.type != "private":
            return False
        thread = message.message_thread_id
        if thread is None:
            return False
        return await self.desk.store.workspaces.workspace_at(message.chat.id, thread) is not None


class WorkspaceDesk(Desk):
    """The desk with agents' workspaces: each workflow as ``Desk`` has it, with the
    workspace's side of it done before the group's view (``agents.workspaces`` off: exactly
    ``Desk``)."""

    async def _works_on(self, ticket: Ticket, agent: Agent) -> None:
        await opened(self, ticket, agent)
        await super()._works_on(ticket, agent)

    async def _left(self, ticket: Ticket, notice: str) -> None:
        await closed(self, ticket, notice)
        await super()._left(ticket, notice)

    async def is_agent(self, user_id: int, group_id: int | None = None) -> bool:
        """In their own private chat (a workspace) an agent is one of any desk's group."""
        if group_id is not None and group_id > 0:
            return await self._group_of_agent(user_id) is not None
        return await super().is_agent(user_id, group_id)

    async def member(self, user_id: int, group_id: int | None = None) -> Agent | None:
        if group_id is not None and group_id > 0:  # named in a workspace: any desk's agent
            group_id = await self._group_of_agent(user_id)
            if group_id is None:
                return None
        return await super().member(user_id, group_id)

    async def _group_of_agent(self, user_id: int) -> int | None:
        for group_id in self.desks.group_ids:
            if await super().is_agent(user_id, group_id):
                return group_id
        return None

    async def ticket(self, ticket_id: int, chat_id: int | None = None) -> Ticket | None:
        """By id; from a private chat, only the ticket whose workspace that chat has."""
        if chat_id is not None and chat_id > 0:
            workspace = await self.store.workspaces.workspace_of(ticket_id)
            if workspace is None or workspace.chat_id != chat_id:
                return None
            return await self.store.get_ticket(ticket_id)
        return await super().ticket(ticket_id, chat_id)

    async def ticket_of(self, message: Message) -> Ticket | None:
        if message.chat.type == "private":
            return await ticket_in(self, message)
        return await super().ticket_of(message)

    async def relay_in(self, message: Message, ticket: Ticket) -> None:
        """Into the workspace when the ticket has one (the group's topic otherwise, and when
        the workspace refuses it)."""
        if await current(self, ticket) is None:
            return await super().relay_in(message, ticket)
        if ticket.origin_message_id == message.message_id:
            return None
        if message.media_group_id:
            await self.relay.collect(message, lambda msgs: self._album_in(msgs, ticket.id))
            return None
        async with self.relay.in_order(ticket.id, "in"):
            if await relay_in(self, message, ticket):
                return None
        return await super().relay_in(message, ticket)

    async def _album_in(self, messages: list[Message], ticket_id: int) -> None:
        ticket = await self.store.get_ticket(ticket_id)
        if ticket is not None and enabled(self, ticket):
            async with self.relay.in_order(ticket_id, "in"):
                if await album_in(self, messages, ticket):
                    return
        await super()._album_in(messages, ticket_id)
