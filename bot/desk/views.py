"""A ticket's topic is a disposable view of it: the ticket and its history live in Dono's
database, so a topic Telegram no longer takes — deleted by an admin, closed against the bot,
archived with a forum's oldest messages ("message thread not found", tdlib/telegram-bot-api
#596) — is made again: a new topic, the card, a line saying so and the ticket's recent
messages, forwarded in one call from the subscriber's chat (where both sides' messages are:
theirs, and the bot's copies of the agents' answers). The caller then delivers what failed,
once: nothing is lost and nothing arrives twice.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import weakref
from typing import TYPE_CHECKING

from aiogram.exceptions import TelegramBadRequest

from bot.texts import t
from handoff.tickets import Ticket

if TYPE_CHECKING:
    from bot.desk.topics import Topics

log = logging.getLogger(__name__)

HISTORY = 10  # the ticket's last messages a new topic shows (one call, each costs the budget)

_locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()


async def recreate(topics: Topics, ticket: Ticket, failed: int | None) -> Ticket:
    """The ticket's topic again, after ``failed`` (its thread id then) was refused: a new
    topic with the card and the recent history, recorded with the ticket. Two relays that
    find the same topic gone make one new topic: the second finds it made and uses it."""
    lock = _locks.setdefault(ticket.id, asyncio.Lock())
    async with lock:
        current = await topics.store.get_ticket(ticket.id) or ticket
        if current.thread_id != failed:
            return current  # another relay made it meanwhile
        log.info("topic %s of ticket #%s is gone; making it again", failed, ticket.id)
        sub = await topics.store.subscriber(ticket.user_id)
        current = await topics.new_topic(dataclasses.replace(current, thread_id=None), sub)
        current = await topics.send_card(current, sub, current.thread_id)
        await history(topics, current)
        return current


async def history(topics: Topics, ticket: Ticket) -> None:
    """A line saying the topic was made again, and the ticket's last messages under it."""
    await post_history(
        topics, ticket, topics.chat_of(ticket), ticket.thread_id, t(topics.lang, "agent_new_topic")
    )


async def post_history(
    topics: Topics, ticket: Ticket, chat: int | None, thread: int | None, header: str
) -> None:
    """``header`` with the count of the ticket's last messages, then those messages forwarded
    into ``thread`` of ``chat`` in one call (a new topic, an agent's workspace)."""
    relayed = [
        m
        for m in await topics.store.messages(ticket.id)
        if m.direction in ("in", "out") and m.user_chat_message_id is not None
    ]
    ids = sorted({m.user_chat_message_id for m in relayed if m.user_chat_message_id})[-HISTORY:]
    text = header
    if ids:
        text += "\n" + t(topics.lang, "agent_topic_history", count=len(ids))
    await topics.bot.send_message(chat, text, message_thread_id=thread)
    if not ids:
        return
    try:
        await topics.bot.forward_messages(chat, ticket.user_id, ids, message_thread_id=thread)
    except TelegramBadRequest as exc:  # the subscriber deleted them all, say: the card stays
        log.info("history of ticket #%s not forwarded: %s", ticket.id, exc.message)
