"""JSON control API under ``/_emu/``: drive simulated users and inspect state over HTTP."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, cast

from aiohttp import web

from emulator.errors import ApiError, EmulatorError, EmulatorTimeout
from emulator.routes import EMU_KEY, dumps

if TYPE_CHECKING:
    from emulator.server import Emulator

Route = Callable[[web.Request], Awaitable[Any]]


def _emu(request: web.Request) -> Emulator:
    return cast("Emulator", request.app[EMU_KEY])


def _ok(result: Any, status: int = 200) -> web.Response:
    return web.json_response({"ok": True, "result": result}, status=status, dumps=dumps)


def _fail(message: str, status: int) -> web.Response:
    return web.json_response({"ok": False, "error": message}, status=status, dumps=dumps)


def endpoint(func: Route) -> Callable[[web.Request], Awaitable[web.Response]]:
    """Wrap a handler: JSON envelope and emulator errors as 4xx."""

    async def wrapper(request: web.Request) -> web.Response:
        try:
            result = await func(request)
        except EmulatorTimeout as exc:
            return _fail(str(exc), 408)
        except (EmulatorError, ValueError, KeyError, TypeError) as exc:
            return _fail(f"{type(exc).__name__}: {exc}", 400)
        except ApiError as exc:
            return _fail(exc.description, exc.code)
        if isinstance(result, web.StreamResponse):
            return cast(web.Response, result)
        return _ok(result)

    wrapper.__doc__ = func.__doc__
    return wrapper


async def _body(request: web.Request) -> dict[str, Any]:
    """JSON body, form fields or query string, merged (files are read separately)."""
    data: dict[str, Any] = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            body = await request.json()
            if isinstance(body, dict):
                data.update(body)
        elif request.content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    data[key] = {
                        "filename": value.filename,
                        "content_type": value.content_type,
                        "data": value.file.read(),
                    }
                else:
                    data[key] = value
    return data


def _int(data: dict[str, Any], key: str, default: int | None = None) -> int | None:
    value = data.get(key)
    if value is None or value == "":
        return default
    return int(value)


def _float(data: dict[str, Any], key: str, default: float) -> float:
    value = data.get(key)
    return default if value is None or value == "" else float(value)


def _bool(data: dict[str, Any], key: str, default: bool = False) -> bool:
    value = data.get(key)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    return str(value).lower() in ("1", "true", "yes", "on")


def _ids(value: Any) -> list[int]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        value = json.loads(value) if value.startswith("[") else value.split(",")
    return [int(v) for v in value]


def _chat_param(data: dict[str, Any], user_id: int | None = None) -> int | None:
    chat_id = _int(data, "chat_id")
    if chat_id is not None and user_id is not None and chat_id == user_id:
        return None
    return chat_id


# ------------------------------------------------------------------- state


@endpoint
async def state(request: web.Request) -> Any:
    """Overview: bots, users, chats, limits, faults and the current cursor."""
    emu = _emu(request)
    return {
        "base_url": emu.base_url,
        "cursor": emu.cursor(),
        "default_token": emu.default_bot.token,
        "bots": [b.get_me() | {"token": b.token} for b in emu.bots.values()],
        "users": [
            u.to_api() | {"blocked_bots": sorted(u.blocked_bots)} for u in emu.users.values()
        ],
        "chats": [c.summary() for c in emu.chats.values()],
        "limits": emu.limits.to_json(),
        "faults": [f.to_json() for f in emu.faults.rules],
    }


@endpoint
async def list_bots(request: web.Request) -> Any:
    """All bots."""
    return [b.get_me() | {"token": b.token} for b in _emu(request).bots.values()]


@endpoint
async def add_bot(request: web.Request) -> Any:
    """Register a bot token: ``{token, username, first_name?}``."""
    data = await _body(request)
    bot = _emu(request).add_bot(
        str(data["token"]),
        str(data.get("username") or "emulated_bot"),
        first_name=data.get("first_name"),
    )
    return bot.get_me() | {"token": bot.token}


@endpoint
async def list_users(request: web.Request) -> Any:
    """All simulated users."""
    return [
        u.to_api() | {"blocked_bots": sorted(u.blocked_bots)} for u in _emu(request).users.values()
    ]


@endpoint
async def create_user(request: web.Request) -> Any:
    """``{first_name, last_name?, username?, language_code?, id?, started?}``."""
    data = await _body(request)
    user = await _emu(request).create_user(
        str(data.get("first_name") or "Test User"),
        last_name=data.get("last_name") or None,
        username=data.get("username") or None,
        language_code=data.get("language_code") or None,
        user_id=_int(data, "id"),
        started=_bool(data, "started"),
        bot=_int(data, "bot_id"),
    )
    return user.to_api()


@endpoint
async def list_chats(request: web.Request) -> Any:
    """Chats with members, topics and message counts (``?bot_id=`` filters private chats)."""
    emu = _emu(request)
    bot_id = _int(dict(request.query), "bot_id")
    return [c.summary() for c in emu.chats.values() if bot_id is None or c.bot_id in (None, bot_id)]


@endpoint
async def create_group(request: web.Request) -> Any:
    """``{title, forum?, agents?|members?: [ids], admins?: [ids], owner?, username?}``."""
    data = await _body(request)
    emu = _emu(request)
    members = _ids(data.get("agents")) + _ids(data.get("members"))
    chat = await emu.create_group(
        str(data.get("title") or "Operators"),
        members=members,
        admins=_ids(data.get("admins")),
        owner=_int(data, "owner"),
        forum=_bool(data, "forum", True),
        supergroup=_bool(data, "supergroup", True),
        username=data.get("username") or None,
    )
    return chat.summary()


@endpoint
async def add_member(request: web.Request) -> Any:
    """``{user_id, admin?}`` joins the group."""
    data = await _body(request)
    emu = _emu(request)
    chat_id = int(request.match_info["chat_id"])
    await emu.add_member(chat_id, int(data["user_id"]), admin=_bool(data, "admin"))
    return emu.get_chat(chat_id).summary()


@endpoint
async def bot_membership(request: web.Request) -> Any:
    """``{bot_id?, by?}``: ``remove_bot`` (the bot is kicked) or ``add_bot`` (back as admin)."""
    data = await _body(request)
    emu = _emu(request)
    chat_id = int(request.match_info["chat_id"])
    action = request.match_info["action"]
    bot = int(data["bot_id"]) if data.get("bot_id") is not None else None
    by = int(data["by"]) if data.get("by") is not None else None
    if action == "remove_bot":
        await emu.remove_bot_from(chat_id, bot=bot, by=by)
    elif action == "add_bot":
        await emu.add_bot_to(chat_id, bot=bot, by=by)
    else:
        raise web.HTTPNotFound()
    return emu.get_chat(chat_id).summary()


@endpoint
async def chat_messages(request: web.Request) -> Any:
    """Messages of a chat: ``?thread_id=&bot_id=&from_bot=`` (private chat id = user id)."""
    emu = _emu(request)
    q = dict(request.query)
    from_bot = None if "from_bot" not in q else _bool(q, "from_bot")
    return emu.messages(
        int(request.match_info["chat_id"]),
        _int(q, "thread_id"),
        bot=_int(q, "bot_id"),
        from_bot=from_bot,
    )


@endpoint
async def chat_topics(request: web.Request) -> Any:
    """Forum topics (``?include_deleted=1``)."""
    q = dict(request.query)
    return _emu(request).topics(
        int(request.match_info["chat_id"]), include_deleted=_bool(q, "include_deleted")
    )


@endpoint
async def create_topic(request: web.Request) -> Any:
    """A member creates a topic: ``{user_id, name, icon_color?}``."""
    data = await _body(request)
    kwargs = {}
    if data.get("icon_color"):
        kwargs["icon_color"] = int(data["icon_color"])
    return await _emu(request).create_topic(
        int(data["user_id"]), int(request.match_info["chat_id"]), str(data["name"]), **kwargs
    )


@endpoint
async def delete_topic(request: web.Request) -> Any:
    """Delete a topic as a group admin (``?by=<user_id>`` optional)."""
    q = dict(request.query)
    await _emu(request).delete_topic(
        int(request.match_info["chat_id"]), int(request.match_info["thread_id"]), by=_int(q, "by")
    )
    return True


@endpoint
async def toggle_topic(request: web.Request) -> Any:
    """``/close`` or ``/reopen`` a topic as admin ``{user_id}``."""
    data = await _body(request)
    emu = _emu(request)
    action = request.match_info["action"]
    chat_id, thread_id = int(request.match_info["chat_id"]), int(request.match_info["thread_id"])
    if action == "close":
        await emu.close_topic(int(data["user_id"]), chat_id, thread_id)
    elif action == "reopen":
        await emu.reopen_topic(int(data["user_id"]), chat_id, thread_id)
    else:
        raise ValueError(f"unknown topic action {action!r}")
    return True


# ------------------------------------------------------------------ acting


@endpoint
async def send(request: web.Request) -> Any:
    """Send as a user: ``/send/{text|photo|document|voice|sticker|location|contact}``.

    Common fields: ``user_id``, ``chat_id?`` (omit for the private chat with the bot),
    ``thread_id?``, ``reply_to?``, ``bot_id?``; files as multipart parts named after the kind.
    """
    data = await _body(request)
    emu = _emu(request)
    kind = request.match_info["kind"]
    user_id = int(data["user_id"])
    common: dict[str, Any] = {
        "chat": _chat_param(data, user_id),
        "thread_id": _int(data, "thread_id"),
        "reply_to": _int(data, "reply_to"),
        "bot": _int(data, "bot_id"),
    }
    upload = data.get(kind) if isinstance(data.get(kind), dict) else None
    blob = upload["data"] if upload else None
    caption = data.get("caption") or None
    if kind == "text":
        return await emu.send_text(user_id, str(data["text"]), **common)
    if kind == "photo":
        filename = upload["filename"] if upload else "photo.png"
        return await emu.send_photo(user_id, blob, caption=caption, filename=filename, **common)
    if kind == "document":
        return await emu.send_document(
            user_id,
            blob if blob is not None else str(data.get("content", "")).encode(),
            filename=(upload["filename"] if upload else data.get("filename")) or "document.txt",
            caption=caption,
            **common,
        )
    if kind == "voice":
        return await emu.send_voice(
            user_id, blob, duration=_int(data, "duration", 2) or 2, caption=caption, **common
        )
    if kind == "sticker":
        return await emu.send_sticker(user_id, emoji=str(data.get("emoji") or "👍"), **common)
    if kind == "location":
        return await emu.send_location(
            user_id, float(data["latitude"]), float(data["longitude"]), **common
        )
    if kind == "contact":
        return await emu.send_contact(
            user_id, str(data["phone_number"]), first_name=data.get("first_name"), **common
        )
    raise ValueError(f"unknown message kind {kind!r}")


@endpoint
async def press(request: web.Request) -> Any:
    """Press an inline button: ``{user_id, message_id, callback_data | text, chat_id?}``."""
    data = await _body(request)
    user_id = int(data["user_id"])
    query_id = await _emu(request).press_button(
        user_id,
        int(data["message_id"]),
        data.get("callback_data"),
        text=data.get("text"),
        chat=_chat_param(data, user_id),
        bot=_int(data, "bot_id"),
    )
    return {"callback_query_id": query_id}


@endpoint
async def callback_answer(request: web.Request) -> Any:
    """Wait (``?timeout=``) for the bot's answer to a callback query."""
    q = dict(request.query)
    return await _emu(request).wait_for_callback_answer(
        request.match_info["query_id"], timeout=_float(q, "timeout", 5.0)
    )


