"""Middlewares that put the subscriber and their language into every handler's arguments."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import Chat, TelegramObject, User

from bot.texts import language_from_code
from handoff.store import Store


class SubscriberMiddleware(BaseMiddleware):
    """Loads (or creates) the subscriber of a private-chat update: ``sub`` and ``lang``."""

    def __init__(self, store: Store, default_lang: str) -> None:
        self.store = store
        self.default_lang = default_lang

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user: User | None = data.get("event_from_user")
        chat: Chat | None = data.get("event_chat")
        if user is None or chat is None or chat.type != "private":
            return await handler(event, data)
        sub = await self.store.subscriber(user.id)
        fresh = (chat.id, user.first_name, user.username, user.language_code)
        if (
            sub is None
            or sub.blocked
            or fresh
            != (
                sub.chat_id,
                sub.first_name,
                sub.username,
                sub.language_code,
            )
        ):
            sub = await self.store.touch_subscriber(user.id, *fresh)
        data["sub"] = sub
        data["lang"] = sub.lang or language_from_code(sub.language_code, self.default_lang)
        return await handler(event, data)
