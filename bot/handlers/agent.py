"""Agent side: the operators' group — ticket cards, replies relayed, desk commands."""

from __future__ import annotations

import html
import logging

from aiogram import F, Router
from aiogram.exceptions import TelegramForbiddenError
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message
from rapidfuzz import process

from bot.desk import Desk, TicketCb
from bot.split import split_html
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
from handoff.tickets import DeskError, NotYourTicket, Ticket
from knowledge.service import KnowledgeService

log = logging.getLogger(__name__)

NOTE_PREFIXES = ("!", "/note")


def _agent_name(message: Message | CallbackQuery) -> tuple[int, str]:
    user = message.from_user
    return (user.id, user.first_name) if user else (0, "?")


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


_DESK_ERROR_TEXTS = {
    "already_claimed": "agent_already_claimed",
    "not_yours": "agent_not_yours",
    "closed": "agent_ticket_is_closed",
}


def desk_error_text(lang: str, exc: DeskError, *, for_html: bool) -> str:
    """A desk rule's "no" as the agents' text; escaped for messages, plain for alerts."""
    key = _DESK_ERROR_TEXTS.get(exc.code)
    escape = html.escape if for_html else str
    if key is None:
        return escape(str(exc))
    params = {**exc.params, "agent": escape(str(exc.params.get("agent", "")))}
    return t(lang, key, **params)


async def _desk_error(message: Message, desk: Desk, exc: DeskError) -> None:
    await message.reply(desk_error_text(desk.lang, exc, for_html=True))


# -- buttons on the card ---------------------------------------------------------------------


async def on_card_button(query: CallbackQuery, callback_data: TicketCb, desk: Desk) -> None:
    agent_id, agent_name = _agent_name(query)
    if not await desk.is_agent(agent_id):
        await query.answer(t(desk.lang, "agent_only_in_group"), show_alert=True)
        return
    ticket = await desk.store.get_ticket(callback_data.id)
    if ticket is None or callback_data.action not in ("claim", "close"):
        await query.answer(t(desk.lang, "stale_button"))
        return
    try:
        if callback_data.action == "claim":
            ticket = await desk.store.claim(ticket.id, agent_id, agent_name)
            await desk.refresh_card(ticket)
            await query.answer(t(desk.lang, "agent_claimed", agent=agent_name, ticket=ticket.id))
            await desk.notify(
                ticket,
                t(desk.lang, "agent_claimed", agent=html.escape(agent_name), ticket=ticket.id),
            )
        else:
            _check_owner(ticket, agent_id)
            await query.answer()
            await desk.close(ticket, agent_id, agent_name)
    except DeskError as exc:
        await query.answer(desk_error_text(desk.lang, exc, for_html=False), show_alert=True)


def _check_owner(ticket: Ticket, agent_id: int) -> None:
    if ticket.status == "claimed" and ticket.agent_id not in (None, agent_id):
        raise NotYourTicket(ticket.agent_id, ticket.agent_name or "")


# -- commands --------------------------------------------------------------------------------


async def cmd_close(message: Message, desk: Desk) -> None:
    ticket = await _ticket_here(message, desk)
    if ticket is None:
        return
    agent_id, agent_name = _agent_name(message)
    try:
        _check_owner(ticket, agent_id)
        await desk.close(ticket, agent_id, agent_name)
    except DeskError as exc:
        await _desk_error(message, desk, exc)


async def cmd_reopen(message: Message, desk: Desk) -> None:
    ticket = await _ticket_here(message, desk)
    if ticket is None:
        return
    agent_id, _ = _agent_name(message)
    try:
        ticket = await desk.store.reopen(ticket.id, agent_id)
    except DeskError as exc:
        await _desk_error(message, desk, exc)
        return
    try:
        await desk.bot.reopen_forum_topic(desk.group_id, ticket.thread_id)
    except Exception as exc:  # a topic that was never closed can't be reopened; fine
        log.debug("reopenForumTopic: %s", exc)
    await desk.refresh_card(ticket)
    await message.reply(t(desk.lang, "agent_reopened", ticket=ticket.id))


