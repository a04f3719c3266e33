"""Availability and automatic assignment at the desk: agents going on and off shift, and a
waiting ticket given to an agent on shift by the desk's policy (``agents.assignment``, the
choice itself in ``handoff.assign``) through the same claim workflow as the Claim button.

A ticket is offered when its card is shown (a hand-off finished, a reopen); the waiting ones,
oldest first, when an agent comes on shift or a ticket closes. An agent going off shift keeps
their tickets or, with ``agents.off_shift: requeue``, releases them into the queue, from which
they go to the others on shift. Leaving the operators' group is going off shift.
"""

from __future__ import annotations

import asyncio
import html
import logging
import weakref
from typing import TYPE_CHECKING

from aiogram.exceptions import TelegramForbiddenError

from bot.texts import t
from handoff.assign import OnShift, choose
from handoff.tickets import DeskError, Ticket

if TYPE_CHECKING:
    from bot.desk.service import Agent, Desk

log = logging.getLogger(__name__)

# one assignment at a time per desk: two tickets shown at once must see each other's claim
# (least-loaded and max_open_per_agent count it)
_locks: weakref.WeakKeyDictionary[Desk, asyncio.Lock] = weakref.WeakKeyDictionary()


def _lock(desk: Desk) -> asyncio.Lock:
    lock = _locks.get(desk)
    if lock is None:
        lock = _locks[desk] = asyncio.Lock()
    return lock


def _assigns(desk: Desk) -> bool:
    return desk.group_id is not None and desk.config.assignment != "none"


def mention(agent_id: int, name: str) -> str:
    """An HTML mention of an agent by user id (it notifies them even without a username)."""
    return f'<a href="tg://user?id={agent_id}">{html.escape(name)}</a>'


async def offer(desk: Desk, ticket: Ticket) -> Ticket:
    """A ticket the agents now see: given to an agent on shift if the policy picks one;
    returned as it is now."""
    if not _assigns(desk):
        return ticket
    async with _lock(desk):
        current = await desk.store.get_ticket(ticket.id) or ticket
        if current.status != "waiting" or not current.shown:
            return current
        return await _assign(desk, current) or current


async def freed(desk: Desk, ticket: Ticket) -> Ticket:
    """A ticket closed: its agent (or anyone on shift) may take more; returns it."""
    await assign_waiting(desk)
    return ticket


async def assign_waiting(desk: Desk) -> None:
    """The waiting tickets, oldest first, go to agents on shift while the policy picks one
    (a ticket closed, an agent came on shift or requeued theirs)."""
    if not _assigns(desk):
        return
    async with _lock(desk):
        for entry in await desk.store.queue():
            assigned = entry.ticket.shown and await _assign(desk, entry.ticket) is not None
            if not assigned and entry.ticket.shown and not desk.desks.several:
                break  # nobody can take one: the rest wait too (another desk's might)


async def _assign(desk: Desk, ticket: Ticket) -> Ticket | None:
    """Claim ``ticket`` for the agent the policy picks (under the desk's lock); None when it
    picks nobody. An agent no longer in the group is taken off shift and the choice made
    again; a ticket someone claimed meanwhile is left to them. With several desks only the
    agents of the ticket's desk (its group's members) are picked."""
    group, others = desk.desks.group_of(ticket), set()
    while (picked := await _pick(desk, others)) is not None:
        if not await desk.is_agent(picked.agent_id, group):
            if desk.desks.several:
                others.add(picked.agent_id)  # on another desk's shift
            else:
                await desk.store.agents.set_shift(picked.agent_id, picked.name, False)
            continue
        agent = desk.agent(picked.agent_id, picked.name)
        try:
            claimed = await desk.claim(ticket, agent)
        except DeskError as exc:
            log.info("ticket #%s not assigned: %s", ticket.id, exc.code)
            return ticket
        policy = desk.config.assignment
        await desk.store.agents.assigned(ticket.id, agent.id, policy)
        who = mention(agent.id, agent.name)
        await desk.notify(claimed, t(desk.lang, "agent_assigned", ticket=ticket.id, agent=who))
        return claimed
    return None


async def _pick(desk: Desk, others: set[int]) -> OnShift | None:
    on_shift = [a for a in await desk.store.agents.on_shift() if a.agent_id not in others]
    return choose(desk.config.assignment, on_shift, desk.config.max_open_per_agent)


# -- shifts ------------------------------------------------------------------------------------


async def set_shift(desk: Desk, agent: Agent, on: bool) -> bool:
    """Record the agent on or off shift (an event when it changed); True if it changed."""
    return await desk.store.agents.set_shift(agent.id, agent.name, on)


async def after_shift(desk: Desk, agent: Agent, on: bool) -> int:
    """What follows a shift change: on shift, waiting tickets may go to them; off shift with
    ``requeue``, their claimed tickets go back to the queue (the release workflow: card and
    topic told, the subscriber not) and on to the others on shift. Returns how many were
    requeued."""
    requeued: list[Ticket] = []
    if not on and desk.config.off_shift == "requeue":
        for ticket in await desk.store.claimed_by(agent.id):
            try:
                requeued.append(await desk.release(ticket, agent))
            except DeskError as exc:  # closed or transferred meanwhile
                log.info("ticket #%s not requeued: %s", ticket.id, exc.code)
    if on or requeued:
        await assign_waiting(desk)
    for ticket in requeued:
        await _tell_back_in_queue(desk, ticket.id)
    return len(requeued)


async def _tell_back_in_queue(desk: Desk, ticket_id: int) -> None:
    """A requeued ticket nobody took at once: its subscriber, told an agent had it, learns
    that it waits again and where (one that went straight to another agent hears only that)."""
    ticket = await desk.store.get_ticket(ticket_id)
    if ticket is None or ticket.status != "waiting":
        return
    lang = ticket.lang or desk.lang
    text = t(lang, "handoff_requeued") + "\n" + await desk.waiting_text(ticket, lang)
    try:
        await desk.bot.send_message(ticket.user_id, text)
    except TelegramForbiddenError:  # blocked the bot: the next message closes the ticket
        log.info("ticket #%s: subscriber not told it is back in the queue (blocked)", ticket.id)


async def left_group(desk: Desk, user_id: int, name: str) -> None:
    """An agent who left or was removed from the operators' group is off shift."""
    agent = desk.agent(user_id, name)
    if await set_shift(desk, agent, False):
        await after_shift(desk, agent, False)