@endpoint
async def edit(request: web.Request) -> Any:
    """The user edits a message: ``{user_id, message_id, text, chat_id?}``."""
    data = await _body(request)
    user_id = int(data["user_id"])
    return await _emu(request).edit_message(
        user_id, int(data["message_id"]), str(data["text"]), chat=_chat_param(data, user_id)
    )


@endpoint
async def block(request: web.Request) -> Any:
    """``{user_id, blocked: true|false, bot_id?}``."""
    data = await _body(request)
    emu = _emu(request)
    if _bool(data, "blocked", True):
        await emu.block_bot(int(data["user_id"]), _int(data, "bot_id"))
    else:
        await emu.unblock_bot(int(data["user_id"]), _int(data, "bot_id"))
    return True


# ----------------------------------------------------------------- reading


@endpoint
async def events(request: web.Request) -> Any:
    """Long-poll the event log: ``?since=&timeout=&kinds=a,b&chat_id=``."""
    emu = _emu(request)
    q = dict(request.query)
    since = _int(q, "since", 0) or 0
    timeout = min(_float(q, "timeout", 0.0), 60.0)
    kinds = set(q["kinds"].split(",")) if q.get("kinds") else None
    chat_id = _int(q, "chat_id")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        found = [
            e.to_json()
            for e in emu.events[since:]
            if (kinds is None or e.kind in kinds) and (chat_id is None or e.chat_id == chat_id)
        ]
        remaining = deadline - loop.time()
        if found or remaining <= 0:
            return {"events": found, "cursor": emu.cursor()}
        since = emu.cursor()
        await emu.wait_for_events(since, remaining)


