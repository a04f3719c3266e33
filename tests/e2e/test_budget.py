"""The group's budget at Telegram's real 20 a minute, spent on what matters first: a
subscriber's message to an agent goes before a card refresh, texts waiting together go as one
message (a photo never merged into them), and a card edit a later edit supersedes never goes
out. A burst of 2 (the hand-off's topic and card, then one call every 3 s) makes every later
call wait."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.desk.relay import SEPARATOR
from emulator import Emulator
from tests.e2e.conftest import Desk, open_desk, settled
from tests.e2e.test_desk import handed_off, press


def _one_at_a_time(config: Any) -> None:
    config.telegram.limits.group_per_minute = 20
    config.telegram.limits.group_burst = 3  # paced: two at once (bot.pacing.paced_burst)


@pytest.fixture
async def tight_desk(emu: Emulator, tmp_path: Path) -> AsyncIterator[Desk]:
    emu.set_limits(group_per_minute=20, group_burst=3)
    async with open_desk(emu, tmp_path, _one_at_a_time, names=("Dilnoza",)) as env:
        yield env


def _group_ops(emu: Emulator, group_id: int, since: int) -> list[dict]:
    """What reached the group's budget since ``since``, in order: each paced call Telegram
    took (sends, edits, topic operations)."""
    return [
        c
        for c in emu.calls(since=since)
        if c.get("ok")
        and str(c["params"].get("chat_id")) == str(group_id)
        and not c["method"].startswith("get")
    ]


async def test_a_waiting_relay_goes_before_a_card_refresh_and_waiting_texts_go_as_one(
    tight_desk: Desk,
) -> None:
    desk, emu = tight_desk, tight_desk.emu
    person, card = await handed_off(desk)
    since = emu.cursor()
    await press(desk, desk.agents[0], card, "Взять")  # the card's refresh waits for the group
    await emu.wait_for_call("answerCallbackQuery", since=since)
    for text in ("первое", "второе", "третье"):
        await emu.send_text(person.user, text)
    await emu.send_photo(person.user, caption="фото")
    topic = emu.inbox(desk.group.id, thread_id=card["message_thread_id"], since=since)
    first = await topic.next(timeout=20)
    joined = await topic.next(timeout=20)
    photo = await topic.next(timeout=20)
    assert first["text"] == "первое"  # taken at once, alone
    assert joined["text"].split(SEPARATOR) == ["второе", "третье"]  # waited together
    assert photo.get("photo") and photo.get("caption") == "фото"  # media never merged
    edit = await emu.wait_for_call("editMessageText", since=since, timeout=20)
    ops = _group_ops(emu, desk.group.id, since)
    methods = [c["method"] for c in ops]
    # the refresh asked first and went after all three relays
    assert methods[:4] == ["copyMessage", "sendMessage", "copyMessage", "editMessageText"]
    assert int(edit["params"]["message_id"]) == card["message_id"]
    # each part's record points at the message it went out in: an agent's reply finds it
    records = await desk.dono.store.messages(1)
    parts = {r.user_chat_message_id: r.group_message_id for r in records if r.direction == "in"}
    assert sorted(set(parts.values())) == sorted(
        {first["message_id"], joined["message_id"], photo["message_id"]}
    )
    assert len(parts) == 4


async def test_a_card_edit_superseded_while_waiting_never_goes_out(tight_desk: Desk) -> None:
    desk, emu = tight_desk, tight_desk.emu
    _, card = await handed_off(desk)
    since = emu.cursor()
    topic = emu.inbox(desk.group.id, thread_id=card["message_thread_id"], since=since)
    # claimed, then closed at once: the card's "claimed" refresh is still waiting for the
    # group when the "closed" one comes, and only the latter is sent
    await press(desk, desk.agents[0], card, "Взять")
    await press(desk, desk.agents[0], card, "Закрыть")
    # the claim's notice follows its refresh: by then that refresh is out, or dropped
    await topic.next(timeout=20, predicate=lambda m: "у оператора" in (m.get("text") or ""))
    edits = [
        c
        for c in _group_ops(emu, desk.group.id, since)
        if c["method"] == "editMessageText" and int(c["params"]["message_id"]) == card["message_id"]
    ]
    assert len(edits) == 1
    assert "Закрыт" in edits[0]["params"]["text"] or "закрыт" in edits[0]["params"]["text"]
    ticket = await desk.dono.store.get_ticket(1)
    assert ticket is not None and ticket.status == "closed"
    assert [c for c in emu.calls() if c.get("error_code") == 429] == []


async def test_a_new_tickets_topic_and_card_go_before_a_reply_waiting_for_the_group(
    tight_desk: Desk,
) -> None:
    """A new ticket's card is the subscriber's first message to the agents: with the group's
    budget spent, its topic and card go before the desk's own messages waiting (here the
    reply to an agent's /queue), at the relays' priority."""
    desk, emu = tight_desk, tight_desk.emu
    await handed_off(desk)  # its topic and card spend the group's burst
    since = emu.cursor()
    await emu.send_text(desk.agents[0], "/queue", chat=desk.group.id)
    await settled(emu, quiet=0.3)  # the reply is handled and waits for the group
    zarina = await emu.create_user("Zarina", language_code="ru")
    await emu.send_text(zarina, "позовите оператора")
    card = await desk.card(since=since, timeout=20)
    assert "Zarina" in card["text"]
    await emu.wait_for_bot_message(
        desk.group.id, since=since, timeout=20, predicate=lambda m: not m.get("message_thread_id")
    )
    general = {"method": "sendMessage", "thread": None}
    ops = [
        "reply"
        if {"method": c["method"], "thread": c["params"].get("message_thread_id")} == general
        else c["method"]
        for c in _group_ops(emu, desk.group.id, since)
    ]
    assert ops[:3] == ["createForumTopic", "sendMessage", "reply"], ops
