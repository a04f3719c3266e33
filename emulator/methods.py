"""Bot API method handlers: validation, Telegram error texts and result shapes."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from emulator.core import TOPIC_COLORS, Dropped, EmulatorCore
from emulator.errors import bad_request, conflict
from emulator.media import MAX_DOWNLOAD, media_object, photo_sizes
from emulator.models import DEFAULT_UPDATE_TYPES, JSON, BotAccount, Chat, StoredMessage, Topic
from emulator.params import Params, Upload
from emulator.text import utf16_len


@dataclass
class Call:
    """One Bot API request being handled."""

    emu: EmulatorCore
    bot: BotAccount
    params: Params
    method: str


Handler = Callable[[Call], Any | Awaitable[Any]]
METHODS: dict[str, Handler] = {}
_media_group_ids = itertools.count(13_000_000_000_000_001)

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_CONTENT_KEYS = (
    "text",
    "entities",
    "photo",
    "document",
    "voice",
    "video",
    "sticker",
    "audio",
    "animation",
    "video_note",
    "location",
    "contact",
    "caption",
    "caption_entities",
    "has_media_spoiler",
)


def method(*names: str) -> Callable[[Handler], Handler]:
    """Register a handler under one or more (case-insensitive) method names."""

    def register(func: Handler) -> Handler:
        for name in names:
            METHODS[name.lower()] = func
        return func

    return register


# ------------------------------------------------------------------- helpers


def _target(call: Call) -> tuple[Chat, int | None, StoredMessage | None]:
    """Resolve chat, forum thread and reply target of a send* call."""
    emu, p = call.emu, call.params
    chat = emu.chat_for_bot(call.bot, p.chat_id())
    thread_id = p.get_int("message_thread_id")
    reply_id = p.get_int("reply_to_message_id")
    allow_without = p.get_bool("allow_sending_without_reply")
    reply_params = p.get_json(
        "reply_parameters", invalid="can't parse reply parameters JSON object"
    )
    if isinstance(reply_params, dict) and reply_params.get("message_id") is not None:
        reply_id = int(reply_params["message_id"])
        allow_without = bool(reply_params.get("allow_sending_without_reply", allow_without))
    reply_to = None
    if reply_id:
        reply_to = emu.find_message(chat, reply_id, bot_side=True)
        if reply_to is None and not allow_without:
            raise bad_request("message to be replied not found")
    if not emu.has_topics(chat):
        return chat, None, reply_to
    if thread_id is None and reply_to is not None:
        thread_id = reply_to.thread_id
    if thread_id is not None:
        topic = chat.topics.get(thread_id)
        if topic is None or topic.gone:
            raise bad_request("message thread not found")
        if topic.closed and not chat.bots_manage_topics:
            raise bad_request("TOPIC_CLOSED")  # an admin with can_manage_topics may post
    return chat, thread_id, reply_to


def _send(call: Call, build: Callable[[], JSON]) -> JSON:
    """Common send pipeline: target, block check, content, markup, flood limit, store."""
    emu = call.emu
    chat, thread_id, reply_to = _target(call)
    emu.ensure_can_send(call.bot, chat)
    content = build()
    markup = emu.validate_markup(
        call.params.get_json(
            "reply_markup", invalid="can't parse reply keyboard markup JSON object"
        )
    )
    emu.check_rate(call.bot, chat)
    emu.apply_reply_keyboard(chat, markup)
    stored = emu.post_message(
        chat, call.bot, content, thread_id=thread_id, reply_to=reply_to, reply_markup=markup
    )
    return stored.snapshot()


def _caption(call: Call) -> JSON:
    p = call.params
    return call.emu.caption_content(
        p.get_str("caption"),
        p.get_str("parse_mode"),
        p.get_json("caption_entities", invalid="can't parse entities JSON object"),
    )


def _message_for_edit(call: Call) -> tuple[Chat, StoredMessage]:
    p = call.params
    if p.has("inline_message_id"):
        raise bad_request("MESSAGE_ID_INVALID")
    chat = call.emu.chat_for_bot(call.bot, p.chat_id())
    message_id = p.get_int("message_id", missing="message identifier is not specified")
    assert message_id is not None
    stored = call.emu.find_message(chat, message_id, bot_side=True)
    if stored is None:
        raise bad_request("message to edit not found")
    if not stored.from_bot or stored.sender_id != call.bot.id:
        raise bad_request("message can't be edited")
    topic = chat.topics.get(stored.thread_id or 0)
    if topic is not None and topic.archived:
        raise bad_request("message thread not found")  # approximate: the topic is archived
    return chat, stored


def _edit_markup(call: Call) -> JSON | None:
    markup = call.emu.validate_markup(
        call.params.get_json(
            "reply_markup", invalid="can't parse reply keyboard markup JSON object"
        )
    )
    if markup is not None and "inline_keyboard" not in markup:
        raise bad_request("inline keyboard expected")
    if markup is not None and not markup["inline_keyboard"]:
        return None
    return markup


def _commit_edit(call: Call, chat: Chat, stored: StoredMessage, changes: JSON) -> JSON:
    """Apply changes (None removes a key); 400 if nothing changes."""
    data = stored.data
    if all(data.get(key) == value for key, value in changes.items()):
        raise bad_request(NOT_MODIFIED)
    # an edit costs what a message costs: a group's 20 a minute are sends and edits together
    # (a Telegram developer, tdlib/td#2592)
    call.emu.check_rate(call.bot, chat)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    data["edit_date"] = int(call.emu.wall_clock())
    call.emu.record(
        "edit",
        bot_id=call.bot.id,
        chat_id=chat.id,
        thread_id=stored.thread_id,
        message_id=stored.message_id,
        from_bot=True,
        data={"message": stored.snapshot()},
    )
    return stored.snapshot()


def _forum_topic(call: Call, *, private: bool = True) -> tuple[Chat, Topic]:
    """The topic a forum method is about (``private``: the method also works in a private
    chat with topics, as editForumTopic and deleteForumTopic do since Bot API 9.3)."""
    chat = call.emu.chat_for_bot(call.bot, call.params.chat_id())
    in_private = chat.type == "private" and private
    if not (chat.is_forum or (in_private and call.emu.has_topics(chat))):
        raise bad_request("the chat is not a forum")
    thread_id = call.params.get_int("message_thread_id", missing="message thread not found")
    topic = chat.topics.get(thread_id or 0)
    if topic is None or topic.deleted:
        raise bad_request("TOPIC_ID_INVALID")
    if topic.archived:
        raise bad_request("message thread not found")
    return chat, topic


def _service(call: Call, chat: Chat, topic: Topic, content: JSON) -> None:
    call.emu.post_message(chat, call.bot, content, thread_id=topic.thread_id, service=True)


def admin_member(user: JSON, *, forum: bool) -> JSON:
    rights = {
        "can_be_edited": False,
        "is_anonymous": False,
        "can_manage_chat": True,
        "can_delete_messages": True,
        "can_manage_video_chats": True,
        "can_restrict_members": True,
        "can_promote_members": False,
        "can_change_info": True,
        "can_invite_users": True,
        "can_post_stories": False,
        "can_edit_stories": False,
        "can_delete_stories": False,
        "can_send_welcome_messages": False,
        "can_pin_messages": True,
    }
    if forum:
        rights["can_manage_topics"] = True
    return {"status": "administrator", "user": user, **rights}


def _member_json(emu: EmulatorCore, chat: Chat, user_id: int) -> JSON:
    bot = next((b for b in emu.bots.values() if b.id == user_id), None)
    if bot is not None:
        if chat.type != "private" and bot.id in chat.bot_ids:
            member = admin_member(bot.to_user(), forum=chat.is_forum)
            if chat.is_forum:
                member["can_manage_topics"] = chat.bots_manage_topics
            return member
        if bot.id in chat.kicked_bot_ids:
            return {"status": "kicked", "user": bot.to_user(), "until_date": 0}
        status = "member" if bot.id in chat.bot_ids else "left"
        return {"status": status, "user": bot.to_user()}
    user = emu.users.get(user_id)
    if user is None:
        raise bad_request("user not found")
    data = user.to_api()
    if chat.type == "private":
        if user_id != chat.user_id:
            raise bad_request("user not found")
        return {"status": "member", "user": data}
    if user_id == chat.owner_id:
        return {"status": "creator", "user": data, "is_anonymous": False}
    if user_id in chat.admins:
        return admin_member(data, forum=chat.is_forum)
    if user_id in chat.members:
        return {"status": "member", "user": data}
    return {"status": "left", "user": data}


# ------------------------------------------------------------- bot & updates


@method("getMe")
def get_me(call: Call) -> JSON:
    """Return the bot's User object."""
    return call.bot.get_me()


