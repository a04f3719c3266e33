"""The mechanics of relaying: order per ticket and direction, albums collected before they go
out, reply targets on the other side, the media an album is rebuilt from, and the one path by
which a relayed message's formatting is rendered back into HTML that Telegram accepts.

A subscriber's messages wait for the group's budget in their ticket's queue (``queue_in``):
each is queued in the order it came, and the chat's next update goes on meanwhile
(``bot.handling``), so texts that pile up while the group is busy go out as one message
(``next_run``: each part's text in order, a separator between them; media never merged), each
part's record pointing at it. Every update still returns only once its message went out."""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

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

from bot.desk.flood import FloodGuard
from bot.handling import let_chat_go_on
from bot.pacing import BULK, HIGH, priority
from bot.texts import t
from bot.tglimits import utf16_len
from handoff.storage import Store
from handoff.tickets import Ticket

if TYPE_CHECKING:
    from bot.desk.service import Desk

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


def agent_chat_of(message: Message) -> int | None:
    """The workspace an agent's message is in (their private chat); None: a desk's group."""
    return message.chat.id if message.chat.type == "private" else None


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


# between the parts of texts relayed as one message; what a part's record is kind of
SEPARATOR = "\n┈┈┈┈┈┈\n"
JOINED = "joined"
TEXT_LIMIT = 4096  # UTF-16 units of a message's text


@dataclass
class _Queued:
    """A subscriber's message waiting for the group; ``sent`` once it went out (or failed)."""

    message: Message
    sent: asyncio.Future


@dataclass
class _Album:
    messages: list[Message] = field(default_factory=list)
    task: asyncio.Task | None = None
    relayed: asyncio.Event = field(default_factory=asyncio.Event)
    error: BaseException | None = None


class Relay:
    """Per-ticket ordering and album collection, shared by both directions."""

    ALBUM_WAIT = 0.4  # seconds to collect the parts of an album before relaying it

    def __init__(self, store: Store, flood: FloodGuard | None = None) -> None:
        self.store = store
        self.flood = flood
        self._albums: dict[str, _Album] = {}
        self._locks: dict[tuple[int, str], tuple[asyncio.Lock, int]] = {}  # lock, its users
        self._queued: dict[int, list[_Queued]] = {}  # by ticket: waiting for the group

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
                with priority(HIGH):  # a message between people goes before the desk's own
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

    async def group_reply_target(
        self, message: Message, agent_chat_id: int | None = None
    ) -> ReplyParameters | None:
        """What a subscriber's reply points at, as the message's copy on the agents' side: in
        the group, or in the workspace ``agent_chat_id`` (a copy elsewhere is no target)."""
        if not message.reply_to_message or message.from_user is None:
            return None
        found = await self.store.find_message(
            user_id=message.from_user.id, user_chat_message_id=message.reply_to_message.message_id
        )
        if found is None or found.group_message_id is None or found.agent_chat_id != agent_chat_id:
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
        found = await self.store.find_message(
            group_message_id=reply.message_id, desks=desks, agent_chat_id=agent_chat_of(message)
        )
        if found is None or found.user_chat_message_id is None:
            return None
        return ReplyParameters(
            message_id=found.user_chat_message_id, allow_sending_without_reply=True
        )

    # -- subscriber → group: the queue ---------------------------------------------------------

    async def queue_in(self, desk: Desk, ticket: Ticket, message: Message) -> None:
        """Relay a subscriber's message (not an album's part) into the ticket's topic: queued
        in order, then sent with what piled up behind the ones before it. Returns once it went
        out; raises what sending it raised."""
        entry = _Queued(message, asyncio.get_running_loop().create_future())
        self._queued.setdefault(ticket.id, []).append(entry)
        if self.flood is not None and self.flood.arrived(ticket.id):
            with contextlib.suppress(TelegramForbiddenError):  # blocked: the relay goes on
                await desk.bot.send_message(ticket.user_id, t(ticket.lang or "ru", "flood_note"))
        let_chat_go_on()  # its place is kept: the chat's next message may queue behind it
        async with self.in_order(ticket.id, "in"):
            while not entry.sent.done():
                await self._send_next(desk, ticket.id)
        await entry.sent

    def queued_edit(self, message: Message) -> bool:
        """The subscriber edited a message still waiting: the edit goes out instead."""
        for queue in self._queued.values():
            for entry in queue:
                queued = entry.message
                if queued.chat.id == message.chat.id and queued.message_id == message.message_id:
                    entry.message = message
                    return True
        return False

    def next_run(self, ticket_id: int) -> list[_Queued]:
        """The front of the ticket's queue that goes out as one message: consecutive texts
        that fit one (a reply to an earlier message starts a new one), or one other message."""
        queue = self._queued.get(ticket_id, [])
        run: list[_Queued] = []
        size = 0
        for entry in queue:
            message = entry.message
            if message.text is None or message.reply_to_message is not None:
                if not run:
                    run.append(entry)
                break
            size += utf16_len(message.text) + (utf16_len(SEPARATOR) if run else 0)
            if run and size > TEXT_LIMIT:
                break
            run.append(entry)
        del queue[: len(run)]
        if not queue:
            self._queued.pop(ticket_id, None)
        return run

    async def _send_next(self, desk: Desk, ticket_id: int) -> None:
        """Send the next run of the ticket's queue (a flooding subscriber's at its digest's
        time, after everyone else's); each part learns how it went."""
        flood = self.flood is not None and self.flood.flooding(ticket_id)
        if flood and self._front_is_text(ticket_id):
            await self.flood.digest_turn(ticket_id)  # type: ignore[union-attr]
        run = self.next_run(ticket_id)
        try:
            with priority(BULK if flood else HIGH):
                await self._send_run(desk, ticket_id, [e.message for e in run])
        except Exception as exc:
            for entry in run:
                entry.sent.set_exception(exc)
                entry.sent.exception()  # its own update raises it; no "never retrieved"
            return
        except BaseException:  # cancelled (shutting down): their updates are handled again
            for entry in run:
                entry.sent.cancel()
            raise
        for entry in run:
            entry.sent.set_result(None)

    def _front_is_text(self, ticket_id: int) -> bool:
        queue = self._queued.get(ticket_id)
        return bool(queue) and queue[0].message.text is not None

    async def _send_run(self, desk: Desk, ticket_id: int, messages: list[Message]) -> None:
        ticket = await self.store.get_ticket(ticket_id)
        if ticket is None or not messages:
            return
        first = messages[0]
        reply_to = await self.group_reply_target(first)
        if len(messages) == 1:
            send = desk.bot.copy_message
            args: tuple = (first.chat.id, first.message_id)
        else:
            send = desk.bot.send_message
            args = (SEPARATOR.join(html_of(m) for m in messages),)
        copy_id = await desk.topics.send_into(
            ticket,
            lambda thread: send(
                desk.desks.group_of(ticket),
                *args,
                message_thread_id=thread,
                reply_parameters=reply_to,
            ),
        )
        for message in messages:
            kind = message_kind(message) if len(messages) == 1 else JOINED
            await self.store.record_message(ticket.id, "in", message.message_id, copy_id, kind=kind)