@endpoint
async def cursor(request: web.Request) -> Any:
    """The current event cursor."""
    return {"cursor": _emu(request).cursor()}


@endpoint
async def wait_bot_message(request: web.Request) -> Any:
    """``{chat_id, thread_id?, since?, timeout?, bot_id?}`` -> next bot message + its cursor."""
    data = await _body(request)
    emu = _emu(request)
    message = await emu.wait_for_bot_message(
        int(data["chat_id"]),
        thread_id=_int(data, "thread_id"),
        timeout=_float(data, "timeout", 5.0),
        since=_int(data, "since"),
        bot=_int(data, "bot_id"),
    )
    seq = emu.message_seq(message, 0)
    return {"message": message, "cursor": seq}


@endpoint
async def calls(request: web.Request) -> Any:
    """Logged Bot API calls: ``?since=&method=``."""
    q = dict(request.query)
    return _emu(request).calls(q.get("method") or None, since=_int(q, "since", 0) or 0)


@endpoint
async def file_content(request: web.Request) -> Any:
    """Raw bytes of a stored file (used by the playground to show photos)."""
    stored = _emu(request).files.get(request.match_info["file_id"])
    if stored is None or stored.content is None:
        return _fail("file not found", 404)
    return web.Response(
        body=stored.content, content_type=stored.mime_type or "application/octet-stream"
    )


