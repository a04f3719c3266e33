"""Async HTTP client for the emulator's ``/_emu/`` control API (out-of-process use)."""

from __future__ import annotations

from types import TracebackType
from typing import Any

import aiohttp

JSON = dict[str, Any]


class EmulatorControlError(RuntimeError):
    """The control API answered ``{"ok": false}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class EmulatorClient:
    """Drive a running emulator over HTTP: ``async with EmulatorClient(url) as emu: ...``."""

    def __init__(self, base_url: str, *, session: aiohttp.ClientSession | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._session = session
        self._own_session = session is None

    async def __aenter__(self) -> EmulatorClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the underlying session if this client created it."""
        if self._session is not None and self._own_session and not self._session.closed:
            await self._session.close()
        self._session = None if self._own_session else self._session

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
            self._own_session = True
        return self._session

    async def _request(
        self,
        method: str,
        path: str,
        *,
        json: JSON | None = None,
        params: JSON | None = None,
        data: aiohttp.FormData | None = None,
        timeout: float = 30.0,
    ) -> Any:
        query = {k: str(v) for k, v in (params or {}).items() if v is not None}
        body = None if json is None else {k: v for k, v in json.items() if v is not None}
        async with self._http().request(
            method,
            f"{self.base_url}/_emu{path}",
            json=body,
            params=query,
            data=data,
            timeout=aiohttp.ClientTimeout(total=timeout),
        ) as resp:
            payload = await resp.json(content_type=None)
        if not payload.get("ok"):
            raise EmulatorControlError(resp.status, str(payload.get("error")))
        return payload["result"]

    # ---------------------------------------------------------------- state

    async def state(self) -> JSON:
        """Bots, users, chats, limits, faults and the current cursor."""
        return await self._request("GET", "/state")

    async def cursor(self) -> int:
        """Current event cursor (pass as ``since``)."""
        return int((await self._request("GET", "/cursor"))["cursor"])

    async def add_bot(self, token: str, username: str, first_name: str | None = None) -> JSON:
        """Register another bot token."""
        return await self._request(
            "POST", "/bots", json={"token": token, "username": username, "first_name": first_name}
        )

    async def create_user(
        self,
        first_name: str = "Test User",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
        user_id: int | None = None,
        started: bool = False,
    ) -> JSON:
        """Create a simulated user; returns its User JSON."""
        return await self._request(
            "POST",
            "/users",
            json={
                "first_name": first_name,
                "last_name": last_name,
                "username": username,
                "language_code": language_code,
                "id": user_id,
                "started": started,
            },
        )

    async def users(self) -> list[JSON]:
        """All simulated users."""
        return await self._request("GET", "/users")

    async def create_group(
        self,
        title: str = "Operators",
        *,
        agents: list[int] | None = None,
        admins: list[int] | None = None,
        owner: int | None = None,
        forum: bool = True,
        username: str | None = None,
    ) -> JSON:
        """Create a (forum) supergroup with the bot as admin."""
        return await self._request(
            "POST",
            "/groups",
            json={
                "title": title,
                "agents": agents or [],
                "admins": admins or [],
                "owner": owner,
                "forum": forum,
                "username": username,
            },
        )

    async def add_member(self, chat_id: int, user_id: int, *, admin: bool = False) -> JSON:
        """Add a user to a group."""
        return await self._request(
            "POST", f"/chats/{chat_id}/members", json={"user_id": user_id, "admin": admin}
        )

    async def remove_bot_from(self, chat_id: int, *, by: int | None = None) -> JSON:
        """An admin (``by``, default the owner) removes the bot from a group."""
        return await self._request("POST", f"/chats/{chat_id}/remove_bot", json={"by": by})

    async def add_bot_to(self, chat_id: int, *, by: int | None = None) -> JSON:
        """An admin adds the bot back to a group."""
        return await self._request("POST", f"/chats/{chat_id}/add_bot", json={"by": by})

    async def chats(self) -> list[JSON]:
        """Chats with members, topics and message counts."""
        return await self._request("GET", "/chats")

    async def messages(
        self, chat_id: int, thread_id: int | None = None, *, from_bot: bool | None = None
    ) -> list[JSON]:
        """Messages of a chat (private chat id = user id)."""
        params: JSON = {"thread_id": thread_id}
        if from_bot is not None:
            params["from_bot"] = int(from_bot)
        return await self._request("GET", f"/chats/{chat_id}/messages", params=params)

    async def topics(self, chat_id: int, *, include_deleted: bool = False) -> list[JSON]:
        """Forum topics of a chat."""
        return await self._request(
            "GET", f"/chats/{chat_id}/topics", params={"include_deleted": int(include_deleted)}
        )

    # --------------------------------------------------------------- acting

    async def send_text(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        thread_id: int | None = None,
        reply_to: int | None = None,
    ) -> JSON:
        """Send text as a user; returns the Message JSON."""
        return await self._request(
            "POST",
            "/send/text",
            json={
                "user_id": user_id,
                "text": text,
                "chat_id": chat_id,
                "thread_id": thread_id,
                "reply_to": reply_to,
            },
        )

    async def send_photo(
        self,
        user_id: int,
        data: bytes,
        *,
        filename: str = "photo.png",
        caption: str | None = None,
        chat_id: int | None = None,
        thread_id: int | None = None,
    ) -> JSON:
        """Upload a photo as a user (multipart)."""
        return await self._send_file("photo", user_id, data, filename, caption, chat_id, thread_id)

    async def send_document(
        self,
        user_id: int,
        data: bytes,
        *,
        filename: str = "document.txt",
        caption: str | None = None,
        chat_id: int | None = None,
        thread_id: int | None = None,
    ) -> JSON:
        """Upload a document as a user (multipart)."""
        return await self._send_file(
            "document", user_id, data, filename, caption, chat_id, thread_id
        )

    async def _send_file(
        self,
        kind: str,
        user_id: int,
        data: bytes,
        filename: str,
        caption: str | None,
        chat_id: int | None,
        thread_id: int | None,
    ) -> JSON:
        form = aiohttp.FormData()
        form.add_field("user_id", str(user_id))
        for key, value in (("caption", caption), ("chat_id", chat_id), ("thread_id", thread_id)):
            if value is not None:
                form.add_field(key, str(value))
        form.add_field(kind, data, filename=filename)
        return await self._request("POST", f"/send/{kind}", data=form)

    async def send(self, kind: str, user_id: int, **fields: Any) -> JSON:
        """Generic ``/send/{kind}`` (voice, sticker, location, contact, ...)."""
        return await self._request("POST", f"/send/{kind}", json={"user_id": user_id, **fields})

    async def press_button(
        self,
        user_id: int,
        message_id: int,
        callback_data: str | None = None,
        *,
        text: str | None = None,
        chat_id: int | None = None,
    ) -> str:
        """Press an inline button; returns the callback query id."""
        result = await self._request(
            "POST",
            "/press",
            json={
                "user_id": user_id,
                "message_id": message_id,
                "callback_data": callback_data,
                "text": text,
                "chat_id": chat_id,
            },
        )
        return str(result["callback_query_id"])

    async def wait_for_callback_answer(self, query_id: str, *, timeout: float = 5.0) -> JSON:
        """The bot's answerCallbackQuery parameters."""
        return await self._request(
            "GET", f"/callbacks/{query_id}", params={"timeout": timeout}, timeout=timeout + 5
        )

    async def edit_message(
        self, user_id: int, message_id: int, text: str, *, chat_id: int | None = None
    ) -> JSON:
        """Edit a user's message (bots get edited_message)."""
        return await self._request(
            "POST",
            "/edit",
            json={"user_id": user_id, "message_id": message_id, "text": text, "chat_id": chat_id},
        )

    async def block_bot(self, user_id: int, *, blocked: bool = True) -> None:
        """Block (or unblock) the bot as a user."""
        await self._request("POST", "/block", json={"user_id": user_id, "blocked": blocked})

    async def create_topic(self, user_id: int, chat_id: int, name: str) -> JSON:
        """A member creates a forum topic."""
        return await self._request(
            "POST", f"/chats/{chat_id}/topics", json={"user_id": user_id, "name": name}
        )

    async def delete_topic(self, chat_id: int, thread_id: int, *, by: int | None = None) -> None:
        """Delete a forum topic as an admin."""
        await self._request("DELETE", f"/chats/{chat_id}/topics/{thread_id}", params={"by": by})

    # -------------------------------------------------------------- waiting

    async def events(
        self,
        since: int = 0,
        *,
        timeout: float = 0.0,
        kinds: list[str] | None = None,
        chat_id: int | None = None,
    ) -> JSON:
        """Long-poll the event log; returns ``{"events": [...], "cursor": N}``."""
        return await self._request(
            "GET",
            "/events",
            params={
                "since": since,
                "timeout": timeout,
                "kinds": ",".join(kinds) if kinds else None,
                "chat_id": chat_id,
            },
            timeout=timeout + 10,
        )

    async def wait_for_bot_message(
        self,
        chat_id: int,
        *,
        since: int | None = None,
        thread_id: int | None = None,
        timeout: float = 5.0,
    ) -> JSON:
        """Next bot message in a chat after ``since``; returns ``{"message", "cursor"}``."""
        return await self._request(
            "POST",
            "/wait/bot_message",
            json={"chat_id": chat_id, "since": since, "thread_id": thread_id, "timeout": timeout},
            timeout=timeout + 10,
        )

    async def calls(self, method: str | None = None, *, since: int = 0) -> list[JSON]:
        """Logged Bot API calls."""
        return await self._request("GET", "/calls", params={"method": method, "since": since})

    # -------------------------------------------------------- faults/limits

    async def inject_fault(
        self,
        kind: str = "error",
        method: str | list[str] | None = None,
        *,
        count: int | None = 1,
        seconds: float | None = None,
        status: int = 500,
        retry_after: int = 5,
        hold: float = 30.0,
        apply: bool = False,
    ) -> JSON:
        """Add a fault rule (see README: error / retry_after / timeout / drop)."""
        return await self._request(
            "POST",
            "/faults",
            json={
                "kind": kind,
                "methods": [method] if isinstance(method, str) else method,
                "count": count,
                "seconds": seconds,
                "status": status,
                "retry_after": retry_after,
                "hold": hold,
                "apply": apply,
            },
        )

    async def clear_faults(self) -> None:
        """Remove all fault rules."""
        await self._request("DELETE", "/faults")

    async def set_limits(self, **changes: Any) -> JSON:
        """Change flood limits (``reset=True`` also refills the buckets)."""
        return await self._request("POST", "/limits", json=changes)

    async def set_private_topics(
        self, enabled: bool = True, *, users_can_create: bool | None = None
    ) -> JSON:
        """Switch the bot's topic mode in private chats; returns its getMe."""
        body: JSON = {"enabled": enabled}
        if users_can_create is not None:
            body["users_can_create"] = users_can_create
        return await self._request("POST", "/private_topics", json=body)

    async def set_forum_archive(self, after: int | None) -> JSON:
        """Archive forums past ``after`` messages (None: stop)."""
        return await self._request("POST", "/forum_archive", json={"after": after})

    async def set_bot_rights(self, chat_id: int, *, can_manage_topics: bool) -> None:
        """The bots' right to manage a group's topics."""
        await self._request(
            "POST", f"/chats/{chat_id}/rights", json={"can_manage_topics": can_manage_topics}
        )

    async def restart(self, down_for: float = 0.0) -> None:
        """Ask the emulator to stop and come back after ``down_for`` seconds."""
        await self._request("POST", "/restart", json={"down_for": down_for})