@method("logOut", "close")
def log_out(call: Call) -> bool:
    """Accepted and ignored."""
    return True


@method("getUpdates")
async def get_updates(call: Call) -> list[JSON]:
    """Long polling: confirm < offset, wait up to ``timeout`` for new updates."""
    bot, p, emu = call.bot, call.params, call.emu
    if bot.webhook:
        raise conflict(
            "can't use getUpdates method while webhook is active; use deleteWebhook to delete "
            "the webhook first"
        )
    offset = p.get_int("offset")
    limit = min(max(p.get_int("limit") or 100, 1), 100)
    timeout = max(p.get_float("timeout") or 0.0, 0.0)
    allowed = p.get_json("allowed_updates")
    if isinstance(allowed, list):
        bot.allowed_updates = frozenset(allowed) if allowed else DEFAULT_UPDATE_TYPES
    if offset is not None and offset > 0:
        bot.updates = [u for u in bot.updates if u["update_id"] >= offset]
    elif offset is not None and offset < 0:
        bot.updates = bot.updates[offset:]
    bot.poll_generation += 1
    generation = bot.poll_generation
    bot.notify()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    if not bot.updates and timeout > 0:
        emu.record("poll", bot_id=bot.id, data={"timeout": timeout})
    while True:
        if not emu.accepting:
            raise Dropped
        if emu.conflict_on_concurrent_polls and bot.poll_generation != generation:
            raise conflict(
                "terminated by other getUpdates request; make sure that only one bot instance "
                "is running"
            )
        remaining = deadline - loop.time()
        if bot.updates or remaining <= 0:
            return [dict(u) for u in bot.updates[:limit]]
        tick = bot.tick
        try:
            await asyncio.wait_for(tick.wait(), remaining)
        except TimeoutError:
            continue


