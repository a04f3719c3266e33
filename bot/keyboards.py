"""Inline keyboards of the subscriber's chat (their callback data is in ``bot.callbacks``)."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import CategoryCb, ChoiceCb, FeedbackCb, LangCb, OperatorCb, TopicCb
from bot.texts import catalog, t
from knowledge.lang import LANGS
from knowledge.loader import KnowledgeBase
from knowledge.schema import Topic


def topic_title(topic: Topic, lang: str) -> str:
    if topic.title is not None:
        return getattr(topic.title, lang)
    first = getattr(topic.triggers, lang) or topic.triggers.ru or topic.triggers.en
    text = first[0] if first else topic.id
    return text[:1].upper() + text[1:]


def languages() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for lang in LANGS:
        kb.button(text=catalog(lang)["language_name"], callback_data=LangCb(lang=lang))
    return kb.as_markup()


def menu(kb_: KnowledgeBase, lang: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for cat in kb_.categories.values():
        if kb_.topics_in(cat.id):
            title = getattr(cat.title, lang)
            kb.button(text=f"{cat.icon} {title}".strip(), callback_data=CategoryCb(id=cat.id))
    kb.button(text=t(lang, "button_operator"), callback_data=OperatorCb())
    kb.adjust(2)
    return kb.as_markup()


def category(kb_: KnowledgeBase, cat_id: str, lang: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for topic in kb_.topics_in(cat_id):
        kb.button(text=topic_title(topic, lang), callback_data=TopicCb(id=topic.id))
    kb.button(text=t(lang, "button_back"), callback_data=CategoryCb(id=""))
    kb.adjust(1)
    return kb.as_markup()


def answer(
    kb_: KnowledgeBase, topic: Topic, lang: str, also: str | None = None, question: int = 0
) -> InlineKeyboardMarkup:
    """URL buttons, a second ask's topic (``also``), related topics, 👍/👎, operator and menu
    under an answer; the 👍/👎 name ``question``, the interaction answered (0: a button's)."""
    kb = InlineKeyboardBuilder()
    for button in topic.buttons:
        kb.row(InlineKeyboardButton(text=getattr(button.text, lang), url=button.url))
    if also is not None and also in kb_.topics and also != topic.id:
        kb.row(
            InlineKeyboardButton(
                text=topic_title(kb_.topics[also], lang), callback_data=TopicCb(id=also).pack()
            )
        )
    for rel in topic.related:
        if rel in kb_.topics:
            kb.row(
                InlineKeyboardButton(
                    text="➡️ " + topic_title(kb_.topics[rel], lang),
                    callback_data=TopicCb(id=rel).pack(),
                )
            )
    kb.row(
        InlineKeyboardButton(
            text=t(lang, "button_helpful"),
            callback_data=FeedbackCb(topic=topic.id, helpful=True, q=question).pack(),
        ),
        InlineKeyboardButton(
            text=t(lang, "button_not_helpful"),
            callback_data=FeedbackCb(topic=topic.id, helpful=False, q=question).pack(),
        ),
    )
    kb.row(
        InlineKeyboardButton(text=t(lang, "button_menu"), callback_data=CategoryCb(id="").pack()),
        InlineKeyboardButton(text=t(lang, "button_operator"), callback_data=OperatorCb().pack()),
    )
    return kb.as_markup()


def choices(
    kb_: KnowledgeBase, topic_ids: list[str], lang: str, question: int = 0
) -> InlineKeyboardMarkup:
    """ "Did you mean" buttons (naming ``question``, the interaction that asked), then the
    operator."""
    kb = InlineKeyboardBuilder()
    for tid in topic_ids:
        if tid in kb_.topics:
            data = ChoiceCb(id=tid, q=question) if question else TopicCb(id=tid)
            kb.button(text=topic_title(kb_.topics[tid], lang), callback_data=data)
    kb.button(text=t(lang, "button_operator"), callback_data=OperatorCb())
    kb.adjust(1)
    return kb.as_markup()


def fallback(lang: str) -> InlineKeyboardMarkup:
    """Menu and operator, in the order every answer has them."""
    kb = InlineKeyboardBuilder()
    kb.button(text=t(lang, "button_menu"), callback_data=CategoryCb(id=""))
    kb.button(text=t(lang, "button_operator"), callback_data=OperatorCb())
    return kb.as_markup()


VOTED = "✓ "


def with_vote(markup: InlineKeyboardMarkup, helpful: bool, lang: str) -> InlineKeyboardMarkup:
    """The same buttons, the 👍/👎 just pressed marked as the subscriber's choice."""
    rows = []
    for row in markup.inline_keyboard:
        new_row = []
        for button in row:
            data = button.callback_data or ""
            if data.startswith(FeedbackCb.__prefix__ + ":"):
                vote = FeedbackCb.unpack(data)
                text = t(lang, "button_helpful" if vote.helpful else "button_not_helpful")
                marked = VOTED + text if vote.helpful == helpful else text
                button = button.model_copy(update={"text": marked})
            new_row.append(button)
        rows.append(new_row)
    return InlineKeyboardMarkup(inline_keyboard=rows)