# ----------------------------------------------------------- faults/limits


@endpoint
async def add_fault(request: web.Request) -> Any:
    """``{kind, method?|methods?, count?, seconds?, status?, description?, retry_after?,
    hold?, apply?, after?}`` (``after``: matching calls let through before it fires)."""
    data = await _body(request)
    methods = data.get("methods") or data.get("method")
    fault = _emu(request).faults.add(
        str(data.get("kind") or "error"),
        methods,
        count=_int(data, "count", 1),
        seconds=float(data["seconds"]) if data.get("seconds") is not None else None,
        status=_int(data, "status", 500) or 500,
        description=data.get("description"),
        retry_after=_int(data, "retry_after", 5) or 5,
        hold=_float(data, "hold", 30.0),
        apply=_bool(data, "apply"),
        raw_body=data.get("raw_body"),
        after=_int(data, "after", 0) or 0,
    )
    return fault.to_json()


@endpoint
async def list_faults(request: web.Request) -> Any:
    """Active fault rules."""
    return [f.to_json() for f in _emu(request).faults.rules]


@endpoint
async def clear_faults(request: web.Request) -> Any:
    """Remove all fault rules."""
    _emu(request).faults.clear()
    return True


@endpoint
async def remove_fault(request: web.Request) -> Any:
    """Remove one fault rule."""
    return _emu(request).faults.remove(int(request.match_info["fault_id"]))