@method("setWebhook")
def set_webhook(call: Call) -> bool:
    """Set the webhook (deliveries: emulator/webhook.py, to loopback URLs only)."""
    p, bot = call.params, call.bot
    url = p.get_str("url")
    if p.get_bool("drop_pending_updates"):
        bot.updates.clear()
    if not url:
        bot.webhook = None
        return True
    if not url.startswith("https://") and not url.startswith("http://"):
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    info: JSON = {"url": url, "max_connections": p.get_int("max_connections") or 40}
    allowed = p.get_json("allowed_updates")
    if isinstance(allowed, list):
        info["allowed_updates"] = allowed
        bot.allowed_updates = frozenset(allowed) if allowed else DEFAULT_UPDATE_TYPES
    if p.get_str("secret_token"):
        info["secret_token"] = p.get_str("secret_token")
    bot.webhook = info
    return True


@method("deleteWebhook")
def delete_webhook(call: Call) -> bool:
    """Remove the webhook; optionally drop pending updates."""
    call.bot.webhook = None
    if call.params.get_bool("drop_pending_updates"):
        call.bot.updates.clear()
    return True


@method("getWebhookInfo")
def get_webhook_info(call: Call) -> JSON:
    """WebhookInfo with the stored URL and pending update count."""
    bot = call.bot
    info: JSON = {
        "url": bot.webhook["url"] if bot.webhook else "",
        "has_custom_certificate": False,
        "pending_update_count": len(bot.updates),
    }
    if bot.webhook:
        info["max_connections"] = bot.webhook["max_connections"]
        webhooks = getattr(call.emu, "webhooks", None)  # the server's deliveries
        delivery = webhooks.by_bot.get(bot.id) if webhooks is not None else None
        if delivery is not None and delivery.last_error is not None:
            info["last_error_date"], info["last_error_message"] = delivery.last_error
        if "allowed_updates" in bot.webhook:
            info["allowed_updates"] = bot.webhook["allowed_updates"]
    return info


# ------------------------------------------------------------------ sending


@method("sendMessage")
def send_message(call: Call) -> JSON:
    """Send a text message (HTML/MarkdownV2/Markdown or explicit entities)."""
    p = call.params

    def build() -> JSON:
        return call.emu.text_content(
            p.get_str("text"),
            p.get_str("parse_mode"),
            p.get_json("entities", invalid="can't parse entities JSON object"),
        )

    return _send(call, build)


