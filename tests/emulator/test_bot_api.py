"""The Bot API surface as seen by a real aiogram Bot: shapes, long polling and rejections."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import aiohttp
import pytest
from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyParameters,
)

from emulator import Emulator
from emulator.media import tiny_png

BotFactory = Callable[..., Bot]


async def test_get_me(bot: Bot, emu: Emulator) -> None:
    me = await bot.get_me()
    assert me.id == emu.default_bot.id
    assert me.is_bot
    assert me.username == emu.default_bot.username


async def test_long_polling_echo_round_trip(echo_bot: Bot, emu: Emulator) -> None:
    user = await emu.create_user("Ann", language_code="ru")
    await emu.send_text(user, "hello there")
    reply = await emu.wait_for_bot_message(user.id)
    assert reply["text"] == "hello there"
    assert reply["chat"] == {"id": user.id, "type": "private", "first_name": "Ann"}
    assert reply["from"]["is_bot"] is True

    await emu.send_text(user, "/start")
    greeting = await emu.wait_for_bot_message(user.id)
    assert greeting["text"] == "Hello, Ann!"
    assert greeting["entities"] == [{"offset": 7, "length": 3, "type": "bold"}]
    urls = [b["url"] for b in emu.buttons(greeting) if "url" in b]
    assert urls == ["https://example.com/help"]


async def test_callback_press_is_answered(echo_bot: Bot, emu: Emulator) -> None:
    user = await emu.create_user("Bob")
    await emu.send_text(user, "/start")
    greeting = await emu.wait_for_bot_message(user.id)
    since = emu.cursor()
    query_id = await emu.press_button(user, greeting, "vote:yes")
    answer = await emu.wait_for_callback_answer(query_id)
    assert answer["text"] == "pressed vote:yes"
    edited = await emu.wait_for_bot_edit(user.id, message_id=greeting["message_id"], since=since)
    assert edited["text"] == "You voted yes"
    assert "reply_markup" not in edited  # editMessageText without markup drops the keyboard
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await echo_bot.answer_callback_query(query_id)  # already answered


async def test_unknown_method_and_bad_token(emu: Emulator, bot_factory: BotFactory) -> None:
    async with aiohttp.ClientSession() as http:
        url = f"{emu.base_url}/bot{emu.token}/sendTelepathy"
        async with http.post(url, json={"chat_id": 1}) as resp:
            assert resp.status == 404
            assert await resp.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
        async with http.get(f"{emu.base_url}/bot{emu.token}/GETME") as resp:
            assert (await resp.json())["result"]["id"] == emu.default_bot.id
    stranger = bot_factory(token="42:not-a-registered-token")
    with pytest.raises(TelegramUnauthorizedError, match="Unauthorized"):
        await stranger.get_me()


async def test_request_encodings(emu: Emulator) -> None:
    user = await emu.create_user("Enc", started=True)
    markup = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    base = f"{emu.base_url}/bot{emu.token}"
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{base}/sendMessage", json={"chat_id": user.id, "text": "json", "reply_markup": markup}
        ) as resp:
            assert (await resp.json())["result"]["reply_markup"] == markup
        form = {"chat_id": str(user.id), "text": "form", "reply_markup": json.dumps(markup)}
        async with http.post(f"{base}/sendMessage", data=form) as resp:
            assert (await resp.json())["result"]["reply_markup"] == markup
        async with http.get(
            f"{base}/sendMessage", params={"chat_id": user.id, "text": "q"}
        ) as resp:
            assert (await resp.json())["result"]["text"] == "q"
    assert [m["text"] for m in emu.bot_messages(user.id)] == ["json", "form", "q"]


async def test_get_updates_offset_timeout_and_limit(emu: Emulator, bot: Bot) -> None:
    user = await emu.create_user("Poll")
    for text in ("one", "two", "three"):
        await emu.send_text(user, text)
    first = await bot.get_updates(timeout=30, limit=2)  # returns at once: updates exist
    assert [u.message.text for u in first if u.message] == ["one", "two"]
    rest = await bot.get_updates(offset=first[-1].update_id + 1, timeout=0)
    assert [u.message.text for u in rest if u.message] == ["three"]
    empty = await bot.get_updates(offset=rest[-1].update_id + 1, timeout=0)
    assert empty == []
    await emu.send_text(user, "four")
    filtered = await bot.get_updates(
        offset=rest[-1].update_id + 1, timeout=0, allowed_updates=["callback_query"]
    )
    assert [u.message.text for u in filtered if u.message] == ["four"]  # already queued
    info = await bot.get_webhook_info()
    assert info.pending_update_count == 1
    await bot.delete_webhook(drop_pending_updates=True)
    assert (await bot.get_webhook_info()).pending_update_count == 0
    await bot.set_webhook("https://example.com/hook")
    with pytest.raises(TelegramConflictError, match="webhook is active"):
        await bot.get_updates()
    await bot.delete_webhook()


async def test_bad_html_and_limits_are_rejected(bot: Bot, emu: Emulator) -> None:
    user = await emu.create_user("Strict", started=True)
    with pytest.raises(TelegramBadRequest, match="can't parse entities: Can't find end tag"):
        await bot.send_message(user.id, "<b>unclosed", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match='Unsupported start tag "br"'):
        await bot.send_message(user.id, "line<br>", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(user.id, "x" * 4097)
    assert (await bot.send_message(user.id, "x" * 4096)).text == "x" * 4096
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(user.id, "  \n ")
    with pytest.raises(TelegramBadRequest, match="message caption is too long"):
        await bot.send_photo(user.id, BufferedInputFile(tiny_png(), "p.png"), caption="c" * 1025)
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="big", callback_data="d" * 65)]]
    )
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(user.id, "buttons", reply_markup=keyboard)
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(999_999_999, "nobody")
    stranger = await emu.create_user("Never started")
    with pytest.raises(TelegramForbiddenError, match="bot can't initiate conversation"):
        await bot.send_message(stranger.id, "hi")


async def test_blocked_user_gets_403(bot: Bot, emu: Emulator) -> None:
    user = await emu.create_user("Blocker")
    await emu.send_text(user, "hi")
    await emu.block_bot(user)
    with pytest.raises(TelegramForbiddenError, match="Forbidden: bot was blocked by the user"):
        await bot.send_message(user.id, "are you there?")
    updates = await bot.get_updates()
    member = updates[-1].my_chat_member
    assert member is not None and member.new_chat_member.status == "kicked"
    await emu.unblock_bot(user)
    assert (await bot.send_message(user.id, "welcome back")).text == "welcome back"


async def test_private_flood_limit_raises_retry_after(bot: Bot, emu: Emulator) -> None:
    user = await emu.create_user("Flood", started=True)
    burst = emu.limits.private_burst
    for i in range(burst):
        await bot.send_message(user.id, f"msg {i}")
    with pytest.raises(TelegramRetryAfter) as info:
        await bot.send_message(user.id, "one too many")
    assert info.value.retry_after >= 1
    assert "Too Many Requests: retry after" in info.value.message
    emu.set_limits(enabled=False)
    await bot.send_message(user.id, "limits off")


async def test_group_limit_per_minute(bot: Bot, emu: Emulator) -> None:
    group = await emu.create_group("Busy", forum=False)
    emu.set_limits(group_burst=3, group_per_minute=20)
    for i in range(3):
        await bot.send_message(group.id, f"g{i}")
    with pytest.raises(TelegramRetryAfter) as info:
        await bot.send_message(group.id, "g3")
    assert info.value.retry_after == 3  # one message every 3 s at 20/min


async def test_edits_and_topic_operations_share_the_groups_budget(bot: Bot, emu: Emulator) -> None:
    """Telegram counts a group's edits and its topics' service messages (created, renamed,
    closed) with its messages: 20 a minute together (tdlib/td#2592)."""
    group = await emu.create_forum_group("Desk")
    emu.set_limits(group_burst=4, group_per_minute=20)
    sent = await bot.send_message(group.id, "card")
    await bot.edit_message_text("card, edited", chat_id=group.id, message_id=sent.message_id)
    topic = await bot.create_forum_topic(group.id, "ticket")
    await bot.close_forum_topic(group.id, topic.message_thread_id)
    for refused in (
        bot.edit_message_text("again", chat_id=group.id, message_id=sent.message_id),
        bot.reopen_forum_topic(group.id, topic.message_thread_id),
        bot.create_forum_topic(group.id, "another"),
        bot.send_message(group.id, "one more"),
    ):
        with pytest.raises(TelegramRetryAfter) as info:
            await refused
        assert info.value.retry_after == 3
    assert len(emu.topics(group.id)) == 1  # the refused operations did nothing


async def test_photo_upload_get_file_and_download(bot: Bot, emu: Emulator) -> None:
    user = await emu.create_user("Pics", started=True)
    png = tiny_png(64, 48)
    sent = await bot.send_photo(
        user.id, BufferedInputFile(png, "chart.png"), caption="<i>c</i>", parse_mode="HTML"
    )
    assert sent.photo and sent.photo[-1].width == 64 and sent.photo[-1].height == 48
    assert (
        sent.caption == "c" and sent.caption_entities and sent.caption_entities[0].type == "italic"
    )
    call = emu.calls("sendPhoto")[-1]
    assert call["params"]["photo"]["upload"] == "chart.png"  # sent as a multipart part
    file = await bot.get_file(sent.photo[-1].file_id)
    assert file.file_path and file.file_size == len(png)
    downloaded = await bot.download_file(file.file_path)
    assert downloaded is not None and downloaded.read() == png
    again = await bot.send_photo(user.id, sent.photo[-1].file_id)  # reuse by file_id
    assert again.photo
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await bot.send_document(user.id, "no-such-file-id")

    incoming = await emu.send_photo(user, b"\x89PNG-not-really", caption="from user")
    file_id = incoming["photo"][-1]["file_id"]
    user_file = await bot.get_file(file_id)
    assert (await bot.download_file(user_file.file_path or "")).read() == b"\x89PNG-not-really"


async def test_send_media_group_and_other_media(bot: Bot, emu: Emulator) -> None:
    user = await emu.create_user("Album", started=True)
    emu.set_limits(enabled=False)  # many sends in a row to one chat
    media = [
        InputMediaPhoto(media=BufferedInputFile(tiny_png(), "a.png"), caption="first"),
        InputMediaPhoto(media=BufferedInputFile(tiny_png(3, 3), "b.png")),
    ]
    messages = await bot.send_media_group(user.id, media)
    assert len(messages) == 2
    assert messages[0].media_group_id == messages[1].media_group_id is not None
    assert messages[0].caption == "first" and messages[1].caption is None
    doc = await bot.send_document(user.id, BufferedInputFile(b"report", "r.txt"))
    assert doc.document and doc.document.file_name == "r.txt"
    voice = await bot.send_voice(user.id, BufferedInputFile(b"OggS", "v.ogg"), duration=3)
    assert voice.voice and voice.voice.duration == 3
    sticker = await bot.send_sticker(user.id, "https://example.com/s.webp")
    assert sticker.sticker and sticker.sticker.width == 512
    location = await bot.send_location(user.id, 38.56, 68.78)
    assert location.location and location.location.latitude == 38.56
    contact = await bot.send_contact(user.id, "+992900000001", "Support")
    assert contact.contact and contact.contact.phone_number == "+992900000001"
    copied = await bot.copy_message(user.id, user.id, doc.message_id)
    assert emu.messages(user.id)[-1]["message_id"] == copied.message_id
    forwarded = await bot.forward_message(user.id, user.id, location.message_id)
    assert forwarded.forward_origin is not None


async def test_edit_delete_and_not_modified(bot: Bot, emu: Emulator) -> None:
    user = await emu.create_user("Editor", started=True)
    kb = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="x", callback_data="x")]])
    sent = await bot.send_message(user.id, "v1", reply_markup=kb)
    edited = await bot.edit_message_text(
        "v2", chat_id=user.id, message_id=sent.message_id, reply_markup=kb
    )
    assert edited.text == "v2" and edited.edit_date is not None
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(
            "v2", chat_id=user.id, message_id=sent.message_id, reply_markup=kb
        )
    await bot.edit_message_reply_markup(chat_id=user.id, message_id=sent.message_id)
    assert "reply_markup" not in emu.messages(user.id)[-1]
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("v3", chat_id=user.id, message_id=9999)
    assert await bot.delete_message(user.id, sent.message_id)
    assert emu.messages(user.id) == []
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(user.id, sent.message_id)


