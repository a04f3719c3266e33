"""Simulated users: create people and groups, and act as them (messages, buttons, blocks)."""

from __future__ import annotations

import itertools
import mimetypes
from collections.abc import Iterable, Sequence
from typing import Any

from emulator.core import TOPIC_COLORS, BotRef, ChatRef, EmulatorCore, MessageRef, UserRef
from emulator.errors import EmulatorError
from emulator.media import media_object, photo_sizes, tiny_png
from emulator.methods import admin_member, open_topic, remove_topic
from emulator.models import JSON, BotAccount, CallbackRecord, Chat, SimUser, StoredMessage
from emulator.text import clean_entities, finalize

_user_media_groups = itertools.count(14_000_000_000_000_001)
_OGG_STUB = b"OggS\x00\x02" + b"\x00" * 58


DUSHANBE = (38.5598, 68.7870)  # where a simulated phone is, unless a test says otherwise
# KeyboardButton fields whose tap opens a picker in the app rather than sending something
PICKER_BUTTONS = ("request_users", "request_chat", "request_poll", "web_app")


class UserActions(EmulatorCore):
    """The in-process API for the human side of the conversation (all coroutines)."""

    # ------------------------------------------------------------- people

    async def create_user(
        self,
        first_name: str = "Test User",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
        user_id: int | None = None,
        started: bool = False,
        bot: BotRef = None,
    ) -> SimUser:
        """Create a user. ``started=True`` opens the private chat without sending anything
        (otherwise the bot gets 403 "bot can't initiate conversation" until the user writes)."""
        user = self.new_user(
            first_name,
            last_name=last_name,
            username=username,
            language_code=language_code,
            user_id=user_id,
        )
        if started:
            self.private_chat(self.get_bot(bot), user, create=True)
        return user

    async def create_group(
        self,
        title: str = "Group",
        *,
        members: Iterable[UserRef] = (),
        admins: Iterable[UserRef] = (),
        owner: UserRef | None = None,
        forum: bool = False,
        supergroup: bool = True,
        username: str | None = None,
        bots: Iterable[BotRef] | None = None,
    ) -> Chat:
        """Create a (super)group with the given members; the bot(s) join as administrators."""
        bot_accounts = [self.get_bot(b) for b in bots] if bots is not None else [self.default_bot]
        chat = self.new_group(
            title, supergroup=supergroup, forum=forum, username=username, bots=bot_accounts
        )
        member_ids = [self.get_user(m).id for m in members]
        admin_ids = [self.get_user(a).id for a in admins]
        chat.members.update(member_ids, admin_ids)
        chat.admins.update(admin_ids)
        if owner is not None:
            chat.owner_id = self.get_user(owner).id
        elif admin_ids or member_ids:
            chat.owner_id = (admin_ids or member_ids)[0]
        if chat.owner_id is not None:
            chat.members.add(chat.owner_id)
            chat.admins.add(chat.owner_id)
        self.record("chat_created", chat_id=chat.id, data={"chat": chat.summary()})
        return chat

    async def create_forum_group(
        self,
        title: str = "Operators",
        *,
        agents: Iterable[UserRef] = (),
        owner: UserRef | None = None,
        username: str | None = None,
        bots: Iterable[BotRef] | None = None,
    ) -> Chat:
        """A forum supergroup for operators: agents are members, the first one owns it."""
        return await self.create_group(
            title, members=agents, owner=owner, forum=True, username=username, bots=bots
        )

    async def add_member(self, chat: ChatRef, user: UserRef, *, admin: bool = False) -> None:
        """Add a user to a group (optionally as admin); its admin bots get a ``chat_member``
        update (left → member or administrator)."""
        chat_obj = self.get_chat(chat)
        uid = self.get_user(user).id
        old = self._user_member(chat_obj, uid)
        chat_obj.members.add(uid)
        if admin:
            chat_obj.admins.add(uid)
        self.record("chat_updated", chat_id=chat_obj.id, data={"chat": chat_obj.summary()})
        self._user_member_update(chat_obj, uid, old, None)

    async def remove_member(
        self, chat: ChatRef, user: UserRef, *, by: UserRef | None = None
    ) -> None:
        """A user leaves a group (``by`` None) or an admin ``by`` kicks them (status
        ``kicked``); its admin bots get a ``chat_member`` update, as Telegram sends it."""
        chat_obj = self.get_chat(chat)
        uid = self.get_user(user).id
        old = self._user_member(chat_obj, uid)
        chat_obj.members.discard(uid)
        chat_obj.admins.discard(uid)
        self.record("chat_updated", chat_id=chat_obj.id, data={"chat": chat_obj.summary()})
        self._user_member_update(chat_obj, uid, old, by)

    def _user_member(self, chat: Chat, user_id: int) -> JSON:
        """A user's ChatMember in a group, as getChatMember shows it."""
        data = self.get_user(user_id).to_api()
        if user_id == chat.owner_id and user_id in chat.members:
            return {"status": "creator", "user": data, "is_anonymous": False}
        if user_id in chat.admins:
            return admin_member(data, forum=chat.is_forum)
        if user_id in chat.members:
            return {"status": "member", "user": data}
        return {"status": "left", "user": data}

    def _user_member_update(self, chat: Chat, user_id: int, old: JSON, by: UserRef | None) -> None:
        """``chat_member`` to the group's bots: Telegram sends it only to a bot that is an
        administrator there and listed ``chat_member`` in its allowed_updates (not a default
        kind: ``enqueue_update`` drops it otherwise)."""
        new = self._user_member(chat, user_id)
        if by is not None and new["status"] == "left":
            new = {"status": "kicked", "user": new["user"], "until_date": 0}
        if new == old:
            return
        actor = self.get_user(by) if by is not None else self.get_user(user_id)
        payload = {
            "chat": chat.to_api(),
            "from": actor.to_api(),
            "date": int(self.wall_clock()),
            "old_chat_member": old,
            "new_chat_member": new,
        }
        for bot in self.bots.values():
            if bot.id in chat.bot_ids:  # the bots still in a group are its administrators
                self.enqueue_update(bot, "chat_member", payload)

    async def forge_update(self, kind: str, payload: JSON, *, bot: BotRef = None) -> JSON | None:
        """Queue an update nobody's action made — what a forged webhook delivery (or a
        spoofed client) would bring: any ``kind`` with any ``payload``, no checks at all.
        Returns the update, or None when the bot's allowed_updates leave it out."""
        return self.enqueue_update(self.get_bot(bot), kind, payload)

    async def remove_bot_from(
        self, chat: ChatRef, *, bot: BotRef = None, by: UserRef | None = None
    ) -> None:
        """An admin removes the bot from a group, as Telegram does it: a ``left_chat_member``
        service message and a ``my_chat_member`` update (administrator → kicked) reach the
        bot, and from then on every call it makes to that chat answers 403
        ``Forbidden: bot was kicked from the supergroup chat`` (``group chat``)."""
        chat_obj = self.get_chat(chat)
        bot_account = self.get_bot(bot)
        if chat_obj.type == "private":
            raise EmulatorError("a bot is removed from a private chat by blocking it")
        if bot_account.id not in chat_obj.bot_ids:
            raise EmulatorError(f"@{bot_account.username} is not in chat {chat_obj.id}")
        admin = self._remover(chat_obj, by)
        old = admin_member(bot_account.to_user(), forum=chat_obj.is_forum)
        self.post_message(
            chat_obj, admin, {"left_chat_member": bot_account.to_user()}, service=True
        )
        chat_obj.bot_ids.discard(bot_account.id)
        chat_obj.kicked_bot_ids.add(bot_account.id)
        kicked = {"status": "kicked", "user": bot_account.to_user(), "until_date": 0}
        self._bot_member_update(bot_account, chat_obj, admin, old, kicked, "bot_removed")

    async def add_bot_to(
        self, chat: ChatRef, *, bot: BotRef = None, by: UserRef | None = None
    ) -> None:
        """An admin adds the bot back (as an administrator): ``my_chat_member`` kicked →
        administrator, then a ``new_chat_members`` service message."""
        chat_obj = self.get_chat(chat)
        bot_account = self.get_bot(bot)
        if bot_account.id in chat_obj.bot_ids:
            return
        admin = self._remover(chat_obj, by)
        was_kicked = bot_account.id in chat_obj.kicked_bot_ids
        chat_obj.kicked_bot_ids.discard(bot_account.id)
        chat_obj.bot_ids.add(bot_account.id)
        old = {"status": "kicked", "user": bot_account.to_user(), "until_date": 0}
        if not was_kicked:
            old = {"status": "left", "user": bot_account.to_user()}
        new = admin_member(bot_account.to_user(), forum=chat_obj.is_forum)
        self._bot_member_update(bot_account, chat_obj, admin, old, new, "bot_added")
        self.post_message(
            chat_obj, admin, {"new_chat_members": [bot_account.to_user()]}, service=True
        )

    def _remover(self, chat: Chat, by: UserRef | None) -> SimUser:
        if by is not None:
            return self.get_user(by)
        if chat.owner_id is None:
            raise EmulatorError(f"chat {chat.id} has no owner; say who removes the bot (by=)")
        return self.get_user(chat.owner_id)

    def _bot_member_update(
        self, bot: BotAccount, chat: Chat, by: SimUser, old: JSON, new: JSON, kind: str
    ) -> None:
        payload = {
            "chat": chat.to_api(),
            "from": by.to_api(),
            "date": int(self.wall_clock()),
            "old_chat_member": old,
            "new_chat_member": new,
        }
        self.record(kind, bot_id=bot.id, chat_id=chat.id, data={"by": by.id})
        self.enqueue_update(bot, "my_chat_member", payload)

    # ----------------------------------------------------------- plumbing

    def _user_chat(self, user: SimUser, chat: ChatRef | None, bot: BotRef) -> Chat:
        if chat is None or (isinstance(chat, int) and chat == user.id):
            bot_account = self.get_bot(bot)
            if bot_account.id in user.blocked_bots:
                raise EmulatorError(
                    f"user {user.id} has blocked @{bot_account.username}; call unblock_bot first"
                )
            chat_obj = self.private_chat(bot_account, user, create=True)
            assert chat_obj is not None
            return chat_obj
        chat_obj = self.get_chat(chat, self.get_bot(bot))
        if chat_obj.type == "private":
            if chat_obj.user_id != user.id:
                raise EmulatorError(f"chat {chat_obj.id} is another user's private chat")
            return chat_obj
        if user.id not in chat_obj.members:
            raise EmulatorError(f"user {user.id} is not a member of chat {chat_obj.id}")
        return chat_obj

    def _user_thread(
        self,
        user: SimUser,
        chat: Chat,
        thread_id: int | None,
        reply_to: MessageRef | None,
    ) -> tuple[int | None, StoredMessage | None]:
        reply = None
        if reply_to is not None:
            reply = self.find_message(chat, reply_to)
            if reply is None:
                raise EmulatorError(f"message to reply to not found in chat {chat.id}")
        if not self.has_topics(chat):
            return None, reply
        if thread_id is None and reply is not None:
            thread_id = reply.thread_id
        if thread_id is not None:
            topic = chat.topics.get(thread_id)
            if topic is None or topic.deleted:
                raise EmulatorError("message thread not found")
            if topic.closed and user.id not in chat.admins:
                raise EmulatorError("TOPIC_CLOSED")
        return thread_id, reply

    def _user_post(
        self,
        user: UserRef,
        content: JSON,
        *,
        chat: ChatRef | None,
        thread_id: int | None,
        reply_to: MessageRef | None,
        bot: BotRef,
    ) -> JSON:
        sim = self.get_user(user)
        chat_obj = self._user_chat(sim, chat, bot)
        thread, reply = self._user_thread(sim, chat_obj, thread_id, reply_to)
        stored = self.post_message(chat_obj, sim, content, thread_id=thread, reply_to=reply)
        return stored.snapshot()

    def _caption(self, caption: str | None) -> JSON:
        if not caption:
            return {}
        text, entities = finalize(caption, [])
        content: JSON = {"caption": text}
        if entities:
            content["caption_entities"] = entities
        return content

    # ------------------------------------------------------------ messages

    async def send_text(
        self,
        user: UserRef,
        text: str,
        *,
        chat: ChatRef | None = None,
        thread_id: int | None = None,
        reply_to: MessageRef | None = None,
        entities: list[JSON] | None = None,
        bot: BotRef = None,
    ) -> JSON:
        """The user sends a text message (private chat with the bot unless ``chat`` given)."""
        plain, found = finalize(text, clean_entities(text, entities or []))
        if not plain:
            raise EmulatorError("message text is empty")
        content: JSON = {"text": plain}
        if found:
            content["entities"] = found
        return self._user_post(
            user, content, chat=chat, thread_id=thread_id, reply_to=reply_to, bot=bot
        )

    async def send_photo(
        self,
        user: UserRef,
        photo: bytes | None = None,
        *,
        caption: str | None = None,
        filename: str = "photo.png",
        chat: ChatRef | None = None,
        thread_id: int | None = None,
        reply_to: MessageRef | None = None,
        media_group_id: str | None = None,
        bot: BotRef = None,
    ) -> JSON:
        """The user sends a photo (a tiny PNG if no bytes are given)."""
        data = photo if photo is not None else tiny_png()
        mime = mimetypes.guess_type(filename)[0] or "image/jpeg"
        stored = self.files.add("photo", data, mime_type=mime, file_name=filename)
        content: JSON = {"photo": photo_sizes(self.files, stored), **self._caption(caption)}
        if media_group_id:
            content = {"media_group_id": media_group_id, **content}
        return self._user_post(
            user, content, chat=chat, thread_id=thread_id, reply_to=reply_to, bot=bot
        )

    async def _send_file(
        self,
        kind: str,
        user: UserRef,
        data: bytes,
        *,
        filename: str | None,
        mime_type: str | None,
        caption: str | None,
        extra: dict[str, Any],
        chat: ChatRef | None,
        thread_id: int | None,
        reply_to: MessageRef | None,
        bot: BotRef,
        media_group_id: str | None = None,
    ) -> JSON:
        mime = mime_type or (mimetypes.guess_type(filename)[0] if filename else None)
        stored = self.files.add(kind, data, mime_type=mime, file_name=filename)
        content: JSON = {kind: media_object(kind, stored, extra), **self._caption(caption)}
        if media_group_id:
            content = {"media_group_id": media_group_id, **content}
        return self._user_post(
            user, content, chat=chat, thread_id=thread_id, reply_to=reply_to, bot=bot
        )

    async def send_document(
        self,
        user: UserRef,
        data: bytes = b"hello from the emulator\n",
        *,
        filename: str = "document.txt",
        mime_type: str | None = None,
        caption: str | None = None,
        chat: ChatRef | None = None,
        thread_id: int | None = None,
        reply_to: MessageRef | None = None,
        bot: BotRef = None,
    ) -> JSON:
        """The user sends a file as a document."""
        return await self._send_file(
            "document",
            user,
            data,
            filename=filename,
            mime_type=mime_type,
            caption=caption,
            extra={},
            chat=chat,
            thread_id=thread_id,
            reply_to=reply_to,
            bot=bot,
        )

    async def send_voice(
        self,
        user: UserRef,
        data: bytes | None = None,
        *,
        duration: int = 2,
        caption: str | None = None,
        chat: ChatRef | None = None,
        thread_id: int | None = None,
        reply_to: MessageRef | None = None,
        bot: BotRef = None,
    ) -> JSON:
        """The user sends a voice note (an OGG stub if no bytes are given)."""
        return await self._send_file(
            "voice",
            user,
            data if data is not None else _OGG_STUB,
            filename=None,
            mime_type="audio/ogg",
            caption=caption,
            extra={"duration": duration},
            chat=chat,
            thread_id=thread_id,
            reply_to=reply_to,
            bot=bot,
        )

    async def send_sticker(
        self,
        user: UserRef,
        *,
        emoji: str = "👍",
        data: bytes | None = None,
        chat: ChatRef | None = None,
        thread_id: int | None = None,
        reply_to: MessageRef | None = None,
        bot: BotRef = None,
    ) -> JSON:
        """The user sends a sticker."""
        return await self._send_file(
            "sticker",
            user,
            data if data is not None else b"RIFF\x00\x00\x00\x00WEBP",
            filename=None,
            mime_type="image/webp",
            caption=None,
            extra={"emoji": emoji},
            chat=chat,
            thread_id=thread_id,
            reply_to=reply_to,
            bot=bot,
        )

    async def send_location(
        self,
        user: UserRef,
        latitude: float,
        longitude: float,
        *,
        chat: ChatRef | None = None,
        thread_id: int | None = None,
        reply_to: MessageRef | None = None,
        bot: BotRef = None,
    ) -> JSON:
        """The user shares a location."""
        content = {"location": {"latitude": float(latitude), "longitude": float(longitude)}}
        return self._user_post(
            user, content, chat=chat, thread_id=thread_id, reply_to=reply_to, bot=bot
        )

    async def send_contact(
        self,
        user: UserRef,
        phone_number: str,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        own: bool = True,
        chat: ChatRef | None = None,
        thread_id: int | None = None,
        reply_to: MessageRef | None = None,
        bot: BotRef = None,
    ) -> JSON:
        """The user shares a contact; ``own=True`` is the "share my phone" button case."""
        sim = self.get_user(user)
        contact: JSON = {
            "phone_number": phone_number,
            "first_name": first_name or sim.first_name,
        }
        last = last_name if last_name is not None else (sim.last_name if own else None)
        if last:
            contact["last_name"] = last
        if own:
            contact["user_id"] = sim.id
        return self._user_post(
            sim, {"contact": contact}, chat=chat, thread_id=thread_id, reply_to=reply_to, bot=bot
        )

    async def send_media_group(
        self,
        user: UserRef,
        items: Sequence[bytes | JSON],
        *,
        caption: str | None = None,
        chat: ChatRef | None = None,
        thread_id: int | None = None,
        bot: BotRef = None,
    ) -> list[JSON]:
        """An album: each item is photo bytes or ``{"type", "data", "filename", "caption"}``.

        All messages share one ``media_group_id``; ``caption`` goes on the first item.
        """
        if not 2 <= len(items) <= 10:
            raise EmulatorError("an album has 2-10 items")
        group_id = str(next(_user_media_groups))
        out: list[JSON] = []
        for index, item in enumerate(items):
            spec: JSON = {"type": "photo", "data": item} if isinstance(item, bytes) else item
            item_caption = spec.get("caption") or (caption if index == 0 else None)
            if spec.get("type", "photo") == "photo":
                out.append(
                    await self.send_photo(
                        user,
                        spec.get("data"),
                        caption=item_caption,
                        filename=spec.get("filename", "photo.png"),
                        chat=chat,
                        thread_id=thread_id,
                        media_group_id=group_id,
                        bot=bot,
                    )
                )
            else:
                out.append(
                    await self._send_file(
                        spec["type"],
                        user,
                        spec.get("data", b""),
                        filename=spec.get("filename"),
                        mime_type=spec.get("mime_type"),
                        caption=item_caption,
                        extra={},
                        chat=chat,
                        thread_id=thread_id,
                        reply_to=None,
                        bot=bot,
                        media_group_id=group_id,
                    )
                )
        return out

    async def edit_message(
        self,
        user: UserRef,
        message: MessageRef,
        text: str,
        *,
        chat: ChatRef | None = None,
        bot: BotRef = None,
    ) -> JSON:
        """The user edits their text message; bots get an ``edited_message`` update."""
        sim = self.get_user(user)
        chat_obj = self._user_chat(sim, chat, bot)
        stored = self.find_message(chat_obj, message)
        if stored is None or stored.from_bot or stored.sender_id != sim.id:
            raise EmulatorError("user can only edit their own existing messages")
        key = "text" if "text" in stored.data else "caption"
        plain, found = finalize(text, [])
        stored.data[key] = plain
        entity_key = "entities" if key == "text" else "caption_entities"
        if found:
            stored.data[entity_key] = found
        else:
            stored.data.pop(entity_key, None)
        stored.data["edit_date"] = int(self.wall_clock())
        snapshot = stored.snapshot()
        self.record(
            "edit",
            bot_id=chat_obj.bot_id,
            chat_id=chat_obj.id,
            thread_id=stored.thread_id,
            message_id=stored.message_id,
            data={"message": snapshot},
        )
        self.deliver(chat_obj, "edited_message", snapshot)
        return snapshot

    async def delete_own_message(
        self, user: UserRef, message: MessageRef, *, chat: ChatRef | None = None, bot: BotRef = None
    ) -> None:
        """The user deletes their message (bots are not notified, as in Telegram)."""
        sim = self.get_user(user)
        chat_obj = self._user_chat(sim, chat, bot)
        stored = self.find_message(chat_obj, message)
        if stored is None:
            raise EmulatorError("message not found")
        stored.deleted = True
        self.record(
            "delete",
            chat_id=chat_obj.id,
            thread_id=stored.thread_id,
            message_id=stored.message_id,
            data={"message_id": stored.message_id},
        )

    # ------------------------------------------------------------- buttons

    async def press_button(
        self,
        user: UserRef,
        message: MessageRef,
        callback_data: str | None = None,
        *,
        text: str | None = None,
        chat: ChatRef | None = None,
        bot: BotRef = None,
        strict: bool = True,
    ) -> str:
        """Press an inline button (by ``callback_data`` or button ``text``).

        Queues a ``callback_query`` update for the bot and returns the query id; use
        :meth:`wait_for_callback_answer` to see the bot's answer. With ``strict`` the
        message must carry a matching callback button.
        """
        sim = self.get_user(user)
        chat_obj = self._user_chat(sim, chat, bot)
        stored = self.find_message(chat_obj, message)
        if stored is None:
            raise EmulatorError(f"message not found in chat {chat_obj.id}")
        buttons = self.buttons(stored.data)
        chosen = None
        for button in buttons:
            if (callback_data is not None and button.get("callback_data") == callback_data) or (
                callback_data is None and text is not None and button.get("text") == text
            ):
                chosen = button
                break
        if chosen is None and strict:
            raise EmulatorError(
                f"no inline button with callback_data={callback_data!r} text={text!r} on message "
                f"{stored.message_id}; buttons: {[b.get('text') for b in buttons]}"
            )
        data = (chosen.get("callback_data") if chosen is not None else callback_data) or ""
        if chosen is not None and chosen.get("callback_data") is None:
            raise EmulatorError(f"button {chosen.get('text')!r} is not a callback button")
        owner = next(
            (b for b in self.bots.values() if b.id == stored.sender_id and stored.from_bot), None
        )
        if owner is None:
            raise EmulatorError("buttons can only be pressed on bot messages")
        query_id = self.new_callback_id()
        self.callbacks[query_id] = CallbackRecord(
            id=query_id,
            bot_id=owner.id,
            user_id=sim.id,
            chat_id=chat_obj.id,
            message_id=stored.message_id,
            data=data,
            created=self.clock(),
        )
        payload: JSON = {
            "id": query_id,
            "from": sim.to_api(),
            "message": stored.snapshot(),
            "chat_instance": str(abs(hash((owner.id, chat_obj.id))) % 10**18),
            "data": data,
        }
        self.record(
            "callback_query",
            bot_id=owner.id,
            chat_id=chat_obj.id,
            thread_id=stored.thread_id,
            message_id=stored.message_id,
            data={"callback_query_id": query_id, "user_id": sim.id, "data": data},
        )
        self.enqueue_update(owner, "callback_query", payload)
        return query_id

    async def press_reply_button(
        self,
        user: UserRef,
        text: str,
        *,
        chat: ChatRef | None = None,
        bot: BotRef = None,
        location: tuple[float, float] = DUSHANBE,
        phone_number: str = "+992900000000",
    ) -> JSON:
        """Tap a reply-keyboard button as Telegram's app does: a ``request_location`` button
        shares where the phone is (``location``), a ``request_contact`` one the user's own
        contact (``phone_number``), any other sends its text. Buttons that open a picker
        (users, chat, poll, web app) are not emulated and refused."""
        sim = self.get_user(user)
        chat_obj = self._user_chat(sim, chat, bot)
        keyboard = chat_obj.reply_keyboard or {}
        for row in keyboard.get("keyboard", []):
            for button in row:
                if button.get("text") != text:
                    continue
                if button.get("request_location"):
                    latitude, longitude = location
                    return await self.send_location(sim, latitude, longitude, chat=chat, bot=bot)
                if button.get("request_contact"):
                    return await self.send_contact(sim, phone_number, chat=chat, bot=bot)
                picker = [k for k in PICKER_BUTTONS if button.get(k)]
                if picker:
                    raise EmulatorError(f"a {picker[0]} button is not emulated: {text!r}")
                return await self.send_text(sim, text, chat=chat, bot=bot)
        raise EmulatorError(f"no reply keyboard button {text!r} in chat {chat_obj.id}")

    # ------------------------------------------------------------ blocking

    async def block_bot(self, user: UserRef, bot: BotRef = None) -> None:
        """The user blocks the bot: sends fail with 403 and a my_chat_member update is sent."""
        await self._set_blocked(user, bot, blocked=True)

    async def unblock_bot(self, user: UserRef, bot: BotRef = None) -> None:
        """The user unblocks (restarts) the bot."""
        await self._set_blocked(user, bot, blocked=False)

    unblock = unblock_bot

    async def _set_blocked(self, user: UserRef, bot: BotRef, *, blocked: bool) -> None:
        sim = self.get_user(user)
        bot_account = self.get_bot(bot)
        if (bot_account.id in sim.blocked_bots) == blocked:
            return
        if blocked:
            sim.blocked_bots.add(bot_account.id)
        else:
            sim.blocked_bots.discard(bot_account.id)
        chat = self.private_chat(bot_account, sim, create=True)
        assert chat is not None
        self._member_update(bot_account, chat, sim, blocked=blocked)

    def _member_update(self, bot: BotAccount, chat: Chat, user: SimUser, *, blocked: bool) -> None:
        member = {"status": "member", "user": bot.to_user()}
        kicked = {"status": "kicked", "user": bot.to_user(), "until_date": 0}
        payload = {
            "chat": chat.to_api(),
            "from": user.to_api(),
            "date": int(self.wall_clock()),
            "old_chat_member": member if blocked else kicked,
            "new_chat_member": kicked if blocked else member,
        }
        self.record(
            "block" if blocked else "unblock",
            bot_id=bot.id,
            chat_id=chat.id,
            data={"user_id": user.id},
        )
        self.enqueue_update(bot, "my_chat_member", payload)

    # -------------------------------------------------------------- topics

    async def create_topic(
        self,
        user: UserRef,
        chat: ChatRef,
        name: str,
        *,
        icon_color: int = TOPIC_COLORS[0],
    ) -> JSON:
        """A member creates a forum topic (bots get the forum_topic_created message); in a
        private chat (``chat`` = the user's id), when the bot has topic mode on and lets users
        create topics."""
        sim = self.get_user(user)
        chat_obj = self._user_chat(sim, chat, None)
        if not self.has_topics(chat_obj):
            raise EmulatorError("the chat is not a forum")
        if (
            chat_obj.type == "private"
            and not self.get_bot(chat_obj.bot_id).allows_users_to_create_topics
        ):
            raise EmulatorError("the bot does not let users create topics")
        return open_topic(self, chat_obj, sim, name, icon_color).to_api()

    async def close_topic(self, user: UserRef, chat: ChatRef, thread_id: int) -> None:
        """An admin closes a topic (service message delivered to bots)."""
        await self._toggle_topic(user, chat, thread_id, closed=True)

    async def reopen_topic(self, user: UserRef, chat: ChatRef, thread_id: int) -> None:
        """An admin reopens a topic."""
        await self._toggle_topic(user, chat, thread_id, closed=False)

    async def _toggle_topic(
        self, user: UserRef, chat: ChatRef, thread_id: int, *, closed: bool
    ) -> None:
        sim = self.get_user(user)
        chat_obj = self._user_chat(sim, chat, None)
        topic = chat_obj.topics.get(thread_id)
        if topic is None or topic.deleted:
            raise EmulatorError("TOPIC_ID_INVALID")
        if sim.id not in chat_obj.admins:
            raise EmulatorError("only group admins can close or reopen topics")
        if topic.closed == closed:
            return
        topic.closed = closed
        key = "forum_topic_closed" if closed else "forum_topic_reopened"
        self.post_message(chat_obj, sim, {key: {}}, thread_id=thread_id, service=True)
        self.record(
            "topic_closed" if closed else "topic_reopened",
            chat_id=chat_obj.id,
            thread_id=thread_id,
            data=topic.summary(),
        )

    async def delete_topic(
        self, chat: ChatRef, thread_id: int, *, by: UserRef | None = None
    ) -> None:
        """A group admin (or, in a private chat with topics, its user) deletes a topic; later
        sends to it fail "message thread not found"."""
        chat_obj = self.get_chat(chat)
        private = chat_obj.type == "private"
        if by is not None and not private and self.get_user(by).id not in chat_obj.admins:
            raise EmulatorError("only group admins can delete topics")
        topic = chat_obj.topics.get(thread_id)
        if topic is None or topic.deleted:
            raise EmulatorError("TOPIC_ID_INVALID")
        remove_topic(self, chat_obj, topic)

    def set_private_topics(
        self, enabled: bool = True, *, users_can_create: bool | None = None, bot: BotRef = None
    ) -> None:
        """Switch a bot's topic mode in private chats (BotFather's setting; Bot API 9.3/9.4:
        getMe's ``has_topics_enabled`` and ``allows_users_to_create_topics``)."""
        account = self.get_bot(bot)
        account.has_topics_enabled = enabled
        if users_can_create is not None:
            account.allows_users_to_create_topics = users_can_create

    def set_bot_rights(self, chat: ChatRef, *, can_manage_topics: bool) -> None:
        """The bots' admin right to manage a forum's topics; without it a bot's send into a
        closed topic fails with 400 "TOPIC_CLOSED"."""
        self.get_chat(chat).bots_manage_topics = can_manage_topics

    def topics(self, chat: ChatRef, *, include_deleted: bool = False) -> list[JSON]:
        """Forum topics of a chat (with closed/deleted flags)."""
        chat_obj = self.get_chat(chat)
        return [t.summary() for t in chat_obj.topics.values() if include_deleted or not t.deleted]