def _media_sender(kind: str, field: str | None = None) -> Handler:
    name = field or kind

    def handler(call: Call) -> JSON:
        p, emu = call.params, call.emu

        def build() -> JSON:
            source = p.file(name)
            if source is None:
                raise bad_request(f"there is no {name} in the request")
            stored = emu.files.resolve(source, kind)
            content: JSON = {}
            extra = {
                key: p.raw(key)
                for key in ("duration", "width", "height", "performer", "title", "emoji")
            }
            if kind == "photo":
                content["photo"] = photo_sizes(emu.files, stored)
            else:
                content[kind] = media_object(kind, stored, extra)
                if kind == "animation":
                    content["document"] = media_object("document", stored)
            if p.get_bool("has_spoiler"):
                content["has_media_spoiler"] = True
            if kind != "sticker":
                content.update(_caption(call))
            return content

        return _send(call, build)

    handler.__doc__ = f"send{kind.title().replace('_', '')}: upload, file_id or URL."
    return handler


for _kind, _name in (
    ("photo", "sendPhoto"),
    ("document", "sendDocument"),
    ("voice", "sendVoice"),
    ("video", "sendVideo"),
    ("sticker", "sendSticker"),
    ("audio", "sendAudio"),
    ("animation", "sendAnimation"),
    ("video_note", "sendVideoNote"),
):
    METHODS[_name.lower()] = _media_sender(_kind)


@method("sendLocation")
def send_location(call: Call) -> JSON:
    """Send a point on the map."""
    p = call.params

    def build() -> JSON:
        lat = p.get_float("latitude", missing="latitude is empty")
        lon = p.get_float("longitude", missing="longitude is empty")
        assert lat is not None and lon is not None
        if not -90 <= lat <= 90 or not -180 <= lon <= 180:
            raise bad_request("wrong location specified")
        location: JSON = {"latitude": lat, "longitude": lon}
        for key in ("horizontal_accuracy", "live_period", "heading"):
            if p.has(key):
                location[key] = p.get_float(key)
        return {"location": location}

    return _send(call, build)


@method("sendContact")
def send_contact(call: Call) -> JSON:
    """Send a phone contact."""
    p = call.params

    def build() -> JSON:
        contact: JSON = {
            "phone_number": p.get_str("phone_number", missing="phone_number is empty"),
            "first_name": p.get_str("first_name", missing="first_name is empty"),
        }
        for key in ("last_name", "vcard"):
            if p.get_str(key):
                contact[key] = p.get_str(key)
        return {"contact": contact}

    return _send(call, build)


@method("sendMediaGroup")
def send_media_group(call: Call) -> list[JSON]:
    """Send an album; ``media`` items may reference multipart parts via attach://."""
    emu, p = call.emu, call.params
    chat, thread_id, reply_to = _target(call)
    emu.ensure_can_send(call.bot, chat)
    items = p.get_json("media", invalid="can't parse media JSON object")
    if not isinstance(items, list) or not items:
        raise bad_request("media is empty")
    if not 2 <= len(items) <= 10:
        raise bad_request("wrong number of media in the group")  # approximate text
    contents: list[JSON] = []
    for item in items:
        if not isinstance(item, dict) or item.get("type") not in (
            "photo",
            "video",
            "document",
            "audio",
        ):
            raise bad_request("can't parse InputMedia: media type is invalid")
        kind = item["type"]
        media_ref = item.get("media")
        if not media_ref:
            raise bad_request("there is no media in the request")
        source: Upload | str = p.attachment(str(media_ref))
        stored = emu.files.resolve(source, kind)
        content: JSON = (
            {"photo": photo_sizes(emu.files, stored)}
            if kind == "photo"
            else {kind: media_object(kind, stored, item)}
        )
        content.update(
            emu.caption_content(
                item.get("caption"), item.get("parse_mode"), item.get("caption_entities")
            )
        )
        contents.append(content)
    kinds = {next(iter(c)) for c in contents}
    if ("document" in kinds or "audio" in kinds) and len(kinds) > 1:
        raise bad_request("MEDIA_INVALID")  # documents/audio can't be mixed with other types
    emu.check_rate(call.bot, chat, len(contents))  # an album's messages count each
    group_id = str(next(_media_group_ids))
    out = []
    for content in contents:
        stored_msg = emu.post_message(
            chat,
            call.bot,
            {"media_group_id": group_id, **content},
            thread_id=thread_id,
            reply_to=reply_to,
        )
        out.append(stored_msg.snapshot())
    return out


