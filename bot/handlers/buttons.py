"""Subscriber side, the buttons under the bot's messages: menu, topics, "did you mean", 👍/👎,
operator, rating, cancel; and sending a topic's answer, which most of them do."""

from __future__ import annotations

import contextlib
import html
import logging

from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot import keyboards
from bot.callbacks import (
    MAX_ID,
    Answer,
    CancelCb,
    CategoryCb,
    ChoiceCb,
    CsatCb,
    FeedbackCb,
    LangCb,
    TopicCb,
    answer_first,
    answer_within,
)
from bot.config import Config
from bot.desk import Desk, alerts
from bot.handlers import outage
from bot.split import split_html
from bot.texts import t
from handoff.insights import LOW_CSAT
from handoff.storage import Store
from handoff.subscribers import Subscriber
from handoff.tickets import DeskError, Ticket
from knowledge.lang import LANGS
from knowledge.service import KnowledgeService

log = logging.getLogger(__name__)

LOW_RATING = LOW_CSAT  # a rating this low asks what went wrong and alerts the lead
NOT_MODIFIED = "message is not modified"  # Telegram's 400 for an edit that changes nothing


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
    if not _is_menu(query.message):
        await query.message.answer(text, reply_markup=markup)
    elif (query.message.html_text, query.message.reply_markup) != (text, markup):
        try:
            await query.message.edit_text(text, reply_markup=markup)
        except TelegramBadRequest as exc:
            # a double tap: both presses carried the old menu, the first edit already shows it
            if NOT_MODIFIED not in exc.message:
                raise
            log.debug("menu %s already shows %r", query.message.message_id, callback_data.id)


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


async def on_choice(
    query: CallbackQuery,
    callback_data: ChoiceCb,
    knowledge: KnowledgeService,
    store: Store,
    sub: Subscriber,
    lang: str,
    state: FSMContext,
    config: Config,
) -> None:
    """A "did you mean" choice: the clarify records it (the bot helped after all) and the
    answer's 👍/👎 are kept with the question that asked."""
    known = callback_data.id in knowledge.kb.topics and 0 < callback_data.q <= MAX_ID
    if not isinstance(query.message, Message) or not known:
        await answer_first(query, t(lang, "stale_button"))
        return
    await answer_first(query)
    question = (
        callback_data.q if await store.chose(sub.user_id, callback_data.q, callback_data.id) else 0
    )
    await send_topic(query.message, knowledge, callback_data.id, lang, question=question)
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
    await alerts.low_rating(desk, rated[0], sub)  # a low one: the lead is told, once


async def on_unknown_button(query: CallbackQuery, lang: str) -> None:
    """Forged or stale callback data: a polite note, never an exception."""
    await answer_first(query, t(lang, "stale_button"))
