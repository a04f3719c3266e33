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
from bot.texts import t
from handoff.reports import (
    build_report,
    format_count,
    format_csat,
    format_duration,
    format_latency,
    format_share,
    headline,
    today_window,
)
from handoff.tickets import Ticket
from knowledge.service import KnowledgeService

NOTE_PREFIXES = ("!", "/note")


def agent_of(desk: Desk, event: Message | CallbackQuery) -> Agent:
    user = event.from_user
    return desk.agent(user.id, user.first_name) if user else desk.agent(0, "?")


async def ticket_of(message: Message, desk: Desk) -> Ticket | None:
    """The ticket a group message belongs to: its forum topic, or (no topics) what it replies to."""
    store = desk.store
    if message.message_thread_id is not None and message.is_topic_message:
        ticket = await store.ticket_by_thread(message.message_thread_id)
        if ticket is not None:
            return ticket
    reply = message.reply_to_message
    if reply is not None:
        ticket = await store.ticket_by_card(reply.message_id)
        if ticket is not None:
            return ticket
        found = await store.find_message(group_message_id=reply.message_id)
        if found is not None:
            return await store.get_ticket(found.ticket_id)
    return None


async def _ticket_here(message: Message, desk: Desk) -> Ticket | None:
    """The ticket of the topic a command was given in; outside one, the agent is told so."""
    ticket = await ticket_of(message, desk)
    if ticket is None:
        await message.reply(t(desk.lang, "agent_only_in_topic"))
    return ticket


# -- buttons on the card ---------------------------------------------------------------------


async def on_card_button(query: CallbackQuery, callback_data: TicketCb, desk: Desk) -> None:
    agent = agent_of(desk, query)
    if not await desk.is_agent(agent.id):
        await query.answer(t(desk.lang, "agent_only_in_group"), show_alert=True)
        return
    ticket = await desk.store.get_ticket(callback_data.id)
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


async def cmd_close(message: Message, desk: Desk) -> None:
    if ticket := await _ticket_here(message, desk):
        await desk.close(ticket, agent_of(desk, message))


async def cmd_reopen(message: Message, desk: Desk) -> None:
    if ticket := await _ticket_here(message, desk):
        await desk.reopen(ticket, agent_of(desk, message))


async def cmd_transfer(message: Message, command: CommandObject, desk: Desk) -> None:
    """``/transfer``: back to the queue; ``/transfer <agent id>``: to that agent."""
    ticket = await _ticket_here(message, desk)
    if ticket is None:
        return
    agent = agent_of(desk, message)
    target = (command.args or "").strip()
    if not target:
        await desk.release(ticket, agent)
        return
    if not target.isdigit() or not await desk.is_agent(int(target)):
        await message.reply(t(desk.lang, "agent_transfer_unknown", user_id=html.escape(target)))
        return
    member = await desk.bot.get_chat_member(desk.group_id, int(target))
    await desk.transfer(ticket, agent, desk.agent(int(target), member.user.first_name))


async def cmd_takeover(message: Message, desk: Desk) -> None:
    if ticket := await _ticket_here(message, desk):
        await desk.take_over(ticket, agent_of(desk, message))


async def cmd_kb(
    message: Message, command: CommandObject, desk: Desk, knowledge: KnowledgeService
) -> None:
    ticket = await _ticket_here(message, desk)
    if ticket is None:
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
    lang = await desk.send_kb(
        ticket, agent_of(desk, message), lambda lang: getattr(topic.answer, lang), message
    )
    await message.reply(t(desk.lang, "agent_kb_sent", topic=topic_id, lang=lang))


async def cmd_ban(message: Message, command: CommandObject, desk: Desk) -> None:
    if ticket := await _ticket_here(message, desk):
        await desk.ban(ticket, agent_of(desk, message), (command.args or "").strip())


