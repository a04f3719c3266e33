"""``/r``: the desk's canned replies (``replies:`` in the knowledge base) found by words in any
of the three languages and sent to a ticket's subscriber with a button, or at once by id."""

from __future__ import annotations

import html

from aiogram.filters import CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.callbacks import MAX_ID, answer_first, in_its_topic
from bot.desk import Agent, Desk
from bot.desk.cards import error_text, quoted
from bot.desk.replies import send_reply
from bot.texts import t
from bot.tglimits import cut_utf16
from handoff.tickets import DeskError, Ticket
from knowledge.search import search_replies
from knowledge.service import KnowledgeService

FOUND = 5  # replies /r <words> lists
LISTED = 30  # replies /r alone lists (with a button each); the rest are found by words
BUTTON = 60  # UTF-16 units of a reply's button
TITLE = 60  # UTF-16 units of a title in a list (30 lines stay within one message)


class ReplyCb(CallbackData, prefix="r"):
    """A listed reply: pressed, it goes to the ticket's subscriber. A reply id has at most 32
    characters and a ticket's at most 19 digits, so the data stays within Telegram's 64 bytes."""

    ticket: int
    reply: str


async def cmd_reply(
    message: Message,
    command: CommandObject,
    desk: Desk,
    knowledge: KnowledgeService,
    agent: Agent,
    ticket: Ticket | None,
) -> None:
    """``/r <words>``: the best matches, a button each; ``/r <id>``: that reply, sent at once;
    ``/r``: every reply's title."""
    if ticket is None:
        await message.reply(t(desk.lang, "agent_only_in_topic"))
        return
    replies = knowledge.kb.replies
    query = (command.args or "").strip()
    if not replies:
        await message.reply(t(desk.lang, "agent_replies_none"))
        return
    if query in replies:
        await message.reply(await send_reply(desk, ticket, agent, replies[query], message))
        return
    if query:
        ids = [f.reply for f in search_replies(knowledge.kb, query, desk.lang, limit=FOUND)]
        head = t(desk.lang, "agent_replies_found", query=html.escape(query))
    else:
        ids = list(replies)
        head = t(desk.lang, "agent_replies_all")
    if not ids:
        await message.reply(t(desk.lang, "agent_replies_nothing", query=quoted(query)))
        return
    lines, rows = [head], []
    for n, reply_id in enumerate(ids[:LISTED], 1):
        title = getattr(replies[reply_id].title, desk.lang)
        shown = html.escape(cut_utf16(title, TITLE, "…"))
        lines.append(t(desk.lang, "agent_replies_line", n=n, title=shown, reply=reply_id))
        data = ReplyCb(ticket=ticket.id, reply=reply_id).pack()
        label = cut_utf16(f"{n}. {title}", BUTTON, "…")
        rows.append([InlineKeyboardButton(text=label, callback_data=data)])
    if len(ids) > LISTED:
        lines.append(t(desk.lang, "agent_replies_more", count=len(ids) - LISTED))
    markup = InlineKeyboardMarkup(inline_keyboard=rows)
    await message.reply("\n".join(lines), reply_markup=markup)


async def on_reply_button(
    query: CallbackQuery,
    callback_data: ReplyCb,
    desk: Desk,
    knowledge: KnowledgeService,
    agent: Agent,
) -> None:
    """A listed reply pressed: sent, if the button is still what it was made as — its ticket's,
    in that ticket's topic, naming a reply the knowledge base has; otherwise "stale button"."""
    reply = knowledge.kb.replies.get(callback_data.reply)
    chat = query.message.chat.id if query.message else None  # a ticket of this group's desk
    ticket = (
        await desk.ticket(callback_data.ticket, chat)
        if 0 < callback_data.ticket <= MAX_ID
        else None
    )
    if reply is None or not in_its_topic(query, ticket):
        await answer_first(query, t(desk.lang, "stale_button"))
        return
    where = query.message  # a Message: in_its_topic checked it
    await answer_first(query)
    try:
        sent = await send_reply(desk, ticket, agent, reply, where)
    except DeskError as exc:
        sent = error_text(desk.lang, exc, for_html=True)
    await desk.notify(ticket, sent)
