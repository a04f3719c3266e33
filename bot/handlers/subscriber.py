"""Subscriber side: private chats with the bot — commands, questions, media, tickets (the
buttons are in ``bot.handlers.buttons``)."""

from __future__ import annotations

import html
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable

from aiogram import F, Router
from aiogram.filters import Command, CommandStart, Filter
from aiogram.fsm.context import FSMContext
from aiogram.types import Message

from bot import keyboards
from bot.callbacks import (
    CancelCb,
    CategoryCb,
    ChoiceCb,
    CsatCb,
    FeedbackCb,
    LangCb,
    OperatorCb,
    TopicCb,
)
from bot.config import Config
from bot.desk import Desk
from bot.desk.cards import DESK_COMMANDS
from bot.errors import storage_unavailable
from bot.handlers import outage
from bot.handlers.buttons import (
    hand_off,
    on_cancel,
    on_category,
    on_choice,
    on_csat,
    on_feedback,
    on_language,
    on_operator,
    on_topic,
    on_unknown_button,
    send_topic,
)
from bot.health import Metrics
from bot.sends import handled_update
from bot.texts import t
from handoff.policies import any_message_reopens, hand_off_after_misses
from handoff.storage import Store
from handoff.subscribers import Subscriber
from handoff.tickets import Ticket
from knowledge.matcher import Decision, reply_language
from knowledge.service import KnowledgeService

log = logging.getLogger(__name__)


def _pending(lang: str, ticket: Ticket | None) -> str:
    """A line for a subscriber whose request for a person is still open."""
    if ticket is None or not ticket.is_open:
        return ""
    return "\n\n" + t(lang, "handoff_pending", ticket=ticket.id)


async def cmd_start(
    message: Message,
    desk: Desk,
    sub: Subscriber,
    lang: str,
    ticket: Ticket | None = None,
    reopenable: Ticket | None = None,
) -> None:
    """The greeting; back after blocking the bot (a "Restart"), their ticket reopens too."""
    if ticket is None and reopenable is not None and any_message_reopens(reopenable):
        ticket = await desk.reopen(reopenable)
    name = html.escape(message.from_user.first_name if message.from_user else "")
    await message.answer(t(lang, "start", name=name) + _pending(lang, ticket))
    if sub.lang is None:
        await message.answer(t(lang, "choose_language"), reply_markup=keyboards.languages())


async def cmd_help(message: Message, lang: str, ticket: Ticket | None = None) -> None:
    await message.answer(t(lang, "help") + _pending(lang, ticket))


async def cmd_cancel(message: Message, desk: Desk, lang: str, ticket: Ticket | None = None) -> None:
    """/cancel: the open request for a person is taken back."""
    if ticket is None or not ticket.is_open:
        await message.answer(t(lang, "handoff_nothing_to_cancel"))
        return
    await desk.cancel(ticket)


async def cmd_lang(message: Message, lang: str) -> None:
    await message.answer(t(lang, "choose_language"), reply_markup=keyboards.languages())


async def cmd_menu(message: Message, knowledge: KnowledgeService, lang: str) -> None:
    await message.answer(t(lang, "menu_title"), reply_markup=keyboards.menu(knowledge.kb, lang))


async def cmd_operator(
    message: Message, desk: Desk, store: Store, sub: Subscriber, lang: str
) -> None:
    await hand_off(desk, store, sub, lang, "command", message.message_id)


