"""The desk's policies as pure functions: when the bot gives up and hands off, and when a
subscriber's message brings a closed ticket back."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from handoff.tickets import Ticket, reopenable


def is_miss(interaction: Mapping[str, Any]) -> bool:
    """The bot did not help with a real question: nothing for it (a ``none``, not an empty or
    emoji-only message), a "did you mean" none of whose choices was picked (a picked choice
    is the clarify's ``topic``), or an answer the subscriber gave 👎 (``disliked``)."""
    kind = interaction.get("kind")
    if kind == "none":
        return bool(interaction.get("normalized", "x"))
    if kind == "clarify":
        return not interaction.get("topic")
    return kind == "answer" and bool(interaction.get("disliked"))


def is_aside(interaction: Mapping[str, Any]) -> bool:
    """Neither help nor a miss: small talk ("привет", "спасибо") and empty or emoji-only
    messages say nothing about whether the bot is of use."""
    kind = interaction.get("kind")
    return kind == "smalltalk" or (kind == "none" and not interaction.get("normalized", "x"))


def hand_off_after_misses(previous: Sequence[Mapping[str, Any]], limit: int) -> bool:
    """Hand off on this miss when ``limit - 1`` misses precede it since the bot last helped
    (``previous``: the interactions before it, newest first); ``limit`` 0 never hands off, 1
    on the first miss.

    The rule: walking back from the newest, misses (``is_miss``: nothing found, a useless
    "did you mean", a 👎'd answer) are counted and asides (``is_aside``: small talk, a bare
    emoji) are stepped over; anything that helped (an answer kept, a choice picked, a
    hand-off) ends the count. So "кто написал войну и мир", "привет", "посоветуй фильм" hands
    off at ``limit`` 2, and so does a miss after a 👎'd answer."""
    if limit <= 0:
        return False
    wanted = limit - 1
    misses = 0
    for interaction in previous:
        if misses >= wanted:
            break
        if is_aside(interaction):
            continue
        if not is_miss(interaction):
            return False
        misses += 1
    return misses >= wanted


def subscriber_reopens(ticket: Ticket | None, now: float, window: float) -> bool:
    """Whether the subscriber writing now (a message or /operator) reopens this ticket rather
    than starting a new one: closed less than ``window`` seconds ago and not by a ban. Every
    path a subscriber's message takes asks this one question."""
    return ticket is not None and reopenable(ticket, now, window)


def any_message_reopens(ticket: Ticket) -> bool:
    """Whether everything the subscriber sends brings this (reopenable) ticket back, /start
    and small talk included. A ticket closed because they blocked the bot was never finished
    for them: coming back, they press Telegram's "Restart" (a /start) or say hello. After an
    agent's close (or a timeout), "спасибо" or /start is only that, and the bot answers it."""
    return ticket.close_reason == "blocked"
