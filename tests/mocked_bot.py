"""aiogram's mocked-bot pattern: a ``Bot`` whose session records every request and answers it
with a prepared response, so the desk service is tested in milliseconds, without a network.

Responses are made up from the request (a sent message gets the next message id, a new topic
the next thread id); ``fail(method, exc)`` makes the next matching calls raise instead."""

from __future__ import annotations

import itertools
from collections.abc import AsyncGenerator, Callable
from typing import Any

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.base import BaseSession
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.methods import (
    CopyMessage,
    CreateForumTopic,
    GetChatMember,
    SendMediaGroup,
    SendMessage,
    TelegramMethod,
)
from aiogram.types import Chat, ChatMemberMember, ForumTopic, Message, MessageId, User

BOT_ID = 42


def _chat(chat_id: int | str) -> Chat:
    chat_id = int(chat_id)
    return Chat(id=chat_id, type="private" if chat_id > 0 else "supergroup")


class RecordingSession(BaseSession):
    def __init__(self) -> None:
        super().__init__()
        self.requests: list[TelegramMethod[Any]] = []
        self._ids = itertools.count(100)
        self._failures: list[tuple[type, Callable[[TelegramMethod[Any]], bool], Exception]] = []

    def fail(
        self,
        method: type,
        exc: Callable[[TelegramMethod[Any]], Exception],
        when: Callable[[TelegramMethod[Any]], bool] = lambda _: True,
    ) -> None:
        """Calls of ``method`` matching ``when`` raise ``exc(call)`` from now on."""
        self._failures.append((method, when, exc))  # type: ignore[arg-type]

    def forbid(self, chat_id: int) -> None:
        """Every send to ``chat_id`` fails as if its user blocked the bot."""
        for method in (SendMessage, CopyMessage, SendMediaGroup):
            self.fail(
                method,
                lambda m: TelegramForbiddenError(m, "Forbidden: bot was blocked by the user"),
                lambda m: int(getattr(m, "chat_id", 0)) == chat_id,
            )

    def gone(self, method: type, description: str = "Bad Request: message thread not found"):
        self.fail(method, lambda m: TelegramBadRequest(m, description))

    async def make_request(
        self, bot: Bot, method: TelegramMethod[Any], timeout: int | None = None
    ) -> Any:
        self.requests.append(method)
        for kind, when, exc in self._failures:
            if isinstance(method, kind) and when(method):
                raise exc(method)  # type: ignore[operator]
        return self._response(method)

    def _response(self, method: TelegramMethod[Any]) -> Any:
        if isinstance(method, SendMessage):
            return Message(
                message_id=next(self._ids),
                date=0,
                chat=_chat(method.chat_id),
                text=method.text,
                message_thread_id=method.message_thread_id,
            )
        if isinstance(method, CopyMessage):
            return MessageId(message_id=next(self._ids))
        if isinstance(method, SendMediaGroup):
            return [
                Message(message_id=next(self._ids), date=0, chat=_chat(method.chat_id))
                for _ in method.media
            ]
        if isinstance(method, CreateForumTopic):
            return ForumTopic(message_thread_id=next(self._ids), name=method.name, icon_color=0)
        if isinstance(method, GetChatMember):
            user = User(id=method.user_id, is_bot=False, first_name=f"user{method.user_id}")
            return ChatMemberMember(user=user)
        return True

    async def close(self) -> None:
        pass

    async def stream_content(self, *args: Any, **kwargs: Any) -> AsyncGenerator[bytes, None]:
        yield b""

    # -- reading what was asked ----------------------------------------------------------------

    def names(self) -> list[str]:
        return [type(r).__name__ for r in self.requests]

    def sent(self, chat_id: int | None = None) -> list[SendMessage]:
        return [
            r
            for r in self.requests
            if isinstance(r, SendMessage) and (chat_id is None or int(r.chat_id) == chat_id)
        ]

    def clear(self) -> None:
        self.requests.clear()


class MockedBot(Bot):
    session: RecordingSession

    def __init__(self) -> None:
        super().__init__(
            f"{BOT_ID}:TEST",
            session=RecordingSession(),
            default=DefaultBotProperties(parse_mode="HTML"),
        )