async def cmd_transfer(message: Message, desk: Desk) -> None:
    ticket = await _ticket_here(message, desk)
    if ticket is None:
        return
    agent_id, _ = _agent_name(message)
    try:
        ticket = await desk.store.release(ticket.id, agent_id)
    except DeskError as exc:
        await _desk_error(message, desk, exc)
        return
    await desk.refresh_card(ticket)
    await message.reply(t(desk.lang, "agent_transferred", ticket=ticket.id))


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
        await message.reply(
            t(
                desk.lang,
                "agent_kb_unknown",
                topic=html.escape(topic_id),
                similar=", ".join(similar),
            )
        )
        return
    lang = ticket.lang or "ru"
    agent_id, agent_name = _agent_name(message)
    if ticket.status == "waiting":
        try:
            ticket = await desk.store.claim(ticket.id, agent_id, agent_name)
            await desk.refresh_card(ticket)
        except DeskError as exc:
            await _desk_error(message, desk, exc)
            return
    try:
        _check_owner(ticket, agent_id)
    except DeskError as exc:
        await _desk_error(message, desk, exc)
        return
    for chunk in split_html(getattr(topic.answer, lang)):
        try:
            sent = await desk.bot.send_message(ticket.user_id, chunk)
        except TelegramForbiddenError:
            await desk.subscriber_blocked(ticket)
            return
        await desk.store.record_message(
            ticket.id, "out", sent.message_id, message.message_id, kind="kb"
        )
    await message.reply(t(desk.lang, "agent_kb_sent", topic=topic_id, lang=lang))


async def cmd_ban(message: Message, command: CommandObject, desk: Desk) -> None:
    ticket = await _ticket_here(message, desk)
    if ticket is None:
        return
    agent_id, _ = _agent_name(message)
    closed = await desk.store.ban(ticket.user_id, agent_id, (command.args or "").strip())
    if closed is not None:
        await desk.refresh_card(closed)
    await message.reply(t(desk.lang, "agent_banned", user_id=ticket.user_id))


async def cmd_unban(message: Message, command: CommandObject, desk: Desk) -> None:
    ticket = await ticket_of(message, desk)
    user_id = ticket.user_id if ticket else None
    if command.args and command.args.strip().isdigit():
        user_id = int(command.args.strip())
    if user_id is None:
        await message.reply(t(desk.lang, "agent_only_in_topic"))
        return
    await desk.store.unban(user_id)
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
    now = desk.clock()
    report = await build_report(desk.store, *today_window(now, tz), tz)
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


# -- messages in a ticket's topic ------------------------------------------------------------


async def on_agent_message(message: Message, desk: Desk) -> None:
    ticket = await ticket_of(message, desk)
    if ticket is None or message.from_user is None or message.from_user.is_bot:
        return  # general chatter in the group
    text = message.text or message.caption or ""
    if text.startswith(NOTE_PREFIXES):
        await desk.store.record_message(ticket.id, "note", None, message.message_id, kind="note")
        return
    if not ticket.is_open:
        await message.reply(t(desk.lang, "agent_ticket_is_closed", ticket=ticket.id))
        return
    agent_id, agent_name = _agent_name(message)
    try:
        if ticket.status == "waiting":  # answering is claiming
            ticket = await desk.store.claim(ticket.id, agent_id, agent_name)
            await desk.refresh_card(ticket)
        _check_owner(ticket, agent_id)
    except DeskError as exc:
        await _desk_error(message, desk, exc)
        return
    await desk.relay_out(message, ticket)


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
    router.message.register(cmd_close, Command("close"))
    router.message.register(cmd_reopen, Command("reopen"))
    router.message.register(cmd_transfer, Command("transfer"))
    router.message.register(cmd_kb, Command("kb"))
    router.message.register(cmd_ban, Command("ban"))
    router.message.register(cmd_unban, Command("unban"))
    router.message.register(cmd_queue, Command("queue"))
    router.message.register(cmd_whois, Command("whois"))
    router.message.register(cmd_stats, Command("stats"))
    router.message.register(on_agent_message)
    router.edited_message.register(on_agent_edit)
    return router
