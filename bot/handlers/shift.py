"""Agents' availability and their own tickets, in the operators' group: ``/shift on|off``,
``/shift`` (who is on shift, holding how many), ``/my`` (the agent's open tickets); and a
member leaving the group goes off shift (``bot.desk.assign``)."""

from __future__ import annotations

import html

from aiogram.filters import CommandObject
from aiogram.types import ChatMemberUpdated, LinkPreviewOptions, Message

from bot.desk import Agent, Desk, assign
from bot.desk.members import is_current_member
from bot.report.format import topic_link
from bot.texts import duration, t

MY_LISTED = 30  # tickets /my lists
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


async def cmd_shift(message: Message, command: CommandObject, desk: Desk, agent: Agent) -> None:
    """``/shift on`` / ``/shift off``: the agent's availability; ``/shift``: who is on shift."""
    arg = (command.args or "").strip().lower()
    if not arg:
        await message.reply(await shift_text(desk))
        return
    if arg not in ("on", "off"):
        await message.reply(t(desk.lang, "shift_usage"))
        return
    on = arg == "on"
    changed = await assign.set_shift(desk, agent, on)
    name = html.escape(agent.name)
    key = (
        ("shift_started" if on else "shift_ended")
        if changed
        else ("shift_already_on" if on else "shift_already_off")
    )
    await message.reply(t(desk.lang, key, agent=name))
    if changed or on:
        requeued = await assign.after_shift(desk, agent, on)
        if requeued:
            await message.reply(t(desk.lang, "shift_requeued", count=requeued))


async def shift_text(desk: Desk) -> str:
    on_shift = await desk.store.agents.on_shift()
    if not on_shift:
        return t(desk.lang, "shift_nobody")
    lines = [t(desk.lang, "shift_list", count=len(on_shift))]
    for a in sorted(on_shift, key=lambda a: (a.name, a.agent_id)):
        lines.append(t(desk.lang, "shift_line", agent=html.escape(a.name), open=a.open_tickets))
    return "\n".join(lines)


async def cmd_my(message: Message, desk: Desk, agent: Agent) -> None:
    """``/my``: the agent's open tickets, each with how long since the subscriber last wrote
    (or since the claim) and a link to its topic."""
    mine = await desk.store.agents.open_of(agent.id)
    if not mine:
        await message.reply(t(desk.lang, "my_none"))
        return
    now = desk.clock()
    lines = [t(desk.lang, "my_list", count=len(mine))]
    for ticket, last_in in mine[:MY_LISTED]:
        sub = await desk.store.subscriber(ticket.user_id)
        since = last_in if last_in is not None else ticket.claimed_at or ticket.created_at
        lines.append(
            t(
                desk.lang,
                "my_line",
                ticket=ticket.id,
                name=html.escape(sub.first_name if sub else str(ticket.user_id)),
                wait=duration(desk.lang, max(0.0, now - since)),
                link=topic_link(
                    desk.desks.group_of(ticket), ticket.thread_id or ticket.card_message_id
                )
                or "",
            )
        )
    await message.reply("\n".join(lines), link_preview_options=NO_PREVIEW)


async def member_changed(event: ChatMemberUpdated, desk: Desk) -> None:
    """A member who left or was removed is off shift (their tickets as ``off_shift`` says)."""
    member = event.new_chat_member
    if not is_current_member(member):
        await assign.left_group(desk, member.user.id, member.user.first_name)


COMMANDS = {"shift": cmd_shift, "my": cmd_my}
