"""Every callback-data class the bot's buttons carry (each packs under Telegram's 64 bytes)."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class TopicCb(CallbackData, prefix="t"):
    """Show a topic's answer (from the menu, "did you mean", "see also" or a second ask)."""

    id: str


class CategoryCb(CallbackData, prefix="c"):
    """Open a menu category; an empty id is the top of the menu."""

    id: str = ""


class LangCb(CallbackData, prefix="l"):
    lang: str


class FeedbackCb(CallbackData, prefix="f"):
    """👍/👎 under a topic's answer."""

    topic: str
    helpful: bool


class OperatorCb(CallbackData, prefix="op"):
    """The subscriber asks for a human."""


class DistrictCb(CallbackData, prefix="od"):
    """The outage flow's district: an index into config.outages.districts; -1 "elsewhere"."""

    index: int


class TicketCb(CallbackData, prefix="tk"):
    """Claim / Close on a ticket's card."""

    action: str
    id: int


class CsatCb(CallbackData, prefix="cs"):
    """The subscriber's 1–5 rating after a ticket is closed."""

    id: int
    score: int