def _source_message(call: Call) -> StoredMessage:
    p = call.params
    source_chat = call.emu.chat_for_bot(call.bot, p.chat_id("from_chat_id"))
    message_id = p.get_int("message_id", missing="message identifier is not specified")
    assert message_id is not None
    stored = call.emu.find_message(source_chat, message_id, bot_side=True)
    if stored is None:
        raise bad_request("message to copy not found")
    if stored.is_service:
        raise bad_request("message can't be copied")
    return stored


@method("copyMessage")
def copy_message(call: Call) -> JSON:
    """Copy a message's content (no forward header); returns ``{"message_id": N}``."""
    p = call.params
    source = _source_message(call)

    def build() -> JSON:
        content = {k: source.data[k] for k in _CONTENT_KEYS if k in source.data}
        if p.has("caption") and "text" not in content:
            content.pop("caption", None)
            content.pop("caption_entities", None)
            content.update(_caption(call))
        return content

    message = _send(call, build)
    return {"message_id": message["message_id"]}


@method("forwardMessage")
def forward_message(call: Call) -> JSON:
    """Forward a message, adding ``forward_origin``."""
    source = _source_message(call)

    def build() -> JSON:
        content = {k: source.data[k] for k in _CONTENT_KEYS if k in source.data}
        origin = source.data.get("forward_origin") or {
            "type": "user",
            "sender_user": source.data["from"],
            "date": source.data["date"],
        }
        return {"forward_origin": origin, **content}

    return _send(call, build)


@method("forwardMessages", "copyMessages")
def forward_messages(call: Call) -> list[JSON]:
    """Forward (or copy) 1-100 messages of one chat in one call; messages that can't be found
    or are service messages are skipped, as Telegram does. Each message counts against the
    target chat's budget. Returns ``[{"message_id": N}, ...]``."""
    emu, p = call.emu, call.params
    ids = p.get_json("message_ids", invalid="can't parse message identifiers JSON object")
    if not isinstance(ids, list) or not ids or len(ids) > 100:
        raise bad_request("message identifiers are not specified")  # approximate text
    ids = [int(i) for i in ids]
    if ids != sorted(set(ids)):
        raise bad_request("message identifiers must be in strictly increasing order")  # approx.
    source_chat = emu.chat_for_bot(call.bot, p.chat_id("from_chat_id"))
    sources = [emu.find_message(source_chat, i, bot_side=True) for i in ids]
    found = [m for m in sources if m is not None and not m.is_service]
    if not found:
        raise bad_request("message to forward not found")  # approximate text
    chat, thread_id, _ = _target(call)
    emu.ensure_can_send(call.bot, chat)
    copying = call.method == "copymessages"
    emu.check_rate(call.bot, chat, len(found))  # each message counts; a 429 sends none
    out: list[JSON] = []
    for source in found:
        content = {k: source.data[k] for k in _CONTENT_KEYS if k in source.data}
        if copying and p.get_bool("remove_caption"):
            content.pop("caption", None)
            content.pop("caption_entities", None)
        if not copying:
            content["forward_origin"] = source.data.get("forward_origin") or {
                "type": "user",
                "sender_user": source.data["from"],
                "date": source.data["date"],
            }
        stored = emu.post_message(chat, call.bot, content, thread_id=thread_id)
        out.append({"message_id": stored.message_id})
    return out


# ------------------------------------------------------------------ editing


@method("editMessageText")
def edit_message_text(call: Call) -> JSON:
    """Edit a bot text message; omitting reply_markup removes the inline keyboard."""
    p = call.params
    chat, stored = _message_for_edit(call)
    if "text" not in stored.data:
        raise bad_request("there is no text in the message to edit")
    content = call.emu.text_content(
        p.get_str("text"),
        p.get_str("parse_mode"),
        p.get_json("entities", invalid="can't parse entities JSON object"),
    )
    changes: JSON = {
        "text": content["text"],
        "entities": content.get("entities"),
        "reply_markup": _edit_markup(call),
    }
    return _commit_edit(call, chat, stored, changes)


