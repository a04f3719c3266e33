"""Agent side: the operators' group — card buttons, desk commands, messages in ticket topics.

Each handler reads the update, calls one desk workflow (``bot.desk.Desk``) and replies; a desk
rule's "no" is raised and answered by ``bot.errors``.
"""

from __future__ import annotations

import html
from collections import OrderedDict

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import (
    CallbackQuery,
    ChatMemberUpdated,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)

from bot.callbacks import Answer, TicketCb, answer_first, answer_within, in_its_topic
from bot.desk import Agent, Desk, whois
from bot.desk.cards import DESK_COMMANDS, error_text, quoted, unknown_command_text
from bot.desk.workspace import DeskChat
from bot.handlers import agent_desks as desks  # /queue, /stats, /transfer <desk>
from bot.handlers import labels as triage  # /priority, /label (they use _named_ticket)
from bot.handlers import shift
from bot.handlers.replies import ReplyCb, cmd_reply, on_reply_button
from bot.middlewares import DeskMiddleware
from bot.split import split_html
from bot.texts import t
from bot.tglimits import cut_utf16
from handoff.tickets import DeskError, NotYourTicket, Ticket
from knowledge import search
from knowledge.loader import KnowledgeBase
from knowledge.search import search as search_topics
from knowledge.service import KnowledgeService

NOTE_PREFIXES = ("!", "/note")
KB_LISTED = 5  # topics /kb <words> lists
KB_BUTTON = 60  # UTF-16 units of a listed topic's button
KB_SHOWN = 700  # visible UTF-16 units of a sent answer shown in the topic
KB_REMEMBERED = 500  # tickets whose last /kb list is kept for /kb <number>


# the largest id SQLite stores (a longer number is no ticket, not an OverflowError)
MAX_ID = 2**63 - 1


def parse_id(text: str) -> int | None:
    """A positive id typed by an agent: ASCII digits only (no ``²``), within SQLite's range."""
    text = text.strip().lstrip("#")
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        return None
    value = int(text)
    return value if 0 < value <= MAX_ID else None


async def _ticket_here(message: Message, desk: Desk, ticket: Ticket | None) -> Ticket | None:
    """The ticket of the topic a command was given in; outside one, the agent is told so."""
    if ticket is None:
        await message.reply(t(desk.lang, "agent_only_in_topic"))
    return ticket


async def _named_ticket(
    message: Message,
    command: CommandObject,
    desk: Desk,
    ticket: Ticket | None,
    *,
    id_in_topic: bool = True,
) -> tuple[Ticket | None, list[str]]:
    """The ticket a command is about, and its remaining arguments: a first argument that is
    an id names it (in General that is how a ticket is reached, a ticket whose topic was
    deleted too: ``/close 12``); otherwise the topic's ticket. ``id_in_topic`` False: in a
    topic the arguments are the command's own (``/transfer <agent id>``). None: the agent
    was told why."""
    args = (command.args or "").split()
    ticket_id = parse_id(args[0]) if args else None
    if ticket is not None and not (id_in_topic and ticket_id is not None):
        return ticket, args
    if ticket_id is None:
        await message.reply(t(desk.lang, "agent_ticket_usage", command=command.command))
        return None, args
    found = await desk.ticket(ticket_id, message.chat.id)  # of this group's desk only
    if found is None:
        await message.reply(t(desk.lang, "agent_ticket_not_found", ticket=ticket_id))
    return found, args[1:]


# -- buttons on the card ---------------------------------------------------------------------


async def _pressed(
    query: CallbackQuery, callback_data: TicketCb, desk: Desk, agent: Agent
) -> Answer:
    """What a card button does; a desk rule's "no" is the answer (an alert)."""
    try:
        chat = query.message.chat.id if query.message else None
        ticket = await desk.ticket(callback_data.id, chat)
        if ticket is None or not in_its_topic(query, ticket):
            return Answer(t(desk.lang, "stale_button"))
        if callback_data.action == "claim":
            ticket = await desk.claim(ticket, agent)
            return Answer(t(desk.lang, "agent_claimed", agent=agent.name, ticket=ticket.id))
        await desk.close(ticket, agent)
        return Answer()
    except DeskError as exc:
        return Answer(error_text(desk.lang, exc, for_html=False), show_alert=True)


