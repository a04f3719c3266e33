"""A subscriber as the desk knows them, and the summary an agent sees on /whois."""

from __future__ import annotations

from dataclasses import dataclass

from handoff.tickets import Ban, Ticket

# Unicode's directional controls: a name with U+202E turns the rest of an agent's line around
_BIDI_CONTROLS = dict.fromkeys(
    [0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
)


def plain_name(name: str) -> str:
    """A person's name as the desk shows it: without directional controls (a name made of
    nothing else is "?")."""
    return name.translate(_BIDI_CONTROLS).strip() or "?"


@dataclass(frozen=True, slots=True)
class Subscriber:
    user_id: int
    chat_id: int
    first_name: str
    username: str | None
    language_code: str | None
    lang: str | None
    blocked: bool


@dataclass(frozen=True, slots=True)
class SubscriberSummary:
    """What an agent sees on /whois: profile, language, ticket history, recent questions."""

    user_id: int
    subscriber: Subscriber | None
    first_seen: float | None
    lang: str | None  # chosen language, else Telegram's language_code
    tickets: int
    open_ticket: Ticket | None
    last_ticket: Ticket | None
    average_csat: float | None
    ban: Ban | None
    recent_questions: tuple[str, ...]  # newest first