@method("editMessageCaption")
def edit_message_caption(call: Call) -> JSON:
    """Edit the caption of a bot media message."""
    chat, stored = _message_for_edit(call)
    if "text" in stored.data or stored.is_service:
        raise bad_request("there is no caption in the message to edit")
    content = _caption(call)
    changes: JSON = {
        "caption": content.get("caption"),
        "caption_entities": content.get("caption_entities"),
        "reply_markup": _edit_markup(call),
    }
    return _commit_edit(call, chat, stored, changes)


@method("editMessageReplyMarkup")
def edit_message_reply_markup(call: Call) -> JSON:
    """Replace or remove the inline keyboard of a bot message."""
    chat, stored = _message_for_edit(call)
    return _commit_edit(call, chat, stored, {"reply_markup": _edit_markup(call)})


@method("deleteMessage")
def delete_message(call: Call) -> bool:
    """Delete one message."""
    emu, p = call.emu, call.params
    chat = emu.chat_for_bot(call.bot, p.chat_id())
    message_id = p.get_int("message_id", missing="message identifier is not specified")
    assert message_id is not None
    stored = emu.find_message(chat, message_id)
    if stored is None:
        raise bad_request("message to delete not found")
    if stored.is_service and stored.thread_id == stored.message_id and chat.is_forum:
        raise bad_request("message can't be deleted")
    _delete(call, chat, stored)
    return True


@method("deleteMessages")
def delete_messages(call: Call) -> bool:
    """Delete several messages; missing ones are skipped like Telegram does."""
    emu, p = call.emu, call.params
    chat = emu.chat_for_bot(call.bot, p.chat_id())
    ids = p.get_json("message_ids")
    if not isinstance(ids, list) or not ids:
        raise bad_request("message_ids is empty")
    for message_id in ids:
        stored = emu.find_message(chat, int(message_id))
        if stored is not None:
            _delete(call, chat, stored)
    return True


def _delete(call: Call, chat: Chat, stored: StoredMessage) -> None:
    stored.deleted = True
    call.emu.record(
        "delete",
        bot_id=call.bot.id,
        chat_id=chat.id,
        thread_id=stored.thread_id,
        message_id=stored.message_id,
        from_bot=True,
        data={"message_id": stored.message_id},
    )


# ------------------------------------------------------------ interactions


@method("answerCallbackQuery")
def answer_callback_query(call: Call) -> bool:
    """Answer a button press; unknown, foreign, expired or repeated ids fail."""
    emu, p = call.emu, call.params
    query_id = p.get_str("callback_query_id", missing=QUERY_TOO_OLD)
    record = emu.callbacks.get(query_id or "")
    if (
        record is None
        or record.bot_id != call.bot.id
        or record.answer is not None
        or emu.clock() - record.created > emu.callback_ttl
    ):
        raise bad_request(QUERY_TOO_OLD)
    text = p.get_str("text")
    if text is not None and utf16_len(text) > 200:
        raise bad_request("MESSAGE_TOO_LONG")
    record.answer = {
        "callback_query_id": record.id,
        "text": text,
        "show_alert": p.get_bool("show_alert"),
        "url": p.get_str("url"),
        "cache_time": p.get_int("cache_time") or 0,
    }
    record.answered.set()
    emu.record(
        "callback_answer",
        bot_id=call.bot.id,
        chat_id=record.chat_id,
        message_id=record.message_id,
        from_bot=True,
        data={**record.answer, "user_id": record.user_id, "data": record.data},
    )
    return True


@method("sendChatAction")
def send_chat_action(call: Call) -> bool:
    """Typing indicators and friends; only logged."""
    emu, p = call.emu, call.params
    chat = emu.chat_for_bot(call.bot, p.chat_id())
    action = p.get_str("action", missing="action is empty") or ""
    if action not in CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    emu.ensure_can_send(call.bot, chat)
    emu.record(
        "chat_action",
        bot_id=call.bot.id,
        chat_id=chat.id,
        thread_id=p.get_int("message_thread_id"),
        from_bot=True,
        data={"action": action},
    )
    return True


def _commands_key(call: Call) -> tuple[str, str]:
    scope = call.params.get_json("scope") or {"type": "default"}
    if not isinstance(scope, dict) or "type" not in scope:
        raise bad_request("can't parse BotCommandScope JSON object")
    return json.dumps(scope, sort_keys=True), call.params.get_str("language_code") or ""


