"""Availability and automatic assignment end to end: ``/shift on|off``, round-robin and
least-loaded among agents on shift, ``max_open_per_agent`` leaving a ticket waiting, an agent
going off shift under ``keep`` and ``requeue`` (or leaving the group), and ``/my``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from emulator import Emulator
from tests.e2e.conftest import (
    Desk,
    Person,
    buttons,
    make_config,
    roomy_group,
    settled,
    start_dono,
    wait_for,
)
from tests.e2e.test_desk_hardening import forge_topic_message

Start = Callable[..., Any]


@pytest.fixture
def start(emu: Emulator, tmp_path: Path) -> Start:
    """``async with start(assignment=..., ...) as desk``: three agents in the operators' group
    (Dilnoza, Rustam, Zarina, ids ascending) and the bot with these ``agents`` options;
    ``roomy=True`` for a test that takes more than the group's 20 operations a minute."""

    @asynccontextmanager
    async def run(roomy: bool = False, **options: Any) -> AsyncIterator[Desk]:
        agents = [
            await emu.create_user(name, language_code="ru", username=name.lower())
            for name in ("Dilnoza", "Rustam", "Zarina")
        ]
        group = await emu.create_forum_group("Operators", agents=agents)
        config = make_config(tmp_path)
        config.agents.group_id = group.id
        for key, value in options.items():
            setattr(config.agents, key, value)
        if roomy:
            roomy_group(emu, config)
        desk = Desk(emu, await start_dono(emu, config), group, agents)
        try:
            yield desk
        finally:
            await desk.dono.stop()

    return run


async def shift(desk: Desk, agent: Any, arg: str, expect: str) -> dict:
    """``/shift <arg>`` in General; the bot's reply (containing ``expect``)."""
    since = desk.emu.cursor()
    await desk.say(agent, f"/shift {arg}".strip(), None)
    return await desk.emu.wait_for_bot_message(
        desk.group.id, since=since, predicate=lambda m: expect in (m.get("text") or "")
    )


async def holder(desk: Desk, ticket_id: int) -> int | None:
    """Whom ticket ``ticket_id`` is assigned to, once its ``assigned`` event is recorded."""
    events = await wait_for(
        lambda: desk.dono.store.events(ticket_id),
        lambda es: any(e.name in ("assigned",) for e in es),
    )
    return [e.agent_id for e in events if e.name == "assigned"][-1]


async def assigned_notice(desk: Desk, card: dict, agent: Any) -> dict:
    """The topic's mention of the agent a ticket was assigned to."""
    found = await desk.emu.wait_for_bot_message(
        desk.group.id,
        thread_id=card["message_thread_id"],
        since=0,
        predicate=lambda m: f"назначено: {agent.first_name}" in (m.get("text") or ""),
    )
    mentioned = [e["user"]["id"] for e in found.get("entities", []) if e["type"] == "text_mention"]
    assert mentioned == [agent.id]
    return found


async def still_waiting(desk: Desk, ticket_id: int) -> None:
    await settled(desk.emu)
    ticket = await desk.dono.store.get_ticket(ticket_id)
    assert (ticket.status, ticket.agent_id) == ("waiting", None)
    assert not [e for e in await desk.dono.store.events(ticket_id) if e.name == "assigned"]


async def handed_off(desk: Desk, name: str = "Farrukh") -> tuple[Person, dict]:
    """A subscriber asks for a human; returns them (told their place in the queue) and the
    ticket's card."""
    person = Person(desk.emu, await desk.emu.create_user(name, language_code="ru"))
    await person.send("как проверить баланс")
    since = desk.emu.cursor()
    assert "очеред" in (await person.send("позовите оператора"))["text"]
    card = await desk.emu.wait_for_bot_message(
        desk.group.id,
        since=since,
        predicate=lambda m: (m.get("text") or "").startswith("🎫") and name in m["text"],
    )
    return person, card


async def tickets_of(desk: Desk, n: int) -> list[tuple[Person, dict]]:
    return [await handed_off(desk, f"S{i}") for i in range(n)]


