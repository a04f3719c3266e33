"""The agent desk on Telegram: ticket topics and cards in the operators' group, and the relay.

Handlers call this; the rules and the data are in ``handoff`` (store and tickets). Every relayed
message is recorded with its ids on both sides, so replies and edits can be mirrored and a
restart loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import html
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.filters.callback_data import CallbackData
from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaAudio,
    InputMediaDocument,
    InputMediaPhoto,
    InputMediaVideo,
    Message,
    ReplyParameters,
)

from bot.config import AgentsConfig
from bot.texts import t
from handoff.hours import WorkingHours
from handoff.store import Store, Subscriber
from handoff.tickets import Banned, Ticket

log = logging.getLogger(__name__)

# Telegram's words for a forum topic that is gone or shut.
_TOPIC_GONE = ("message thread not found", "topic_deleted", "topic_closed", "thread not found")


class TicketCb(CallbackData, prefix="tk"):
    """Claim / Close on a ticket's card."""

    action: str
    id: int


class CsatCb(CallbackData, prefix="cs"):
    """The subscriber's 1–5 rating after a ticket is closed."""

    id: int
    score: int


def message_kind(message: Message) -> str:
    for kind in (
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
    ):
        if getattr(message, kind, None):
            return kind
    return "other"


def topic_gone(exc: Exception) -> bool:
    return isinstance(exc, TelegramBadRequest) and any(
        s in str(exc.message).lower() for s in _TOPIC_GONE
    )


@dataclass
class _Album:
    messages: list[Message] = field(default_factory=list)
    task: asyncio.Task | None = None
    relayed: asyncio.Event = field(default_factory=asyncio.Event)


