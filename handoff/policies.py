"""The desk's policies as pure functions: when the bot gives up and hands off, and when a
subscriber's message brings a closed ticket back."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from handoff.tickets import Ticket, reopenable


def is_miss(interaction: Mapping[str, Any]) -> bool:
    """The bot had nothing for a real question (not an empty or emoji-only message)."""
    return interaction.get("kind") == "none" and bool(interaction.get("normalized", "x"))


def hand_off_after_misses(previous: Sequence[Mapping[str, Any]], limit: int) -> bool:
    """Hand off on this miss when the ``limit - 1`` interactions before it (newest first) were
    misses too; ``limit`` 0 never hands off, 1 on the first miss."""
    if limit <= 0:
        return False
    wanted = limit - 1
    return len(previous[:wanted]) == wanted and all(is_miss(i) for i in previous[:wanted])


def subscriber_reopens(ticket: Ticket | None, now: float, window: float) -> bool:
    """Whether the subscriber writing now (a message or /operator) reopens this ticket rather
    than starting a new one: closed less than ``window`` seconds ago and not by a ban. Every
    path a subscriber's message takes asks this one question."""
    return ticket is not None and reopenable(ticket, now, window)
