"""A low rating's follow-up at the desk: the lead is alerted once per ticket (in the group's
General and privately to each of ``agents.leads``), and the subscriber's answer to "what went
wrong?" — their next message — is kept with the ticket for the report."""

from __future__ import annotations

import html
import logging
from typing import TYPE_CHECKING

from aiogram.exceptions import TelegramAPIError, TelegramBadRequest, TelegramForbiddenError
from aiogram.types import Message

from bot.report.format import topic_link
from bot.texts import t
from handoff.insights import LOW_CSAT
from handoff.subscribers import Subscriber
from handoff.tickets import Ticket

if TYPE_CHECKING:
    from bot.desk.service import Desk

log = logging.getLogger(__name__)

COMMENT_CHARS = 1000  # what the report keeps of a comment


def is_low(ticket: Ticket) -> bool:
    return ticket.csat is not None and ticket.csat <= LOW_CSAT


def alert_text(lang: str, ticket: Ticket, name: str, group_id: int | None) -> str:
    link = topic_link(group_id, ticket.thread_id)
    return t(
        lang,
        "agent_low_rating",
        score=ticket.csat,
        ticket=ticket.id,
        name=html.escape(name),
        agent=html.escape(ticket.agent_name or "—"),
        link=f'\n<a href="{link}">{t(lang, "agent_low_rating_link")}</a>' if link else "",
    )


async def low_rating(desk: Desk, ticket: Ticket, sub: Subscriber) -> None:
    """A rating of 1 or 2 alerts the lead, once per ticket however often it is pressed. The
    alert is claimed before it is sent: a failed send is logged, never repeated."""
    if not is_low(ticket) or not await desk.store.ratings.mark_low_rating_alerted(ticket.id):
        return
    group_id = desk.desks.group_of(ticket)  # the ticket's desk's group
    text = alert_text(desk.lang, ticket, sub.first_name, group_id)
    if group_id is not None:
        try:
            await desk.bot.send_message(group_id, text)  # General: no thread
        except TelegramAPIError as exc:
            log.warning("low rating of ticket %s: not posted in the group: %s", ticket.id, exc)
    for lead in desk.config.leads:
        try:
            await desk.bot.send_message(lead, text)
        except (TelegramForbiddenError, TelegramBadRequest) as exc:
            # never started the bot, blocked it, or no such chat: nothing to retry
            log.info("low rating of ticket %s: lead %s not reachable: %s", ticket.id, lead, exc)


async def keep_comment(desk: Desk, ticket: Ticket, message: Message) -> None:
    """The subscriber's first message after a low rating is their "what went wrong": its text
    (or caption) is kept as the ticket's comment; the message is relayed as any other."""
    said = message.text or message.caption
    if is_low(ticket) and said:
        await desk.store.ratings.add_csat_comment(ticket.id, said[:COMMENT_CHARS])
