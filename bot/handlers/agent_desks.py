"""Commands about the desks (``agents.groups``): ``/queue`` and ``/stats`` of the desk whose
group they are given in (``all``: of every desk), the same for leads in their private chat with
the bot (every desk), and ``/transfer <desk>``."""

from __future__ import annotations

import html

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.config import DeskConfig
from bot.desk import Agent, Desk
from bot.desk.cards import quoted
from bot.desk.transfer import SameDesk, to_desk
from bot.report.format import format_count, format_csat, format_latency, format_share
from bot.texts import duration, t
from handoff.desks import desk_figures
from handoff.reports import headline, today_window
from handoff.tickets import Ticket


def _desk_asked(message: Message, command: CommandObject, desk: Desk) -> DeskConfig | None:
    """The desk a /queue or /stats is about: the group's own; None (every desk) for ``all``
    or in a private chat."""
    if (command.args or "").strip().lower() == "all":
        return None
    return desk.desks.here(message.chat.id)


async def cmd_queue(message: Message, command: CommandObject, desk: Desk) -> None:
    await message.reply(await desk.queue_text(_desk_asked(message, command, desk)))


async def cmd_stats(message: Message, command: CommandObject, desk: Desk) -> None:
    """Today's headline numbers (local day of the working-hours time zone); with several
    desks, the day of this desk (``all``, or a lead in private: of each desk)."""
    asked = _desk_asked(message, command, desk)
    h = headline(await desk.today())
    lines = [
        t(
            desk.lang,
            "agent_stats",
            conversations=format_count(h["conversations"]),
            answered=format_count(h["answered_by_bot"]),
            share=format_share(h["first_line_resolution"]),
            handed_off=format_count(h["handed_off"]),
            waiting=await desk.waiting(),
            wait=_wait(desk.lang, h["median_wait_until_claim"]),
            latency=format_latency(h["median_bot_latency_ms"]),
            csat=format_csat(h["csat_average"]),
            rated=t(desk.lang, "ratings", count=h["csat_count"]),
        ).rstrip()
    ]
    if desk.desks.several:
        shown = [asked] if asked is not None else desk.desks.all
        lines += [await _desk_line(desk, d) for d in shown]
    await message.reply("\n".join(lines))


async def _desk_line(desk: Desk, which: DeskConfig) -> str:
    since, until = today_window(desk.clock(), desk.hours.timezone)
    day = [t for t in await desk.store.tickets_since(since, until) if desk.desks.of(t) is which]
    f = desk_figures(day, await desk.waiting(which))
    return t(
        desk.lang,
        "desk_stats_line",
        desk=html.escape(desk.desks.label(which)),
        handed_off=format_count(f.handed_off),
        waiting=f.waiting,
        claimed=f.claimed,
        closed=f.closed,
        wait=_wait(desk.lang, f.median_wait),
        csat=format_csat(f.csat),
    )


def _wait(lang: str, seconds: float | None) -> str:
    return "—" if seconds is None else duration(lang, seconds)


async def transfer_to_desk(
    message: Message, desk: Desk, agent: Agent, ticket: Ticket, name: str
) -> bool:
    """``/transfer <desk>``: False when ``name`` is no desk (the caller tries an agent)."""
    target = desk.desks.named(name) if desk.desks.several else None
    if target is None:
        return False
    try:
        await to_desk(desk, ticket, agent, target)
    except SameDesk:
        await message.reply(
            t(desk.lang, "desk_same", ticket=ticket.id, desk=html.escape(target.name))
        )
    return True


async def unknown_target(message: Message, desk: Desk, name: str) -> None:
    """Neither an agent nor a desk: the agent is told the desks there are."""
    names = ", ".join(html.escape(d.name) for d in desk.desks.all)
    await message.reply(t(desk.lang, "desk_unknown", name=quoted(name), desks=names))


def leads_router(desk: Desk) -> Router:
    """``/queue`` and ``/stats`` of every desk for the leads (``agents.leads``) in their
    private chat with the bot; anyone else's command goes on to the subscriber's side."""
    router = Router(name="leads")
    leads = frozenset(desk.config.leads)
    router.message.filter(F.chat.type == "private", F.from_user.id.in_(leads))
    router.message.register(cmd_queue, Command("queue"))
    router.message.register(cmd_stats, Command("stats"))
    return router
