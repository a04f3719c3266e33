"""The desk's lookups (a part of ``service.Desk``): who is an agent of which desk's group, the
ticket a group message or a typed id names there, the queue and today's report."""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass

from aiogram import Bot
from aiogram.types import Message

from bot.config import AgentsConfig, DeskConfig
from bot.desk import cards
from bot.desk.members import Members
from bot.desk.relay import agent_chat_of
from bot.desk.routing import Desks
from bot.texts import t
from handoff.hours import WorkingHours
from handoff.reports import Report, build_report, today_window
from handoff.storage import Store
from handoff.subscribers import plain_name
from handoff.tickets import Ticket


@dataclass(frozen=True, slots=True)
class Agent:
    """Who acts at the desk: a member of the operators' group (``supervisor`` may take over)."""

    id: int
    name: str
    supervisor: bool = False


class DeskLookups:
    bot: Bot
    store: Store
    config: AgentsConfig
    desks: Desks
    hours: WorkingHours
    clock: Callable[[], float]
    lang: str
    group_id: int | None

    def _members(self) -> None:
        """One membership cache per desk's group."""
        self.members_of = {g: Members(self.bot, g, self.clock) for g in self.desks.group_ids}
        self.members = self.members_in(self.group_id)  # the default desk's

    def members_in(self, group_id: int | None) -> Members:
        members = self.members_of.get(group_id) if group_id is not None else None
        return members or Members(self.bot, None, self.clock)

    # -- who is an agent ---------------------------------------------------------------------

    def agent(self, user_id: int, name: str) -> Agent:
        return Agent(user_id, plain_name(name), supervisor=user_id in self.config.supervisors)

    async def is_agent(self, user_id: int, group_id: int | None = None) -> bool:
        """Current members of the desk's group (None: the default desk's) are its agents
        (``bot.desk.members``)."""
        return await self.members_in(group_id or self.group_id).is_member(user_id)

    async def member(self, user_id: int, group_id: int | None = None) -> Agent | None:
        """The agent with this user id, if they are in the desk's operators' group."""
        group_id = group_id or self.group_id
        if group_id is None or not await self.is_agent(user_id, group_id):
            return None
        member = await self.bot.get_chat_member(group_id, user_id)
        return self.agent(user_id, member.user.first_name)

    # -- looking things up -------------------------------------------------------------------

    async def ticket(self, ticket_id: int, chat_id: int | None = None) -> Ticket | None:
        """The ticket by its id; with ``chat_id`` only if it is on that group's desk (a desk's
        agents act on their desk's tickets)."""
        ticket = await self.store.get_ticket(ticket_id)
        if ticket is None or (chat_id is not None and not self.desks.is_on(ticket, chat_id)):
            return None
        return ticket

    async def ticket_of(self, message: Message) -> Ticket | None:
        """The ticket a group message belongs to: its forum topic, or (a group without topics)
        the card or relayed message it replies to — of that group's desk."""
        names = self.desks.names(self.desks.here(message.chat.id)) or ()
        if message.message_thread_id is not None and message.is_topic_message:
            ticket = await self.store.ticket_by_thread(message.message_thread_id, names)
            if ticket is not None:
                return ticket
        reply = message.reply_to_message
        if reply is not None:
            ticket = await self.store.ticket_by_card(reply.message_id, names)
            if ticket is not None:
                return ticket
            found = await self.store.find_message(group_message_id=reply.message_id, desks=names)
            if found is not None:
                return await self.store.get_ticket(found.ticket_id)
        return None

    async def queue_text(self, desk: DeskConfig | None = None) -> str:
        """The queue of one desk; None: of every desk (each ticket with its desk's name,
        when there are several)."""
        queue = await self.store.queue(desks=self.desks.names(desk))
        names = {}
        for entry in queue[:30]:
            sub = await self.store.subscriber(entry.ticket.user_id)
            names[entry.ticket.id] = sub.first_name if sub else str(entry.ticket.user_id)
            if desk is None and self.desks.several:
                where = self.desks.label(self.desks.of(entry.ticket))
                names[entry.ticket.id] += f" · {where}"
        text = cards.queue_text(self.lang, queue, names)
        if self.desks.several:
            heading = (
                t(self.lang, "desk_heading", desk=html.escape(self.desks.label(desk)))
                if desk is not None
                else t(self.lang, "desk_heading_all")
            )
            text = heading + "\n" + text
        return text

    async def today(self) -> Report:
        """Today's report (local day of the working-hours time zone), for /stats."""
        tz = self.hours.timezone
        return await build_report(self.store, *today_window(self.clock(), tz), tz)

    async def waiting(self, desk: DeskConfig | None = None) -> int:
        return len(await self.store.queue(desks=self.desks.names(desk)))

    async def note(self, ticket: Ticket, message: Message) -> None:
        """An agents-only remark in the topic: kept with the ticket, never relayed."""
        await self.store.record_message(
            ticket.id,
            "note",
            None,
            message.message_id,
            kind="note",
            agent_chat_id=agent_chat_of(message),
        )
