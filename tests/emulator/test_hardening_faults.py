"""Faults the hardening tests need: a response lost after the call took effect, the bot
removed from its group, and Telegram's lengths counted in UTF-16 units."""

from __future__ import annotations

import pytest
from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramServerError,
)
from aiogram.types import BotCommand

from emulator import Emulator, EmulatorClient


async def test_lost_response_after_the_call_took_effect(bot: Bot, emu: Emulator) -> None:
    agent = await emu.create_user("Agent")
    group = await emu.create_forum_group("Operators", agents=[agent])
    user = await emu.create_user("Lost", started=True)
    emu.inject_lost_response(["sendMessage", "createForumTopic"], count=2)
    with pytest.raises(TelegramNetworkError):
        await bot.send_message(user.id, "sent, but the bot can't know")
    with pytest.raises(TelegramNetworkError):
        await bot.create_forum_topic(group.id, "#1 Lost")
    assert [m["text"] for m in emu.bot_messages(user.id)] == ["sent, but the bot can't know"]
    assert [t["name"] for t in emu.topics(group.id)] == ["#1 Lost"]
    lost = [c for c in emu.calls() if c.get("fault") == "drop"]
    assert [c["method"] for c in lost] == ["sendMessage", "createForumTopic"]
    assert (await bot.send_message(user.id, "next one")).text == "next one"  # rule spent


async def test_bot_removed_from_the_group(bot: Bot, emu: Emulator) -> None:
    owner = await emu.create_user("Owner")
    agent = await emu.create_user("Agent")
    group = await emu.create_forum_group("Operators", agents=[owner, agent])
    user = await emu.create_user("Subscriber", started=True)
    await bot.send_message(group.id, "still here")
    seen = await bot.get_updates(timeout=0)
    offset = seen[-1].update_id + 1 if seen else None

    await emu.remove_bot_from(group.id)
    updates = await bot.get_updates(offset=offset, timeout=0)
    left = [u.message for u in updates if u.message and u.message.left_chat_member]
    assert [m.left_chat_member.id for m in left] == [bot.id]
    change = [u.my_chat_member for u in updates if u.my_chat_member]
    assert len(change) == 1 and change[0].chat.id == group.id
    assert change[0].from_user.id == owner.id
    assert change[0].old_chat_member.status == "administrator"
    assert change[0].new_chat_member.status == "kicked"

    kicked = "Forbidden: bot was kicked from the supergroup chat"
    with pytest.raises(TelegramForbiddenError, match=kicked):
        await bot.send_message(group.id, "anyone?")
    with pytest.raises(TelegramForbiddenError, match=kicked):
        await bot.create_forum_topic(group.id, "#2 New")
    with pytest.raises(TelegramForbiddenError, match=kicked):
        await bot.get_chat(group.id)
    # the 403 is the group's: the subscriber's chat is as it was
    assert (await bot.send_message(user.id, "to the subscriber")).text == "to the subscriber"
    await emu.send_text(agent, "the bot does not see this", chat=group.id)
    last = updates[-1].update_id
    assert not [u for u in await bot.get_updates(offset=last + 1, timeout=0) if u.message]

    await emu.add_bot_to(group.id, by=owner)
    back = await bot.get_updates(offset=last + 1, timeout=0)
    rejoined = [u.my_chat_member for u in back if u.my_chat_member]
    assert [(m.old_chat_member.status, m.new_chat_member.status) for m in rejoined] == [
        ("kicked", "administrator")
    ]
    assert (await bot.send_message(group.id, "back")).text == "back"


