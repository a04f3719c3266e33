"""Forums as Telegram runs them at a large operator: several forum groups with a budget each,
topics in private chats (Bot API 9.3/9.4), a forum archived past its size, topics shut by an
admin, and several messages forwarded in one call."""

from __future__ import annotations

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError, TelegramRetryAfter

from emulator import Emulator
from emulator.client import EmulatorClient


async def test_several_forum_groups_keep_their_own_topics_and_budgets(
    bot: Bot, emu: Emulator
) -> None:
    """Two operators' groups: thread ids are per chat, and one group spending its 20 a minute
    (sends, edits and topic operations together) leaves the other's untouched."""
    agent = await emu.create_user("Agent")
    first = await emu.create_forum_group("Desk RU", agents=[agent])
    second = await emu.create_forum_group("Desk TG", agents=[agent])
    emu.set_limits(group_burst=3, group_per_minute=20)
    one = await bot.create_forum_topic(first.id, "ticket 1")
    two = await bot.create_forum_topic(second.id, "ticket 2")
    assert one.message_thread_id == two.message_thread_id  # ids are per chat
    card = await bot.send_message(first.id, "card", message_thread_id=one.message_thread_id)
    await bot.edit_message_text("card, claimed", chat_id=first.id, message_id=card.message_id)
    with pytest.raises(TelegramRetryAfter) as info:
        await bot.send_message(first.id, "over budget", message_thread_id=one.message_thread_id)
    assert info.value.retry_after == 3
    sent = await bot.send_message(second.id, "fine", message_thread_id=two.message_thread_id)
    assert sent.chat.id == second.id and sent.message_thread_id == two.message_thread_id
    assert [t["name"] for t in emu.topics(first)] == ["ticket 1"]
    assert [t["name"] for t in emu.topics(second)] == ["ticket 2"]


async def test_topics_in_a_private_chat_need_the_bots_topic_mode(bot: Bot, emu: Emulator) -> None:
    """Without topic mode createForumTopic in a private chat answers "the chat is not a forum";
    with it (getMe says so) the bot makes topics there, sends into them, renames and deletes
    them; the user's messages in one carry its thread id."""
    user = await emu.create_user("Agent", started=True)
    me = await bot.get_me()
    assert me.has_topics_enabled is False
    with pytest.raises(TelegramBadRequest, match="the chat is not a forum"):
        await bot.create_forum_topic(user.id, "Ticket #1")
    emu.set_private_topics(True)
    me = await bot.get_me()
    assert me.has_topics_enabled is True and me.allows_users_to_create_topics is True
    topic = await bot.create_forum_topic(user.id, "Ticket #1")
    sent = await bot.send_message(user.id, "history", message_thread_id=topic.message_thread_id)
    assert sent.message_thread_id == topic.message_thread_id and sent.is_topic_message
    reply = await emu.send_text(user, "my answer", thread_id=topic.message_thread_id)
    assert reply["message_thread_id"] == topic.message_thread_id and reply["is_topic_message"]
    updates = await bot.get_updates()
    assert updates[-1].message is not None
    assert updates[-1].message.message_thread_id == topic.message_thread_id
    await bot.edit_forum_topic(user.id, topic.message_thread_id, name="Ticket #1 · closed")
    with pytest.raises(TelegramBadRequest, match="the chat is not a forum"):
        await bot.close_forum_topic(user.id, topic.message_thread_id)  # supergroups only
    await bot.delete_forum_topic(user.id, topic.message_thread_id)
    with pytest.raises(TelegramBadRequest, match="message thread not found"):
        await bot.send_message(user.id, "gone?", message_thread_id=topic.message_thread_id)
    assert [t["name"] for t in emu.topics(user.id, include_deleted=True)] == ["Ticket #1 · closed"]


async def test_private_topics_refused_for_users_who_never_started_or_blocked_the_bot(
    bot: Bot, emu: Emulator
) -> None:
    emu.set_private_topics(True)
    stranger = await emu.create_user("Stranger")
    with pytest.raises(TelegramForbiddenError, match="bot can't initiate conversation"):
        await bot.create_forum_topic(stranger.id, "Ticket #2")
    gone = await emu.create_user("Gone", started=True)
    await emu.block_bot(gone)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.create_forum_topic(gone.id, "Ticket #3")


