"""Admin side: /reload (and later /stats) for the user ids in agents.admins."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from bot.reload import Reloader
from bot.texts import t


def result_text(lang: str, result) -> str:
    key = "reload_ok" if result.ok else "reload_failed"
    return t(lang, key, summary=result.html())


async def cmd_reload(
    message: Message, reloader: Reloader, admins: frozenset[int], lang: str = "ru"
) -> None:
    if message.from_user is None or message.from_user.id not in admins:
        await message.reply(t(lang, "admin_only"))
        return
    result = await reloader.reload()
    await message.reply(result_text(lang, result))


def create_router() -> Router:
    router = Router(name="admin")
    router.message.register(cmd_reload, Command("reload"))
    return router
