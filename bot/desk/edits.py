"""Edits mirrored both ways: a subscriber's edit of a relayed message edits its copy in the
topic (or in the agent's workspace); an agent's edit (in the group or a workspace) edits the
subscriber's copy, while the agent still has the ticket. A mixin of ``bot.desk.service.Desk``."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.types import Message, ReplyParameters

from bot.desk.relay import JOINED, Relay, agent_chat_of, html_of
from bot.pacing import HIGH, priority
from handoff.tickets import NotYourTicket, Ticket

if TYPE_CHECKING:
    from aiogram import Bot

    from bot.desk.routing import Desks
    from bot.desk.service import Agent
    from handoff.storage import Store

log = logging.getLogger("bot.desk.service")


class EditMirror:
    bot: Bot
    store: Store
    group_id: int | None
    desks: Desks
    relay: Relay

    def _signed(self, message: Message, body: str) -> str:
        raise NotImplementedError

    async def mirror_edit_in(self, message: Message) -> None:
        """The subscriber edited a relayed message: edit its copy in the topic."""
        if message.from_user is None or self.relay.queued_edit(message):
            return  # still waiting for the group: the edited text goes out instead
        found = await self.store.find_message(
            user_id=message.from_user.id, user_chat_message_id=message.message_id
        )
        if found is None or found.group_message_id is None:
            return
        ticket = await self.store.get_ticket(found.ticket_id)
        moves = [
            e.ts for e in await self.store.events(found.ticket_id) if e.name == "desk_transfer"
        ]
        if ticket is None or (moves and found.ts < moves[-1]):
            return  # moved to another desk since: the copy is in the old desk's topic
        if found.agent_chat_id is not None:  # its copy is in the agent's workspace
            await self._mirror_edit(message, found.agent_chat_id, found.group_message_id)
            return
        group = self.desks.group_of(ticket)
        if found.kind == JOINED and message.text:
            # one part of a message relayed with others: its new text, pointing at that one
            reply = ReplyParameters(message_id=found.group_message_id)
            with priority(HIGH):
                await self.bot.send_message(
                    group,
                    "✏️ " + html_of(message),
                    message_thread_id=found.thread_id,
                    reply_parameters=reply,
                )
            return
        await self._mirror_edit(message, group, found.group_message_id)

    async def mirror_edit_out(self, message: Message, ticket: Ticket, agent: Agent) -> None:
        """An agent edited a message relayed to the subscriber: its copy there is edited, if
        the agent still has the ticket (after a transfer or a takeover, NotYourTicket)."""
        found = await self.store.find_message(
            group_message_id=message.message_id,
            desks=self.desks.names(self.desks.of(ticket)),
            agent_chat_id=agent_chat_of(message),
        )
        if found is None or found.user_chat_message_id is None or found.direction != "out":
            return
        if ticket.status != "claimed" or ticket.agent_id != agent.id:
            raise NotYourTicket(ticket.agent_id, ticket.agent_name or "")
        await self._mirror_edit(
            message, ticket.user_id, found.user_chat_message_id, sign=True, refused=True
        )

    async def _mirror_edit(
        self,
        message: Message,
        chat_id: int,
        message_id: int,
        sign: bool = False,
        refused: bool = False,
    ) -> None:
        """Edit the copy; ``refused``: Telegram's 400 is raised (an agent is told), not logged."""
        try:
            if message.text:
                body = self._signed(message, html_of(message)) if sign else html_of(message)
                await self.bot.edit_message_text(body, chat_id=chat_id, message_id=message_id)
            elif message.caption is not None:
                await self.bot.edit_message_caption(
                    chat_id=chat_id, message_id=message_id, caption=html_of(message)
                )
        except TelegramBadRequest as exc:
            if refused and "not modified" not in exc.message:
                raise
            log.info("edit not mirrored: %s", exc.message)
        except TelegramForbiddenError:
            log.info("edit not mirrored: chat %s blocked the bot", chat_id)