@method("setMyCommands")
def set_my_commands(call: Call) -> bool:
    """Store the command list for a scope/language."""
    commands = call.params.get_json("commands", invalid="can't parse commands JSON object")
    if not isinstance(commands, list):
        raise bad_request("commands is empty")
    if len(commands) > 100:
        raise bad_request("too many commands specified")
    clean: list[JSON] = []
    for item in commands:
        if not isinstance(item, dict):
            raise bad_request("can't parse BotCommand JSON object")
        command = str(item.get("command", "")).lstrip("/")
        description = str(item.get("description", ""))
        if not _COMMAND_RE.match(command):
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= utf16_len(description) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        clean.append({"command": command, "description": description})
    call.bot.commands[_commands_key(call)] = clean
    return True


@method("getMyCommands")
def get_my_commands(call: Call) -> list[JSON]:
    """Commands stored for exactly this scope/language."""
    return list(call.bot.commands.get(_commands_key(call), []))


@method("deleteMyCommands")
def delete_my_commands(call: Call) -> bool:
    """Forget commands for a scope/language."""
    call.bot.commands.pop(_commands_key(call), None)
    return True


@method(
    "setMyDescription",
    "setMyShortDescription",
    "setMyName",
    "setChatMenuButton",
    "setMyDefaultAdministratorRights",
)
def accept_settings(call: Call) -> bool:
    """Bot profile settings: accepted and logged only."""
    return True


# -------------------------------------------------------------------- files


@method("getFile")
def get_file(call: Call) -> JSON:
    """File metadata with a ``file_path`` for ``/file/bot<token>/<file_path>``."""
    file_id = call.params.get_str("file_id", missing="invalid file_id") or ""
    stored = call.emu.files.get(file_id)
    if stored is None:
        raise bad_request("invalid file_id")
    if stored.size is not None and stored.size > MAX_DOWNLOAD:
        raise bad_request("file is too big")
    return stored.to_api()


# ------------------------------------------------------------------- forums


@method("createForumTopic")
def create_forum_topic(call: Call) -> JSON:
    """Create a topic in a forum supergroup, or (Bot API 9.4) in a private chat with a user
    when the bot has topic mode on; returns ForumTopic."""
    emu, p = call.emu, call.params
    chat = emu.chat_for_bot(call.bot, p.chat_id())  # a user who never wrote: 403
    if not emu.has_topics(chat):
        raise bad_request("the chat is not a forum")
    emu.ensure_can_send(call.bot, chat)  # a user who blocked the bot: 403
    name = p.get_str("name") or ""
    if not name.strip():
        raise bad_request("TOPIC_TITLE_EMPTY")  # approximate text
    if utf16_len(name) > 128:
        raise bad_request("TOPIC_TITLE_TOO_LONG")  # approximate text
    color = p.get_int("icon_color") or TOPIC_COLORS[0]
    if color not in TOPIC_COLORS:
        raise bad_request("TOPIC_COLOR_INVALID")  # approximate text
    emu.check_rate(call.bot, chat)  # creating a topic is sending its service message
    topic = open_topic(emu, chat, call.bot, name, color, p.get_str("icon_custom_emoji_id"))
    return topic.to_api()


def open_topic(
    emu: EmulatorCore,
    chat: Chat,
    creator: Any,
    name: str,
    color: int,
    emoji_id: str | None = None,
) -> Topic:
    """Create a topic and its ``forum_topic_created`` service message."""
    thread_id = chat.next_message_id
    topic = Topic(
        thread_id=thread_id,
        name=name,
        icon_color=color,
        icon_custom_emoji_id=emoji_id,
        created_by=creator.id,
    )
    chat.topics[thread_id] = topic
    created: JSON = {"name": name, "icon_color": color}
    if emoji_id:
        created["icon_custom_emoji_id"] = emoji_id
    emu.post_message(
        chat,
        creator,
        {"forum_topic_created": created},
        thread_id=thread_id,
        service=True,
        message_id=thread_id,
    )
    emu.record("topic_created", chat_id=chat.id, thread_id=thread_id, data=topic.summary())
    return topic