async def test_bot_removal_through_the_control_api(bot: Bot, emu: Emulator) -> None:
    owner = await emu.create_user("Owner")
    group = await emu.create_forum_group("Operators", agents=[owner])
    async with EmulatorClient(emu.base_url) as client:
        chat = await client.remove_bot_from(group.id)
        assert chat["kicked_bot_ids"] == [bot.id] and chat["bot_ids"] == []
        with pytest.raises(TelegramForbiddenError, match="bot was kicked from the supergroup"):
            await bot.send_message(group.id, "x")
        kinds = [e.kind for e in emu.events_since(0, kinds=["bot_removed", "bot_added"])]
        await client.add_bot_to(group.id)
        assert (await bot.send_message(group.id, "ok")).text == "ok"
    assert kinds == ["bot_removed"]


async def test_lengths_are_utf16_units_with_telegrams_errors(bot: Bot, emu: Emulator) -> None:
    user = await emu.create_user("Emoji", started=True)
    agent = await emu.create_user("Agent")
    group = await emu.create_forum_group("Operators", agents=[agent])
    assert len((await bot.send_message(user.id, "😀" * 2048)).text) == 2048  # 4,096 units
    with pytest.raises(TelegramBadRequest, match="Bad Request: message is too long"):
        await bot.send_message(user.id, "😀" * 2049)  # 2,049 characters, 4,098 units
    with pytest.raises(TelegramBadRequest, match="Bad Request: message is too long"):
        await bot.send_message(user.id, "<b>" + "😀" * 2049 + "</b>", parse_mode="HTML")
    topic = await bot.create_forum_topic(group.id, "😀" * 64)  # 128 units
    with pytest.raises(TelegramBadRequest, match="Bad Request: TOPIC_TITLE_TOO_LONG"):
        await bot.create_forum_topic(group.id, "😀" * 65)
    with pytest.raises(TelegramBadRequest, match="Bad Request: TOPIC_TITLE_TOO_LONG"):
        await bot.edit_forum_topic(group.id, topic.message_thread_id, name="#1 " + "😀" * 63)
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_DESCRIPTION_INVALID"):
        await bot.set_my_commands([BotCommand(command="x", description="😀" * 129)])
    assert await bot.set_my_commands([BotCommand(command="x", description="😀" * 128)])


async def test_integers_out_of_telegrams_range_are_a_bad_request(emu: Emulator) -> None:
    import aiohttp

    user = await emu.create_user("Numbers", started=True)
    url = f"{emu.base_url}/bot{emu.token}/sendMessage"
    cases = [
        ({"chat_id": "1" * 30, "text": "x"}, "Bad Request: chat not found"),
        ({"chat_id": "²", "text": "x"}, "Bad Request: chat not found"),
        ({"chat_id": user.id, "text": "x", "message_thread_id": 10**30}, "invalid"),
        ({"chat_id": user.id, "text": "x", "message_thread_id": "1e400"}, "invalid"),
        ({"chat_id": user.id, "text": "x", "reply_to_message_id": "9" * 5000}, "invalid"),
    ]
    async with aiohttp.ClientSession() as http:
        for params, error in cases:
            async with http.post(url, data={k: str(v) for k, v in params.items()}) as resp:
                body = await resp.json()
                assert resp.status == 400 and error in body["description"], (params, body)
        mention = {
            "chat_id": user.id,
            "text": '<a href="tg://user?id=²">x</a>',
            "parse_mode": "HTML",
        }
        async with http.post(url, data={k: str(v) for k, v in mention.items()}) as resp:
            assert resp.status == 200  # not a user id Telegram reads: no mention, no crash


async def test_a_fault_can_start_part_way_through_a_burst(bot: Bot, emu: Emulator) -> None:
    user = await emu.create_user("Burst", started=True)
    emu.faults.add("error", "sendMessage", count=1, status=502, after=2)
    assert (await bot.send_message(user.id, "one")).text == "one"
    assert (await bot.send_message(user.id, "two")).text == "two"
    with pytest.raises(TelegramServerError):
        await bot.send_message(user.id, "three")
    assert (await bot.send_message(user.id, "four")).text == "four"  # spent
    assert [m["text"] for m in emu.bot_messages(user.id)] == ["one", "two", "four"]
