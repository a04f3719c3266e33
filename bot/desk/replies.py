"""Sending a canned reply (``/r``): the agent's own answer, in the subscriber's language, with
their first name filled in; the ticket's topic is told what was sent."""

from __future__ import annotations

import html

from aiogram.types import Message

from bot.desk.service import Agent, Desk
from bot.split import split_html
from bot.texts import t
from handoff.tickets import Ticket
from knowledge.replies import fill
from knowledge.schema import Reply

SHOWN = 700  # visible UTF-16 units of a sent reply shown in the topic


async def send_reply(desk: Desk, ticket: Ticket, agent: Agent, reply: Reply, via: Message) -> str:
    """Send ``reply`` to the ticket's subscriber as ``agent``'s answer: the path of a KB
    answer (``Desk.send_kb``: a waiting ticket is claimed, only its agent answers, the first
    response and message counts are the agent's), signed as the agent's messages are. ``via``
    is the message that asked (the command, or the list whose button was pressed). Returns
    what the topic is told: the text as the subscriber got it (its beginning, if long)."""
    sub = await desk.store.subscriber(ticket.user_id)
    name = sub.first_name if sub is not None else ""

    def text(lang: str) -> str:
        return _signed(desk, agent, fill(getattr(reply.text, lang), name))

    lang = await desk.send_kb(ticket, agent, text, via)
    chunks = split_html(text(lang), SHOWN)
    shown = chunks[0] + ("\n…" if len(chunks) > 1 else "")
    title = html.escape(getattr(reply.title, desk.lang))
    head = t(desk.lang, "agent_reply_sent", title=title, reply=reply.id, lang=lang)
    return f"{head}\n\n{shown}"


def _signed(desk: Desk, agent: Agent, body: str) -> str:
    """As an agent's own message is signed (``agents.signature``): a canned reply is theirs."""
    if desk.config.signature == "first_name":
        return f"<b>{html.escape(agent.name)}:</b> {body}"
    return body
