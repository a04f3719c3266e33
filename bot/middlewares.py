"""Middlewares that put what a handler needs into its arguments: the subscriber and their
language, and the subscriber's ticket."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, Chat, Message, TelegramObject, User

from bot.callbacks import answer_first
from bot.desk import Desk
from bot.texts import language_from_code, t
from handoff.policies import subscriber_reopens
from handoff.storage import Store
from handoff.subscribers import plain_name

log = logging.getLogger(__name__)


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
        fresh = (chat.id, plain_name(user.first_name), user.username, user.language_code)
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


class TicketMiddleware(BaseMiddleware):
    """For a subscriber's message: ``ticket``, their open ticket, and ``reopenable``, the
    closed one this message would reopen (``handoff.policies.subscriber_reopens``). Without
    an operators' group a ticket is only a record: both stay None."""

    def __init__(
        self, store: Store, group_id: int | None, window: float, clock: Callable[[], float]
    ) -> None:
        self.store = store
        self.group_id = group_id
        self.window = window
        self.clock = clock

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user: User | None = data.get("event_from_user")
        chat: Chat | None = data.get("event_chat")
        data["ticket"] = data["reopenable"] = None
        private = chat is not None and chat.type == "private"
        if user is not None and private and self.group_id is not None:
            data["ticket"] = await self.store.open_ticket_of(user.id)
            if data["ticket"] is None:
                last = await self.store.last_ticket(user.id)
                if subscriber_reopens(last, self.clock(), self.window):
                    data["reopenable"] = last
        return await handler(event, data)


class DeskMiddleware(BaseMiddleware):
    """For the operators' group's handlers: only a current member of the group acts, whatever
    the transport brought (a forged webhook delivery or a removed agent is refused here, once,
    for every button, command, reply and edit). Then ``agent``, who acts (with the supervisor
    role resolved), and ``ticket``, the ticket a message belongs to (its topic, or the card or
    relayed message it replies to), None for general chatter and for buttons."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user: User | None = data.get("event_from_user")
        chat: Chat | None = data.get("event_chat")
        group = chat.id if chat is not None else None  # a member of this desk's group acts
        if user is None or group is None or not await self.desk.is_agent(user.id, group):
            log.warning("update from %s, not a member of the operators' group: refused",
                        user.id if user else "nobody")  # fmt: skip
            if isinstance(event, CallbackQuery):
                await answer_first(event, t(self.desk.lang, "agent_not_member"), show_alert=True)
            return None
        data["agent"] = self.desk.agent(user.id, user.first_name)
        data["ticket"] = await self.desk.ticket_of(event) if isinstance(event, Message) else None
        return await handler(event, data)
