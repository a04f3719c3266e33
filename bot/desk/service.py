"""The desk service: one method per desk workflow, each doing the store's transition and all of
its Telegram side effects (card, notice, topic, the subscriber's message) in one place.

Every entry point — a card button, a command, an agent simply answering — calls one of these;
a workflow never exists twice. A desk rule's "no" is raised as ``handoff.tickets.DeskError``
and a subscriber who blocked the bot surfaces as aiogram's ``TelegramForbiddenError``: the
error handlers in ``bot.errors`` turn each into its one reaction. What is shown is rendered in
``bot.desk.cards``; the relay's mechanics are in ``bot.desk.relay``.
"""

from __future__ import annotations

import contextlib
import html
import logging
import time
from collections.abc import Callable

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError
from aiogram.types import Message

from bot.config import AgentsConfig
from bot.desk import alerts, assign, cards
from bot.desk.edits import EditMirror
from bot.desk.flood import FloodGuard
from bot.desk.lookups import Agent, DeskLookups
from bot.desk.notices import already_notice, queue_notice
from bot.desk.relay import Relay, agent_chat_of, html_of, input_media, message_kind
from bot.desk.routing import Desks, category_of
from bot.desk.topics import OperatorsUnavailable, Topics
from bot.handling import group_view_follows
from bot.health import GroupWatch
from bot.journal import not_journaled
from bot.pacing import Pacer
from bot.split import split_html
from bot.texts import t
from handoff.hours import WorkingHours
from handoff.storage import Store
from handoff.subscribers import Subscriber
from handoff.tickets import Banned, NotYourTicket, Ticket, TicketClosed
from knowledge.service import KnowledgeService

log = logging.getLogger(__name__)


