"""Emulator state (bots, users, chats, update queues, event log) and the primitives on it."""

# One ordered event log holds every message, edit, API call, ...; its sequence numbers are
# the cursors that make waiting race-free (take a cursor, act, wait for events after it).

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Callable, Iterable
from typing import Any

from emulator.errors import (
    ApiError,
    EmulatorError,
    EmulatorTimeout,
    EntityParseError,
    bad_request,
    forbidden,
)
from emulator.faults import FaultInjector
from emulator.html import parse_html
from emulator.limits import Limits, RateLimiter
from emulator.markdown import parse_markdown, parse_markdown_v2
from emulator.media import FileStore
from emulator.models import (
    JSON,
    BotAccount,
    CallbackRecord,
    Chat,
    Event,
    SimUser,
    StoredMessage,
    new_tick,
)
from emulator.text import Entity, clean_entities, finalize, utf16_len

DEFAULT_TOKEN = "123456789:AAEmulatorDefaultTestToken0000000000"
DEFAULT_BOT_USERNAME = "dono_test_bot"
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
TOPIC_COLORS = (7322096, 16766590, 13338331, 9367192, 16749490, 16478047)
_INLINE_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)

UserRef = SimUser | int
ChatRef = Chat | int
BotRef = BotAccount | str | int | None
MessageRef = JSON | StoredMessage | int


class Dropped(Exception):
    """Raised inside a handler to close the client connection without a response."""


def bot_id_from_token(token: str) -> int:
    """The numeric bot id that prefixes a token (``123:abc`` -> 123)."""
    head, sep, tail = token.partition(":")
    if not sep or not head.isdigit() or not tail:
        raise ValueError(f"malformed bot token {token!r}")
    return int(head)


class Inbox:
    """A cursor over one chat's bot messages: ``await inbox.next()`` never misses or repeats.

    Create it *before* triggering the bot (``emu.inbox(chat_id)`` starts at the current
    cursor), or pass ``since=0`` to read from the very first message.
    """

    def __init__(
        self,
        emu: EmulatorCore,
        chat_id: int,
        *,
        thread_id: int | None = None,
        since: int = 0,
        bot_id: int | None = None,
        from_bot: bool | None = True,
        kind: str = "message",
    ) -> None:
        self.emu = emu
        self.chat_id = chat_id
        self.thread_id = thread_id
        self.position = since
        self.bot_id = bot_id
        self.from_bot = from_bot
        self.kind = kind

    def _matches(self, event: Event) -> bool:
        if event.kind != self.kind or event.chat_id != self.chat_id:
            return False
        if self.from_bot is not None and event.from_bot != self.from_bot:
            return False
        if self.thread_id is not None and event.thread_id != self.thread_id:
            return False
        return self.bot_id is None or event.bot_id in (None, self.bot_id)

    async def next(
        self, timeout: float = 5.0, predicate: Callable[[JSON], bool] | None = None
    ) -> JSON:
        """The next matching message after the cursor; the cursor moves past it."""

        def match(event: Event) -> bool:
            return self._matches(event) and (predicate is None or predicate(event.data["message"]))

        event = await self.emu.wait_for_event(
            match,
            since=self.position,
            timeout=timeout,
            what=f"{'bot ' if self.from_bot else ''}{self.kind} in chat {self.chat_id}"
            + (f" thread {self.thread_id}" if self.thread_id is not None else ""),
            chat_id=self.chat_id,
        )
        self.position = event.seq
        return event.data["message"]

    async def take(self, count: int, timeout: float = 5.0) -> list[JSON]:
        """The next ``count`` matching messages (the timeout applies to the whole batch)."""
        deadline = asyncio.get_running_loop().time() + timeout
        out: list[JSON] = []
        for _ in range(count):
            remaining = max(deadline - asyncio.get_running_loop().time(), 0.0)
            out.append(await self.next(timeout=remaining))
        return out

    def pending(self) -> list[JSON]:
        """Matching messages after the cursor, without waiting or moving the cursor."""
        return [e.data["message"] for e in self.emu.events[self.position :] if self._matches(e)]

    def skip(self) -> None:
        """Move the cursor to now (ignore everything so far)."""
        self.position = self.emu.cursor()