async def test_private_topics_cost_the_private_chats_budget(bot: Bot, emu: Emulator) -> None:
    """A private chat's budget (about 1 a second, a small burst) counts its topics' creation
    with its messages, and is its own: the group's 20 a minute are not touched."""
    emu.set_private_topics(True)
    user = await emu.create_user("Agent", started=True)
    group = await emu.create_forum_group("Desk", agents=[user])
    emu.set_limits(private_burst=2, group_burst=1)
    topic = await bot.create_forum_topic(user.id, "Ticket #1")
    await bot.send_message(user.id, "card", message_thread_id=topic.message_thread_id)
    with pytest.raises(TelegramRetryAfter):
        await bot.create_forum_topic(user.id, "Ticket #2")
    await bot.send_message(group.id, "the group's own budget")


async def test_users_create_topics_in_their_chat_only_when_the_bot_allows(
    bot: Bot, emu: Emulator
) -> None:
    user = await emu.create_user("Agent", started=True)
    emu.set_private_topics(True, users_can_create=False)
    assert (await bot.get_me()).allows_users_to_create_topics is False
    with pytest.raises(Exception, match="does not let users create topics"):
        await emu.create_topic(user, user.id, "mine")
    emu.set_private_topics(True, users_can_create=True)
    topic = await emu.create_topic(user, user.id, "mine")
    await emu.delete_topic(user.id, topic["message_thread_id"], by=user)
    assert emu.topics(user.id) == []


async def test_a_forum_past_its_size_archives_its_oldest_topics(bot: Bot, emu: Emulator) -> None:
    """Past N messages a forum's oldest are archived: a topic whose first message went fails
    every send, edit and close with "message thread not found"; newer topics carry on."""
    agent = await emu.create_user("Agent")
    group = await emu.create_forum_group("Desk", agents=[agent])
    emu.set_limits(enabled=False)
    old = await bot.create_forum_topic(group.id, "old ticket")
    card = await bot.send_message(group.id, "card", message_thread_id=old.message_thread_id)
    new = await bot.create_forum_topic(group.id, "new ticket")
    for i in range(3):
        await bot.send_message(group.id, f"busy {i}", message_thread_id=new.message_thread_id)
    newest = group.next_message_id - 1
    emu.set_forum_archive(newest - old.message_thread_id + 1)  # the old topic's first is kept
    assert not any(t["archived"] for t in emu.topics(group))
    await bot.send_message(group.id, "one more", message_thread_id=new.message_thread_id)
    archived = {t["name"]: t["archived"] for t in emu.topics(group)}
    assert archived == {"old ticket": True, "new ticket": False}
    assert emu.events_since(0, kinds=["topic_archived"])[0].thread_id == old.message_thread_id
    thread = old.message_thread_id
    with pytest.raises(TelegramBadRequest, match="message thread not found"):
        await bot.send_message(group.id, "still there?", message_thread_id=thread)
    with pytest.raises(TelegramBadRequest, match="message thread not found"):
        await bot.edit_message_text("card, edited", chat_id=group.id, message_id=card.message_id)
    with pytest.raises(TelegramBadRequest, match="message thread not found"):
        await bot.close_forum_topic(group.id, thread)
    with pytest.raises(TelegramBadRequest, match="message thread not found"):
        await bot.edit_forum_topic(group.id, thread, name="renamed")
    sent = await bot.send_message(group.id, "fine", message_thread_id=new.message_thread_id)
    assert sent.message_thread_id == new.message_thread_id


async def test_archiving_is_off_by_default(bot: Bot, emu: Emulator) -> None:
    group = await emu.create_forum_group("Desk")
    emu.set_limits(enabled=False)
    topic = await bot.create_forum_topic(group.id, "ticket")
    for i in range(30):
        await bot.send_message(group.id, f"m{i}", message_thread_id=topic.message_thread_id)
    assert emu.topics(group)[0]["archived"] is False


