"""The operators' group's budget as Telegram counts it: sends, edits and topic operations
together (tdlib/td#2592). The bot paces all three, so a busy desk gets no 429 from them."""

from __future__ import annotations

from pathlib import Path

from emulator import Emulator
from tests.e2e.conftest import Desk, make_config, settled, start_dono
from tests.e2e.test_desk import handed_off, press


async def test_cards_topics_and_edits_stay_inside_the_groups_budget(
    emu: Emulator, tmp_path: Path
) -> None:
    # the real limit, sped up: a burst of 4, then one every 0.2 s (300 a minute)
    emu.set_limits(group_burst=4, group_per_minute=300)
    agents = [await emu.create_user("Dilnoza", language_code="ru")]
    group = await emu.create_forum_group("Operators", agents=agents)
    config = make_config(tmp_path)
    config.agents.group_id = group.id
    config.telegram.limits.group_burst = 4
    config.telegram.limits.group_per_minute = 300
    dono = await start_dono(emu, config)
    desk = Desk(emu, dono, group, agents)
    try:
        # each ticket: a topic, its card, the claim's card edit and notice — 4 hand-offs are
        # 16 of the group's operations, four times its burst
        cards = [(await handed_off(desk, f"S{i}"))[1] for i in range(4)]
        for card in cards:
            await press(desk, agents[0], card, "Взять")
        for n in range(1, 5):
            ticket = await dono.store.get_ticket(n)
            assert ticket is not None and ticket.status == "claimed"
        await settled(emu)
    finally:
        await dono.stop()
    refused = [c["method"] for c in emu.calls() if c.get("error_code") == 429]
    assert refused == []
    edits = [c for c in emu.calls("editMessageText") if c.get("ok")]
    assert len(edits) >= 4  # the claims' card edits went through, paced