class EmulatorCore:
    """All emulator state plus the operations both sides (bot and users) build on."""

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        bot_username: str = DEFAULT_BOT_USERNAME,
        bot_name: str = "Dono",
        limits: Limits | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        accept_any_token: bool = False,
        callback_ttl: float = 15.0,
        topic_reply_quirk: bool = True,
        conflict_on_concurrent_polls: bool = True,
        private_topics: bool = False,
        forum_archive_after: int | None = None,
    ) -> None:
        self.clock = clock
        self.wall_clock = wall_clock
        self.accept_any_token = accept_any_token
        self.callback_ttl = callback_ttl
        self.topic_reply_quirk = topic_reply_quirk
        self.conflict_on_concurrent_polls = conflict_on_concurrent_polls
        self.limits = limits or Limits()
        self.rate_limiter = RateLimiter(self.limits, clock)
        self.faults = FaultInjector(clock)
        self.files = FileStore()
        self.bots: dict[str, BotAccount] = {}
        self.users: dict[int, SimUser] = {}
        self.chats: dict[tuple[int, int], Chat] = {}
        self.callbacks: dict[str, CallbackRecord] = {}
        self.events: list[Event] = []
        self._tick = new_tick()
        self._user_ids = itertools.count(1_000_001)
        self._group_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._inboxes: dict[tuple[Any, ...], Inbox] = {}
        self.accepting = True  # False while stopped: long polls end, requests are dropped
        self._halt = asyncio.Event()  # set while stopping: held (faulted) requests end
        self.default_bot = self.add_bot(token, bot_username, first_name=bot_name)
        self.default_bot.has_topics_enabled = private_topics
        # a forum keeps its newest ``forum_archive_after`` messages reachable (None: all)
        self.forum_archive_after = forum_archive_after

    # ----------------------------------------------------------------- registry

    def add_bot(self, token: str, username: str, *, first_name: str | None = None) -> BotAccount:
        """Register a bot token (idempotent); the first bot becomes the default one."""
        if token in self.bots:
            return self.bots[token]
        bot = BotAccount(
            id=bot_id_from_token(token),
            token=token,
            username=username.lstrip("@"),
            first_name=first_name or username.lstrip("@"),
        )
        self.bots[token] = bot
        return bot

    def bot_by_token(self, token: str) -> BotAccount | None:
        """The bot for a token (auto-registered when ``accept_any_token`` is on)."""
        bot = self.bots.get(token)
        if bot is None and self.accept_any_token:
            try:
                bot_id_from_token(token)
            except ValueError:
                return None
            bot = self.add_bot(token, f"bot{bot_id_from_token(token)}_bot")
        return bot

    def get_bot(self, ref: BotRef = None) -> BotAccount:
        """Resolve a bot by object, token or id (None: the default bot)."""
        if ref is None:
            return self.default_bot
        if isinstance(ref, BotAccount):
            return ref
        for bot in self.bots.values():
            if ref in (bot.token, bot.id):
                return bot
        raise EmulatorError(f"unknown bot {ref!r}")

    def get_user(self, ref: UserRef) -> SimUser:
        """Resolve a simulated user by object or id."""
        user_id = ref.id if isinstance(ref, SimUser) else int(ref)
        try:
            return self.users[user_id]
        except KeyError:
            raise EmulatorError(f"unknown user {user_id}") from None

    def new_user(
        self,
        first_name: str,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
        user_id: int | None = None,
    ) -> SimUser:
        """Create and register a simulated user."""
        uid = user_id if user_id is not None else next(self._user_ids)
        while user_id is None and uid in self.users:
            uid = next(self._user_ids)
        if uid in self.users:
            raise EmulatorError(f"user {uid} already exists")
        user = SimUser(
            id=uid,
            first_name=first_name,
            last_name=last_name,
            username=username.lstrip("@") if username else None,
            language_code=language_code,
        )
        self.users[uid] = user
        self.record("user_created", data={"user": user.to_api()})
        return user

    def new_group(
        self,
        title: str,
        *,
        supergroup: bool = True,
        forum: bool = False,
        username: str | None = None,
        bots: Iterable[BotAccount] = (),
    ) -> Chat:
        """Create an empty group or supergroup (the caller logs ``chat_created``)."""
        n = next(self._group_ids)
        chat_id = -(1_000_000_000_000 + n) if supergroup else -(4_000_000 + n)
        chat = Chat(
            id=chat_id,
            type="supergroup" if supergroup else "group",
            title=title,
            username=username.lstrip("@") if username else None,
            is_forum=forum and supergroup,
            bot_ids={b.id for b in bots},
        )
        self.chats[chat.key] = chat
        return chat

    def private_chat(self, bot: BotAccount, user: SimUser, *, create: bool) -> Chat | None:
        """The private chat between a bot and a user (created on first contact)."""
        chat = self.chats.get((bot.id, user.id))
        if chat is None and create:
            chat = Chat(
                id=user.id,
                type="private",
                bot_id=bot.id,
                user_id=user.id,
                first_name=user.first_name,
                last_name=user.last_name,
                username=user.username,
                members={user.id},
                bot_ids={bot.id},
            )
            self.chats[chat.key] = chat
            self.record(
                "chat_created", bot_id=bot.id, chat_id=chat.id, data={"chat": chat.summary()}
            )
        return chat

    def find_chat(self, chat_id: int, bot: BotAccount | None = None) -> Chat | None:
        """Look a chat up by id (private chats need the bot; default bot if None)."""
        if chat_id > 0:
            return self.chats.get(((bot or self.default_bot).id, chat_id))
        return self.chats.get((0, chat_id))

    def get_chat(self, ref: ChatRef, bot: BotAccount | None = None) -> Chat:
        """Like :meth:`find_chat` but raises EmulatorError when missing."""
        if isinstance(ref, Chat):
            return ref
        chat = self.find_chat(int(ref), bot)
        if chat is None:
            raise EmulatorError(f"unknown chat {ref}")
        return chat

    def chat_for_bot(self, bot: BotAccount, ref: int | str) -> Chat:
        """Resolve ``chat_id`` as the Bot API does, with Telegram's error texts."""
        if isinstance(ref, str):
            name = ref.lstrip("@").lower()
            for chat in self.chats.values():
                if chat.type != "private" and (chat.username or "").lower() == name:
                    ref = chat.id
                    break
            else:
                raise bad_request("chat not found")
        if ref > 0:
            chat = self.chats.get((bot.id, ref))
            if chat is None:
                if ref in self.users:
                    raise forbidden("bot can't initiate conversation with a user")
                raise bad_request("chat not found")
            return chat
        chat = self.chats.get((0, ref))
        if chat is None:
            raise bad_request("chat not found")
        if bot.id not in chat.bot_ids:
            kind = "supergroup" if chat.type == "supergroup" else "group"
            if bot.id in chat.kicked_bot_ids:
                raise forbidden(f"bot was kicked from the {kind} chat")
            raise forbidden(f"bot is not a member of the {kind} chat")
        return chat

    def ensure_can_send(self, bot: BotAccount, chat: Chat) -> None:
        """403 when the private-chat user has blocked the bot."""
        if chat.type == "private" and chat.user_id is not None:
            user = self.users.get(chat.user_id)
            if user is not None and bot.id in user.blocked_bots:
                raise forbidden("bot was blocked by the user")

    def has_topics(self, chat: Chat) -> bool:
        """A forum supergroup, or a private chat of a bot with topic mode on (Bot API 9.3)."""
        if chat.type == "private":
            bot = next((b for b in self.bots.values() if b.id == chat.bot_id), None)
            return bot is not None and bot.has_topics_enabled
        return chat.is_forum

    def set_forum_archive(self, after: int | None) -> None:
        """Archive every forum's messages but its newest ``after`` (None: stop archiving; what
        was archived stays so), as Telegram does past about a million messages."""
        self.forum_archive_after = after
        for chat in list(self.chats.values()):
            self.archive_forum(chat)

    def archive_forum(self, chat: Chat) -> None:
        """Move the archive's boundary past the forum's oldest messages; a topic whose creation
        message it passes is archived (an ``topic_archived`` event)."""
        after = self.forum_archive_after
        if after is None or not chat.is_forum:
            return
        boundary = chat.next_message_id - 1 - after
        if boundary <= chat.archived_through:
            return
        chat.archived_through = boundary
        for topic in chat.topics.values():
            if topic.thread_id <= boundary and not topic.archived and not topic.deleted:
                topic.archived = True
                self.record(
                    "topic_archived",
                    chat_id=chat.id,
                    thread_id=topic.thread_id,
                    data=topic.summary(),
                )

    def check_rate(self, bot: BotAccount, chat: Chat, count: int = 1) -> None:
        """Apply flood limits for ``count`` outgoing messages of one call (429 on excess)."""
        wait = self.rate_limiter.acquire(
            bot.id, chat.id, private=chat.type == "private", count=count
        )
        if wait is not None:
            raise ApiError(
                429,
                f"Too Many Requests: retry after {wait}",
                parameters={"retry_after": wait},
            )

    async def hold(self, seconds: float) -> None:
        """Sleep up to ``seconds``, ending early when the server stops."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._halt.wait(), seconds)

    def log_call(
        self,
        bot: BotAccount | None,
        method: str,
        params: JSON,
        *,
        status: int,
        body: JSON | None,
        fault: str | None = None,
    ) -> Event:
        """Record one Bot API request in the event log."""
        data: JSON = {"method": method, "params": params, "status": status}
        if body is not None:
            data["ok"] = bool(body.get("ok"))
            if body.get("ok"):
                data["result"] = body.get("result")
            else:
                data["error_code"] = body.get("error_code")
                data["description"] = body.get("description")
                if body.get("parameters"):
                    data["parameters"] = body["parameters"]
        else:
            data["ok"] = False
        if fault:
            data["fault"] = fault
        return self.record("call", bot_id=bot.id if bot else None, data=data)

    # ------------------------------------------------------------------- events

    def cursor(self) -> int:
        """Sequence number of the latest event; pass it as ``since`` to wait for newer ones."""
        return len(self.events)

    def record(
        self,
        kind: str,
        *,
        bot_id: int | None = None,
        chat_id: int | None = None,
        thread_id: int | None = None,
        message_id: int | None = None,
        from_bot: bool = False,
        data: JSON | None = None,
    ) -> Event:
        """Append an event to the log and wake every waiter."""
        event = Event(
            seq=len(self.events) + 1,
            kind=kind,
            time=self.wall_clock(),
            bot_id=bot_id,
            chat_id=chat_id,
            thread_id=thread_id,
            message_id=message_id,
            from_bot=from_bot,
            data=data or {},
        )
        self.events.append(event)
        self._tick.set()
        self._tick = new_tick()
        return event

    def events_since(
        self, since: int = 0, kinds: Iterable[str] | None = None, chat_id: int | None = None
    ) -> list[Event]:
        """Events with ``seq > since``, optionally filtered."""
        wanted = set(kinds) if kinds is not None else None
        return [
            e
            for e in self.events[since:]
            if (wanted is None or e.kind in wanted) and (chat_id is None or e.chat_id == chat_id)
        ]

    async def wait_for_event(
        self,
        predicate: Callable[[Event], bool],
        *,
        since: int | None = None,
        timeout: float = 5.0,
        what: str = "event",
        chat_id: int | None = None,
    ) -> Event:
        """First event after ``since`` (default: now) satisfying ``predicate``."""
        position = self.cursor() if since is None else since
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for event in self.events[position:]:
                if predicate(event):
                    return event
            position = len(self.events)
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise EmulatorTimeout(self._timeout_text(what, timeout, chat_id))
            tick = self._tick
            try:
                await asyncio.wait_for(tick.wait(), remaining)
            except TimeoutError:
                continue

    async def wait_for_events(self, since: int, timeout: float) -> list[Event]:
        """Long-poll helper: events after ``since``, waiting up to ``timeout`` for the first."""
        if len(self.events) <= since and timeout > 0:
            tick = self._tick
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(tick.wait(), timeout)
        return self.events[since:]

    def _timeout_text(self, what: str, timeout: float, chat_id: int | None) -> str:
        text = f"no {what} within {timeout:g}s"
        if chat_id is not None:
            recent = [e for e in self.events if e.kind == "message" and e.chat_id == chat_id][-5:]
            if recent:
                lines = []
                for e in recent:
                    body = e.data["message"].get("text") or e.data["message"].get("caption") or ""
                    who = "bot" if e.from_bot else "user"
                    lines.append(f"  #{e.message_id} {who}: {body[:80]!r}")
                text += "; last messages in chat:\n" + "\n".join(lines)
        calls = [e for e in self.events if e.kind == "call" and not e.data.get("ok")][-3:]
        if calls:
            text += "\nrecent failed API calls: " + "; ".join(
                f"{e.data['method']}: {e.data.get('description')}" for e in calls
            )
        return text

    def inbox(
        self,
        chat: ChatRef,
        *,
        thread_id: int | None = None,
        since: int | None = None,
        bot: BotRef = None,
        from_bot: bool | None = True,
    ) -> Inbox:
        """A fresh cursor over bot messages in ``chat`` starting now (or at ``since``)."""
        chat_id = chat.id if isinstance(chat, Chat) else int(chat)
        bot_account = self.get_bot(bot)
        return Inbox(
            self,
            chat_id,
            thread_id=thread_id,
            since=self.cursor() if since is None else since,
            bot_id=bot_account.id,
            from_bot=from_bot,
        )

    async def wait_for_bot_message(
        self,
        chat: ChatRef,
        *,
        thread_id: int | None = None,
        timeout: float = 5.0,
        predicate: Callable[[JSON], bool] | None = None,
        since: int | None = None,
        bot: BotRef = None,
    ) -> JSON:
        """Next bot message in ``chat`` (and topic ``thread_id`` if given).

        With ``since`` (a :meth:`cursor` value) the first matching message after it is
        returned and nothing is consumed. Without it, each chat/thread has an implicit
        inbox that starts at the beginning of time: successive calls return successive
        bot messages, so nothing is missed or returned twice.
        """
        chat_id = chat.id if isinstance(chat, Chat) else int(chat)
        bot_account = self.get_bot(bot)
        if since is not None:
            return await Inbox(
                self, chat_id, thread_id=thread_id, since=since, bot_id=bot_account.id
            ).next(timeout=timeout, predicate=predicate)
        key = (bot_account.id, chat_id, thread_id)
        inbox = self._inboxes.get(key)
        if inbox is None:
            inbox = self._inboxes[key] = Inbox(
                self, chat_id, thread_id=thread_id, since=0, bot_id=bot_account.id
            )
        return await inbox.next(timeout=timeout, predicate=predicate)

    async def wait_for_bot_messages(
        self,
        chat: ChatRef,
        count: int,
        *,
        thread_id: int | None = None,
        timeout: float = 5.0,
        since: int | None = None,
        bot: BotRef = None,
    ) -> list[JSON]:
        """The next ``count`` bot messages (same cursor rules as wait_for_bot_message)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        out: list[JSON] = []
        position = since
        for _ in range(count):
            remaining = max(deadline - loop.time(), 0.0)
            message = await self.wait_for_bot_message(
                chat, thread_id=thread_id, timeout=remaining, since=position, bot=bot
            )
            out.append(message)
            if position is not None:
                position = self.message_seq(message, position)
        return out

    def message_seq(self, message: JSON, fallback: int) -> int:
        for event in self.events[fallback:]:
            if (
                event.kind == "message"
                and event.message_id == message["message_id"]
                and event.chat_id == message["chat"]["id"]
            ):
                return event.seq
        return fallback

    async def wait_for_call(
        self,
        method: str,
        *,
        since: int | None = None,
        timeout: float = 5.0,
        predicate: Callable[[JSON], bool] | None = None,
    ) -> JSON:
        """Next logged Bot API call of ``method`` after ``since`` (default: now)."""
        name = method.lower()

        def match(event: Event) -> bool:
            return (
                event.kind == "call"
                and event.data["method"].lower() == name
                and (predicate is None or predicate(event.data))
            )

        event = await self.wait_for_event(
            match, since=since, timeout=timeout, what=f"{method} call"
        )
        return event.data

    async def wait_for_bot_edit(
        self,
        chat: ChatRef,
        *,
        message_id: int | None = None,
        since: int | None = None,
        timeout: float = 5.0,
    ) -> JSON:
        """Next edit the bot made in ``chat`` after ``since`` (default: now)."""
        chat_id = chat.id if isinstance(chat, Chat) else int(chat)

        def match(event: Event) -> bool:
            return (
                event.kind == "edit"
                and event.from_bot
                and event.chat_id == chat_id
                and (message_id is None or event.message_id == message_id)
            )

        event = await self.wait_for_event(
            match, since=since, timeout=timeout, what=f"bot edit in chat {chat_id}"
        )
        return event.data["message"]

    async def wait_for_callback_answer(self, query_id: str, *, timeout: float = 5.0) -> JSON:
        """The bot's answerCallbackQuery parameters for a pressed button."""
        record = self.callbacks.get(query_id)
        if record is None:
            raise EmulatorError(f"unknown callback query {query_id}")
        if record.answer is None:
            try:
                await asyncio.wait_for(record.answered.wait(), timeout)
            except TimeoutError:
                raise EmulatorTimeout(
                    f"callback query {query_id} ({record.data!r}) not answered within {timeout:g}s"
                ) from None
        assert record.answer is not None
        return record.answer

    def calls(self, method: str | None = None, since: int = 0) -> list[JSON]:
        """Logged Bot API calls (method, params, ok, result or error)."""
        name = method.lower() if method else None
        return [
            e.data
            for e in self.events[since:]
            if e.kind == "call" and (name is None or e.data["method"].lower() == name)
        ]

    # ----------------------------------------------------------------- messages

    def messages(
        self,
        chat: ChatRef,
        thread_id: int | None = None,
        *,
        bot: BotRef = None,
        from_bot: bool | None = None,
    ) -> list[JSON]:
        """Current (non-deleted) messages of a chat as Bot API JSON, oldest first."""
        chat_obj = self.find_chat(
            chat.id if isinstance(chat, Chat) else int(chat), self.get_bot(bot)
        )
        if chat_obj is None:
            return []
        return [
            m.snapshot()
            for m in chat_obj.live_messages(thread_id)
            if from_bot is None or m.from_bot == from_bot
        ]

    def bot_messages(
        self, chat: ChatRef, thread_id: int | None = None, *, bot: BotRef = None
    ) -> list[JSON]:
        """Only the messages the bot sent."""
        return self.messages(chat, thread_id, bot=bot, from_bot=True)

    def reply_keyboard(self, chat: ChatRef, *, bot: BotRef = None) -> JSON | None:
        """The reply keyboard currently shown in a chat, if any."""
        chat_obj = self.find_chat(
            chat.id if isinstance(chat, Chat) else int(chat), self.get_bot(bot)
        )
        return chat_obj.reply_keyboard if chat_obj else None

    @staticmethod
    def buttons(message: JSON) -> list[JSON]:
        """Inline keyboard buttons of a message, flattened row by row."""
        markup = message.get("reply_markup") or {}
        return [b for row in markup.get("inline_keyboard", []) for b in row]

    def post_message(
        self,
        chat: Chat,
        sender: BotAccount | SimUser,
        content: JSON,
        *,
        thread_id: int | None = None,
        reply_to: StoredMessage | None = None,
        reply_markup: JSON | None = None,
        service: bool = False,
        message_id: int | None = None,
        deliver: bool = True,
    ) -> StoredMessage:
        """Store a new message, log it and (for user senders) queue updates for bots."""
        from_bot = isinstance(sender, BotAccount)
        mid = message_id if message_id is not None else chat.next_message_id
        chat.next_message_id = max(chat.next_message_id, mid + 1)
        data: JSON = {"message_id": mid}
        if thread_id is not None:
            data["message_thread_id"] = thread_id
        data["from"] = sender.to_user() if isinstance(sender, BotAccount) else sender.to_api()
        data["chat"] = chat.to_api()
        data["date"] = int(self.wall_clock())
        if thread_id is not None and self.has_topics(chat):
            data["is_topic_message"] = True
        if reply_to is not None:
            data["reply_to_message"] = reply_to.as_reply()
        elif thread_id is not None and self.topic_reply_quirk and not service:
            created = chat.messages.get(thread_id)
            if created is not None and not created.deleted:
                data["reply_to_message"] = created.as_reply()
        data.update(content)
        if reply_markup and "inline_keyboard" in reply_markup:
            data["reply_markup"] = reply_markup
        stored = StoredMessage(
            chat_id=chat.id,
            message_id=mid,
            data=data,
            from_bot=from_bot,
            sender_id=sender.id,
            thread_id=thread_id,
            seq=0,
            is_service=service,
        )
        chat.messages[mid] = stored
        event = self.record(
            "message",
            bot_id=sender.id if from_bot else chat.bot_id,
            chat_id=chat.id,
            thread_id=thread_id,
            message_id=mid,
            from_bot=from_bot,
            data={
                "message": stored.snapshot(),
                "chat": chat.to_api(),
                "reply_keyboard": chat.reply_keyboard,
            },
        )
        stored.seq = event.seq
        if not from_bot and deliver:
            self.deliver(chat, "message", stored.snapshot())
        self.archive_forum(chat)
        return stored

    def deliver(self, chat: Chat, kind: str, payload: JSON) -> None:
        """Queue an update for every bot in the chat."""
        for bot in self.bots.values():
            if bot.id in chat.bot_ids:
                self.enqueue_update(bot, kind, payload)

    def enqueue_update(self, bot: BotAccount, kind: str, payload: JSON) -> JSON | None:
        """Append an Update to a bot's queue, honoring its allowed_updates."""
        if kind not in bot.allowed_updates:
            return None
        update = {"update_id": bot.next_update_id, kind: payload}
        bot.next_update_id += 1
        bot.updates.append(update)
        bot.notify()
        return update

    def find_message(
        self, chat: Chat, ref: MessageRef, *, bot_side: bool = False
    ) -> StoredMessage | None:
        """A live message of ``chat`` by id, JSON or StoredMessage (``bot_side``: as the Bot
        API sees it, where a forum's archived messages are gone)."""
        if isinstance(ref, StoredMessage):
            mid = ref.message_id
        elif isinstance(ref, dict):
            mid = int(ref["message_id"])
        else:
            mid = int(ref)
        message = chat.messages.get(mid)
        if message is None or message.deleted:
            return None
        if bot_side and mid <= chat.archived_through:
            return None
        return message

    # ---------------------------------------------------------------- formatting

    def format_text(
        self,
        text: str,
        parse_mode: str | None,
        entities: Any,
    ) -> tuple[str, list[Entity]]:
        """Apply parse_mode or explicit entities, then Telegram's trimming/auto-entities."""
        if entities:
            if not isinstance(entities, list):
                raise bad_request("can't parse entities JSON object")
            return finalize(text, clean_entities(text, entities))
        if parse_mode:
            mode = parse_mode.strip().lower()
            parser = {
                "html": parse_html,
                "markdownv2": parse_markdown_v2,
                "markdown": parse_markdown,
            }.get(mode)
            if parser is None:
                raise bad_request(f"unsupported parse_mode {parse_mode!r}")
            try:
                plain, found = parser(text)
            except EntityParseError as exc:
                raise bad_request(f"can't parse entities: {exc}") from None
            return finalize(plain, found)
        return finalize(text, [])

    def text_content(self, text: str | None, parse_mode: str | None, entities: Any) -> JSON:
        """``{"text": ..., "entities": [...]}`` for a text message, validated."""
        if text is None:
            raise bad_request("message text is empty")
        plain, found = self.format_text(text, parse_mode, entities)
        if not plain:
            raise bad_request("message text is empty")
        if utf16_len(plain) > MAX_TEXT:
            raise bad_request("message is too long")
        content: JSON = {"text": plain}
        if found:
            content["entities"] = found
        return content

    def caption_content(self, caption: str | None, parse_mode: str | None, entities: Any) -> JSON:
        """``{"caption": ..., "caption_entities": [...]}`` (empty dict without caption)."""
        if not caption:
            return {}
        plain, found = self.format_text(caption, parse_mode, entities)
        if utf16_len(plain) > MAX_CAPTION:
            raise bad_request("message caption is too long")
        if not plain:
            return {}
        content: JSON = {"caption": plain}
        if found:
            content["caption_entities"] = found
        return content

    @staticmethod
    def validate_markup(markup: Any) -> JSON | None:
        """Validate reply_markup like Telegram and return it normalized."""
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise bad_request(
                    'field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of '
                    "Arrays"
                )
            clean_rows = []
            for row in rows:
                clean_row = []
                for button in row:
                    clean_row.append(EmulatorCore._validate_button(button))
                if clean_row:
                    clean_rows.append(clean_row)
            return {"inline_keyboard": clean_rows}
        if "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise bad_request(
                    'field "keyboard" of the ReplyKeyboardMarkup should be an Array of Arrays'
                )
            normalized = [
                [b if isinstance(b, dict) else {"text": str(b)} for b in row] for row in rows
            ]
            if any(
                not isinstance(b.get("text"), str) or not b["text"] for r in normalized for b in r
            ):
                raise bad_request("can't parse keyboard button: Text must be non-empty")
            return {**markup, "keyboard": normalized}
        if markup.get("remove_keyboard") or markup.get("force_reply"):
            return dict(markup)
        raise bad_request("can't parse reply keyboard markup JSON object")

    @staticmethod
    def _validate_button(button: Any) -> JSON:
        if not isinstance(button, dict):
            raise bad_request(
                "can't parse inline keyboard button: InlineKeyboardButton should be an Object"
            )
        if "text" not in button:
            raise bad_request("can't parse inline keyboard button: Can't find field \"text\"")
        if not isinstance(button["text"], str):
            raise bad_request(
                'can\'t parse inline keyboard button: Field "text" must be of type String'
            )
        actions = [k for k in _INLINE_ACTIONS if button.get(k) is not None]
        if not actions:
            raise bad_request(
                "can't parse inline keyboard button: Text buttons are unallowed in the inline "
                "keyboard"
            )
        data = button.get("callback_data")
        if data is not None:
            size = len(str(data).encode("utf-8"))
            if size == 0 or size > MAX_CALLBACK_DATA:
                raise bad_request("BUTTON_DATA_INVALID")
        url = button.get("url")
        if url is not None and (not isinstance(url, str) or not url.strip() or " " in url):
            raise bad_request("BUTTON_URL_INVALID")
        return dict(button)

    def apply_reply_keyboard(self, chat: Chat, markup: JSON | None) -> None:
        """Remember the reply keyboard shown to the chat (or remove it)."""
        if not markup:
            return
        if "keyboard" in markup:
            chat.reply_keyboard = markup
        elif markup.get("remove_keyboard"):
            chat.reply_keyboard = None

    # --------------------------------------------------------------- callbacks

    def new_callback_id(self) -> str:
        """A fresh callback query id (numeric string like Telegram's)."""
        return str(4_200_000_000_000_000_000 + next(self._callback_ids))