async def on_card_button(
    query: CallbackQuery, callback_data: TicketCb, desk: Desk, agent: Agent
) -> None:
    """Claim / Close. The press is answered with the outcome if that comes quickly, else at
    once and the work goes on (``answer_within``); a refusal that came too late for the
    answer is said in the card's topic instead."""
    if callback_data.action not in ("claim", "close") or callback_data.id > MAX_ID:
        await answer_first(query, t(desk.lang, "stale_button"))
        return
    missed = await answer_within(query, _pressed(query, callback_data, desk, agent))
    if missed is not None and missed.show_alert and isinstance(query.message, Message):
        await query.message.answer(f"{html.escape(agent.name)}: {html.escape(missed.text or '')}")


# -- commands --------------------------------------------------------------------------------


async def cmd_close(
    message: Message, command: CommandObject, desk: Desk, agent: Agent, ticket: Ticket | None
) -> None:
    """``/close`` in a ticket's topic; ``/close <id>`` anywhere (confirmed where it was given
    when that is not the ticket's own topic)."""
    named, _ = await _named_ticket(message, command, desk, ticket)
    if named is not None:
        named = await desk.close(named, agent)
        if ticket is None or ticket.id != named.id:
            name = html.escape(agent.name)
            await message.reply(t(desk.lang, "agent_general_closed", ticket=named.id, agent=name))


async def cmd_reopen(
    message: Message, command: CommandObject, desk: Desk, agent: Agent, ticket: Ticket | None
) -> None:
    """``/reopen`` in a ticket's topic; ``/reopen <id>`` in General (into a new topic if its
    topic was deleted)."""
    ticket, _ = await _named_ticket(message, command, desk, ticket)
    if ticket is not None:
        await desk.reopen(ticket, agent)


async def cmd_transfer(
    message: Message, command: CommandObject, desk: Desk, agent: Agent, ticket: Ticket | None
) -> None:
    """``/transfer``: back to the queue; ``/transfer <agent id>``: to that agent of this desk;
    ``/transfer <desk>``: to another desk (in General, the ticket's id first:
    ``/transfer <id> [agent id | desk]``)."""
    ticket, args = await _named_ticket(message, command, desk, ticket, id_in_topic=False)
    if ticket is None:
        return
    if not args:
        await desk.release(ticket, agent)
        return
    target = parse_id(args[0])
    if target is None and await desks.transfer_to_desk(message, desk, agent, ticket, args[0]):
        return
    to = await desk.member(target, message.chat.id) if target is not None else None
    if to is None and desk.desks.several:
        await desks.unknown_target(message, desk, args[0])
    elif to is None:
        await message.reply(t(desk.lang, "agent_transfer_unknown", user_id=quoted(args[0])))
    else:
        await desk.transfer(ticket, agent, to)


async def cmd_takeover(message: Message, desk: Desk, agent: Agent, ticket: Ticket | None) -> None:
    if ticket := await _ticket_here(message, desk, ticket):
        await desk.take_over(ticket, agent)


class KbCb(CallbackData, prefix="kb"):
    """A topic listed by ``/kb <words>``: pressed, its answer goes to the ticket's subscriber."""

    ticket: int
    topic: str


