"""A burst bigger than the bot takes in at once waits at Telegram, not in the bot's memory."""

from __future__ import annotations

from collections import Counter

from bot.app import Dono
from emulator import Emulator
from tests.e2e.conftest import settled


async def test_a_burst_is_taken_in_a_few_at_a_time_and_all_answered_once(
    emu: Emulator, dono: Dono
) -> None:
    poller = dono.poller
    assert poller is not None
    poller.max_pending = 5
    since = emu.cursor()
    await emu.wait_for_call("getUpdates", since=since, timeout=10)  # the next one sees the 5
    held = 0
    spawn = poller._spawn

    def counting_spawn(*args, **kwargs) -> None:
        nonlocal held
        spawn(*args, **kwargs)
        held = max(held, len(poller.tasks))

    poller._spawn = counting_spawn  # type: ignore[method-assign]
    people = [await emu.create_user(f"B{i}", language_code="ru") for i in range(40)]
    start = emu.cursor()
    for person in people:
        await emu.send_text(person, "как проверить баланс")
    chats = {p.id for p in people}
    seen = start
    answered: Counter = Counter()
    while len(answered) < len(chats):
        events = await emu.wait_for_events(seen, timeout=30)
        assert events, f"{len(chats) - len(answered)} never answered"
        seen += len(events)
        answered.update(
            e.chat_id for e in events if e.kind == "message" and e.from_bot and e.chat_id in chats
        )
    await settled(emu)  # a repeat would come right after
    answered = Counter(
        e.chat_id
        for e in emu.events[start:]
        if e.kind == "message" and e.from_bot and e.chat_id in chats
    )
    assert set(answered.values()) == {1}
    assert 1 <= held <= 5
    limits = [int(c["params"].get("limit", 100)) for c in emu.calls("getUpdates", since=start)]
    assert limits and max(limits) <= 5
