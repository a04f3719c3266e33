"""Admin side: /reload for the user ids in agents.admins, in a private chat or a desk's group."""

from __future__ import annotations

from collections.abc import Iterable

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import Message

from bot.desk import Desk
from bot.reload import Reloader, ReloadResult
from bot.texts import t


def result_text(lang: str, result: ReloadResult) -> str:
    """A reload's outcome in one language: its headline, and the loader's file:line errors."""
    return result.text(lang)


async def cmd_reload(
    message: Message,
    reloader: Reloader,
    admins: frozenset[int],
    desk: Desk,
    lang: str | None = None,
) -> None:
    """In a private chat the admin's language (``lang`` from the subscriber middleware), in
    the operators' group the desk's."""
    lang = lang if message.chat.type == "private" and lang else desk.lang
    if message.from_user is None or message.from_user.id not in admins:
        await message.reply(t(lang, "admin_only"))
        return
    result = await reloader.reload()
    await message.reply(result_text(lang, result))


def create_router(group_ids: Iterable[int]) -> Router:
    """Only a private chat or an operators' group (any desk's): other groups are not the
    bot's to answer."""
    router = Router(name="admin")
    where = F.chat.type == "private"
    groups = set(group_ids)
    if groups:
        where = where | F.chat.id.in_(groups)
    router.message.register(cmd_reload, Command("reload"), where)
    return router
