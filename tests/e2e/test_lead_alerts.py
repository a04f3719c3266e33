"""What the lead learns without asking, end to end: a low rating alerts them once (in the
group's General and privately), the subscriber's "what went wrong" reaches the topic and the
report; a "did you mean" choice a subscriber presses is recorded for the click-through."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from emulator import Emulator
from handoff.insights import build_insights
from tests.e2e.conftest import (
    Desk,
    Person,
    button_data,
    buttons,
    make_config,
    settled,
    start_dono,
    wait_for,
)
from tests.e2e.test_desk import handed_off


@pytest.fixture
async def lead_desk(emu: Emulator, tmp_path: Path) -> AsyncIterator[tuple[Desk, list]]:
    """The desk with three leads: Lola started the bot, Bahrom blocked it, Sino never wrote."""
    agents = [await emu.create_user("Dilnoza", language_code="ru", username="dilnoza")]
    group = await emu.create_forum_group("Operators", agents=agents)
    lola = await emu.create_user("Lola", language_code="ru", started=True)
    bahrom = await emu.create_user("Bahrom", language_code="ru", started=True)
    await emu.block_bot(bahrom)
    sino = await emu.create_user("Sino", language_code="ru")
    config = make_config(tmp_path)
    config.agents.group_id = group.id
    config.agents.leads = [bahrom.id, sino.id, lola.id]  # the unreachable ones first
    bot = await start_dono(emu, config)
    try:
        yield Desk(emu, bot, group, agents), [lola, bahrom, sino]
    finally:
        await bot.stop()


def alerts_in_general(desk: Desk) -> list[dict]:
    return [
        m
        for m in desk.emu.bot_messages(desk.group.id)
        if m.get("message_thread_id") is None and "Низкая оценка" in (m.get("text") or "")
    ]


async def closed_and_asked_to_rate(desk: Desk, name: str) -> tuple[Person, dict, dict]:
    person, card = await handed_off(desk, name)
    thread = card["message_thread_id"]
    await desk.say(desk.agents[0], "Здравствуйте", thread)
    await person.next()
    await desk.say(desk.agents[0], "/close", thread)
    return person, card, await person.next()


async def test_a_low_rating_alerts_the_lead_once(lead_desk: tuple[Desk, list]) -> None:
    desk, (lola, bahrom, sino) = lead_desk
    emu = desk.emu
    person, card, csat = await closed_and_asked_to_rate(desk, "<b>Umed</b> & Co")
    private = emu.inbox(lola.id)
    await person.press(csat, button_data(csat, "1"))
    alert = await private.next()
    assert "Низкая оценка: 1/5 · обращение #1" in alert["text"]
    assert "&lt;b&gt;Umed&lt;/b&gt; &amp; Co" not in alert["text"]  # shown as typed, not HTML
    assert "<b>Umed</b> & Co" in alert["text"] and "Dilnoza" in alert["text"]
    link = [e for e in alert.get("entities", []) if e["type"] == "text_link"]
    assert link and link[0]["url"].endswith(f"/{card['message_thread_id']}")
    assert len(alerts_in_general(desk)) == 1  # posted before the leads are told
    # pressing 1 star again (a double tap, or the stale message) alerts nobody again
    await emu.press_button(person.user, csat["message_id"], button_data(csat, "1"), strict=False)
    await wait_for(
        lambda: desk.dono.store.events(1), lambda ev: sum(e.name == "csat" for e in ev) == 2
    )
    await settled(emu)
    assert len(alerts_in_general(desk)) == 1
    assert [m for m in emu.bot_messages(lola.id) if "Низкая оценка" in m["text"]] == [alert]
    assert emu.bot_messages(bahrom.id) == [] and emu.bot_messages(sino.id) == []
    ((alerted,),) = [
        tuple(r.values())
        for r in await desk.dono.store.reports._rows(
            "SELECT low_rating_alerted_at FROM tickets WHERE id = 1", ()
        )
    ]
    assert alerted is not None

    # what went wrong: their next message goes to the topic and is the report's comment
    said = "оператор ответил через час, <i>грубо</i>"
    await emu.send_text(person.user, said)
    await emu.wait_for_bot_message(
        desk.group.id,
        thread_id=card["message_thread_id"],
        predicate=lambda m: m.get("text") == said,
        timeout=10,
    )
    since = emu.cursor()
    await emu.send_text(person.user, "и ещё одно")  # only the first answer is the comment
    await emu.wait_for_bot_message(desk.group.id, thread_id=card["message_thread_id"], since=since)
    found = await build_insights(desk.dono.store, 0, time.time() + 60)
    ((low),) = found.low_ratings
    assert (low.ticket_id, low.score, low.comment) == (1, 1, said)


async def test_a_good_rating_alerts_nobody(lead_desk: tuple[Desk, list]) -> None:
    desk, (lola, _, _) = lead_desk
    person, _, csat = await closed_and_asked_to_rate(desk, "Happy")
    await person.press(csat, button_data(csat, "3"))
    await wait_for(lambda: desk.dono.store.get_ticket(1), lambda t: t.csat == 3)
    await settled(desk.emu)
    assert alerts_in_general(desk) == [] and desk.emu.bot_messages(lola.id) == []


async def test_a_pressed_choice_is_recorded_and_a_forged_one_is_not(
    lead_desk: tuple[Desk, list],
) -> None:
    desk, _ = lead_desk
    store = desk.dono.store
    alice = Person(desk.emu, await desk.emu.create_user("Alice", language_code="ru"))
    eve = Person(desk.emu, await desk.emu.create_user("Eve", language_code="ru"))
    mine = await alice.send("интернет")
    theirs = await eve.send("интернет")
    assert mine["text"].startswith("Уточните") and theirs["text"].startswith("Уточните")
    (asked_a,) = await store.recent_interactions(alice.user.id, limit=1)
    (asked_e,) = await store.recent_interactions(eve.user.id, limit=1)
    choice = [b["callback_data"] for b in buttons(theirs) if b["callback_data"].startswith("ch:")]
    topic = choice[0].split(":")[1]
    # Eve presses her choice with Alice's question in it: it answers, records nothing
    forged = f"ch:{topic}:{asked_a['id']}"
    await desk.emu.press_button(eve.user, theirs["message_id"], forged, strict=False)
    await eve.next()
    await eve.press(theirs, choice[0])  # then her own, really pressed
    await eve.next()

    def chosen(row_id: int) -> object:
        return store.reports._rows(
            "SELECT chosen, chosen_at FROM interactions WHERE id = ?", (row_id,)
        )

    await wait_for(lambda: chosen(asked_e["id"]), lambda rows: rows[0]["chosen"] == topic)
    (row,) = await chosen(asked_e["id"])
    assert row["chosen_at"] is not None
    (untouched,) = await chosen(asked_a["id"])
    assert untouched == {"chosen": None, "chosen_at": None}
    found = await build_insights(store, 0, time.time() + 60)
    assert found.click_through is not None
    assert (found.click_through.clarified, found.click_through.chosen) == (2, 1)
