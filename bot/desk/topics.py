"""The desk's side of the operators' group: a ticket's forum topic and the card on top of it —
created, reopened, refreshed, closed — and the notices posted into it.

A new ticket's topic and card are steps of its hand-off (``complete``), each recorded with the
ticket as soon as Telegram confirms it: the topic's id before the card is sent, and the fact
that a topic was asked for before it is. Handling the update again after a crash or an outage
does only the steps still missing, so a ticket gets one topic and one card.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable
from datetime import datetime

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
)

from bot.desk import cards, views
from bot.desk.relay import topic_gone
from bot.pacing import HIGH, LOW, priority
from handoff.storage import Store
from handoff.subscribers import Subscriber
from handoff.tickets import Ticket
from knowledge import search
from knowledge.service import KnowledgeService

log = logging.getLogger(__name__)


class OperatorsUnavailable(Exception):
    """The operators' group refused the bot (403: removed from it, or never added). Nothing is
    wrong with the update: it is kept and handled again until the group takes it."""


class Topics:
    """Topics and cards of one operators' group (``group_id`` None: nothing is shown)."""

    def __init__(
        self,
        bot: Bot,
        store: Store,
        group_id: int | None,
        lang: str,
        knowledge: KnowledgeService | None = None,
    ) -> None:
        self.bot = bot
        self.knowledge = knowledge  # to name a topic by the KB topic it is about
        self.store = store
        self.group_id = group_id
        self.lang = lang
        self.triage: Callable[[Ticket], Awaitable[list[str]]] | None = None  # bot.desk.sla
        # the group a ticket's topic is in: its desk's (``bot.desk.routing``); else the one
        self.chat_of: Callable[[Ticket], int | None] = lambda ticket: self.group_id
        # one hand-off completed at a time per ticket: two updates must not both make a topic
        self._completing: weakref.WeakValueDictionary[int, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )
        # a topic closed or reopened one call at a time per ticket, as its ticket now is: a
        # close still on its way when the ticket is reopened (the subscriber writing right
        # after /close) must not close the reopened ticket's topic after the reopen
        self._opening: weakref.WeakValueDictionary[int, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    async def complete(self, ticket: Ticket, sub: Subscriber | None = None) -> Ticket:
        """The ticket's topic and card, if not there yet: the steps of a hand-off that the
        agents see. Raises ``OperatorsUnavailable`` when the group refuses the bot."""
        if self.chat_of(ticket) is None:
            return ticket
        lock = self._completing.setdefault(ticket.id, asyncio.Lock())
        async with lock:
            ticket = await self.store.get_ticket(ticket.id) or ticket
            if ticket.shown:
                return ticket
            sub = sub or await self.store.subscriber(ticket.user_id)
            try:
                # as a relay: the card is the subscriber's first message to the agents
                with priority(HIGH):
                    if ticket.thread_id is None:
                        if ticket.topic_requested_at is not None:
                            _asked_before(ticket, await self.title(ticket, sub))
                        ticket = await self.new_topic(ticket, sub)
                    return await self.send_card(ticket, sub, ticket.thread_id)
            except TelegramForbiddenError as exc:
                raise OperatorsUnavailable(exc.message) from exc

    async def new_topic(self, ticket: Ticket, sub: Subscriber | None) -> Ticket:
        """Ask Telegram for the ticket's topic, recording the request before and the topic's
        id as soon as it is known (before anything is sent into it)."""
        ticket = await self.store.hand_off_step(ticket.id, "topic_requested")
        try:
            thread_id = await self._create_topic(ticket, sub)
        except TelegramNetworkError:
            raise  # no answer: the topic may have been made, the request stays recorded
        except TelegramAPIError:  # Telegram said no (5xx, 403): no topic was made
            await self.store.hand_off_step(ticket.id, "topic_requested", undo=True)
            raise
        if thread_id is None:
            return ticket
        return await self.store.set_thread(ticket.id, thread_id)

    async def send_card(self, ticket: Ticket, sub: Subscriber | None, thread: int | None):
        """The ticket's card into its topic, recorded with the ticket."""
        card = await self.bot.send_message(
            self.chat_of(ticket),
            await self._card_text(ticket, sub),
            message_thread_id=thread,
            reply_markup=cards.card_keyboard(self.lang, ticket),
        )
        return await self.store.set_thread(ticket.id, thread, card.message_id)

    async def show(self, ticket: Ticket, sub: Subscriber | None = None) -> Ticket:
        """A fresh (or reopened) topic in the group with the ticket's card at its top."""
        if self.chat_of(ticket) is None:
            return ticket
        sub = sub or await self.store.subscriber(ticket.user_id)
        thread_id = ticket.thread_id
        if thread_id is None:
            ticket = await self.new_topic(ticket, sub)
            return await self.send_card(ticket, sub, ticket.thread_id)
        try:
            async with self._opening.setdefault(ticket.id, asyncio.Lock()):
                fresh = await self.store.get_ticket(ticket.id) or ticket
                if fresh.status != "closed":  # not closed again meanwhile
                    await self.bot.reopen_forum_topic(self.chat_of(ticket), thread_id)
        except TelegramBadRequest as exc:
            if topic_gone(exc):  # its view is gone: a new one, with the history so far
                return await views.recreate(self, ticket, thread_id)
            log.info("reopenForumTopic #%s: %s", ticket.id, exc.message)
        return await self.send_card(ticket, sub, thread_id)

    async def _create_topic(self, ticket: Ticket, sub: Subscriber | None) -> int | None:
        try:
            title = await self.title(ticket, sub)
            topic = await self.bot.create_forum_topic(self.chat_of(ticket), title)
        except TelegramBadRequest as exc:
            # a group without topics: the card and the relay go to the group itself
            log.info("createForumTopic failed (%s); using the group without topics", exc.message)
            return None
        return topic.message_thread_id

    async def title(self, ticket: Ticket, sub: Subscriber | None) -> str:
        """The topic's name: the ticket, who, and what the subscriber's problem is that day."""
        asked = datetime.fromtimestamp(ticket.queued_at or ticket.created_at)  # or reopened
        day = asked.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
        recent = await self.store.recent_interactions(ticket.user_id, limit=20)
        today = [r for r in recent if (r.get("ts") or 0) >= day]
        return cards.topic_title(ticket, sub, cards.problem_of(ticket, today, self._kb_title))

    def _kb_title(self, item: dict) -> str | None:
        """The KB title (in the desk's language) of what a question was answered with, or of
        the first "did you mean" it was offered."""
        if self.knowledge is None:
            return None
        kb = self.knowledge.kb
        topic_id = item.get("topic")
        if topic_id is None and item.get("kind") == "clarify":
            decision = self.knowledge.matcher.match(item.get("text") or "", item.get("lang"))
            topic_id = decision.candidate_ids[0] if decision.candidates else None
        topic = kb.topics.get(topic_id or "")
        return search.topic_title(topic, self.lang) if topic is not None else None

    async def card_text(self, ticket: Ticket, sub: Subscriber | None) -> str:
        """The card's text as it is now (for a copy of it elsewhere: an agent's workspace)."""
        return await self._card_text(ticket, sub)

    async def _card_text(self, ticket: Ticket, sub: Subscriber | None) -> str:
        recent = await self.store.recent_interactions(ticket.user_id, limit=5)
        triage = await self.triage(ticket) if self.triage is not None else []
        return cards.card_text(self.lang, ticket, sub, recent, triage)

    async def refresh_card(self, ticket: Ticket) -> None:
        """The card edited to the ticket's state; a card Telegram no longer finds (its topic
        archived or deleted) is posted again, and a topic gone is made again with it."""
        if self.chat_of(ticket) is None or ticket.card_message_id is None:
            return
        sub = await self.store.subscriber(ticket.user_id)
        try:
            with priority(LOW):  # after the relays; a later refresh supersedes a waiting one
                await self.bot.edit_message_text(
                    await self._card_text(ticket, sub),
                    chat_id=self.chat_of(ticket),
                    message_id=ticket.card_message_id,
                    reply_markup=cards.card_keyboard(self.lang, ticket),
                )
        except TelegramBadRequest as exc:
            if topic_gone(exc):
                await views.recreate(self, ticket, ticket.thread_id)  # with a fresh card
            elif "message to edit not found" in exc.message.lower():
                await self._card_again(ticket, sub)
            else:
                log.info("card of #%s not updated: %s", ticket.id, exc.message)

    async def _card_again(self, ticket: Ticket, sub: Subscriber | None) -> None:
        """A new card in the ticket's topic for one Telegram lost; the topic made again (with
        its card) if it is gone too."""
        try:
            await self.send_card(ticket, sub, ticket.thread_id)
        except TelegramBadRequest as exc:
            if not topic_gone(exc):
                raise
            await views.recreate(self, ticket, ticket.thread_id)

    async def notify(self, ticket: Ticket, text: str) -> None:
        """A line for the agents in the ticket's topic (never lost for a deleted topic)."""
        if self.chat_of(ticket) is None:
            return
        await self.send_into(
            ticket,
            lambda thread: self.bot.send_message(
                self.chat_of(ticket), text, message_thread_id=thread
            ),
        )

    async def post(self, text: str) -> None:
        """A message to the whole group (an outage alert, a KB reload's result)."""
        if self.group_id is not None:
            await self.bot.send_message(self.group_id, text)

    async def close(self, ticket: Ticket) -> None:
        """The closed ticket's topic closed, unless the ticket was reopened meanwhile."""
        if self.chat_of(ticket) is None or ticket.thread_id is None:
            return
        try:
            async with self._opening.setdefault(ticket.id, asyncio.Lock()):
                fresh = await self.store.get_ticket(ticket.id) or ticket
                if fresh.status == "closed" and fresh.thread_id is not None:  # a remade one too
                    await self.bot.close_forum_topic(self.chat_of(fresh), fresh.thread_id)
                    # reopened meanwhile by another instance (the lock is this process's):
                    # the topic follows the ticket
                    now = await self.store.get_ticket(ticket.id) or fresh
                    if now.status != "closed" and now.thread_id == fresh.thread_id:
                        await self.bot.reopen_forum_topic(self.chat_of(now), fresh.thread_id)
        except TelegramBadRequest as exc:
            log.info("closeForumTopic #%s: %s", ticket.id, exc.message)

    async def send_into(self, ticket: Ticket, send: Callable[[int | None], Awaitable]):
        """Send into the ticket's topic; a topic Telegram no longer takes (deleted, closed
        against the bot, archived) is made again with the card and the history so far
        (``bot.desk.views``), then the send goes there, once."""
        try:
            result = await send(ticket.thread_id)
        except TelegramBadRequest as exc:
            if not topic_gone(exc):
                raise
            ticket = await views.recreate(self, ticket, ticket.thread_id)
            result = await send(ticket.thread_id)
        return result.message_id if hasattr(result, "message_id") else result


def _asked_before(ticket: Ticket, title: str) -> None:
    """A topic was asked for and no answer recorded: a crash or a lost response in between, so
    Telegram may have made it. The Bot API has no way to look a topic up: it is asked again,
    and the one that may be left over is named in the log."""
    log.warning(
        "ticket #%s: its topic was asked for before and the answer never arrived; asking"
        " again (an empty topic %r may be left in the group)",
        ticket.id,
        title,
    )
