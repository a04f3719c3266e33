"""Agent commands for a ticket's triage: ``/priority`` and ``/label`` (in its topic, or with the
ticket's id first in General). The card shows the result; the rules are ``handoff.labels``."""

from __future__ import annotations

import html

from aiogram.filters import CommandObject
from aiogram.types import Message

from bot.config import Config
from bot.desk import Agent, Desk
from bot.desk.cards import quoted
from bot.handlers import agent as agent_handlers
from bot.texts import t
from handoff.labels import (
    MAX_LABEL_CHARS,
    MAX_LABELS,
    PRIORITIES,
    LabelRefused,
    apply_labels,
    parse_labels,
    parse_priority,
)
from handoff.tickets import Ticket


async def cmd_priority(
    message: Message, command: CommandObject, desk: Desk, agent: Agent, ticket: Ticket | None
) -> None:
    """``/priority high``: the ticket's priority (low, normal, high, urgent), on its card and
    in the queue's order; without a level, the current one and how to set it."""
    named, args = await agent_handlers._named_ticket(
        message, command, desk, ticket, id_in_topic=False
    )
    if named is None:
        return
    level = parse_priority(args[0]) if len(args) == 1 else None
    if level is None:
        current = t(desk.lang, f"priority_{named.priority}")
        await message.reply(
            t(
                desk.lang,
                "agent_priority_usage",
                ticket=named.id,
                priority=current,
                levels="|".join(PRIORITIES),
            )
        )
        return
    if await desk.store.labels.set_priority(named.id, level, agent.id):
        await _refresh(desk, named.id)
    await message.reply(
        t(
            desk.lang,
            "agent_priority_set",
            ticket=named.id,
            priority=t(desk.lang, f"priority_{level}"),
            agent=html.escape(agent.name),
        )
    )


async def cmd_label(
    message: Message,
    command: CommandObject,
    desk: Desk,
    agent: Agent,
    ticket: Ticket | None,
    config: Config,
) -> None:
    """``/label billing roaming`` adds, ``/label -roaming`` removes, ``/label`` lists; a label
    the rules refuse is named with the reason and nothing changes."""
    named, args = await agent_handlers._named_ticket(
        message, command, desk, ticket, id_in_topic=False
    )
    if named is None:
        return
    current = await desk.store.labels.labels(named.id)
    try:
        change = parse_labels(args, config.agents.labels)
        labels = apply_labels(current, change)
    except LabelRefused as exc:
        await message.reply(_refusal(desk.lang, exc, config.agents.labels))
        return
    if not change.empty and list(labels) != current:
        await desk.store.labels.set_labels(named.id, labels, agent.id)
        await _refresh(desk, named.id)
    await message.reply(labels_text(desk.lang, named.id, labels))


def labels_text(lang: str, ticket_id: int, labels: tuple[str, ...] | list[str]) -> str:
    if not labels:
        return t(lang, "agent_labels_none", ticket=ticket_id)
    tags = " ".join(f"#{html.escape(label)}" for label in labels)
    return t(lang, "agent_labels", ticket=ticket_id, labels=tags)


def _refusal(lang: str, exc: LabelRefused, allowed: list[str]) -> str:
    return t(
        lang,
        f"agent_label_{exc.code}",
        label=quoted(exc.label),
        chars=MAX_LABEL_CHARS,
        most=MAX_LABELS,
        allowed=" ".join(f"#{html.escape(a)}" for a in allowed),
    )


async def _refresh(desk: Desk, ticket_id: int) -> None:
    """The card shows the change (one edit, by the agent's own command)."""
    ticket = await desk.ticket(ticket_id)
    if ticket is not None:
        await desk.topics.refresh_card(ticket)