class Desk:
    """One operators' group: tickets' topics, cards, relay both ways, close and CSAT."""

    ALBUM_WAIT = 0.4  # seconds to collect the parts of an album before relaying it

    def __init__(
        self,
        bot: Bot,
        store: Store,
        config: AgentsConfig,
        hours: WorkingHours | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.bot = bot
        self.store = store
        self.config = config
        self.group_id = config.group_id
        self.lang = config.language
        self.hours = hours or WorkingHours()
        self.clock = clock
        self._albums: dict[str, _Album] = {}
        self._locks: dict[tuple[int, str], tuple[asyncio.Lock, int]] = {}  # lock, its users
        self._members: dict[int, tuple[bool, float]] = {}

    @contextlib.asynccontextmanager
    async def _in_order(self, ticket_id: int, direction: str) -> AsyncIterator[None]:
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

    # -- who is an agent ---------------------------------------------------------------------

    async def is_agent(self, user_id: int) -> bool:
        """Members of the operators' group are agents (cached for a minute)."""
        if self.group_id is None:
            return False
        cached = self._members.get(user_id)
        now = self.clock()
        if cached and now - cached[1] < 60:
            return cached[0]
        try:
            member = await self.bot.get_chat_member(self.group_id, user_id)
            ok = member.status in ("creator", "administrator", "member", "restricted")
        except TelegramBadRequest:
            ok = False
        self._members[user_id] = (ok, now)
        return ok

    # -- hand-off ----------------------------------------------------------------------------

    async def hand_off(self, sub: Subscriber, lang: str, reason: str, question: str) -> str:
        """Open (or find) the subscriber's ticket, show it to agents; the subscriber's text."""
        try:
            ticket, created = await self.store.open_ticket(
                sub.user_id,
                reason,
                question,
                lang,
                reopen_window=self.config.reopen_window,
            )
        except Banned:
            return t(lang, "handoff_banned")
        if self.group_id is not None and (created or ticket.thread_id is None):
            ticket = await self.show_ticket(ticket, sub)
        return await self.waiting_text(ticket, lang)

    async def waiting_text(self, ticket: Ticket, lang: str) -> str:
        queue = await self.store.queue()
        position = next((e.position for e in queue if e.ticket.id == ticket.id), 1)
        text = t(lang, "handoff_waiting", position=position)
        now = self.clock()
        if not self.hours.is_open(now):
            opens = self.hours.next_open(now)
            when = (
                datetime.fromtimestamp(opens, ZoneInfo(self.hours.timezone)).strftime("%d.%m %H:%M")
                if opens is not None
                else "—"
            )
            return f"{text}\n{t(lang, 'handoff_after_hours', hours=when)}"
        eta = await self.store.estimated_wait(now)
        if eta is not None:
            minutes = max(1, round(eta * position / 60))
            text += "\n" + t(lang, "handoff_eta", minutes=minutes)
        return text

    async def show_ticket(self, ticket: Ticket, sub: Subscriber | None = None) -> Ticket:
        """A fresh (or reopened) topic in the group with the ticket's card at its top."""
        if self.group_id is None:
            return ticket
        sub = sub or await self.store.subscriber(ticket.user_id)
        thread_id = ticket.thread_id
        if thread_id is not None:
            try:
                await self.bot.reopen_forum_topic(self.group_id, thread_id)
            except TelegramBadRequest as exc:
                if topic_gone(exc):
                    thread_id = None
                else:
                    log.info("reopenForumTopic #%s: %s", ticket.id, exc.message)
        if thread_id is None:
            thread_id = await self._create_topic(ticket, sub)
        card = await self.bot.send_message(
            self.group_id,
            await self.card_text(ticket, sub),
            message_thread_id=thread_id,
            reply_markup=self.card_keyboard(ticket),
        )
        return await self.store.set_thread(ticket.id, thread_id, card.message_id)

    async def _create_topic(self, ticket: Ticket, sub: Subscriber | None) -> int | None:
        name = sub.first_name if sub else str(ticket.user_id)
        title = f"#{ticket.id} {name} · {ticket.lang or '?'} · {ticket.question}".strip(" ·")
        try:
            topic = await self.bot.create_forum_topic(self.group_id, title[:128])
        except TelegramBadRequest as exc:
            # a group without topics: the card and the relay go to the group itself
            log.info("createForumTopic failed (%s); using the group without topics", exc.message)
            return None
        return topic.message_thread_id

    async def card_text(self, ticket: Ticket, sub: Subscriber | None) -> str:
        lang = self.lang
        status = {
            "waiting": t(lang, "agent_status_waiting"),
            "claimed": t(lang, "agent_status_claimed", agent=html.escape(ticket.agent_name or "")),
            "closed": t(lang, "agent_status_closed"),
        }[ticket.status]
        recent = await self.store.recent_interactions(ticket.user_id, limit=5)
        lines = [t(lang, "agent_card_history")] if recent else []
        for item in reversed(recent):
            answer = item["topic"] or item["decision"]
            lines.append(f"• {html.escape(item['text'][:200])} → <i>{html.escape(answer)}</i>")
        return t(
            lang,
            "agent_card",
            ticket=ticket.id,
            status=status,
            name=html.escape(sub.first_name if sub else ""),
            username=f" @{html.escape(sub.username)}" if sub and sub.username else "",
            user_id=ticket.user_id,
            lang=ticket.lang or "?",
            reason=ticket.reason,
            history="\n".join(lines),
        ).strip()

    def card_keyboard(self, ticket: Ticket) -> InlineKeyboardMarkup | None:
        buttons = []
        if ticket.status == "waiting":
            buttons.append(
                InlineKeyboardButton(
                    text=t(self.lang, "agent_button_claim"),
                    callback_data=TicketCb(action="claim", id=ticket.id).pack(),
                )
            )
        if ticket.status != "closed":
            buttons.append(
                InlineKeyboardButton(
                    text=t(self.lang, "agent_button_close"),
                    callback_data=TicketCb(action="close", id=ticket.id).pack(),
                )
            )
        return InlineKeyboardMarkup(inline_keyboard=[buttons]) if buttons else None

    async def refresh_card(self, ticket: Ticket) -> None:
        if self.group_id is None or ticket.card_message_id is None:
            return
        sub = await self.store.subscriber(ticket.user_id)
        try:
            await self.bot.edit_message_text(
                await self.card_text(ticket, sub),
                chat_id=self.group_id,
                message_id=ticket.card_message_id,
                reply_markup=self.card_keyboard(ticket),
            )
        except TelegramBadRequest as exc:
            log.info("card of #%s not updated: %s", ticket.id, exc.message)

    async def notify(self, ticket: Ticket, text: str) -> None:
        """A line for the agents in the ticket's topic (never lost for a deleted topic)."""
        if self.group_id is None:
            return
        try:
            await self.bot.send_message(self.group_id, text, message_thread_id=ticket.thread_id)
        except TelegramBadRequest as exc:
            if not topic_gone(exc):
                raise
            ticket = await self.show_ticket(ticket)
            await self.bot.send_message(self.group_id, text, message_thread_id=ticket.thread_id)

    # -- subscriber → agents -----------------------------------------------------------------

    async def relay_in(self, message: Message, ticket: Ticket) -> None:
        """A subscriber's message (any kind) into the ticket's topic, reply kept."""
        if message.media_group_id:
            await self._collect(message, lambda msgs: self._relay_album_in(msgs, ticket.id))
            return
        async with self._in_order(ticket.id, "in"):
            ticket = await self._fresh(ticket)
            reply_to = await self._group_reply_target(message)
            copy_id = await self._into_topic(
                ticket,
                lambda thread: self.bot.copy_message(
                    self.group_id,
                    message.chat.id,
                    message.message_id,
                    message_thread_id=thread,
                    reply_parameters=reply_to,
                ),
            )
            await self.store.record_message(
                ticket.id, "in", message.message_id, copy_id, kind=message_kind(message)
            )

    async def _relay_album_in(self, messages: list[Message], ticket_id: int) -> None:
        async with self._in_order(ticket_id, "in"):
            ticket = await self.store.get_ticket(ticket_id)
            if ticket is None:
                return
            media = [m for m in (_input_media(msg) for msg in messages) if m is not None]
            if not media:
                return
            sent = await self._into_topic(
                ticket,
                lambda thread: self.bot.send_media_group(
                    self.group_id, media, message_thread_id=thread
                ),
            )
            for msg, copy in zip(messages, sent, strict=False):
                await self.store.record_message(
                    ticket.id, "in", msg.message_id, copy.message_id, kind=message_kind(msg)
                )

    async def _into_topic(self, ticket: Ticket, send: Callable[[int | None], Awaitable]):
        """Send into the ticket's topic; if the topic was deleted, open a new one and resend."""
        try:
            result = await send(ticket.thread_id)
        except TelegramBadRequest as exc:
            if not topic_gone(exc):
                raise
            log.info("topic of ticket #%s is gone; opening a new one", ticket.id)
            old = ticket.thread_id
            ticket = await self.show_ticket(dataclasses.replace(ticket, thread_id=None))
            if old is not None:
                await self.bot.send_message(
                    self.group_id,
                    t(self.lang, "agent_new_topic"),
                    message_thread_id=ticket.thread_id,
                )
            result = await send(ticket.thread_id)
        return result.message_id if hasattr(result, "message_id") else result

    async def _group_reply_target(self, message: Message) -> ReplyParameters | None:
        if not message.reply_to_message or message.from_user is None:
            return None
        found = await self.store.find_message(
            user_id=message.from_user.id, user_chat_message_id=message.reply_to_message.message_id
        )
        if found is None or found.group_message_id is None:
            return None
        return ReplyParameters(message_id=found.group_message_id, allow_sending_without_reply=True)

    async def mirror_edit_in(self, message: Message) -> None:
        """The subscriber edited a relayed message: edit its copy in the topic."""
        if message.from_user is None:
            return
        found = await self.store.find_message(
            user_id=message.from_user.id, user_chat_message_id=message.message_id
        )
        if found is None or found.group_message_id is None:
            return
        await self._mirror_edit(message, self.group_id, found.group_message_id)

    # -- agents → subscriber -----------------------------------------------------------------

    async def relay_out(self, message: Message, ticket: Ticket) -> None:
        """An agent's message to the subscriber, anonymous or signed, reply kept."""
        if message.media_group_id:
            await self._collect(message, lambda msgs: self._relay_album_out(msgs, ticket.id))
            return
        async with self._in_order(ticket.id, "out"):
            reply_to = await self._private_reply_target(message)
            try:
                if message.text:
                    sent = await self.bot.send_message(
                        ticket.user_id,
                        self._signed(message, message.html_text),
                        reply_parameters=reply_to,
                    )
                    copy_id = sent.message_id
                else:
                    copy = await self.bot.copy_message(
                        ticket.user_id,
                        message.chat.id,
                        message.message_id,
                        reply_parameters=reply_to,
                    )
                    copy_id = copy.message_id
            except TelegramForbiddenError:
                await self.subscriber_blocked(ticket)
                return
            await self.store.record_message(
                ticket.id,
                "out",
                copy_id,
                message.message_id,
                thread_id=message.message_thread_id,
                kind=message_kind(message),
            )

    async def _relay_album_out(self, messages: list[Message], ticket_id: int) -> None:
        async with self._in_order(ticket_id, "out"):
            ticket = await self.store.get_ticket(ticket_id)
            if ticket is None:
                return
            media = [m for m in (_input_media(msg) for msg in messages) if m is not None]
            try:
                sent = await self.bot.send_media_group(ticket.user_id, media)
            except TelegramForbiddenError:
                await self.subscriber_blocked(ticket)
                return
            for msg, copy in zip(messages, sent, strict=False):
                await self.store.record_message(
                    ticket.id, "out", copy.message_id, msg.message_id, kind=message_kind(msg)
                )

    def _signed(self, message: Message, body: str) -> str:
        if self.config.signature == "first_name" and message.from_user:
            return f"<b>{html.escape(message.from_user.first_name)}:</b> {body}"
        return body

    async def _private_reply_target(self, message: Message) -> ReplyParameters | None:
        reply = message.reply_to_message
        if (
            reply is None
            or reply.forum_topic_created
            or reply.message_id == message.message_thread_id
        ):
            return None  # in a topic every message "replies" to the topic's first message
        found = await self.store.find_message(group_message_id=reply.message_id)
        if found is None or found.user_chat_message_id is None:
            return None
        return ReplyParameters(
            message_id=found.user_chat_message_id, allow_sending_without_reply=True
        )

    async def mirror_edit_out(self, message: Message, ticket: Ticket) -> None:
        found = await self.store.find_message(group_message_id=message.message_id)
        if found is None or found.user_chat_message_id is None or found.direction != "out":
            return
        await self._mirror_edit(message, ticket.user_id, found.user_chat_message_id, sign=True)

    async def _mirror_edit(
        self, message: Message, chat_id: int, message_id: int, sign: bool = False
    ) -> None:
        try:
            if message.text:
                body = self._signed(message, message.html_text) if sign else message.html_text
                await self.bot.edit_message_text(body, chat_id=chat_id, message_id=message_id)
            elif message.caption is not None:
                await self.bot.edit_message_caption(
                    chat_id=chat_id, message_id=message_id, caption=message.html_text
                )
        except TelegramBadRequest as exc:
            log.info("edit not mirrored: %s", exc.message)
        except TelegramForbiddenError:
            log.info("edit not mirrored: chat %s blocked the bot", chat_id)

    # -- closing -----------------------------------------------------------------------------

    async def close(self, ticket: Ticket, agent_id: int | None, agent_name: str | None) -> Ticket:
        ticket = await self.store.close_ticket(ticket.id, agent_id, agent_name)
        # the subscriber first: the group's 20 messages a minute may keep its notice waiting
        lang = ticket.lang or "ru"
        try:
            await self.bot.send_message(
                ticket.user_id, t(lang, "ticket_closed"), reply_markup=csat_keyboard(ticket.id)
            )
        except TelegramForbiddenError:
            log.info("ticket #%s closed; the subscriber has blocked the bot", ticket.id)
        await self.refresh_card(ticket)
        await self.notify(
            ticket,
            t(
                self.lang,
                "agent_closed_notice",
                ticket=ticket.id,
                agent=html.escape(agent_name or ""),
            ),
        )
        await self._close_topic(ticket)
        return ticket

    async def subscriber_blocked(self, ticket: Ticket) -> None:
        """Tell the agents, close the ticket with the reason, keep the topic's history."""
        await self.store.mark_blocked(ticket.user_id)
        if ticket.is_open:
            ticket = await self.store.close_ticket(ticket.id, reason="blocked")
        await self.refresh_card(ticket)
        await self.notify(ticket, t(self.lang, "agent_user_blocked", ticket=ticket.id))
        await self._close_topic(ticket)

    async def _close_topic(self, ticket: Ticket) -> None:
        if self.group_id is None or ticket.thread_id is None:
            return
        try:
            await self.bot.close_forum_topic(self.group_id, ticket.thread_id)
        except TelegramBadRequest as exc:
            log.info("closeForumTopic #%s: %s", ticket.id, exc.message)

    async def _fresh(self, ticket: Ticket) -> Ticket:
        return await self.store.get_ticket(ticket.id) or ticket

    # -- albums ------------------------------------------------------------------------------

    async def _collect(
        self, message: Message, flush: Callable[[list[Message]], Awaitable[None]]
    ) -> None:
        """Parts of an album arrive one by one; relay them together once they stop coming.

        Each part returns only once the album went out, so no part's update counts as handled
        before that: a crash in between relays the album after the restart."""
        key = f"{message.chat.id}:{message.media_group_id}"
        album = self._albums.setdefault(key, _Album())
        album.messages.append(message)
        if album.task is not None:
            album.task.cancel()

        async def later() -> None:
            await asyncio.sleep(self.ALBUM_WAIT)  # a new part cancels this and waits again
            self._albums.pop(key, None)
            parts = sorted(album.messages, key=lambda m: m.message_id)
            try:
                await flush(parts)
            except Exception:
                log.exception("album %s not relayed", key)
            finally:
                album.relayed.set()

        album.task = asyncio.create_task(later())
        await album.relayed.wait()


def csat_keyboard(ticket_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=str(score), callback_data=CsatCb(id=ticket_id, score=score).pack()
                )
                for score in range(1, 6)
            ]
        ]
    )


def _input_media(message: Message):
    caption = message.html_text if message.caption else None
    if message.photo:
        return InputMediaPhoto(media=message.photo[-1].file_id, caption=caption)
    if message.video:
        return InputMediaVideo(media=message.video.file_id, caption=caption)
    if message.document:
        return InputMediaDocument(media=message.document.file_id, caption=caption)
    if message.audio:
        return InputMediaAudio(media=message.audio.file_id, caption=caption)
    return None