@method("editForumTopic")
def edit_forum_topic(call: Call) -> bool:
    """Rename a topic or change its icon."""
    chat, topic = _forum_topic(call)
    p = call.params
    name = p.get_str("name")
    emoji = p.get_str("icon_custom_emoji_id") if p.has("icon_custom_emoji_id") else None
    edited: JSON = {}
    if name is not None and name != topic.name:
        if utf16_len(name) > 128:
            raise bad_request("TOPIC_TITLE_TOO_LONG")
        topic.name = edited["name"] = name
    if p.has("icon_custom_emoji_id") and emoji != topic.icon_custom_emoji_id:
        topic.icon_custom_emoji_id = emoji
        edited["icon_custom_emoji_id"] = emoji or ""
    if not edited:
        raise bad_request("TOPIC_NOT_MODIFIED")
    call.emu.check_rate(call.bot, chat)  # its service message counts as a message
    _service(call, chat, topic, {"forum_topic_edited": edited})
    call.emu.record(
        "topic_edited", chat_id=chat.id, thread_id=topic.thread_id, data=topic.summary()
    )
    return True


@method("closeForumTopic", "reopenForumTopic")
def close_forum_topic(call: Call) -> bool:
    """Close or reopen a topic (forum supergroups only: not in private chats)."""
    chat, topic = _forum_topic(call, private=False)
    closing = call.method == "closeforumtopic"
    if topic.closed == closing:
        raise bad_request("TOPIC_NOT_MODIFIED")
    call.emu.check_rate(call.bot, chat)  # its service message counts as a message
    topic.closed = closing
    key = "forum_topic_closed" if closing else "forum_topic_reopened"
    _service(call, chat, topic, {key: {}})
    call.emu.record(
        "topic_closed" if closing else "topic_reopened",
        chat_id=chat.id,
        thread_id=topic.thread_id,
        data=topic.summary(),
    )
    return True


@method("deleteForumTopic")
def delete_forum_topic(call: Call) -> bool:
    """Delete a topic with all its messages."""
    chat, topic = _forum_topic(call)
    remove_topic(call.emu, chat, topic)
    return True


def remove_topic(emu: EmulatorCore, chat: Chat, topic: Topic) -> None:
    """Mark a topic and its messages deleted."""
    topic.deleted = True
    for stored in chat.messages.values():
        if stored.thread_id == topic.thread_id:
            stored.deleted = True
    emu.record("topic_deleted", chat_id=chat.id, thread_id=topic.thread_id, data=topic.summary())


# -------------------------------------------------------------------- chats


@method("getChat")
def get_chat(call: Call) -> JSON:
    """ChatFullInfo for a chat the bot can see."""
    chat = call.emu.chat_for_bot(call.bot, call.params.chat_id())
    info = chat.to_api()
    info.update(
        accent_color_id=0,
        max_reaction_count=11,
        accepted_gift_types={
            "unlimited_gifts": False,
            "limited_gifts": False,
            "unique_gifts": False,
            "premium_subscription": False,
            "gifts_from_channels": False,
        },
    )
    if chat.type != "private":
        info["permissions"] = {"can_send_messages": True}
    return info


@method("getChatMember")
def get_chat_member(call: Call) -> JSON:
    """Membership status: creator/administrator/member/left."""
    chat = call.emu.chat_for_bot(call.bot, call.params.chat_id())
    user_id = call.params.get_int("user_id", missing="invalid user_id specified")
    assert user_id is not None
    return _member_json(call.emu, chat, user_id)


@method("getChatAdministrators")
def get_chat_administrators(call: Call) -> list[JSON]:
    """Owner, admins and bots of a group."""
    emu = call.emu
    chat = emu.chat_for_bot(call.bot, call.params.chat_id())
    if chat.type == "private":
        raise bad_request("there are no administrators in the private chat")
    ids = ([chat.owner_id] if chat.owner_id else []) + sorted(chat.admins - {chat.owner_id})
    admins = [_member_json(emu, chat, uid) for uid in ids if uid in emu.users]
    admins += [_member_json(emu, chat, b.id) for b in emu.bots.values() if b.id in chat.bot_ids]
    return admins


@method("getChatMemberCount")
def get_chat_member_count(call: Call) -> int:
    """Members plus bots."""
    chat = call.emu.chat_for_bot(call.bot, call.params.chat_id())
    if chat.type == "private":
        return 2
    return len(chat.members) + len(chat.bot_ids)
