"""Agent side: the operators' group — card buttons, desk commands, messages in ticket topics.

Each handler reads the update, calls one desk workflow (``bot.desk.Desk``) and replies; a desk
rule's "no" is raised and answered by ``bot.errors``.
"""

from __future__ import annotations

import html

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message
from rapidfuzz import process

from bot.callbacks import TicketCb
from bot.desk import Agent, Desk
from bot.desk.cards import DESK_COMMANDS, unknown_command_text
from bot.middlewares import DeskMiddleware
from bot.report.format import (
    format_count,
    format_csat,
    format_duration,
    format_latency,
    format_share,
)
from bot.texts import t
from handoff.reports import headline
from handoff.tickets import Ticket
from knowledge.service import KnowledgeService

NOTE_PREFIXES = ("!", "/note")


async def _ticket_here(message: Message, desk: Desk, ticket: Ticket | None) -> Ticket | None:
    """The ticket of the topic a command was given in; outside one, the agent is told so."""
    if ticket is None:
        await message.reply(t(desk.lang, "agent_only_in_topic"))
    return ticket


# -- buttons on the card ---------------------------------------------------------------------


async def on_card_button(
    query: CallbackQuery, callback_data: TicketCb, desk: Desk, agent: Agent
) -> None:
    if not await desk.is_agent(agent.id):
        await query.answer(t(desk.lang, "agent_only_in_group"), show_alert=True)
        return
    ticket = await desk.ticket(callback_data.id)
    if ticket is None or callback_data.action not in ("claim", "close"):
        await query.answer(t(desk.lang, "stale_button"))
        return
    if callback_data.action == "claim":
        ticket = await desk.claim(ticket, agent)
        await query.answer(t(desk.lang, "agent_claimed", agent=agent.name, ticket=ticket.id))
    else:
        await desk.close(ticket, agent)
        await query.answer()


# -- commands --------------------------------------------------------------------------------


async def cmd_close(message: Message, desk: Desk, agent: Agent, ticket: Ticket | None) -> None:
    if ticket := await _ticket_here(message, desk, ticket):
        await desk.close(ticket, agent)


async def cmd_reopen(message: Message, desk: Desk, agent: Agent, ticket: Ticket | None) -> None:
    if ticket := await _ticket_here(message, desk, ticket):
        await desk.reopen(ticket, agent)


async def cmd_transfer(
    message: Message, command: CommandObject, desk: Desk, agent: Agent, ticket: Ticket | None
) -> None:
    """``/transfer``: back to the queue; ``/transfer <agent id>``: to that agent."""
    if await _ticket_here(message, desk, ticket) is None:
        return
    target = (command.args or "").strip()
    if not target:
        await desk.release(ticket, agent)
        return
    to = await desk.member(int(target)) if target.isdigit() else None
    if to is None:
        await message.reply(t(desk.lang, "agent_transfer_unknown", user_id=html.escape(target)))
        return
    await desk.transfer(ticket, agent, to)


async def cmd_takeover(message: Message, desk: Desk, agent: Agent, ticket: Ticket | None) -> None:
    if ticket := await _ticket_here(message, desk, ticket):
        await desk.take_over(ticket, agent)


async def cmd_kb(
    message: Message,
    command: CommandObject,
    desk: Desk,
    knowledge: KnowledgeService,
    agent: Agent,
    ticket: Ticket | None,
) -> None:
    if await _ticket_here(message, desk, ticket) is None:
        return
    topic_id = (command.args or "").strip()
    if not topic_id:
        await message.reply(t(desk.lang, "agent_kb_usage"))
        return
    kb = knowledge.kb
    topic = kb.topics.get(topic_id)
    if topic is None:
        similar = [m[0] for m in process.extract(topic_id, list(kb.topics), limit=3)]
        text = t(
            desk.lang, "agent_kb_unknown", topic=html.escape(topic_id), similar=", ".join(similar)
        )
        await message.reply(text)
        return
    lang = await desk.send_kb(ticket, agent, lambda lang: getattr(topic.answer, lang), message)
    await message.reply(t(desk.lang, "agent_kb_sent", topic=topic_id, lang=lang))