async def test_replies(bot: Bot, emu: Emulator) -> None:
    user = await emu.create_user("Replier")
    question = await emu.send_text(user, "question?")
    answer = await bot.send_message(
        user.id, "answer", reply_parameters=ReplyParameters(message_id=question["message_id"])
    )
    assert answer.reply_to_message and answer.reply_to_message.text == "question?"
    legacy = await bot.send_message(user.id, "again", reply_to_message_id=question["message_id"])
    assert legacy.reply_to_message and legacy.reply_to_message.message_id == question["message_id"]
    with pytest.raises(TelegramBadRequest, match="message to be replied not found"):
        await bot.send_message(user.id, "x", reply_parameters=ReplyParameters(message_id=999))
    lenient = ReplyParameters(message_id=999, allow_sending_without_reply=True)
    assert (await bot.send_message(user.id, "y", reply_parameters=lenient)).reply_to_message is None


async def test_commands_chat_action_and_reply_keyboard(bot: Bot, emu: Emulator) -> None:
    user = await emu.create_user("Cmd", started=True)
    await bot.set_my_commands([BotCommand(command="start", description="Start")])
    assert [c.command for c in await bot.get_my_commands()] == ["start"]
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Bad Command", description="x")])
    assert await bot.send_chat_action(user.id, "typing")
    keyboard = ReplyKeyboardMarkup(keyboard=[[KeyboardButton(text="Русский")]])
    await bot.send_message(user.id, "Choose language", reply_markup=keyboard)
    assert emu.reply_keyboard(user.id)["keyboard"] == [[{"text": "Русский"}]]
    assert "reply_markup" not in emu.messages(user.id)[-1]  # only inline keyboards are echoed
    await emu.press_reply_button(user, "Русский")
    assert emu.messages(user.id)[-1]["text"] == "Русский"


