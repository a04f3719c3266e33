"""A subscriber flooding their ticket at Telegram's real 20 a minute per group: told once,
politely; every message kept and relayed, the flood in digests after everyone else's
messages; another ticket's relay not held up by it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from bot.desk.relay import SEPARATOR
from emulator import Emulator
from tests.e2e.conftest import open_desk
from tests.e2e.test_desk import handed_off


def _flood_config(config: Any) -> None:
    config.telegram.limits.group_per_minute = 20
    config.telegram.limits.group_burst = 5  # paced: four at once, the two hand-offs
    config.agents.flood.messages = 3
    config.agents.flood.per_seconds = 60
    config.agents.flood.digest_seconds = 2


async def test_a_flooding_subscriber_is_told_once_and_does_not_hold_up_another_ticket(
    emu: Emulator, tmp_path: Path
) -> None:
    emu.set_limits(group_per_minute=20, group_burst=5)
    async with open_desk(emu, tmp_path, _flood_config, names=("Dilnoza",)) as desk:
        flooder, card = await handed_off(desk, "Flooder")
        other, other_card = await handed_off(desk, "Calm")
        since = emu.cursor()
        texts = [f"сообщение {i}" for i in range(12)]
        for text in texts:
            await emu.send_text(flooder.user, text)
        await emu.wait_for_bot_message(  # the flood is in: the calm subscriber writes after it
            flooder.user.id, since=since, predicate=lambda m: "сохранены" in (m.get("text") or "")
        )
        sent = await emu.send_text(other.user, "у меня вопрос")
        calm = await emu.wait_for_bot_message(
            desk.group.id,
            thread_id=other_card["message_thread_id"],
            since=since,
            predicate=lambda m: m.get("text") == "у меня вопрос",
            timeout=20,
        )
        # at most two turns of the group's 3 s: the flood took one, the calm one the next
        assert calm["date"] - sent["date"] <= 7
        topic = emu.inbox(desk.group.id, thread_id=card["message_thread_id"], since=since)
        relayed: list[str] = []
        while len(relayed) < len(texts):
            relayed += (await topic.next(timeout=20))["text"].split(SEPARATOR)
        assert relayed == texts  # all of them, in order: in two messages, not twelve
        notes = [m for m in emu.messages(flooder.user.id) if "сохранены" in (m.get("text") or "")]
        assert len(notes) == 1
        # every message is recorded against the group message it went out in
        ids = sorted(m["message_id"] for m in emu.messages(flooder.user.id) if m["text"] in texts)
        assert await _recorded(desk.dono.store, 1, len(ids)) == ids
        assert [c for c in emu.calls() if c.get("error_code") == 429] == []


async def _recorded(store: Any, ticket_id: int, count: int) -> list[int]:
    """The subscriber's message ids recorded for the ticket, once ``count`` are (or 10 s)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while True:
        records = [r for r in await store.messages(ticket_id) if r.direction == "in"]
        if len(records) >= count or loop.time() > deadline:
            return sorted(r.user_chat_message_id for r in records if r.group_message_id)
        await asyncio.sleep(0.05)