async def cmd_unban(message: Message, command: CommandObject, desk: Desk) -> None:
    ticket = await ticket_of(message, desk)
    user_id = ticket.user_id if ticket else None
    if command.args and command.args.strip().isdigit():
        user_id = int(command.args.strip())
    if user_id is None:
        await message.reply(t(desk.lang, "agent_only_in_topic"))
        return
    await desk.unban(user_id)
    await message.reply(t(desk.lang, "agent_unbanned", user_id=user_id))


async def cmd_queue(message: Message, desk: Desk) -> None:
    queue = await desk.store.queue()
    if not queue:
        await message.reply(t(desk.lang, "agent_queue_empty"))
        return
    lines = [t(desk.lang, "agent_queue", count=len(queue))]
    for entry in queue[:30]:
        sub = await desk.store.subscriber(entry.ticket.user_id)
        lines.append(
            t(
                desk.lang,
                "agent_queue_line",
                ticket=entry.ticket.id,
                name=html.escape(sub.first_name if sub else str(entry.ticket.user_id)),
                lang=entry.ticket.lang or "?",
                wait=_duration(entry.wait),
            )
        )
    await message.reply("\n".join(lines))


async def cmd_whois(message: Message, desk: Desk) -> None:
    ticket = await _ticket_here(message, desk)
    if ticket is None:
        return
    info = await desk.store.subscriber_summary(ticket.user_id)
    sub = info.subscriber
    questions = "\n".join(f"• {html.escape(q[:200])}" for q in info.recent_questions) or "—"
    await message.reply(
        t(
            desk.lang,
            "agent_whois",
            name=html.escape(sub.first_name if sub else ""),
            username=f" @{html.escape(sub.username)}" if sub and sub.username else "",
            user_id=ticket.user_id,
            lang=info.lang or "?",
            tickets=info.tickets,
            questions=questions,
        )
    )


async def cmd_stats(message: Message, desk: Desk) -> None:
    """Today's headline numbers (local day of the working-hours time zone)."""
    tz = desk.hours.timezone
    report = await build_report(desk.store, *today_window(desk.clock(), tz), tz)
    h = headline(report)
    await message.reply(
        t(
            desk.lang,
            "agent_stats",
            conversations=format_count(h["conversations"]),
            answered=format_count(h["answered_by_bot"]),
            share=format_share(h["first_line_resolution"]),
            handed_off=format_count(h["handed_off"]),
            waiting=len(await desk.store.queue()),
            wait=format_duration(h["median_wait_until_claim"]),
            latency=format_latency(h["median_bot_latency_ms"]),
            csat=format_csat(h["csat_average"]),
            rated=h["csat_count"],
        )
    )


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


async def on_unknown_command(message: Message, desk: Desk) -> None:
    """A typo (/clsoe) or a command the desk doesn't have: refused, never relayed."""
    command = (message.text or message.caption or "").split()[0][1:].split("@")[0]
    await message.reply(unknown_command_text(desk.lang, command))


# -- messages in a ticket's topic ------------------------------------------------------------


async def on_agent_message(message: Message, desk: Desk) -> None:
    ticket = await ticket_of(message, desk)
    if ticket is None or message.from_user is None or message.from_user.is_bot:
        return  # general chatter in the group
    text = message.text or message.caption or ""
    if text.startswith(NOTE_PREFIXES):
        await desk.store.record_message(ticket.id, "note", None, message.message_id, kind="note")
        return
    if text.startswith("/"):
        await on_unknown_command(message, desk)
        return
    await desk.relay_out(message, ticket, agent_of(desk, message))


async def on_agent_edit(message: Message, desk: Desk) -> None:
    ticket = await ticket_of(message, desk)
    if ticket is not None and ticket.is_open:
        await desk.mirror_edit_out(message, ticket)


def create_router(group_id: int) -> Router:
    """Handlers for the operators' group only; anything else never reaches them."""
    router = Router(name="agents")
    router.message.filter(F.chat.id == group_id)
    router.edited_message.filter(F.chat.id == group_id)
    router.callback_query.filter(F.message.chat.id == group_id)
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
