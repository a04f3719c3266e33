"""Every callback-data class the bot's buttons carry (each packs under Telegram's 64 bytes),
and how a button press is answered."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from dataclasses import dataclass

from aiogram.exceptions import TelegramBadRequest
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, Message

from handoff.tickets import Ticket

log = logging.getLogger(__name__)


# how long a button's work may take before its press is answered anyway: well inside the time
# Telegram takes an answer in (the emulator, like Telegram, refuses one after about 15 s)
ANSWER_WITHIN = 2.0


@dataclass(frozen=True, slots=True)
class Answer:
    """What a pressed button is answered with: a toast, an alert, or nothing to show."""

    text: str | None = None
    show_alert: bool = False


async def answer_first(query: CallbackQuery, text: str | None = None, **kw: bool) -> bool:
    """Answer a button press before the work it starts (database, sends): Telegram takes an
    answer only for a short while after the press. An answer that comes too late anyway
    ("query is too old") is logged and the work goes on: it must never skip the rest."""
    try:
        await query.answer(text, **kw)
    except TelegramBadRequest as exc:
        log.warning("callback %s not answered: %s", query.id, exc.message)
        return False
    return True


async def answer_within(
    query: CallbackQuery, work: Awaitable[Answer], within: float = ANSWER_WITHIN
) -> Answer | None:
    """Do a press's ``work`` and answer the press with its outcome, if the work is done
    within ``within`` seconds; otherwise the press is answered (empty) then, before the slow
    rest (a locked database, a pacer holding sends), and the work goes on. Returns the answer
    that could not be given, for the caller to say another way; None when it was given. The
    work's exceptions propagate (the press is answered first if it was slow)."""
    task = asyncio.ensure_future(work)
    try:
        done, _ = await asyncio.wait({task}, timeout=within)
    except asyncio.CancelledError:
        task.cancel()
        raise
    if task in done:
        answer = task.result()
        await answer_first(query, answer.text, show_alert=answer.show_alert)
        return None
    await answer_first(query)
    answer = await task
    return answer if answer.text else None


class TopicCb(CallbackData, prefix="t"):
    """Show a topic's answer (from the menu, "did you mean", "see also" or a second ask)."""

    id: str


class ChoiceCb(CallbackData, prefix="ch"):
    """A "did you mean" choice: the topic, and ``q``, the interaction that asked."""

    id: str
    q: int


class CategoryCb(CallbackData, prefix="c"):
    """Open a menu category; an empty id is the top of the menu."""

    id: str = ""


class LangCb(CallbackData, prefix="l"):
    lang: str


class FeedbackCb(CallbackData, prefix="f"):
    """👍/👎 under a topic's answer; ``q``, the interaction (the subscriber's question) that
    answer was for, 0 for an answer to a button press (menu, "did you mean", "see also")."""

    topic: str
    helpful: bool
    q: int = 0


MAX_ID = 2**63 - 1  # SQLite's largest rowid: a bigger number in callback data is forged


class OperatorCb(CallbackData, prefix="op"):
    """The subscriber asks for a human."""


class DistrictCb(CallbackData, prefix="od"):
    """The outage flow's district: an index into config.outages.districts; -1 "elsewhere"."""

    index: int


class TicketCb(CallbackData, prefix="tk"):
    """Claim / Close on a ticket's card."""

    action: str
    id: int


class CancelCb(CallbackData, prefix="cx"):
    """The subscriber takes back their request for a person."""

    id: int


class CsatCb(CallbackData, prefix="cs"):
    """The subscriber's 1–5 rating after a ticket is closed."""

    id: int
    score: int


def in_its_topic(query: CallbackQuery, ticket: Ticket | None) -> bool:
    """A ticket's button is pressed where the bot put it, in that ticket's topic (in a group
    without topics neither has a thread): data naming another ticket is forged."""
    where = query.message if isinstance(query.message, Message) else None
    return ticket is not None and where is not None and where.message_thread_id == ticket.thread_id
