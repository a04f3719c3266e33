"""What a subscriber handed off to the desk is told: their place in the queue with the expected
wait, or when the operators' working hours begin; or, asking again, that they already are."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.texts import t
from handoff.hours import WorkingHours
from handoff.storage import Store
from handoff.tickets import Ticket


async def queue_notice(
    store: Store,
    hours: WorkingHours,
    now: float,
    ticket: Ticket,
    lang: str,
    desks: tuple[str, ...] | None = None,
) -> str:
    """The ticket's place in the queue (of its desk, ``desks``' names), and the wait (or the
    next opening hours)."""
    queue = await store.queue(desks=desks)
    position = next((e.position for e in queue if e.ticket.id == ticket.id), 1)
    text = t(lang, "handoff_waiting", position=position)
    if not hours.is_open(now):
        opens = hours.next_open(now)
        when = (
            datetime.fromtimestamp(opens, ZoneInfo(hours.timezone)).strftime("%d.%m %H:%M")
            if opens is not None
            else "—"
        )
        return f"{text}\n{t(lang, 'handoff_after_hours', hours=when)}"
    eta = await store.estimated_wait(now)
    if eta is not None:
        minutes = max(1, round(eta * position / 60))
        text += "\n" + t(lang, "handoff_eta", minutes=minutes)
    return text


async def already_notice(
    store: Store, ticket: Ticket, lang: str, desks: tuple[str, ...] | None = None
) -> str:
    """For a subscriber who asks again: already in the queue (of its desk: ``desks``' names)
    and where, or already taken."""
    queue = await store.queue(desks=desks)
    position = next((e.position for e in queue if e.ticket.id == ticket.id), None)
    key = "handoff_already" if position is not None else "handoff_already_taken"
    return t(lang, key, ticket=ticket.id, position=position or 0)
