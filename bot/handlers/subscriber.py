"""Subscriber side: private chats with the bot — commands, questions, menu and buttons."""

from __future__ import annotations

import contextlib
import html
import logging
import time

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandStart, Filter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot import keyboards
from bot.callbacks import (
    MAX_ID,
    Answer,
    CancelCb,
    CategoryCb,
    CsatCb,
    FeedbackCb,
    LangCb,
    OperatorCb,
    TopicCb,
    answer_first,
    answer_within,
)
from bot.config import Config
from bot.desk import Desk
from bot.desk.cards import DESK_COMMANDS
from bot.handlers import outage
from bot.health import Metrics
from bot.split import split_html
from bot.texts import t
from handoff.policies import hand_off_after_misses
from handoff.storage import Store
from handoff.subscribers import Subscriber
from handoff.tickets import DeskError, Ticket
from knowledge.lang import LANGS
from knowledge.matcher import Decision, reply_language
from knowledge.service import KnowledgeService

log = logging.getLogger(__name__)


async def send_long(
    message: Message, text: str, markup: InlineKeyboardMarkup | None = None
) -> Message:
    """Send HTML text split under the limit; the keyboard goes under the last part."""
    chunks = split_html(text)
    sent = message
    for i, chunk in enumerate(chunks):
        last = i == len(chunks) - 1
        sent = await message.answer(chunk, reply_markup=markup if last else None)
    return sent


async def send_topic(
    message: Message,
    knowledge: KnowledgeService,
    topic_id: str,
    lang: str,
    also: str | None = None,
    question: int = 0,
) -> bool:
    """A topic's answer with its buttons; ``also``: a second ask's topic, one more button;
    ``question``: the interaction it answers, for its 👍/👎 (0: a button press)."""
    kb = knowledge.kb
    topic = kb.topics.get(topic_id)
    if topic is None:
        return False
    markup = keyboards.answer(kb, topic, lang, also=also, question=question)
    await send_long(message, getattr(topic.answer, lang), markup)
    return True


async def hand_off(
    desk: Desk, store: Store, sub: Subscriber, lang: str, reason: str, origin: int | None
) -> None:
    """/operator or the button: the last question goes with the ticket (the desk tells the
    subscriber; ``origin``, their message that asked, if it was one)."""
    recent = await store.recent_interactions(sub.user_id, limit=1)
    question = recent[0]["text"] if recent else ""
    await desk.hand_off(sub, lang, reason, question, origin)


def _pending(lang: str, ticket: Ticket | None) -> str:
    """A line for a subscriber whose request for a person is still open."""
    if ticket is None or not ticket.is_open:
        return ""
    return "\n\n" + t(lang, "handoff_pending", ticket=ticket.id)


async def cmd_start(
    message: Message, sub: Subscriber, lang: str, ticket: Ticket | None = None
) -> None:
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


async def on_cancel(
    query: CallbackQuery,
    callback_data: CancelCb,
    desk: Desk,
    store: Store,
    sub: Subscriber,
    lang: str,
) -> None:
    await answer_first(query)  # before the work: a late answer must not skip the rest
    ticket = await store.get_ticket(callback_data.id) if callback_data.id <= 2**63 - 1 else None
    if ticket is None or ticket.user_id != sub.user_id or not ticket.is_open:
        if isinstance(query.message, Message):
            await query.message.answer(t(lang, "handoff_nothing_to_cancel"))
        return
    if isinstance(query.message, Message):
        with contextlib.suppress(TelegramBadRequest):
            await query.message.edit_reply_markup(reply_markup=None)
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
    before the answer so that the answer's 👍/👎 name it; ``latency_ms`` is the deciding."""
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
        previous = await store.recent_interactions(sub.user_id, limit=max(1, limit - 1))
        gave_up = hand_off_after_misses(previous, limit)
    question = await store.log_interaction(
        sub.user_id,
        text[:max_chars],
        decision.normalized,
        decision.kind,
        decision.topic,
        decision.candidate_ids if decision.kind == "clarify" else [],
        decision.score,
        decision.lang,
        (time.perf_counter() - started) * 1000,
        intent=decision.intent,
    )
    if truncated:
        await message.answer(t(reply_lang, "too_long"))
    if gave_up:  # a miss after misses: the hand-off's reason says why; the decision stays
        await desk.hand_off(sub, reply_lang, "bot_failed", text, message.message_id)
    else:
        await answer_decision(
            message, knowledge, desk, sub, decision, reply_lang, state, config, question
        )


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
        await message.answer(t(lang, "clarify"), reply_markup=keyboards.choices(kb, ids, lang))
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


# -- buttons -----------------------------------------------------------------------------------
# Each press is answered before the work it starts (``answer_first``): what it answers with is
# decided from memory; a press whose answer needs the database answers within a bound.


async def on_language(
    query: CallbackQuery, callback_data: LangCb, store: Store, sub: Subscriber
) -> None:
    if callback_data.lang not in LANGS:
        await answer_first(query, t(None, "stale_button"))
        return
    await answer_first(query)
    await store.set_language(sub.user_id, callback_data.lang)
    if isinstance(query.message, Message):
        await query.message.answer(t(callback_data.lang, "language_set"))