async def test_forum_topics_and_deleted_thread(bot: Bot, emu: Emulator) -> None:
    agent = await emu.create_user("Agent")
    outsider = await emu.create_user("Outsider")
    group = await emu.create_forum_group("Operators", agents=[agent])
    topic = await bot.create_forum_topic(group.id, "Ticket #1 · Ann")
    sent = await bot.send_message(group.id, "new ticket", message_thread_id=topic.message_thread_id)
    assert sent.message_thread_id == topic.message_thread_id and sent.is_topic_message
    assert sent.reply_to_message is not None  # Telegram's forum quirk: points at the topic root
    assert sent.reply_to_message.forum_topic_created is not None

    reply = await emu.send_text(agent, "on it", chat=group, reply_to=sent.message_id)
    assert reply["message_thread_id"] == topic.message_thread_id
    updates = await bot.get_updates()
    assert updates[-1].message and updates[-1].message.reply_to_message
    assert updates[-1].message.reply_to_message.message_id == sent.message_id

    member = await bot.get_chat_member(group.id, agent.id)
    assert member.status == "creator"
    assert (await bot.get_chat_member(group.id, outsider.id)).status == "left"
    admins = await bot.get_chat_administrators(group.id)
    assert {a.user.id for a in admins} == {agent.id, emu.default_bot.id}
    chat = await bot.get_chat(group.id)
    assert chat.is_forum

    await bot.edit_forum_topic(group.id, topic.message_thread_id, name="Ticket #1 · closed")
    await bot.close_forum_topic(group.id, topic.message_thread_id)
    with pytest.raises(TelegramBadRequest, match="TOPIC_NOT_MODIFIED"):
        await bot.close_forum_topic(group.id, topic.message_thread_id)
    await bot.reopen_forum_topic(group.id, topic.message_thread_id)

    await emu.delete_topic(group, topic.message_thread_id, by=agent)
    with pytest.raises(TelegramBadRequest, match="message thread not found"):
        await bot.send_message(group.id, "anyone?", message_thread_id=topic.message_thread_id)
    second = await bot.create_forum_topic(group.id, "Ticket #2")
    await bot.delete_forum_topic(group.id, second.message_thread_id)
    assert [t["name"] for t in emu.topics(group)] == []
    with pytest.raises(TelegramBadRequest, match="the chat is not a forum"):
        plain = await emu.create_group("Plain", forum=False)
        await bot.create_forum_topic(plain.id, "x")


async def test_concurrent_get_updates_conflict(
    emu: Emulator, bot: Bot, bot_factory: BotFactory
) -> None:
    since = emu.cursor()
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await emu.wait_for_event(lambda e: e.kind == "poll", since=since)  # first one is waiting
    second = asyncio.create_task(bot_factory().get_updates(timeout=0))
    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates request"):
        await first
    assert await second == []
