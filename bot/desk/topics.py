"""The desk's side of the operators' group: a ticket's forum topic and the card on top of it —
created, reopened, refreshed, closed — and the notices posted into it."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest

from bot.desk import cards
from bot.desk.relay import topic_gone
from bot.texts import t
from handoff.storage import Store
from handoff.subscribers import Subscriber
from handoff.tickets import Ticket

log = logging.getLogger(__name__)


class Topics:
    """Topics and cards of one operators' group (``group_id`` None: nothing is shown)."""

    def __init__(self, bot: Bot, store: Store, group_id: int | None, lang: str) -> None:
        self.bot = bot
        self.store = store
        self.group_id = group_id
        self.lang = lang

    async def show(self, ticket: Ticket, sub: Subscriber | None = None) -> Ticket:
        """A fresh (or reopened) topic in the group with the ticket's card at its top."""
        if self.group_id is None:
            return ticket
        sub = sub or await self.store.subscriber(ticket.user_id)
        thread_id = ticket.thread_id
        if thread_id is not None:
            try:
                await self.bot.reopen_forum_topic(self.group_id, thread_id)
            except TelegramBadRequest as exc:
                if topic_gone(exc):
                    thread_id = None
                else:
                    log.info("reopenForumTopic #%s: %s", ticket.id, exc.message)
        if thread_id is None:
            thread_id = await self._create_topic(ticket, sub)
        card = await self.bot.send_message(
            self.group_id,
            await self._card_text(ticket, sub),
            message_thread_id=thread_id,
            reply_markup=cards.card_keyboard(self.lang, ticket),
        )
        return await self.store.set_thread(ticket.id, thread_id, card.message_id)

    async def _create_topic(self, ticket: Ticket, sub: Subscriber | None) -> int | None:
        try:
            topic = await self.bot.create_forum_topic(self.group_id, cards.topic_title(ticket, sub))
        except TelegramBadRequest as exc:
            # a group without topics: the card and the relay go to the group itself
            log.info("createForumTopic failed (%s); using the group without topics", exc.message)
            return None
        return topic.message_thread_id

    async def _card_text(self, ticket: Ticket, sub: Subscriber | None) -> str:
        recent = await self.store.recent_interactions(ticket.user_id, limit=5)
        return cards.card_text(self.lang, ticket, sub, recent)

    async def refresh_card(self, ticket: Ticket) -> None:
        if self.group_id is None or ticket.card_message_id is None:
            return
        sub = await self.store.subscriber(ticket.user_id)
        try:
            await self.bot.edit_message_text(
                await self._card_text(ticket, sub),
                chat_id=self.group_id,
                message_id=ticket.card_message_id,
                reply_markup=cards.card_keyboard(self.lang, ticket),
            )
        except TelegramBadRequest as exc:
            log.info("card of #%s not updated: %s", ticket.id, exc.message)

    async def notify(self, ticket: Ticket, text: str) -> None:
        """A line for the agents in the ticket's topic (never lost for a deleted topic)."""
        if self.group_id is None:
            return
        try:
            await self.bot.send_message(self.group_id, text, message_thread_id=ticket.thread_id)
        except TelegramBadRequest as exc:
            if not topic_gone(exc):
                raise
            ticket = await self.show(ticket)
            await self.bot.send_message(self.group_id, text, message_thread_id=ticket.thread_id)

    async def post(self, text: str) -> None:
        """A message to the whole group (an outage alert, a KB reload's result)."""
        if self.group_id is not None:
            await self.bot.send_message(self.group_id, text)

    async def close(self, ticket: Ticket) -> None:
        if self.group_id is None or ticket.thread_id is None:
            return
        try:
            await self.bot.close_forum_topic(self.group_id, ticket.thread_id)
        except TelegramBadRequest as exc:
            log.info("closeForumTopic #%s: %s", ticket.id, exc.message)

    async def send_into(self, ticket: Ticket, send: Callable[[int | None], Awaitable]):
        """Send into the ticket's topic; if the topic was deleted, open a new one and resend."""
        try:
            result = await send(ticket.thread_id)
        except TelegramBadRequest as exc:
            if not topic_gone(exc):
                raise
            log.info("topic of ticket #%s is gone; opening a new one", ticket.id)
            old = ticket.thread_id
            ticket = await self.show(dataclasses.replace(ticket, thread_id=None))
            if old is not None:
                await self.bot.send_message(
                    self.group_id,
                    t(self.lang, "agent_new_topic"),
                    message_thread_id=ticket.thread_id,
                )
            result = await send(ticket.thread_id)
        return result.message_id if hasattr(result, "message_id") else result