async def on_question(
    message: Message,
    knowledge: KnowledgeService,
    store: Store,
    desk: Desk,
    sub: Subscriber,
    lang: str,
    max_chars: int,
    state: FSMContext,
    config: Config,
    metrics: Metrics | None = None,
    decision: Decision | None = None,
) -> None:
    """A question: matched (unless the caller already did), logged, answered. It is logged
    before the answer so that the answer's 👍/👎 name it; its latency, once the answer is out."""
    started = time.perf_counter()
    text = message.text or ""
    truncated = len(text) > max_chars
    if decision is None:
        decision = knowledge.matcher.match(text[:max_chars], lang)
    if metrics is not None:
        metrics.decisions.labels(decision.kind).inc()
    reply_lang = reply_language(decision, lang)
    limit = config.agents.handoff_after_misses
    gave_up = False
    if decision.kind == "none" and decision.normalized and limit > 0:
        # small talk between misses is stepped over: look a little further back
        previous = await store.recent_interactions(sub.user_id, limit=limit + MISS_LOOKBACK)
        gave_up = hand_off_after_misses(previous, limit)

    def log_it(latency_ms: float) -> Awaitable[int]:
        return store.log_interaction(
            sub.user_id,
            text[:max_chars],
            decision.normalized,
            decision.kind,
            decision.topic,
            decision.candidate_ids if decision.kind == "clarify" else [],
            decision.score,
            decision.lang,
            latency_ms,
            intent=decision.intent,
            update_id=handled_update(),
        )

    try:
        question: int | None = await log_it((time.perf_counter() - started) * 1000)
    except sqlite3.OperationalError as exc:
        if not storage_unavailable(exc):
            raise
        question = None  # a locked database: answer first, log after (or keep the update)
    if truncated:
        await message.answer(t(reply_lang, "too_long"))
    if gave_up:  # a miss after misses: the hand-off's reason says why; the decision stays
        await desk.hand_off(sub, reply_lang, "bot_failed", text, message.message_id)
    else:
        await answer_decision(
            message, knowledge, desk, sub, decision, reply_lang, state, config, question or 0
        )
    await _logged(store, question, log_it, (time.perf_counter() - started) * 1000)


async def _logged(
    store: Store,
    question: int | None,
    log_it: Callable[[float], Awaitable[int]],
    latency: float,
) -> None:
    """After the answer: the question logged if the database refused it before (still locked:
    the update is kept, its answer is not sent twice), else its latency recorded — only a
    figure, so a refused update of it is logged, never retried."""
    if question is None:
        await log_it(latency)
        return
    try:
        await store.set_latency(question, latency)
    except sqlite3.OperationalError as exc:
        if not storage_unavailable(exc):
            raise
        log.warning("latency of question %s not recorded: %s", question, exc)


async def answer_decision(
    message: Message,
    knowledge: KnowledgeService,
    desk: Desk,
    sub: Subscriber,
    decision: Decision,
    lang: str,
    state: FSMContext | None = None,
    config: Config | None = None,
    question: int = 0,
) -> None:
    """Say what the decision says: the answer (and a button for a second ask), "did you
    mean", the hand-off, a small-talk reply, or the polite fallback. ``question``: the
    logged interaction the answer's 👍/👎 name."""
    kb = knowledge.kb
    if decision.kind == "answer" and decision.topic:
        also = decision.also.id if decision.also is not None else None
        if await send_topic(message, knowledge, decision.topic, lang, also, question):
            if decision.topic == outage.OUTAGE_TOPIC and state is not None:
                await outage.start(message, state, config, lang)
            return
    elif decision.kind == "clarify":
        ids = decision.candidate_ids
        markup = keyboards.choices(kb, ids, lang, question)
        one = sum(tid in kb.topics for tid in ids) == 1  # "which one" above one choice reads oddly
        await message.answer(t(lang, "clarify_one" if one else "clarify"), reply_markup=markup)
        return
    elif decision.kind == "handoff":
        await desk.hand_off(sub, lang, "asked", message.text or "", message.message_id)
        return
    elif decision.kind == "smalltalk" and decision.intent in kb.intents:
        reply = kb.intents[decision.intent].answer
        if reply is not None:
            await message.answer(getattr(reply, lang))
            return
    await message.answer(t(lang, "not_found"), reply_markup=keyboards.fallback(lang))


async def on_other(message: Message, lang: str) -> None:
    """Photos, voice, stickers, locations...: say what the bot can do instead of silence."""
    await message.answer(t(lang, "media_unsupported"), reply_markup=keyboards.fallback(lang))


