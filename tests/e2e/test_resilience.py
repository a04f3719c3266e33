"""Telegram misbehaving: blocked users, flood limits, errors and restarts don't lose answers."""

from __future__ import annotations

import asyncio

import pytest

from bot.app import Dono
from emulator import Emulator
from tests.e2e.conftest import Person, wait_for


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