async def test_round_robin_alternates_among_agents_on_shift(start: Start) -> None:
    async with start(assignment="round_robin") as desk:
        dilnoza, rustam, zarina = desk.agents
        await shift(desk, dilnoza, "on", "на смене")
        await shift(desk, rustam, "on", "на смене")  # Zarina never comes on shift
        tickets = await tickets_of(desk, 3)
        expected = [dilnoza, rustam, dilnoza]
        for n, ((person, card), agent) in enumerate(zip(tickets, expected, strict=True), 1):
            assert await holder(desk, n) == agent.id
            ticket = await desk.dono.store.get_ticket(n)
            assert (ticket.status, ticket.agent_id) == ("claimed", agent.id)
            # the Claim button's workflow: the subscriber told, the card shows who has it
            assert "Оператор взял" in (await person.next())["text"]
            edited = await desk.emu.wait_for_bot_edit(
                desk.group.id, message_id=card["message_id"], since=0
            )
            assert f"у оператора {agent.first_name}" in edited["text"]
            assert [b["text"] for b in buttons(edited)] == ["✅ Закрыть"]
            await assigned_notice(desk, card, agent)
            events = await desk.dono.store.events(n)
            assert [(e.detail, e.agent_id) for e in events if e.name == "assigned"] == [
                ("round_robin", agent.id)
            ]
        assert not await desk.dono.store.claimed_by(zarina.id)
        listed = await shift(desk, zarina, "", "На смене (2)")
        assert "Dilnoza — открытых обращений: 2" in listed["text"]
        assert "Rustam — открытых обращений: 1" in listed["text"]
        assert "Zarina" not in listed["text"]


async def test_without_assignment_agents_claim_as_before(start: Start) -> None:
    async with start() as desk:  # config.yaml's default: none
        await shift(desk, desk.agents[0], "on", "на смене")
        await handed_off(desk)
        await still_waiting(desk, 1)


async def test_least_loaded_gives_the_agent_with_fewest_open_tickets(start: Start) -> None:
    # four hand-offs and two shifts are over 20 group operations: the faster group limit
    async with start(assignment="least_loaded", roomy=True) as desk:
        dilnoza, rustam, _ = desk.agents
        await shift(desk, dilnoza, "on", "на смене")
        await tickets_of(desk, 2)  # Dilnoza alone: both hers
        assert [await holder(desk, n) for n in (1, 2)] == [dilnoza.id, dilnoza.id]
        await shift(desk, rustam, "on", "на смене")
        await handed_off(desk, "S2")
        assert await holder(desk, 3) == rustam.id
        # round-robin would give #4 to Dilnoza (assigned longest ago); she holds 2, he 1
        await handed_off(desk, "S3")
        assert await holder(desk, 4) == rustam.id
        assert [e.detail for e in await desk.dono.store.events(4) if e.name == "assigned"] == [
            "least_loaded"
        ]


async def test_max_open_leaves_a_ticket_waiting_until_someone_is_free(start: Start) -> None:
    async with start(assignment="round_robin", max_open_per_agent=1) as desk:
        dilnoza, rustam, _ = desk.agents
        await shift(desk, dilnoza, "on", "на смене")
        (_, c1), (_, c2) = await tickets_of(desk, 2)
        assert await holder(desk, 1) == dilnoza.id
        await still_waiting(desk, 2)  # she is at her limit
        await desk.say(dilnoza, "/close", c1["message_thread_id"])
        assert await holder(desk, 2) == dilnoza.id  # she is free again: the one waiting
        await assigned_notice(desk, c2, dilnoza)
        await handed_off(desk, "S2")
        await still_waiting(desk, 3)
        await shift(desk, rustam, "on", "на смене")  # someone comes on shift
        assert await holder(desk, 3) == rustam.id


async def assigned_twice(desk: Desk, ticket_id: int) -> None:
    await wait_for(
        lambda: desk.dono.store.events(ticket_id),
        lambda es: [e.name for e in es].count("assigned") == 2,
    )


