"""The desk against its SLA: a ticket's priority, labels and due times on its card, and the one
nudge into an unanswered ticket's topic when most of its first-response target has gone.

The card's due times are moments (local time of the working hours), not a countdown: the card
is edited only when something about the ticket changes, never to tick, since every edit costs
one of the group's 20 messages a minute. The nudge is recorded before it is sent, so a restart
never sends it twice; Telegram refusing it clears the record for the next look.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from aiogram.exceptions import TelegramAPIError, TelegramNetworkError

from bot.desk import cards
from bot.desk.assign import mention
from bot.pacing import LOW, priority
from bot.texts import duration, t
from handoff.hours import WorkingHours
from handoff.sla import SlaTargets, due_at, nudge_at
from handoff.storage import Store
from handoff.tickets import Ticket

if TYPE_CHECKING:
    from bot.desk.service import Desk

log = logging.getLogger(__name__)

DUE_FORMAT = "%d.%m %H:%M"


class DeskSla:
    """The SLA targets (``reports.sla``) as the desk lives them."""

    def __init__(self, store: Store, targets: SlaTargets, hours: WorkingHours, lang: str) -> None:
        self.store, self.targets, self.hours, self.lang = store, targets, hours, lang
        self.clock = targets.clock(hours)
        self.looks = 0  # nudge rounds done (tests wait on it)

    def due(self, ticket: Ticket, target: float | None) -> str | None:
        """When a target of the ticket runs out, as the desk's wall clock shows it."""
        if target is None:
            return None
        at = due_at(self.clock, ticket.created_at, target)
        return self.hours.local(at).strftime(DUE_FORMAT) if at is not None else "—"

    async def card_lines(self, ticket: Ticket) -> list[str]:
        """The card's triage lines: priority, #labels, the due times."""
        labels = await self.store.labels.labels(ticket.id)
        reply = self.due(ticket, self.targets.first_response)
        resolve = self.due(ticket, self.targets.resolution)
        return cards.triage_lines(self.lang, ticket, labels, reply, resolve)

    async def nudge(self, desk: Desk, now: float) -> int:
        """One look: every open, unanswered, not yet nudged ticket whose wait reached the
        nudge moment gets its one message. Returns how many were sent."""
        sent = 0
        try:
            for ticket_id in await self.store.labels.unanswered():
                ticket = await self.store.get_ticket(ticket_id)
                if ticket is None or not ticket.shown:
                    continue
                moment = nudge_at(self.targets, self.clock, ticket.created_at)
                if moment is None or moment > now:
                    continue
                if await self._nudge_one(desk, ticket, now):
                    sent += 1
        finally:
            self.looks += 1
        return sent

    async def _nudge_one(self, desk: Desk, ticket: Ticket, now: float) -> bool:
        if not await self.store.labels.mark_nudged(ticket.id, now):
            return False  # another look (or process) sent it
        try:
            with priority(LOW):  # a reminder waits behind the messages between people
                await desk.notify(ticket, await self.nudge_text(ticket, now))
        except TelegramNetworkError:
            raise  # it may have arrived: the record stays, never a second one
        except TelegramAPIError:
            await self.store.labels.unmark_nudged(ticket.id)  # refused: the next look tries
            raise
        return True

    async def nudge_text(self, ticket: Ticket, now: float) -> str:
        waited = self.clock.open_seconds(ticket.created_at, now)
        target = self.targets.first_response or 0.0
        text = t(
            self.lang,
            "agent_sla_nudge",
            ticket=ticket.id,
            waited=duration(self.lang, waited),
            target=duration(self.lang, target),
            due=self.due(ticket, target) or "—",
        )
        if ticket.status == "claimed" and ticket.agent_id is not None:
            who = t(
                self.lang,
                "agent_sla_nudge_agent",
                agent=mention(ticket.agent_id, ticket.agent_name or str(ticket.agent_id)),
            )
            return f"{text}\n{who}"
        text += "\n" + t(self.lang, "agent_sla_nudge_nobody")
        on_shift = await self.store.agents.on_shift()
        if on_shift:
            names = ", ".join(mention(a.agent_id, a.name) for a in on_shift)
            text += "\n" + t(self.lang, "agent_sla_nudge_on_shift", agents=names)
        return text