class KbCommand:
    """``/kb``: find KB topics by words (any of the three languages), send one's answer to the
    subscriber — by its id, its number in the list last shown in the ticket, or its button —
    and show in the topic what the subscriber was told."""

    def __init__(self) -> None:
        self.listed: OrderedDict[int, list[str]] = OrderedDict()  # ticket id → topics shown

    async def command(
        self,
        message: Message,
        command: CommandObject,
        desk: Desk,
        knowledge: KnowledgeService,
        agent: Agent,
        ticket: Ticket | None,
    ) -> None:
        if await _ticket_here(message, desk, ticket) is None:
            return
        query = (command.args or "").strip()
        if not query:
            await message.reply(t(desk.lang, "agent_kb_usage"))
            return
        kb = knowledge.kb
        topic_id = query if query in kb.topics else self._picked(ticket.id, query)
        if topic_id is not None and topic_id in kb.topics:
            await message.reply(await _send_kb(desk, kb, ticket, agent, topic_id, message))
            return
        found = search_topics(kb, query, desk.lang, limit=KB_LISTED)
        if not found:
            await message.reply(t(desk.lang, "agent_kb_nothing", query=quoted(query)))
            return
        self._remember(ticket.id, [f.topic for f in found])
        lines = [t(desk.lang, "agent_kb_found", query=quoted(query))]
        rows = []
        for n, item in enumerate(found, 1):
            title = html.escape(item.title)
            lines.append(t(desk.lang, "agent_kb_found_line", n=n, title=title, topic=item.topic))
            label = cut_utf16(f"{n}. {item.title}", KB_BUTTON, "…")
            data = KbCb(ticket=ticket.id, topic=item.topic).pack()
            rows.append([InlineKeyboardButton(text=label, callback_data=data)])
        markup = InlineKeyboardMarkup(inline_keyboard=rows)
        await message.reply("\n".join(lines), reply_markup=markup)

    async def button(
        self,
        query: CallbackQuery,
        callback_data: KbCb,
        desk: Desk,
        knowledge: KnowledgeService,
        agent: Agent,
    ) -> None:
        chat = query.message.chat.id if query.message else None
        ticket = (
            await desk.ticket(callback_data.ticket, chat)
            if callback_data.ticket <= MAX_ID
            else None
        )
        kb = knowledge.kb
        if not in_its_topic(query, ticket) or callback_data.topic not in kb.topics:
            await answer_first(query, t(desk.lang, "stale_button"))
            return
        await answer_first(query)
        if not isinstance(query.message, Message):
            return
        try:
            sent = await _send_kb(desk, kb, ticket, agent, callback_data.topic, query.message)
        except DeskError as exc:
            sent = error_text(desk.lang, exc, for_html=True)
        await desk.notify(ticket, sent)

    def _picked(self, ticket_id: int, query: str) -> str | None:
        """``/kb 2``: the second topic of the list last shown in this ticket's topic."""
        n = parse_id(query)
        listed = self.listed.get(ticket_id, [])
        return listed[n - 1] if n is not None and n <= len(listed) else None

    def _remember(self, ticket_id: int, topics: list[str]) -> None:
        self.listed[ticket_id] = topics
        self.listed.move_to_end(ticket_id)
        while len(self.listed) > KB_REMEMBERED:
            self.listed.popitem(last=False)


async def _send_kb(
    desk: Desk, kb: KnowledgeBase, ticket: Ticket, agent: Agent, topic_id: str, via: Message
) -> str:
    """Send a topic's answer to the subscriber; what the topic is told: the answer itself
    (its beginning, if long), as the subscriber got it."""
    topic = kb.topics[topic_id]
    lang = await desk.send_kb(ticket, agent, lambda lang: getattr(topic.answer, lang), via)
    chunks = split_html(getattr(topic.answer, lang), KB_SHOWN)
    shown = chunks[0] + ("\n…" if len(chunks) > 1 else "")
    title = html.escape(search.topic_title(topic, desk.lang))
    head = t(desk.lang, "agent_kb_sent", title=title, topic=topic_id, lang=lang)
    return f"{head}\n\n{shown}"


async def cmd_ban(
    message: Message, command: CommandObject, desk: Desk, agent: Agent, ticket: Ticket | None
) -> None:
    if ticket := await _ticket_here(message, desk, ticket):
        await desk.ban(ticket, agent, (command.args or "").strip())


async def cmd_unban(
    message: Message, command: CommandObject, desk: Desk, ticket: Ticket | None
) -> None:
    user_id = ticket.user_id if ticket else None
    if command.args and (named := parse_id(command.args)) is not None:
        user_id = named
    if user_id is None:
        await message.reply(t(desk.lang, "agent_only_in_topic"))
        return
    await desk.unban(user_id)
    await message.reply(t(desk.lang, "agent_unbanned", user_id=user_id))


