"""Telegram misbehaving: blocked users, flood limits, errors and restarts don't lose answers."""

from __future__ import annotations

import asyncio
import os
import random
import signal
from collections import Counter
from pathlib import Path

import pytest

from bot.app import Dono
from emulator import Emulator
from tests.e2e.conftest import Person, settled, wait_for
from tests.e2e.test_faults import start_bot_process
from tests.e2e.test_handoff_resume import TOLD, cards_by_ticket, in_general, topics_by_ticket


async def test_blocked_user_does_not_stall_others(emu: Emulator, dono: Dono) -> None:
    blocker = Person(emu, await emu.create_user("Blocker", language_code="ru"))
    await blocker.send("/start")
    await blocker.next()
    others = [Person(emu, await emu.create_user(f"U{i}", language_code="ru")) for i in range(3)]
    # asks, then blocks the bot before the answer is sent: the answer gets 403
    await emu.send_text(blocker.user, "как проверить баланс")
    await emu.block_bot(blocker.user)
    answers = await asyncio.gather(*(p.send("как проверить баланс") for p in others))
    assert all("*100#" in a["text"] for a in answers)
    rejected = [c for c in emu.calls("sendMessage") if c.get("error_code") == 403]
    assert rejected, "the bot tried to answer the blocked user and got 403"
    sub = await wait_for(lambda: dono.store.subscriber(blocker.user.id), lambda s: s and s.blocked)
    assert sub.blocked


async def test_429_is_waited_out_and_the_answer_arrives(person: Person, emu: Emulator) -> None:
    emu.inject_retry_after("sendMessage", count=2, retry_after=1)
    answer = await person.send("как проверить баланс", timeout=15)
    assert "*100#" in answer["text"]
    assert len([c for c in emu.calls("sendMessage") if c.get("error_code") == 429]) == 2


async def test_server_errors_are_retried(person: Person, emu: Emulator) -> None:
    emu.inject_error("sendMessage", count=2, status=502)
    answer = await person.send("как проверить баланс", timeout=15)
    assert "*100#" in answer["text"]


async def test_emulator_restart_mid_conversation(person: Person, emu: Emulator) -> None:
    assert "*100#" in (await person.send("как проверить баланс"))["text"]
    await emu.restart(down_for=1.0)
    answer = await person.send("kak popolnit balans", timeout=30)
    assert "Пополнить" in answer["text"] or "пополн" in answer["text"].lower()


@pytest.mark.slow
async def test_pacing_keeps_clear_of_429(person: Person, emu: Emulator) -> None:
    questions = ["как проверить баланс", "kak popolnit balans", "мой номер", "роуминг"] * 3
    for q in questions:  # twelve questions at once: more than a private chat's burst
        await emu.send_text(person.user, q)
    answers = await person.inbox.take(len(questions), timeout=30)
    assert len(answers) == len(questions)
    assert [c for c in emu.calls("sendMessage") if c.get("error_code") == 429] == []


# -- kill -9 during hand-offs -------------------------------------------------------------------


def handoff_outcome(emu: Emulator, group_id: int, users: list) -> tuple[Counter, Counter, Counter]:
    """Per ticket: its topics and its cards with a Claim button; per subscriber: how many
    times they were told their place in the queue."""
    told = Counter(
        {u.id: sum(TOLD in (m.get("text") or "") for m in emu.bot_messages(u.id)) for u in users}
    )
    return topics_by_ticket(emu, group_id), cards_by_ticket(emu, group_id), told


async def wait_until_handed_off(emu: Emulator, group_id: int, users: list, timeout: float):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        topics, cards, told = handoff_outcome(emu, group_id, users)
        done = len(cards) == len(users) and all(told[u.id] for u in users)
        if done or loop.time() > deadline:
            return topics, cards, told
        await emu.wait_for_events(emu.cursor(), timeout=1.0)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
async def test_kill_9_mid_hand_off_then_restart_finishes_each_once(
    emu: Emulator, tmp_path: Path, seed: int
) -> None:
    """10 hand-offs, Telegram holding createForumTopic and sendMessage from a random point on
    (so each hand-off stops at its own step: no topic, a topic without a card, a card but the
    subscriber not told, all done), kill -9, restart: every ticket ends with one topic, one
    card with the Claim button, and its subscriber told once."""
    rng = random.Random(seed)
    agent = await emu.create_user("Dilnoza", language_code="ru")
    group = await emu.create_forum_group("Operators", agents=[agent])
    bot = start_bot_process(emu, tmp_path, group_id=group.id, roomy=True)
    try:
        await emu.wait_for_event(lambda e: e.kind == "poll", since=0, timeout=60)
        users = [await emu.create_user(f"H{i}", language_code="ru") for i in range(10)]
        held = {"kind": "timeout", "count": 10_000, "hold": 60}
        topics_after, sends_after = rng.randint(0, 10), rng.randint(0, 20)
        emu.faults.add(method="createForumTopic", after=topics_after, **held)
        emu.faults.add(method="sendMessage", after=sends_after, **held)
        for i, user in enumerate(users):  # both paths: the command, and asking in words
            await emu.send_text(user, "/operator" if i % 2 else "позовите оператора")
        if topics_after < 10 or sends_after < 20:
            await emu.wait_for_event(
                lambda e: e.kind == "call" and e.data.get("fault") == "timeout", timeout=30
            )
        await settled(emu, quiet=0.5)  # what Telegram did, the bot has recorded
        os.kill(bot.pid, signal.SIGKILL)
        bot.wait(timeout=10)
        await settled(emu)  # requests still on their way are held, not made, too
        emu.clear_faults()

        bot = start_bot_process(emu, tmp_path, group_id=group.id, roomy=True)
        topics, cards, told = await wait_until_handed_off(emu, group.id, users, timeout=60)
        await settled(emu)  # a repeated topic, card or notice would come in this window
        topics, cards, told = handoff_outcome(emu, group.id, users)
        where = f"(seed {seed}: {topics_after}/{sends_after}; bot log: {tmp_path / 'bot.log'})"
        assert sorted(cards) == list(range(1, 11)), f"tickets without a card {where}"
        assert set(topics.values()) == {1} and len(topics) == 10, f"topics {topics} {where}"
        assert set(cards.values()) == {1}, f"cards {cards} {where}"
        assert set(told.values()) == {1}, f"told {told} {where}"
        assert in_general(emu, group.id) == [], f"relayed into General {where}"
    finally:
        bot.send_signal(signal.SIGTERM)
        bot.wait(timeout=30)