async def test_a_reopened_ticket_is_assigned_again(start: Start) -> None:
    async with start(roomy=True, assignment="round_robin") as desk:
        dilnoza, rustam, _ = desk.agents
        await shift(desk, dilnoza, "on", "на смене")
        await shift(desk, rustam, "on", "на смене")
        (p1, c1), (p2, c2) = await tickets_of(desk, 2)
        assert [await holder(desk, n) for n in (1, 2)] == [dilnoza.id, rustam.id]
        for person, card, agent in ((p1, c1, dilnoza), (p2, c2, rustam)):
            await desk.say(agent, "/close", card["message_thread_id"])
            await person.inbox.next(predicate=lambda m: "⭐" in str(m.get("reply_markup")))
        await desk.say(rustam, "/reopen 1", None)  # by an agent, in General
        await assigned_twice(desk, 1)
        await desk.emu.send_text(p2.user, "опять не работает")  # the subscriber writing again
        await assigned_twice(desk, 2)
        # Dilnoza was given a ticket longest ago: #1 is hers again, then #2 is Rustam's
        for n, agent in ((1, dilnoza), (2, rustam)):
            events = await desk.dono.store.events(n)
            assert [e.name for e in events][-3:] == ["reopened", "claimed", "assigned"]
            assert events[-1].agent_id == agent.id
        await assigned_notice(desk, c2, rustam)


async def _two_tickets_of_dilnoza(desk: Desk) -> list[tuple[Person, dict]]:
    dilnoza, rustam, _ = desk.agents
    await shift(desk, dilnoza, "on", "на смене")
    tickets = await tickets_of(desk, 2)
    for n, (person, _card) in enumerate(tickets, 1):
        assert await holder(desk, n) == dilnoza.id
        assert "Оператор взял" in (await person.next())["text"]
    await shift(desk, rustam, "on", "на смене")
    return tickets


async def test_off_shift_keep_leaves_the_tickets_with_the_agent(start: Start) -> None:
    async with start(assignment="round_robin") as desk:
        dilnoza, rustam, _ = desk.agents
        tickets = await _two_tickets_of_dilnoza(desk)
        await shift(desk, dilnoza, "off", "смена окончена")
        await settled(desk.emu)
        assert [t.id for t in await desk.dono.store.claimed_by(dilnoza.id)] == [1, 2]
        assert all(p.inbox.pending() == [] for p, _ in tickets)
        await handed_off(desk, "S2")  # off shift: a new ticket goes to Rustam only
        assert await holder(desk, 3) == rustam.id
        shifts = await desk.dono.store.agents.shift_rows(0, float("inf"))
        assert [(e["name"], e["agent_id"]) for e in shifts[0]] == [
            ("shift_on", dilnoza.id),
            ("shift_on", rustam.id),
            ("shift_off", dilnoza.id),
        ]


async def test_off_shift_requeue_gives_the_tickets_to_the_others(start: Start) -> None:
    async with start(roomy=True, assignment="round_robin", off_shift="requeue") as desk:
        dilnoza, rustam, _ = desk.agents
        tickets = await _two_tickets_of_dilnoza(desk)
        since = desk.emu.cursor()
        reply = await shift(desk, dilnoza, "off", "смена окончена")
        await desk.emu.wait_for_bot_message(
            desk.group.id,
            since=0,
            predicate=lambda m: "возвращено 2 обращения" in m.get("text", ""),
        )
        for n, (_person, card) in enumerate(tickets, 1):
            events = await wait_for(
                lambda n=n: desk.dono.store.events(n),
                lambda es: (es[-1].name, es[-1].agent_id) == ("assigned", rustam.id),
            )
            assert [e.name for e in events][-3:] == ["released", "claimed", "assigned"]
            await assigned_notice(desk, card, rustam)
            await desk.emu.wait_for_event(  # the card: back in the queue, then Rustam's
                lambda e, card=card: (
                    e.kind == "edit"
                    and e.message_id == card["message_id"]
                    and "у оператора Rustam" in e.data["message"]["text"]
                ),
                since=since,
                timeout=5.0,
                what="the card showing Rustam",
            )
        await settled(desk.emu)
        for person, _ in tickets:  # one note at most: the new agent has it
            assert [m["text"][:13] for m in person.inbox.pending()] == ["Оператор взял"]
        assert reply["text"].startswith("⚪️ Dilnoza")