@endpoint
async def limits(request: web.Request) -> Any:
    """GET the limits or POST changes ``{enabled?, private_burst?, ...}``."""
    emu = _emu(request)
    if request.method == "POST":
        data = await _body(request)
        if data.pop("reset", False):
            emu.rate_limiter.reset()
        emu.limits.update(**data)
    return emu.limits.to_json()


@endpoint
async def private_topics(request: web.Request) -> Any:
    """A bot's topic mode in private chats: ``{enabled, users_can_create?, bot_id?}``."""
    data = await _body(request)
    emu = _emu(request)
    users = data.get("users_can_create")
    emu.set_private_topics(
        _bool(data, "enabled", True),
        users_can_create=None if users is None else _bool(data, "users_can_create"),
        bot=_int(data, "bot_id"),
    )
    return emu.get_bot(_int(data, "bot_id")).get_me()


@endpoint
async def forum_archive(request: web.Request) -> Any:
    """Archive forums past ``{after: N}`` messages (``null``: stop archiving)."""
    data = await _body(request)
    _emu(request).set_forum_archive(_int(data, "after"))
    return {"after": _emu(request).forum_archive_after}


@endpoint
async def bot_rights(request: web.Request) -> Any:
    """The bots' admin rights in a group: ``{can_manage_topics}``."""
    data = await _body(request)
    chat_id = int(request.match_info["chat_id"])
    _emu(request).set_bot_rights(chat_id, can_manage_topics=_bool(data, "can_manage_topics"))
    return True


@endpoint
async def restart(request: web.Request) -> Any:
    """Stop the server, stay down ``down_for`` seconds, start again (state is kept)."""
    data = await _body(request)
    emu = _emu(request)
    down_for = _float(data, "down_for", 0.0)
    emu.schedule_restart(down_for)
    return {"down_for": down_for}


def setup(app: web.Application) -> None:
    """Register every ``/_emu/`` route."""
    r = app.router
    r.add_get("/_emu/state", state)
    r.add_get("/_emu/bots", list_bots)
    r.add_post("/_emu/bots", add_bot)
    r.add_get("/_emu/users", list_users)
    r.add_post("/_emu/users", create_user)
    r.add_get("/_emu/chats", list_chats)
    r.add_post("/_emu/groups", create_group)
    r.add_post("/_emu/chats/{chat_id}/members", add_member)
    r.add_post("/_emu/chats/{chat_id}/{action:(remove_bot|add_bot)}", bot_membership)
    r.add_get("/_emu/chats/{chat_id}/messages", chat_messages)
    r.add_get("/_emu/chats/{chat_id}/topics", chat_topics)
    r.add_post("/_emu/chats/{chat_id}/topics", create_topic)
    r.add_delete("/_emu/chats/{chat_id}/topics/{thread_id}", delete_topic)
    r.add_post("/_emu/chats/{chat_id}/topics/{thread_id}/{action}", toggle_topic)
    r.add_post("/_emu/send/{kind}", send)
    r.add_post("/_emu/press", press)
    r.add_get("/_emu/callbacks/{query_id}", callback_answer)
    r.add_post("/_emu/edit", edit)
    r.add_post("/_emu/block", block)
    r.add_get("/_emu/events", events)
    r.add_get("/_emu/cursor", cursor)
    r.add_post("/_emu/wait/bot_message", wait_bot_message)
    r.add_get("/_emu/calls", calls)
    r.add_get("/_emu/files/{file_id}", file_content)
    r.add_get("/_emu/faults", list_faults)
    r.add_post("/_emu/faults", add_fault)
    r.add_delete("/_emu/faults", clear_faults)
    r.add_delete("/_emu/faults/{fault_id}", remove_fault)
    r.add_route("GET", "/_emu/limits", limits)
    r.add_route("POST", "/_emu/limits", limits)
    r.add_post("/_emu/restart", restart)
    r.add_post("/_emu/private_topics", private_topics)
    r.add_post("/_emu/forum_archive", forum_archive)
    r.add_post("/_emu/chats/{chat_id}/rights", bot_rights)