async def cmd_whois(
    message: Message, command: CommandObject, desk: Desk, ticket: Ticket | None
) -> None:
    ticket, _ = await _named_ticket(message, command, desk, ticket)
    if ticket is not None:
        await message.reply(await whois.whois_text(desk, ticket))


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
        if not await _for_another_bot(message, text):  # /cmd@other_bot is that bot's
            await on_unknown_command(message, desk)
        return
    try:
        await desk.relay_out(message, ticket, agent)
    except TelegramBadRequest as exc:  # refused by Telegram: the agent must not think it went
        await message.reply(t(desk.lang, "agent_error", error=html.escape(exc.message)))


async def _for_another_bot(message: Message, text: str) -> bool:
    """``/priority@other_bot``: a command addressed to another bot in the group."""
    _, at, mention = text.split(maxsplit=1)[0].partition("@")
    if not at or message.bot is None:
        return False
    me = await message.bot.me()
    return mention.lower() != (me.username or "").lower()


async def on_agent_edit(message: Message, desk: Desk, agent: Agent, ticket: Ticket | None) -> None:
    """An edit of a message the subscriber got is mirrored to them, if the editor still has
    the ticket; after a transfer or a takeover it is not, and they are told why."""
    if ticket is None or not ticket.is_open:
        return
    try:
        await desk.mirror_edit_out(message, ticket, agent)
    except TelegramBadRequest as exc:
        await message.reply(
            t(desk.lang, "agent_edit_not_delivered", error=html.escape(exc.message))
        )
    except NotYourTicket:
        status = (
            t(desk.lang, "agent_status_claimed", agent=html.escape(ticket.agent_name or ""))
            if ticket.status == "claimed"
            else t(desk.lang, "agent_status_waiting")
        )
        await message.reply(t(desk.lang, "agent_edit_not_yours", ticket=ticket.id, status=status))


async def on_member_changed(event: ChatMemberUpdated, desk: Desk) -> None:
    """Someone joined, left or was removed: from this moment they are (not) an agent."""
    desk.members_in(event.chat.id).changed(event.new_chat_member.user.id, event.new_chat_member)
    await shift.member_changed(event, desk)  # one who left is off shift


async def on_unknown_button(query: CallbackQuery, desk: Desk) -> None:
    """Forged or stale data on a button in the group: answered, so the client stops waiting."""
    await answer_first(query, t(desk.lang, "stale_button"))


def create_routers(desk: Desk) -> Router:
    """The desks' groups' router and the leads' (neither without an operators' group)."""
    router = Router(name="desks")
    if desk.desks.group_ids:
        router.include_routers(create_router(desk), desks.leads_router(desk))
    return router


def create_router(desk: Desk) -> Router:
    """Handlers for the desks' operators' groups only; anything else never reaches them."""
    groups = desk.desks.group_ids
    router = Router(name="agents")
    router.message.filter(DeskChat(desk))  # the groups, or an agent's workspace topic
    router.edited_message.filter(DeskChat(desk))  # an agent's edit in a workspace too
    router.callback_query.filter(DeskChat(desk))
    # chat_member updates (who joins or leaves) come only to an admin bot that asks for them:
    # a handler here puts the kind in allowed_updates (resolve_used_update_types)
    router.chat_member.register(on_member_changed, F.chat.id.in_(groups))
    middleware = DeskMiddleware(desk)
    for observer in (router.message, router.edited_message, router.callback_query):
        observer.middleware(middleware)
    router.callback_query.register(on_card_button, TicketCb.filter())
    kb = KbCommand()
    router.callback_query.register(kb.button, KbCb.filter())
    router.callback_query.register(on_reply_button, ReplyCb.filter())
    commands = {
        "close": cmd_close,
        "reopen": cmd_reopen,
        "transfer": cmd_transfer,
        "takeover": cmd_takeover,
        "kb": kb.command,
        "r": cmd_reply,
        "ban": cmd_ban,
        "unban": cmd_unban,
        "queue": desks.cmd_queue,
        "whois": cmd_whois,
        "stats": desks.cmd_stats,
        **shift.COMMANDS,
        "priority": triage.cmd_priority,
        "label": triage.cmd_label,
    }
    assert set(commands) | {"note"} == set(DESK_COMMANDS)
    for name, handler in commands.items():
        router.message.register(handler, Command(name))
    router.message.register(on_agent_message)
    router.edited_message.register(on_agent_edit)
    router.callback_query.register(on_unknown_button)
    return router