async def test_a_requeued_ticket_nobody_takes_tells_its_subscriber(start: Start) -> None:
    """Told "an agent took it", then the agent went off shift with nobody else on: the
    subscriber learns it waits again, and where (they were left believing someone had it)."""
    async with start(assignment="round_robin", off_shift="requeue") as desk:
        dilnoza = desk.agents[0]
        await shift(desk, dilnoza, "on", "на смене")
        ((person, _card),) = await tickets_of(desk, 1)
        assert await holder(desk, 1) == dilnoza.id
        assert "Оператор взял" in (await person.next())["text"]
        await shift(desk, dilnoza, "off", "смена окончена")
        told = await person.next()
        assert "снова в очереди" in told["text"] and "1-й в очереди" in told["text"]
        assert (await desk.dono.store.get_ticket(1)).status == "waiting"
        await settled(desk.emu)
        assert person.inbox.pending() == []  # once


async def test_an_agent_removed_from_the_group_goes_off_shift(start: Start) -> None:
    async with start(assignment="round_robin", off_shift="requeue") as desk:
        dilnoza, rustam, _ = desk.agents
        await _two_tickets_of_dilnoza(desk)
        await desk.emu.remove_member(desk.group, dilnoza, by=rustam)
        on_shift = await wait_for(
            desk.dono.store.agents.on_shift, lambda a: [x.agent_id for x in a] == [rustam.id]
        )
        assert on_shift[0].name == "Rustam"
        for n in (1, 2):
            assert (
                await wait_for(
                    lambda n=n: desk.dono.store.get_ticket(n), lambda t: t.agent_id == rustam.id
                )
            ).status == "claimed"


async def test_my_lists_the_agents_open_tickets(start: Start) -> None:
    async with start(assignment="round_robin") as desk:
        dilnoza, rustam, _ = desk.agents
        await shift(desk, dilnoza, "on", "на смене")
        person, card = await handed_off(desk, "Tom <&> Jr")
        await handed_off(desk, "S1")
        await holder(desk, 2)
        await desk.emu.send_text(person.user, "ещё вопрос")
        await desk.emu.wait_for_bot_message(
            desk.group.id,
            thread_id=card["message_thread_id"],
            since=0,
            predicate=lambda m: m.get("text") == "ещё вопрос",
        )
        await desk.say(dilnoza, "/close 2", None)
        await wait_for(lambda: desk.dono.store.get_ticket(2), lambda t: t.status == "closed")
        since = desk.emu.cursor()
        await desk.say(dilnoza, "/my", None)
        mine = await desk.emu.wait_for_bot_message(
            desk.group.id, since=since, predicate=lambda m: "Ваши открытые" in m.get("text", "")
        )
        lines = mine["text"].splitlines()
        internal = str(desk.group.id).removeprefix("-100")
        link = f"https://t.me/c/{internal}/{card['message_thread_id']}"
        assert lines[0] == "Ваши открытые обращения (1):"
        assert lines[1].startswith("#1 · Tom <&> Jr · ждёт ") and lines[1].endswith(link)
        since = desk.emu.cursor()
        await desk.say(rustam, "/my", None)
        await desk.emu.wait_for_bot_message(
            desk.group.id, since=since, predicate=lambda m: "нет открытых" in m.get("text", "")
        )


async def test_a_non_member_cannot_go_on_shift(start: Start) -> None:
    async with start(assignment="round_robin") as desk:
        _, card = await handed_off(desk)
        stranger = await desk.emu.create_user("Mallory", language_code="ru")
        await forge_topic_message(desk, stranger, card["message_thread_id"], "/shift on")
        await settled(desk.emu)
        assert await desk.dono.store.agents.on_shift() == []
        said = [m["text"] for m in desk.emu.bot_messages(desk.group.id) if "text" in m]
        assert said == [card["text"]]  # no reply to the forged command
        await handed_off(desk, "S1")
        await still_waiting(desk, 1)
        await still_waiting(desk, 2)
        await shift(desk, desk.agents[0], "on", "на смене")  # a member's is taken
        assert [await holder(desk, n) for n in (1, 2)] == [desk.agents[0].id] * 2