async def on_ticket_message(
    message: Message,
    desk: Desk,
    knowledge: KnowledgeService,
    store: Store,
    sub: Subscriber,
    lang: str,
    max_chars: int,
    state: FSMContext,
    config: Config,
    ticket: Ticket | None = None,
    reopenable: Ticket | None = None,
    metrics: Metrics | None = None,
) -> None:
    """While a ticket is open, everything the subscriber sends goes to the agents. Writing
    again soon after a close reopens it, unless it is only small talk the bot answers itself
    ("спасибо", "ok") after an agent's close (``any_message_reopens``)."""
    if ticket is None and reopenable is not None:
        if message.text and not any_message_reopens(reopenable):
            decision = knowledge.matcher.match(message.text[:max_chars], lang)
            if decision.kind == "smalltalk":
                await on_question(
                    message, knowledge, store, desk, sub, lang, max_chars, state, config,
                    metrics, decision=decision,
                )  # fmt: skip
                return
        ticket = await desk.reopen(reopenable)
    if ticket is not None:
        await desk.relay_in(message, ticket)


async def on_banned_message(message: Message, store: Store, sub: Subscriber) -> None:
    """A banned subscriber's message is kept (for the record), not relayed, not answered."""
    await store.log_interaction(
        sub.user_id,
        message.text or message.caption or f"<{message.content_type}>",
        "",
        "banned",
        None,
        [],
        0.0,
        None,
        0.0,
        update_id=handled_update(),
    )


async def on_edit(message: Message, desk: Desk) -> None:
    await desk.mirror_edit_in(message)


async def on_agent_command_here(message: Message, lang: str) -> None:
    """Desk commands belong to the operators' group; here they do nothing but say so."""
    await message.answer(t(lang, "agent_only_in_group"))


class InTicket(Filter):
    """Passes when the subscriber has an open ticket, or one that their message reopens (both
    looked up by ``TicketMiddleware``). A filter only decides: the handler reopens."""

    async def __call__(
        self, message: Message, ticket: Ticket | None = None, reopenable: Ticket | None = None
    ) -> bool:
        return ticket is not None or reopenable is not None


class IsBanned(Filter):
    def __init__(self, store: Store) -> None:
        self.store = store

    async def __call__(self, message: Message) -> bool:
        return message.from_user is not None and await self.store.is_banned(message.from_user.id)


AGENT_COMMANDS = DESK_COMMANDS
MISS_LOOKBACK = 10  # interactions looked at beyond the misses counted (small talk between)


def create_router(store: Store) -> Router:
    """A fresh router with every subscriber handler (a router belongs to one dispatcher)."""
    router = Router(name="subscriber")
    router.message.filter(F.chat.type == "private")
    router.edited_message.filter(F.chat.type == "private")
    router.callback_query.filter(F.message.chat.type == "private")
    router.message.register(on_banned_message, IsBanned(store))
    router.message.register(cmd_start, CommandStart())
    router.message.register(cmd_help, Command("help"))
    router.message.register(cmd_lang, Command("lang"))
    router.message.register(cmd_menu, Command("menu"))
    router.message.register(cmd_operator, Command("operator"))
    router.message.register(cmd_cancel, Command("cancel"))
    router.message.register(on_agent_command_here, Command(*AGENT_COMMANDS))
    outage.register(router)
    router.message.register(on_ticket_message, InTicket())
    router.message.register(on_question, F.text)
    router.message.register(on_other)
    router.callback_query.register(on_language, LangCb.filter())
    router.callback_query.register(on_category, CategoryCb.filter())
    router.callback_query.register(on_topic, TopicCb.filter())
    router.callback_query.register(on_choice, ChoiceCb.filter())
    router.callback_query.register(on_feedback, FeedbackCb.filter())
    router.callback_query.register(on_operator, OperatorCb.filter())
    router.callback_query.register(on_csat, CsatCb.filter())
    router.callback_query.register(on_cancel, CancelCb.filter())
    router.edited_message.register(on_edit)
    router.callback_query.register(on_unknown_button)
    return router