class Desk(DeskLookups, EditMirror):
    """One operators' group: tickets' topics, cards, relay both ways, every desk workflow."""

    def __init__(
        self,
        bot: Bot,
        store: Store,
        config: AgentsConfig,
        hours: WorkingHours | None = None,
        clock: Callable[[], float] = time.time,
        pacer: Pacer | None = None,
    ) -> None:
        self.bot = bot
        self.store = store
        self.config = config
        self.group_id = config.group_id
        self.lang = config.language
        self.hours = hours or WorkingHours()
        self.clock = clock
        self.relay = Relay(store, FloodGuard(config.flood))
        self.desks = Desks(config, pacer, bot.id)
        self.topics = Topics(bot, store, config.group_id, config.language)
        self.topics.chat_of = self.desks.group_of  # each ticket in its desk's group
        self._members()
        # whether the group takes the bot (for /healthz): every call to it is watched
        self.operators = GroupWatch({d.group_id: d.name for d in self.desks.all})
        bot.session.middleware(self.operators)

    def use_knowledge(self, knowledge: KnowledgeService) -> None:
        """A topic is named by the KB topic it is about; a desk's categories are checked."""
        self.topics.knowledge = knowledge
        self.desks.unknown_categories(knowledge)

    @property
    def ALBUM_WAIT(self) -> float:
        return self.relay.ALBUM_WAIT

    @ALBUM_WAIT.setter
    def ALBUM_WAIT(self, seconds: float) -> None:
        self.relay.ALBUM_WAIT = seconds

    # -- hand-off and reopening --------------------------------------------------------------

    async def hand_off(
        self,
        sub: Subscriber,
        lang: str,
        reason: str,
        question: str,
        origin_message_id: int | None = None,
    ) -> str:
        """Open (or find, or reopen) the subscriber's ticket, show it to the agents and tell
        the subscriber their place in the queue; returns what they were told.

        A resumable sequence — the ticket, its topic, its card, the subscriber told — each step
        recorded with the ticket: the update handled again (after a crash, or Telegram failing
        past the retries) does only what is missing. ``origin_message_id``: the subscriber's
        message that asked, which the relay then never copies as well.

        With no operators' group nobody would see a ticket: the subscriber is told where else
        to turn (``agents.contacts``) and no ticket is opened. Asking again while waiting:
        "you are already in the queue", with the way to cancel."""
        if self.group_id is None:
            return await self._no_desk(sub, lang)
        try:
            ticket, created = await self.store.open_ticket(
                sub.user_id,
                reason,
                question,
                lang,
                reopen_window=self.config.reopen_window,
                origin_message_id=origin_message_id,
            )
        except Banned:
            text = t(lang, "handoff_banned")
            await self.bot.send_message(sub.user_id, text)
            return text
        if created and ticket.reopened and ticket.thread_id is not None:  # on its old desk
            ticket = await self._shown_reopened(ticket)
        replay = origin_message_id is not None and origin_message_id == ticket.origin_message_id
        if not created and ticket.told_at is not None and not replay:
            desks = self.desks.names(self.desks.of(ticket))
            text = await already_notice(self.store, ticket, lang, desks)
            await self.bot.send_message(
                sub.user_id, text, reply_markup=cards.cancel_keyboard(lang, ticket.id)
            )
            return text
        return await self._finish_hand_off(ticket, lang, sub, tell=True) or ""

    async def _no_desk(self, sub: Subscriber, lang: str) -> str:
        contacts = self.config.contacts
        text = t(lang, "handoff_no_desk")
        if contacts:
            text += "\n" + t(lang, "handoff_contacts", contacts=html.escape(contacts))
        await self.bot.send_message(sub.user_id, text)
        return text

    async def cancel(self, ticket: Ticket) -> Ticket:
        """The subscriber no longer needs a person: the ticket closes, the agents are told."""
        ticket = await self.store.close_ticket(ticket.id, reason="user")
        await self.bot.send_message(ticket.user_id, t(ticket.lang or "ru", "handoff_cancelled"))
        return await self._closed(ticket, None)

    async def _finish_hand_off(
        self, ticket: Ticket, lang: str, sub: Subscriber | None = None, *, tell: bool
    ) -> str | None:
        """The hand-off's steps still missing: topic and card, then the subscriber told (again
        if ``tell``: they asked again). The group refusing the bot: the subscriber is told
        once that the operators can't be reached and their message is kept, and
        ``OperatorsUnavailable`` keeps the update for later."""
        try:
            if not ticket.shown:  # its desk first (``bot.desk.routing``), then topic and card
                category = await category_of(self.store, self.topics.knowledge, ticket)
                ticket = await self.desks.route(self.store, ticket, category)
            ticket = await self.topics.complete(ticket, sub)
        except OperatorsUnavailable:
            ticket = await self.store.get_ticket(ticket.id) or ticket
            if ticket.unavailable_told_at is None:
                with not_journaled():  # recorded with the ticket, and not the queue notice
                    await self.bot.send_message(ticket.user_id, t(lang, "handoff_unavailable"))
                await self.store.hand_off_step(ticket.id, "unavailable_told")
            raise
        if not tell and ticket.told_at is not None:
            return None
        text = await self.waiting_text(ticket, lang)
        await self.bot.send_message(
            ticket.user_id, text, reply_markup=cards.cancel_keyboard(lang, ticket.id)
        )
        if ticket.told_at is None:
            await self.store.hand_off_step(ticket.id, "told")
        await assign.offer(self, ticket)  # shown and told: an agent on shift may get it
        return text

    async def reopen(self, ticket: Ticket, agent: Agent | None = None) -> Ticket:
        """closed → waiting: by an agent (/reopen) at any time, by the subscriber writing again
        within ``agents.reopen_window``. The topic opens again with a fresh card and a notice."""
        if agent is not None:
            ticket = await self.store.reopen(ticket.id, agent.id)
        else:
            ticket = await self.store.reopen(ticket.id, reopen_window=self.config.reopen_window)
        return await assign.offer(self, await self._shown_reopened(ticket))

    async def _shown_reopened(self, ticket: Ticket) -> Ticket:
        ticket = await self.topics.show(ticket)
        await self.topics.notify(ticket, t(self.lang, "agent_reopened", ticket=ticket.id))
        return ticket

    async def waiting_text(self, ticket: Ticket, lang: str) -> str:
        desks = self.desks.names(self.desks.of(ticket))
        return await queue_notice(self.store, self.hours, self.clock(), ticket, lang, desks)

    # -- who has the ticket ------------------------------------------------------------------

    async def claim(self, ticket: Ticket, agent: Agent, *, tell: bool = True) -> Ticket:
        """waiting → claimed: the card shows it and the topic is told who took it; the
        subscriber is told a person has it (``tell``: not when the agent's answer itself is
        on its way)."""
        ticket = await self.store.claim(ticket.id, agent.id, agent.name)
        if tell:  # the subscriber first: the group's budget may keep the card waiting
            with contextlib.suppress(TelegramForbiddenError):
                await self.bot.send_message(ticket.user_id, t(ticket.lang or "ru", "handoff_taken"))
        await self._works_on(ticket, agent)
        await self.topics.refresh_card(ticket)
        await self.topics.notify(
            ticket, t(self.lang, "agent_claimed", agent=html.escape(agent.name), ticket=ticket.id)
        )
        return ticket

    async def answering(self, ticket: Ticket, agent: Agent) -> Ticket:
        """The implicit claim: an agent who answers a waiting ticket (a reply, /kb) takes it;
        only the agent who has a ticket answers it."""
        ticket = await self.store.get_ticket(ticket.id) or ticket
        if ticket.status == "closed":
            raise TicketClosed(ticket.id)
        if ticket.status == "waiting":
            return await self.claim(ticket, agent, tell=False)
        if ticket.agent_id != agent.id:
            raise NotYourTicket(ticket.agent_id, ticket.agent_name or "")
        return ticket

    async def _works_on(self, ticket: Ticket, agent: Agent) -> None:
        """The agent has the ticket now; then the group is shown it. Where the agent works
        on it is made ready here (``bot.desk.workspace``), before the group's view."""
        group_view_follows()

    async def _left(self, ticket: Ticket, notice: str) -> None:
        """The ticket's agent no longer works on it (released, handed on, closed): where they
        worked is told ``notice`` (``bot.desk.workspace``), before the group's view."""
        group_view_follows()

    async def release(self, ticket: Ticket, agent: Agent) -> Ticket:
        """claimed → waiting, in its old place in the queue (its agent, or a supervisor)."""
        ticket = await self.store.release(ticket.id, agent.id, force=agent.supervisor)
        await self._left(ticket, t(self.lang, "agent_workspace_left", ticket=ticket.id))
        await self.topics.refresh_card(ticket)
        await self.topics.notify(ticket, t(self.lang, "agent_transferred", ticket=ticket.id))
        return ticket

    async def transfer(self, ticket: Ticket, agent: Agent, to: Agent) -> Ticket:
        """claimed by ``agent`` → claimed by ``to`` (its agent, or a supervisor)."""
        ticket = await self.store.transfer(
            ticket.id, agent.id, to.id, to.name, force=agent.supervisor
        )
        await self._works_on(ticket, to)
        await self.topics.refresh_card(ticket)
        await self.topics.notify(
            ticket,
            t(self.lang, "agent_transferred_to", ticket=ticket.id, agent=html.escape(to.name)),
        )
        return ticket

    async def take_over(self, ticket: Ticket, agent: Agent) -> Ticket:
        """A supervisor takes any open ticket, waiting or another agent's."""
        ticket = await self.store.take_over(
            ticket.id, agent.id, agent.name, supervisor=agent.supervisor
        )
        await self._works_on(ticket, agent)
        await self.topics.refresh_card(ticket)
        await self.topics.notify(
            ticket, t(self.lang, "agent_took_over", agent=html.escape(agent.name), ticket=ticket.id)
        )
        return ticket

    # -- closing -----------------------------------------------------------------------------

    async def close(self, ticket: Ticket, agent: Agent | None, reason: str = "agent") -> Ticket:
        """waiting|claimed → closed: the subscriber is told (and asked for a rating when an
        agent closed it), then the card, a notice and the topic closed."""
        ticket = await self.store.close_ticket(
            ticket.id,
            agent.id if agent else None,
            agent.name if agent else None,
            reason=reason,
            force=agent.supervisor if agent else False,
        )
        return await self._closed(ticket, agent)

    async def _closed(self, ticket: Ticket, agent: Agent | None) -> Ticket:
        """The Telegram side of every close (agent, ban, the subscriber blocking the bot)."""
        if self.relay.flood is not None:
            self.relay.flood.forget(ticket.id)
        if ticket.close_reason == "agent":
            # the subscriber first: the group's 20 messages a minute may keep its notice waiting
            try:
                await self.bot.send_message(
                    ticket.user_id,
                    t(ticket.lang or "ru", "ticket_closed"),
                    reply_markup=cards.csat_keyboard(ticket.id),
                )
            except TelegramForbiddenError:  # the ticket is closing anyway: only record it
                log.info("ticket #%s closed; the subscriber has blocked the bot", ticket.id)
                await self.store.mark_blocked(ticket.user_id)
        name = agent.name if agent else ticket.agent_name
        notice = cards.closed_notice(self.lang, ticket, name)
        await self._left(ticket, notice)
        await self.topics.refresh_card(ticket)
        await self.topics.notify(ticket, notice)
        await self.topics.close(ticket)
        return await assign.freed(self, ticket)  # its agent (or another) may take one more

    async def subscriber_blocked(self, user_id: int) -> None:
        """The subscriber blocked the bot: recorded; their open ticket closes as "blocked"
        (the agents are told, the topic keeps its history)."""
        await self.store.mark_blocked(user_id)
        ticket = await self.store.open_ticket_of(user_id)
        if ticket is None:
            return
        try:
            ticket = await self.store.close_ticket(ticket.id, reason="blocked")
        except TicketClosed:
            return  # closed meanwhile
        await self._closed(ticket, None)

    async def ban(self, ticket: Ticket, agent: Agent, reason: str) -> None:
        """Ban the ticket's subscriber; their open ticket closes the way every ticket closes."""
        closed = await self.store.ban(ticket.user_id, agent.id, reason)
        if closed is not None:
            await self._closed(closed, agent)
        else:
            await self.topics.notify(ticket, t(self.lang, "agent_banned", user_id=ticket.user_id))

    async def unban(self, user_id: int) -> bool:
        return await self.store.unban(user_id)

    # -- answers to the subscriber -----------------------------------------------------------

    async def send_kb(self, ticket: Ticket, agent: Agent, answer: Callable, cmd: Message) -> str:
        """A KB answer as the agent's reply (claims it), in the subscriber's language (returned)."""
        ticket = await self.answering(ticket, agent)
        lang = ticket.lang or "ru"
        for chunk in split_html(answer(lang)):
            sent = await self.bot.send_message(ticket.user_id, chunk)
            await self.store.record_message(
                ticket.id,
                "out",
                sent.message_id,
                cmd.message_id,
                kind="kb",
                agent_chat_id=agent_chat_of(cmd),
            )
        return lang

    async def show_ticket(self, ticket: Ticket, sub: Subscriber | None = None) -> Ticket:
        """A fresh (or reopened) topic with the ticket's card at its top."""
        return await self.topics.show(ticket, sub)

    async def notify(self, ticket: Ticket, text: str) -> None:
        await self.topics.notify(ticket, text)

    async def post(self, text: str) -> None:
        """A message to every desk's whole group (an outage alert, a KB reload's result, the
        digest). A group that refuses it (the bot removed, Telegram failing past the retries)
        is logged and the others still get it; raises only when no group took it, so a
        caller's retry never repeats it in the groups that did."""
        failed: list[Exception] = []
        for group_id in self.desks.group_ids:
            try:
                await self.bot.send_message(group_id, text)
            except TelegramAPIError as exc:
                log.warning("operators' group %s did not take a post: %s", group_id, exc)
                failed.append(exc)
        if failed and len(failed) == len(self.desks.group_ids):
            raise failed[0]

    async def rated(self, ticket: Ticket) -> None:
        await self.topics.notify(
            ticket, t(self.lang, "agent_csat", ticket=ticket.id, score=ticket.csat)
        )

    # -- subscriber → agents -----------------------------------------------------------------

    async def relay_in(self, message: Message, ticket: Ticket) -> None:
        """A subscriber's message (any kind) into the ticket's topic, reply kept. A hand-off
        left unfinished (a crash, the group unavailable) is finished first; the message that
        asked for it is on the card already and not copied."""
        if self.group_id is not None and (not ticket.shown or ticket.told_at is None):
            await self._finish_hand_off(ticket, ticket.lang or "ru", tell=False)
        if ticket.origin_message_id == message.message_id:
            return
        await alerts.keep_comment(self, ticket, message)  # "what went wrong?" answered
        if message.media_group_id:
            await self.relay.collect(message, lambda msgs: self._album_in(msgs, ticket.id))
            return
        await self.relay.queue_in(self, ticket, message)  # texts piled up go as one

    async def _album_in(self, messages: list[Message], ticket_id: int) -> None:
        async with self.relay.in_order(ticket_id, "in"):
            ticket = await self.store.get_ticket(ticket_id)
            media = [m for m in map(input_media, messages) if m is not None]
            if ticket is None or not media:
                return
            sent = await self.topics.send_into(
                ticket,
                lambda thread: self.bot.send_media_group(
                    self.desks.group_of(ticket), media, message_thread_id=thread
                ),
            )
            for msg, copy in zip(messages, sent, strict=False):
                await self.store.record_message(
                    ticket.id, "in", msg.message_id, copy.message_id, kind=message_kind(msg)
                )

    # -- agents → subscriber -----------------------------------------------------------------

    async def relay_out(self, message: Message, ticket: Ticket, agent: Agent) -> None:
        """An agent's message to the subscriber, anonymous or signed, reply kept; answering a
        waiting ticket claims it."""
        ticket = await self.answering(ticket, agent)
        if message.media_group_id:
            await self.relay.collect(message, lambda msgs: self._album_out(msgs, ticket.id))
            return
        async with self.relay.in_order(ticket.id, "out"):
            desks = self.desks.names(self.desks.of(ticket))
            reply_to = await self.relay.private_reply_target(message, desks)
            if message.text:  # signed, it may outgrow one message: then it goes in parts
                parts = split_html(self._signed(message, html_of(message)))
                sent = [
                    await self.bot.send_message(
                        ticket.user_id, part, reply_parameters=reply_to if i == 0 else None
                    )
                    for i, part in enumerate(parts)
                ]
            else:
                sent = [
                    await self.bot.copy_message(
                        ticket.user_id,
                        message.chat.id,
                        message.message_id,
                        reply_parameters=reply_to,
                    )
                ]
            for copy in sent:
                await self._record_out(ticket, message, copy.message_id)

    async def _album_out(self, messages: list[Message], ticket_id: int) -> None:
        async with self.relay.in_order(ticket_id, "out"):
            ticket = await self.store.get_ticket(ticket_id)
            if ticket is None:
                return
            media = [m for m in map(input_media, messages) if m is not None]
            sent = await self.bot.send_media_group(ticket.user_id, media)
            for msg, copy in zip(messages, sent, strict=False):
                await self._record_out(ticket, msg, copy.message_id)

    async def _record_out(self, ticket: Ticket, message: Message, copy_id: int) -> None:
        """An agent's message recorded with its copy in the subscriber's chat, and where the
        agent wrote it (the group's topic, or their workspace)."""
        await self.store.record_message(
            ticket.id,
            "out",
            copy_id,
            message.message_id,
            thread_id=message.message_thread_id,
            kind=message_kind(message),
            agent_chat_id=agent_chat_of(message),
        )

    def _signed(self, message: Message, body: str) -> str:
        if self.config.signature == "first_name" and message.from_user:
            return f"<b>{html.escape(message.from_user.first_name)}:</b> {body}"
        return body