async def on_category(
    query: CallbackQuery, callback_data: CategoryCb, knowledge: KnowledgeService, lang: str
) -> None:
    kb = knowledge.kb
    known = callback_data.id == "" or callback_data.id in kb.categories
    if not isinstance(query.message, Message) or not known:
        await answer_first(query, t(lang, "stale_button"))
        return
    await answer_first(query)
    if callback_data.id == "":
        text, markup = t(lang, "menu_title"), keyboards.menu(kb, lang)
    else:
        cat = kb.categories[callback_data.id]
        title = html.escape(getattr(cat.title, lang))
        text = t(lang, "menu_category", icon=html.escape(cat.icon), title=title).strip()
        markup = keyboards.category(kb, cat.id, lang)
    if _is_menu(query.message):
        await query.message.edit_text(text, reply_markup=markup)
    else:
        await query.message.answer(text, reply_markup=markup)


def _is_menu(message: Message) -> bool:
    """A menu message is navigated in place; an answer with a Menu button stays as it is."""
    markup = message.reply_markup
    if not message.text or markup is None:
        return False
    data = [b.callback_data or "" for row in markup.inline_keyboard for b in row]
    return any(d.startswith("c:") for d in data) and not any(d.startswith("f:") for d in data)


async def on_topic(
    query: CallbackQuery,
    callback_data: TopicCb,
    knowledge: KnowledgeService,
    lang: str,
    state: FSMContext,
    config: Config,
) -> None:
    if not isinstance(query.message, Message):
        await answer_first(query, t(lang, "stale_button"))
        return
    if callback_data.id not in knowledge.kb.topics:
        await answer_first(query, t(lang, "stale_button"), show_alert=True)
        return
    await answer_first(query)
    await send_topic(query.message, knowledge, callback_data.id, lang)
    if callback_data.id == outage.OUTAGE_TOPIC:
        await outage.start(query.message, state, config, lang)


async def on_feedback(
    query: CallbackQuery,
    callback_data: FeedbackCb,
    knowledge: KnowledgeService,
    store: Store,
    sub: Subscriber,
    lang: str,
) -> None:
    """One 👍/👎 per answer: pressing again replaces the vote, the buttons show the choice.
    The vote is kept with the question that answer was for (the button names it)."""
    known = callback_data.topic in knowledge.kb.topics and 0 <= callback_data.q <= MAX_ID
    if known and callback_data.q and await store.asked(sub.user_id, callback_data.q) is None:
        known = False  # someone else's question, or none at all: forged
    if not known:
        await answer_first(query, t(lang, "stale_button"))
        return
    await answer_first(
        query, t(lang, "feedback_thanks" if callback_data.helpful else "feedback_sorry")
    )
    answer = query.message if isinstance(query.message, Message) else None
    await store.add_feedback(
        sub.user_id,
        callback_data.topic,
        callback_data.helpful,
        message_id=answer.message_id if answer else None,
        question=callback_data.q,
    )
    if answer is not None and answer.reply_markup is not None:
        marked = keyboards.with_vote(answer.reply_markup, callback_data.helpful, lang)
        if marked != answer.reply_markup:
            with contextlib.suppress(TelegramBadRequest):  # pressed twice: "not modified"
                await answer.edit_reply_markup(reply_markup=marked)


async def on_operator(
    query: CallbackQuery, desk: Desk, store: Store, sub: Subscriber, lang: str
) -> None:
    await answer_first(query)
    if isinstance(query.message, Message):
        await hand_off(desk, store, sub, lang, "button", None)


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
    ("спасибо", "ok")."""
    if ticket is None and reopenable is not None:
        if message.text:
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
    )


async def on_edit(message: Message, desk: Desk) -> None:
    await desk.mirror_edit_in(message)


async def on_csat(
    query: CallbackQuery,
    callback_data: CsatCb,
    desk: Desk,
    store: Store,
    sub: Subscriber,
    lang: str,
) -> None:
    rated: list[Ticket] = []

    async def rate() -> Answer:
        ticket = await store.get_ticket(callback_data.id) if callback_data.id <= 2**63 - 1 else None
        if ticket is None or ticket.user_id != sub.user_id or not 1 <= callback_data.score <= 5:
            return Answer(t(lang, "stale_button"))
        if ticket.status != "closed":  # reopened since the rating was asked for
            return Answer(t(lang, "csat_not_closed"))
        try:
            rated.append(await store.set_csat(ticket.id, callback_data.score))
        except DeskError:  # reopened in the meantime
            return Answer(t(lang, "csat_not_closed"))
        return Answer(t(lang, "csat_thanks"))

    await answer_within(query, rate())
    if not rated:
        return
    score = callback_data.score
    if isinstance(query.message, Message):
        said = t(lang, "csat_given", score=score)
        if score <= LOW_RATING:
            said += "\n" + t(lang, "csat_what_went_wrong")
        with contextlib.suppress(TelegramBadRequest):  # pressed twice: "not modified"
            await query.message.edit_text(said, reply_markup=None)
    await desk.rated(rated[0])


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


async def on_unknown_button(query: CallbackQuery, lang: str) -> None:
    """Forged or stale callback data: a polite note, never an exception."""
    await answer_first(query, t(lang, "stale_button"))


AGENT_COMMANDS = DESK_COMMANDS
LOW_RATING = 2  # a rating this low asks what went wrong


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
    router.callback_query.register(on_feedback, FeedbackCb.filter())
    router.callback_query.register(on_operator, OperatorCb.filter())
    router.callback_query.register(on_csat, CsatCb.filter())
    router.callback_query.register(on_cancel, CancelCb.filter())
    router.edited_message.register(on_edit)
    router.callback_query.register(on_unknown_button)
    return router
