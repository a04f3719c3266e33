"""In-memory records (bots, users, chats, topics, messages, files, events) and their JSON shapes."""

from __future__ import annotations

import asyncio
import copy
from dataclasses import dataclass, field
from typing import Any, Literal

JSON = dict[str, Any]
ChatType = Literal["private", "group", "supergroup"]

# Update kinds Telegram delivers when allowed_updates is empty/unset.
DEFAULT_UPDATE_TYPES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "callback_query",
        "inline_query",
        "chosen_inline_result",
        "shipping_query",
        "pre_checkout_query",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "message_reaction_count",
        "chat_boost",
        "removed_chat_boost",
        "purchased_paid_media",
    }
)


def new_tick() -> asyncio.Event:
    """A fresh 'something changed' event (set once, then replaced)."""
    return asyncio.Event()


@dataclass
class BotAccount:
    """A bot known to the emulator, with its own update queue and settings."""

    id: int
    token: str
    username: str
    first_name: str
    updates: list[JSON] = field(default_factory=list)
    next_update_id: int = 1
    allowed_updates: frozenset[str] = DEFAULT_UPDATE_TYPES
    webhook: JSON | None = None
    commands: dict[tuple[str, str], list[JSON]] = field(default_factory=dict)
    poll_generation: int = 0
    tick: asyncio.Event = field(default_factory=new_tick)
    # Bot API 9.3/9.4: forum topic mode in private chats (BotFather's "Threaded Mode"); with it
    # the bot may createForumTopic in a private chat and send with message_thread_id there
    has_topics_enabled: bool = False
    allows_users_to_create_topics: bool = True

    def to_user(self) -> JSON:
        """The bot as a Bot API ``User`` (sender of its messages)."""
        return {
            "id": self.id,
            "is_bot": True,
            "first_name": self.first_name,
            "username": self.username,
        }

    def get_me(self) -> JSON:
        """``getMe`` result."""
        return {
            **self.to_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
            "has_topics_enabled": self.has_topics_enabled,
            "allows_users_to_create_topics": self.allows_users_to_create_topics,
        }

    def notify(self) -> None:
        """Wake long-polling getUpdates calls."""
        self.tick.set()
        self.tick = new_tick()


