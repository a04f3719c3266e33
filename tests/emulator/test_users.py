"""The simulated-user side: update shapes, cursors/inboxes and membership rules."""

from __future__ import annotations

import asyncio

import pytest
from aiogram import Bot

from emulator import Emulator, EmulatorError, EmulatorTimeout


async def test_user_updates_have_telegram_shapes(bot: Bot, emu: Emulator) -> None:
    user = await emu.create_user("Zarina", last_name="K", username="zarina", language_code="tg")
    sent = await emu.send_text(user, "/start promo")
    photo = await emu.send_photo(user, caption="screenshot")
    album = await emu.send_media_group(user, [b"one", b"two"], caption="album")
    voice = await emu.send_voice(user, duration=4)
    doc = await emu.send_document(user, b"%PDF", filename="bill.pdf")
    await emu.send_sticker(user)
    await emu.send_location(user, 38.5, 68.7)
    await emu.send_contact(user, "+992901234567")
    await emu.edit_message(user, sent, "/start other")

    updates = await bot.get_updates()
    messages = [u.message for u in updates if u.message]
    assert len(messages) == 9
    first = messages[0]
    assert first.from_user and first.from_user.language_code == "tg"
    assert first.entities and first.entities[0].type == "bot_command"
    assert messages[1].photo and messages[1].caption == "screenshot"
    assert messages[2].media_group_id == messages[3].media_group_id
    assert messages[2].caption == "album" and messages[3].caption is None
    assert messages[4].voice and messages[4].voice.duration == 4
    assert messages[5].document and messages[5].document.mime_type == "application/pdf"
    assert messages[6].sticker and messages[7].location and messages[8].contact
    assert messages[8].contact.user_id == user.id
    edited = updates[-1].edited_message
    assert edited is not None and edited.text == "/start other" and edited.edit_date
    assert photo["photo"][-1]["file_id"] != album[0]["photo"][-1]["file_id"]
    assert voice["voice"]["mime_type"] == "audio/ogg" and doc["document"]["file_name"] == "bill.pdf"


async def test_inbox_cursor_never_misses_or_repeats(bot: Bot, emu: Emulator) -> None:
    user = await emu.create_user("Cursor", started=True)
    await bot.send_message(user.id, "early")
    inbox = emu.inbox(user.id)  # starts now: "early" is not in it
    assert inbox.pending() == []
    await bot.send_message(user.id, "one")
    await bot.send_message(user.id, "two")
    assert [m["text"] for m in await inbox.take(2)] == ["one", "two"]
    waiter = asyncio.create_task(inbox.next(timeout=5))
    await bot.send_message(user.id, "three")
    assert (await waiter)["text"] == "three"
    # the implicit per-chat queue starts at the beginning and consumes in order
    assert (await emu.wait_for_bot_message(user.id))["text"] == "early"
    assert (await emu.wait_for_bot_message(user.id))["text"] == "one"
    since = emu.cursor()
    with pytest.raises(EmulatorTimeout, match="no bot message in chat"):
        await emu.wait_for_bot_message(user.id, since=since, timeout=0.05)
    later = await emu.wait_for_bot_messages(user.id, 2, since=0)
    assert [m["text"] for m in later] == ["early", "one"]


async def test_predicate_and_threads(bot: Bot, emu: Emulator) -> None:
    agent = await emu.create_user("Agent")
    group = await emu.create_forum_group(agents=[agent])
    topic = await bot.create_forum_topic(group.id, "Ticket")
    since = emu.cursor()
    await bot.send_message(group.id, "general chatter")
    await bot.send_message(group.id, "ticket text", message_thread_id=topic.message_thread_id)
    in_topic = await emu.wait_for_bot_message(group, thread_id=topic.message_thread_id, since=since)
    assert in_topic["text"] == "ticket text"
    matched = await emu.wait_for_bot_message(
        group, since=since, predicate=lambda m: "chatter" in m.get("text", "")
    )
    assert matched["text"] == "general chatter"
    texts = [m.get("text") for m in emu.messages(group, topic.message_thread_id)]
    assert texts == [None, "ticket text"]  # the topic's service message comes first


async def test_membership_and_topic_rules(bot: Bot, emu: Emulator) -> None:
    agent = await emu.create_user("Agent")
    outsider = await emu.create_user("Outsider")
    group = await emu.create_forum_group(agents=[agent])
    with pytest.raises(EmulatorError, match="not a member"):
        await emu.send_text(outsider, "let me in", chat=group)
    topic = await emu.create_topic(agent, group, "Agent topic")
    await emu.close_topic(agent, group, topic["message_thread_id"])
    await emu.add_member(group, outsider)
    with pytest.raises(EmulatorError, match="TOPIC_CLOSED"):
        await emu.send_text(outsider, "closed?", chat=group, thread_id=topic["message_thread_id"])
    await bot.send_message(
        group.id, "bots are admins", message_thread_id=topic["message_thread_id"]
    )
    updates = await bot.get_updates()
    created = [u.message for u in updates if u.message and u.message.forum_topic_created]
    assert created and created[0].forum_topic_created.name == "Agent topic"  # type: ignore[union-attr]
    assert any(u.message and u.message.forum_topic_closed for u in updates)
    await emu.block_bot(agent)
    with pytest.raises(EmulatorError, match="blocked"):
        await emu.send_text(agent, "hi")


async def test_press_button_validation(bot: Bot, emu: Emulator) -> None:
    from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

    user = await emu.create_user("Presser", started=True)
    kb = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Open", url="https://example.com")]]
    )
    sent = await bot.send_message(user.id, "menu", reply_markup=kb)
    with pytest.raises(EmulatorError, match="no inline button"):
        await emu.press_button(user, sent.message_id, "nope")
    with pytest.raises(EmulatorError, match="not a callback button"):
        await emu.press_button(user, sent.message_id, text="Open")
    query_id = await emu.press_button(user, sent.message_id, "forged", strict=False)
    updates = await bot.get_updates()
    assert updates[-1].callback_query and updates[-1].callback_query.id == query_id
    assert updates[-1].callback_query.data == "forged"
    emu.callback_ttl = 0.0  # the query is now "too old"
    from aiogram.exceptions import TelegramBadRequest

    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(query_id)
