"""The mechanics of relaying: order per ticket and direction, albums collected before they go
out, reply targets on the other side, the media an album is rebuilt from, and the one path by
which a relayed message's formatting is rendered back into HTML that Telegram accepts."""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.types import (
    InputMediaAudio,
    InputMediaDocument,
    InputMediaPhoto,
    InputMediaVideo,
    Message,
    MessageEntity,
    ReplyParameters,
)
from aiogram.utils.text_decorations import HtmlDecoration

from handoff.storage import Store

log = logging.getLogger(__name__)

# Telegram's words for a forum topic that is gone or shut.
_TOPIC_GONE = (
    "message thread not found",
    "topic_deleted",
    "topic_closed",
    "thread not found",
    "topic_id_invalid",  # reopenForumTopic on a deleted topic
)

_KINDS = (
    "text",
    "photo",
    "video",
    "voice",
    "audio",
    "document",
    "sticker",
    "animation",
    "video_note",
    "location",
    "contact",
)


def message_kind(message: Message) -> str:
    return next((kind for kind in _KINDS if getattr(message, kind, None)), "other")


def topic_gone(exc: Exception) -> bool:
    return isinstance(exc, TelegramBadRequest) and any(
        s in str(exc.message).lower() for s in _TOPIC_GONE
    )


def _attribute(value: str) -> str:
    return html.escape(value, quote=True)


class _TelegramHtml(HtmlDecoration):
    """aiogram's rendering of entities (nesting, UTF-16 offsets), with every attribute value
    escaped (aiogram writes a link's URL as is: a ``"`` in it breaks the tag) and a code
    block's language where Telegram reads it, ``<code class="language-…">`` (aiogram writes
    ``language="language-…"``, which Telegram ignores)."""

    def link(self, value: str, link: str) -> str:
        return f'<a href="{_attribute(link)}">{value}</a>'

    def pre_language(self, value: str, language: str) -> str:
        return f'<pre><code class="language-{_attribute(language)}">{value}</code></pre>'

    def custom_emoji(self, value: str, custom_emoji_id: str) -> str:
        return f'<tg-emoji emoji-id="{_attribute(custom_emoji_id)}">{value}</tg-emoji>'

    def date_time(self, value: str, *args: object, **kwargs: object) -> str:
        return value  # a tag the parse mode may not know: the text as it was shown


_RENDER = _TelegramHtml()


def render_html(text: str, entities: list[MessageEntity] | None) -> str:
    """Text and its entities as Telegram HTML: the one way relayed formatting is rebuilt."""
    return _RENDER.unparse(text, entities or [])


def html_of(message: Message) -> str:
    """A message's text or caption with its formatting, as Telegram HTML."""
    if message.text is not None:
        return render_html(message.text, message.entities)
    return render_html(message.caption or "", message.caption_entities)


def input_media(message: Message):
    caption = html_of(message) if message.caption else None
    if message.photo:
        return InputMediaPhoto(media=message.photo[-1].file_id, caption=caption)
    if message.video:
        return InputMediaVideo(media=message.video.file_id, caption=caption)
    if message.document:
        return InputMediaDocument(media=message.document.file_id, caption=caption)
    if message.audio:
        return InputMediaAudio(media=message.audio.file_id, caption=caption)
    return None


@dataclass
class _Album:
    messages: list[Message] = field(default_factory=list)
    task: asyncio.Task | None = None
    relayed: asyncio.Event = field(default_factory=asyncio.Event)
    error: BaseException | None = None


class Relay:
    """Per-ticket ordering and album collection, shared by both directions."""

    ALBUM_WAIT = 0.4  # seconds to collect the parts of an album before relaying it

    def __init__(self, store: Store) -> None:
        self.store = store
        self._albums: dict[str, _Album] = {}
        self._locks: dict[tuple[int, str], tuple[asyncio.Lock, int]] = {}  # lock, its users

    @contextlib.asynccontextmanager
    async def in_order(self, ticket_id: int, direction: str) -> AsyncIterator[None]:
        """One relay at a time per ticket and direction keeps each side's messages in order.
        The two directions don't wait for each other: the group's 20 messages a minute must
        not hold up the agents' answers. A lock lives only while someone uses it."""
        key = (ticket_id, direction)
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    async def collect(
        self, message: Message, flush: Callable[[list[Message]], Awaitable[None]]
    ) -> None:
        """Parts of an album arrive one by one; relay them together once they stop coming.

        Each part returns only once the album went out, so no part's update counts as handled
        before that: a crash in between relays the album after the restart. If relaying it
        failed because the subscriber blocked the bot, the first part's handler raises that (once),
        for the error handler that runs the desk's one "subscriber blocked" workflow; if Telegram
        refused it (400), the first part's handler raises that too, for the sender to be told."""
        key = f"{message.chat.id}:{message.media_group_id}"
        album = self._albums.setdefault(key, _Album())
        first = not album.messages
        album.messages.append(message)
        if album.task is not None:
            album.task.cancel()

        async def later() -> None:
            await asyncio.sleep(self.ALBUM_WAIT)  # a new part cancels this and waits again
            self._albums.pop(key, None)
            parts = sorted(album.messages, key=lambda m: m.message_id)
            try:
                await flush(parts)
            except (TelegramForbiddenError, TelegramBadRequest) as exc:  # to the first part
                album.error = exc
            except Exception:
                log.exception("album %s not relayed", key)
            finally:
                album.relayed.set()

        album.task = asyncio.create_task(later())
        await album.relayed.wait()
        if first and album.error is not None:
            raise album.error

    async def group_reply_target(self, message: Message) -> ReplyParameters | None:
        """What a subscriber's reply points at, as the message's copy in the group."""
        if not message.reply_to_message or message.from_user is None:
            return None
        found = await self.store.find_message(
            user_id=message.from_user.id, user_chat_message_id=message.reply_to_message.message_id
        )
        if found is None or found.group_message_id is None:
            return None
        return ReplyParameters(message_id=found.group_message_id, allow_sending_without_reply=True)

    async def private_reply_target(
        self, message: Message, desks: tuple[str, ...] | None = None
    ) -> ReplyParameters | None:
        """What an agent's reply points at, as the message in the subscriber's chat (of a
        ticket on ``desks``: message ids are only unique in their group)."""
        reply = message.reply_to_message
        if (
            reply is None
            or reply.forum_topic_created
            or reply.message_id == message.message_thread_id
        ):
            return None  # in a topic every message "replies" to the topic's first message
        found = await self.store.find_message(group_message_id=reply.message_id, desks=desks)
        if found is None or found.user_chat_message_id is None:
            return None
        return ReplyParameters(
            message_id=found.user_chat_message_id, allow_sending_without_reply=True
        )