@dataclass
class SimUser:
    """A simulated Telegram user (subscriber or agent)."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    blocked_bots: set[int] = field(default_factory=set)

    def to_api(self) -> JSON:
        """Bot API ``User`` object."""
        data: JSON = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data

    @property
    def full_name(self) -> str:
        """First and last name joined."""
        return f"{self.first_name} {self.last_name}" if self.last_name else self.first_name


@dataclass
class Topic:
    """A forum topic of a supergroup."""

    thread_id: int
    name: str
    icon_color: int
    icon_custom_emoji_id: str | None = None
    closed: bool = False
    deleted: bool = False
    created_by: int | None = None
    archived: bool = False  # its creation message is archived: "message thread not found"

    @property
    def gone(self) -> bool:
        """Deleted or archived: the Bot API no longer finds the thread."""
        return self.deleted or self.archived

    def to_api(self) -> JSON:
        """Bot API ``ForumTopic`` object."""
        data: JSON = {
            "message_thread_id": self.thread_id,
            "name": self.name,
            "icon_color": self.icon_color,
        }
        if self.icon_custom_emoji_id:
            data["icon_custom_emoji_id"] = self.icon_custom_emoji_id
        return data

    def summary(self) -> JSON:
        """Topic plus emulator-side state, for the control API."""
        return {
            **self.to_api(),
            "closed": self.closed,
            "deleted": self.deleted,
            "archived": self.archived,
        }


@dataclass
class StoredMessage:
    """A message in a chat; ``data`` is its Bot API ``Message`` JSON."""

    chat_id: int
    message_id: int
    data: JSON
    from_bot: bool
    sender_id: int
    thread_id: int | None
    seq: int
    deleted: bool = False
    is_service: bool = False

    def snapshot(self) -> JSON:
        """A deep copy of the JSON, safe to hand out."""
        return copy.deepcopy(self.data)

    def as_reply(self) -> JSON:
        """The JSON used for ``reply_to_message`` (no nested reply)."""
        data = copy.deepcopy(self.data)
        data.pop("reply_to_message", None)
        return data


@dataclass
class Chat:
    """A chat: private (one per bot/user pair), group or supergroup (optionally a forum)."""

    id: int
    type: ChatType
    bot_id: int | None = None  # private chats belong to one bot
    user_id: int | None = None  # private chats: the user
    title: str | None = None
    username: str | None = None
    is_forum: bool = False
    members: set[int] = field(default_factory=set)
    admins: set[int] = field(default_factory=set)
    owner_id: int | None = None
    bot_ids: set[int] = field(default_factory=set)
    kicked_bot_ids: set[int] = field(default_factory=set)  # bots removed from the group
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    topics: dict[int, Topic] = field(default_factory=dict)
    next_message_id: int = 1
    reply_keyboard: JSON | None = None
    first_name: str | None = None
    last_name: str | None = None
    # forum archiving: messages with ids up to this one are archived (inaccessible), and so is
    # every topic whose creation message is among them (tdlib/telegram-bot-api#596)
    archived_through: int = 0
    # the bots' admin right to manage topics (with it a bot also posts into closed topics)
    bots_manage_topics: bool = True

    @property
    def key(self) -> tuple[int, int]:
        """Storage key: private chats are per bot, groups are shared."""
        return (self.bot_id or 0, self.id)

    def to_api(self) -> JSON:
        """Bot API ``Chat`` object (as embedded in messages)."""
        data: JSON = {"id": self.id, "type": self.type}
        if self.type == "private":
            data["first_name"] = self.first_name or ""
            if self.last_name:
                data["last_name"] = self.last_name
            if self.username:
                data["username"] = self.username
        else:
            data["title"] = self.title or ""
            if self.username:
                data["username"] = self.username
            if self.is_forum:
                data["is_forum"] = True
        return data

    def live_messages(self, thread_id: int | None = None) -> list[StoredMessage]:
        """Non-deleted messages, optionally restricted to one forum topic."""
        return [
            m
            for m in self.messages.values()
            if not m.deleted and (thread_id is None or m.thread_id == thread_id)
        ]

    def summary(self) -> JSON:
        """Chat plus emulator-side state, for the control API."""
        return {
            **self.to_api(),
            "bot_id": self.bot_id,
            "user_id": self.user_id,
            "members": sorted(self.members),
            "admins": sorted(self.admins),
            "bot_ids": sorted(self.bot_ids),
            "kicked_bot_ids": sorted(self.kicked_bot_ids),
            "topics": [t.summary() for t in self.topics.values()],
            "message_count": len(self.live_messages()),
            "archived_through": self.archived_through,
            "reply_keyboard": self.reply_keyboard,
        }


@dataclass
class StoredFile:
    """A file in the emulator's store (uploaded bytes, or just a remembered URL)."""

    file_id: str
    file_unique_id: str
    kind: str
    content: bytes | None
    file_path: str
    mime_type: str | None = None
    file_name: str | None = None
    url: str | None = None

    @property
    def size(self) -> int | None:
        """Byte size when the content is known."""
        return None if self.content is None else len(self.content)

    def to_api(self) -> JSON:
        """Bot API ``File`` object."""
        data: JSON = {"file_id": self.file_id, "file_unique_id": self.file_unique_id}
        if self.size is not None:
            data["file_size"] = self.size
        data["file_path"] = self.file_path
        return data


@dataclass
class CallbackRecord:
    """A callback query created by a button press and its answer, if any."""

    id: str
    bot_id: int
    user_id: int
    chat_id: int
    message_id: int
    data: str
    created: float
    answer: JSON | None = None
    answered: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class Event:
    """One entry of the emulator's ordered log (messages, edits, API calls, ...)."""

    seq: int
    kind: str
    time: float
    bot_id: int | None = None
    chat_id: int | None = None
    thread_id: int | None = None
    message_id: int | None = None
    from_bot: bool = False
    data: JSON = field(default_factory=dict)

    def to_json(self) -> JSON:
        """JSON form used by the control API."""
        return {
            "seq": self.seq,
            "kind": self.kind,
            "time": self.time,
            "bot_id": self.bot_id,
            "chat_id": self.chat_id,
            "thread_id": self.thread_id,
            "message_id": self.message_id,
            "from_bot": self.from_bot,
            "data": self.data,
        }