async def test_a_topic_closed_by_an_admin_refuses_a_bot_without_the_right_to_manage_topics(
    bot: Bot, emu: Emulator
) -> None:
    """A bot that may manage topics posts into a closed topic (as an admin does); without that
    right a human admin's close shuts it out: 400 "TOPIC_CLOSED"."""
    admin = await emu.create_user("Lead")
    group = await emu.create_forum_group("Desk", agents=[admin])
    group.admins.add(admin.id)
    topic = await bot.create_forum_topic(group.id, "ticket")
    thread = topic.message_thread_id
    await emu.close_topic(admin, group, thread)
    await bot.send_message(group.id, "an admin may", message_thread_id=thread)
    emu.set_bot_rights(group, can_manage_topics=False)
    member = await bot.get_chat_member(group.id, bot.id)
    assert getattr(member, "can_manage_topics", None) is False
    with pytest.raises(TelegramBadRequest, match="Bad Request: TOPIC_CLOSED"):
        await bot.send_message(group.id, "and now?", message_thread_id=thread)
    await emu.delete_topic(group, thread, by=admin)
    with pytest.raises(TelegramBadRequest, match="message thread not found"):
        await bot.send_message(group.id, "deleted", message_thread_id=thread)


async def test_forward_messages_in_one_call(bot: Bot, emu: Emulator) -> None:
    """forwardMessages / copyMessages: several messages of one chat, in order, skipping what
    can't be found; each forwarded message costs the target chat's budget."""
    user = await emu.create_user("Subscriber")
    group = await emu.create_forum_group("Desk")
    topic = await bot.create_forum_topic(group.id, "ticket")
    first = await emu.send_text(user, "first")
    answer = await bot.send_message(user.id, "an answer")
    second = await emu.send_text(user, "second")
    ids = [first["message_id"], answer.message_id, second["message_id"], 999]
    sent = await bot.forward_messages(
        group.id, user.id, ids, message_thread_id=topic.message_thread_id
    )
    assert len(sent) == 3
    texts = [m.get("text") for m in emu.messages(group, topic.message_thread_id, from_bot=True)]
    assert texts[-3:] == ["first", "an answer", "second"]
    forwarded = emu.messages(group, topic.message_thread_id, from_bot=True)[-1]
    assert forwarded["forward_origin"]["sender_user"]["id"] == user.id
    copies = await bot.copy_messages(group.id, user.id, ids[:2])
    copied = emu.messages(group, from_bot=True)[-1]
    assert len(copies) == 2 and "forward_origin" not in copied
    # more messages than the group's burst: they go once its bucket is full, each counted,
    # and leave it in debt (a batch larger than the burst never going would starve the chat)
    emu.set_limits(group_burst=2, group_per_minute=20)
    emu.reset_limits()
    assert len(await bot.forward_messages(group.id, user.id, ids[:3])) == 3
    before = len(emu.messages(group))
    with pytest.raises(TelegramRetryAfter) as refused:
        await bot.forward_messages(group.id, user.id, ids[:2])
    assert len(emu.messages(group)) == before  # all or nothing
    assert refused.value.retry_after >= 6  # three a minute's worth of debt and one more
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(group.id, "one more")


async def test_control_api_switches_topics_archiving_and_rights(emu: Emulator) -> None:
    agent = await emu.create_user("Agent")
    group = await emu.create_forum_group("Desk", agents=[agent])
    async with EmulatorClient(emu.base_url) as client:
        me = await client.set_private_topics(True, users_can_create=False)
        assert me["has_topics_enabled"] is True and me["allows_users_to_create_topics"] is False
        assert (await client.set_forum_archive(1000)) == {"after": 1000}
        await client.set_bot_rights(group.id, can_manage_topics=False)
    assert emu.default_bot.has_topics_enabled and emu.forum_archive_after == 1000
    assert group.bots_manage_topics is False


async def test_constructor_options() -> None:
    emu = Emulator(private_topics=True, forum_archive_after=10)
    assert emu.default_bot.get_me()["has_topics_enabled"] is True
    assert emu.forum_archive_after == 10