async def cmd_ban(
    message: Message, command: CommandObject, desk: Desk, agent: Agent, ticket: Ticket | None
) -> None:
    if ticket := await _ticket_here(message, desk, ticket):
        await desk.ban(ticket, agent, (command.args or "").strip())


async def cmd_unban(
    message: Message, command: CommandObject, desk: Desk, ticket: Ticket | None
) -> None:
    user_id = ticket.user_id if ticket else None
    if command.args and command.args.strip().isdigit():
        user_id = int(command.args.strip())
    if user_id is None:
        await message.reply(t(desk.lang, "agent_only_in_topic"))
        return
    await desk.unban(user_id)
    await message.reply(t(desk.lang, "agent_unbanned", user_id=user_id))


async def cmd_queue(message: Message, desk: Desk) -> None:
    await message.reply(await desk.queue_text())


async def cmd_whois(message: Message, desk: Desk, ticket: Ticket | None) -> None:
    if ticket := await _ticket_here(message, desk, ticket):
        await message.reply(await desk.whois_text(ticket))


async def cmd_stats(message: Message, desk: Desk) -> None:
    """Today's headline numbers (local day of the working-hours time zone)."""
    h = headline(await desk.today())
    await message.reply(
        t(
            desk.lang,
            "agent_stats",
            conversations=format_count(h["conversations"]),
            answered=format_count(h["answered_by_bot"]),
            share=format_share(h["first_line_resolution"]),
            handed_off=format_count(h["handed_off"]),
            waiting=await desk.waiting(),
            wait=format_duration(h["median_wait_until_claim"]),
            latency=format_latency(h["median_bot_latency_ms"]),
            csat=format_csat(h["csat_average"]),
            rated=h["csat_count"],
        )
    )


async def on_unknown_command(message: Message, desk: Desk) -> None:
    """A typo (/clsoe) or a command the desk doesn't have: refused, never relayed."""
    command = (message.text or message.caption or "").split()[0][1:].split("@")[0]
    await message.reply(unknown_command_text(desk.lang, command))


# -- messages in a ticket's topic ------------------------------------------------------------


async def on_agent_message(
    message: Message, desk: Desk, agent: Agent, ticket: Ticket | None
) -> None:
    if ticket is None or message.from_user is None or message.from_user.is_bot:
        return  # general chatter in the group
    text = message.text or message.caption or ""
    if text.startswith(NOTE_PREFIXES):
        await desk.note(ticket, message)
        return
    if text.startswith("/"):
        await on_unknown_command(message, desk)
        return
    await desk.relay_out(message, ticket, agent)


async def on_agent_edit(message: Message, desk: Desk, ticket: Ticket | None) -> None:
    if ticket is not None and ticket.is_open:
        await desk.mirror_edit_out(message, ticket)


def create_router(group_id: int, desk: Desk) -> Router:
    """Handlers for the operators' group only; anything else never reaches them."""
    router = Router(name="agents")
    router.message.filter(F.chat.id == group_id)
    router.edited_message.filter(F.chat.id == group_id)
    router.callback_query.filter(F.message.chat.id == group_id)
    middleware = DeskMiddleware(desk)
    for observer in (router.message, router.edited_message, router.callback_query):
        observer.middleware(middleware)
    router.callback_query.register(on_card_button, TicketCb.filter())
    commands = {
        "close": cmd_close,
        "reopen": cmd_reopen,
        "transfer": cmd_transfer,
        "takeover": cmd_takeover,
        "kb": cmd_kb,
        "ban": cmd_ban,
        "unban": cmd_unban,
        "queue": cmd_queue,
        "whois": cmd_whois,
        "stats": cmd_stats,
    }
    assert set(commands) | {"note"} == set(DESK_COMMANDS)
    for name, handler in commands.items():
        router.message.register(handler, Command(name))
    router.message.register(on_agent_message)
    router.edited_message.register(on_agent_edit)
    return router
