"""Faults: the bot killed mid-burst, Telegram down for a while, malformed updates."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from bot import errors
from bot.app import Dono
from bot.journal import Journal
from emulator import Emulator
from tests.e2e.conftest import ROOT, Person, make_config, settled, start_dono, wait_for
from tests.forkserver import Forked, spawn_dono

QUESTIONS = ["как проверить баланс", "kak popolnit balans", "how do I check my balance"]


def start_bot_process(
    emu: Emulator, tmp_path: Path, group_id: int | None = None, roomy: bool = False
) -> Forked:
    """`dono run` as its own process, as in production (forked from the fork server), against
    the emulator (``group_id``: the operators' group; ``roomy``: the group at 600 a minute in
    the emulator and the bot, as ``roomy_group`` does, for a test of many hand-offs that is not
    about the budget)."""
    config = (ROOT / "config.yaml").read_text(encoding="utf-8")
    if group_id is not None:
        config = config.replace("group_id: null ", f"group_id: {group_id} ")
    if roomy:
        emu.set_limits(group_per_minute=600, group_burst=60)
        config = config.replace("group_per_minute: 20", "group_per_minute: 600")
        config = config.replace("group_burst: 20", "group_burst: 60")
    config = config.replace("path: kb ", f"path: {ROOT / 'kb'} ")
    config = config.replace("database: var/dono.sqlite3", f"database: {tmp_path / 'dono.db'}")
    config = config.replace("watch: true ", "watch: false ")
    (tmp_path / "config.yaml").write_text(config, encoding="utf-8")
    env = {
        **os.environ,
        "DONO_BOT_TOKEN": emu.token,
        "DONO_API_BASE": emu.base_url,
        "DONO_CONFIG": str(tmp_path / "config.yaml"),
        "DONO_LOG_LEVEL": os.environ.get("DONO_LOG_LEVEL", "WARNING"),
    }
    return spawn_dono(["run"], env, tmp_path / "bot.log", append=True)


async def recorded_sends(tmp_path: Path) -> int:
    with contextlib.closing(sqlite3.connect(tmp_path / "dono.db.journal")) as db:
        return db.execute("SELECT COUNT(*) FROM sent").fetchone()[0]


def answers_per_chat(emu: Emulator, chats: set[int]) -> Counter:
    return Counter(
        e.chat_id for e in emu.events if e.kind == "message" and e.from_bot and e.chat_id in chats
    )


async def wait_until_answered(emu: Emulator, chats: set[int], timeout: float) -> Counter:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    seen = 0
    while True:
        counts = answers_per_chat(emu, chats)
        if len(counts) == len(chats) or loop.time() > deadline:
            return counts
        events = await emu.wait_for_events(seen, timeout=1.0)  # wakes on the next event
        seen += len(events)


@pytest.mark.slow
async def test_kill_9_mid_burst_then_restart_answers_each_question_once(
    emu: Emulator, tmp_path: Path
) -> None:
    bot = start_bot_process(emu, tmp_path)
    try:
        await emu.wait_for_event(lambda e: e.kind == "poll", since=0, timeout=60)
        people = [await emu.create_user(f"K{i}", language_code="ru") for i in range(90)]
        chats = {p.id for p in people}
        early, late = people[:20], people[20:]
        for i, person in enumerate(early):
            await emu.send_text(person, QUESTIONS[i % len(QUESTIONS)])
        counts = await wait_until_answered(emu, {p.id for p in early}, timeout=30)
        assert len(counts) == len(early)
        await wait_for(lambda: recorded_sends(tmp_path), lambda n: n == len(early), timeout=10)
        # From now on Telegram takes the bot's sends and never answers: the kill lands with
        # 70 answers pending. (A send that reached Telegram in the last milliseconds before a
        # crash, unrecorded, is the one case the Bot API gives no way to tell apart.)
        emu.inject_timeout("sendMessage", count=10_000, hold=60)
        since = emu.cursor()
        for i, person in enumerate(late):
            await emu.send_text(person, QUESTIONS[i % len(QUESTIONS)])
        await emu.wait_for_call("sendMessage", since=since, timeout=30)
        os.kill(bot.pid, signal.SIGKILL)
        bot.wait(timeout=10)
        # Requests the bot wrote to its sockets just before it died are still on their way:
        # they reach Telegram (and are held there) before Telegram recovers. Clearing the
        # fault first would deliver them unrecorded: the one gap the Bot API leaves.
        await settled(emu)
        assert len(answers_per_chat(emu, chats)) == len(early)
        emu.clear_faults()

        bot = start_bot_process(emu, tmp_path)
        counts = await wait_until_answered(emu, chats, timeout=60)
        assert len(counts) == len(chats), f"{len(chats) - len(counts)} questions never answered"
        await settled(emu)  # a repeated answer would come in this window
        counts = answers_per_chat(emu, chats)
        twice = {c: n for c, n in counts.items() if n > 1}
        assert not twice, f"answered more than once: {twice} (bot log: {tmp_path / 'bot.log'})"
    finally:
        bot.send_signal(signal.SIGTERM)
        bot.wait(timeout=30)


async def asked_during_outage_then_each_answered_once(
    emu: Emulator, person: Person, timeout: float
) -> None:
    """The subscriber and five others ask while Telegram fails; all answered, none twice."""
    others = [Person(emu, await emu.create_user(f"D{i}", language_code="ru")) for i in range(5)]
    for p in (person, *others):
        await emu.send_text(p.user, "kak popolnit balans")
    for p in (person, *others):
        assert "ополн" in (await p.inbox.next(timeout=timeout))["text"]
    await settled(emu)
    assert [len(emu.bot_messages(p.user.id)) for p in (person, *others)] == [2, 1, 1, 1, 1, 1]


# Outages last OUTAGE seconds: long enough for every send to fail more than once and wait in
# the retries' backoff (502s at 0, 0.5, 1.5 and 3.5 s; calls timing out after 2 s at 0 and
# 2.5 s) -- the property checked: after it, each message delivered once -- short enough to
# keep the suite quick. Longer than the retries themselves is its own test below.
OUTAGE = 5


@pytest.mark.slow
async def test_telegram_down_for_a_while_then_everything_is_delivered(
    person: Person, emu: Emulator
) -> None:
    assert "*100#" in (await person.send("как проверить баланс"))["text"]
    emu.fail_for(OUTAGE, kind="error", status=502)
    await asked_during_outage_then_each_answered_once(emu, person, timeout=90)


@pytest.mark.slow
async def test_telegram_timing_out_for_a_while_then_everything_is_delivered_once(
    emu: Emulator, tmp_path: Path
) -> None:
    config = make_config(tmp_path)
    config.telegram.request_timeout = 2  # the bot gives up on a call after 2 s
    dono = await start_dono(emu, config)
    try:
        person = Person(emu, await emu.create_user("T", language_code="ru"))
        assert "*100#" in (await person.send("как проверить баланс"))["text"]
        emu.fail_for(OUTAGE, kind="timeout", hold=5)  # every call hangs, then the connection drops
        await asked_during_outage_then_each_answered_once(emu, person, timeout=120)
        assert any(c.get("fault") == "timeout" for c in emu.calls("sendMessage"))
    finally:
        await dono.stop()


async def test_malformed_and_unknown_updates_are_skipped(person: Person, emu: Emulator) -> None:
    bot = emu.default_bot
    emu.enqueue_update(bot, "message", {"message_id": 1, "text": "no chat, no date"})
    bot.updates.append({"update_id": bot.next_update_id, "future_update_type": {"x": 1}})
    bot.next_update_id += 1
    emu.enqueue_update(bot, "message", {"message_id": 2, "date": "not a date", "chat": 5})
    bot.notify()
    huge = "как проверить баланс " + "я" * 200_000
    await emu.send_text(person.user, huge)
    reply = await person.next(timeout=15)
    assert "длинное" in reply["text"]
    assert "*100#" in (await person.next())["text"]  # the queue moved past the bad ones
    assert "*100#" in (await person.send("как проверить баланс"))["text"]


async def test_sends_failing_past_the_retries_keep_the_update_until_telegram_is_back(
    person: Person, emu: Emulator, dono: Dono
) -> None:
    """Telegram down for longer than the send retries last: the question is kept and answered
    once Telegram is back, not dropped with the last retry."""
    assert dono.retry is not None
    dono.retry.max_attempts, dono.retry.base_delay = 2, 0.05  # give up fast, as after minutes
    emu.inject_error("sendMessage", count=5, status=502)
    await emu.send_text(person.user, "kak popolnit balans")
    reply = await person.next(timeout=30)
    assert "ополн" in reply["text"]
    failed = [c for c in emu.calls("sendMessage") if c.get("status") == 502]
    assert len(failed) == 5  # two rounds of retries gave up, the update was kept, then sent
    await settled(emu)
    assert len(emu.bot_messages(person.user.id)) == 1
    # handled three times, the question is logged once (reports count questions)
    logged = await dono.store.recent_interactions(person.user.id, limit=10)
    assert [r["text"] for r in logged] == ["kak popolnit balans"]


async def test_a_send_telegram_never_takes_is_given_up_after_a_while(
    person: Person, emu: Emulator, dono: Dono, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Kept is not forever: an update whose send Telegram refuses round after round is logged
    and skipped in the end, like any poison update, and the bot goes on."""
    monkeypatch.setattr(errors, "MAX_TELEGRAM_RETRIES", 2)  # the failure policy lives there
    assert dono.retry is not None
    dono.retry.max_attempts, dono.retry.base_delay = 1, 0.05
    refusing = emu.inject_error("sendMessage", count=None, status=500)
    await emu.send_text(person.user, "kak popolnit balans")

    async def error_of_that_update() -> str | None:
        async with dono.journal.db.execute(
            "SELECT error FROM inbox WHERE done_at IS NOT NULL ORDER BY update_id DESC LIMIT 1"
        ) as cur:
            row = await cur.fetchone()
        return row[0] if row else None

    error = await wait_for(error_of_that_update, lambda e: e is not None, timeout=15)
    assert error is not None and "TelegramServerError" in error
    assert len([c for c in emu.calls("sendMessage") if c.get("status") == 500]) == 3
    emu.faults.rules.remove(refusing)
    assert "*100#" in (await person.send("как проверить баланс"))["text"]


async def test_a_poison_update_is_logged_and_skipped_not_retried(
    person: Person,
    emu: Emulator,
    dono: Dono,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    matcher = dono.knowledge.matcher
    real = matcher.match

    def match(text: str, *args, **kwargs):
        if "POISON" in text:
            raise ValueError("a bug this message triggers")
        return real(text, *args, **kwargs)

    monkeypatch.setattr(matcher, "match", match)
    with caplog.at_level(logging.ERROR):
        reply = await person.send("POISON")
    assert "пошло не так" in reply["text"]  # the subscriber is told, not left in silence
    assert "a bug this message triggers" in caplog.text
    assert "*100#" in (await person.send("как проверить баланс"))["text"]  # the queue moved on

    async def journal() -> list[tuple]:
        async with dono.journal.db.execute(
            "SELECT attempts, done_at IS NOT NULL FROM inbox ORDER BY update_id"
        ) as cur:
            return [tuple(r) for r in await cur.fetchall()]

    rows = await wait_for(journal, lambda rows: rows == [(1, 1), (1, 1)])
    assert rows == [(1, 1), (1, 1)]  # each started once and done, none pending
    await settled(emu)
    assert len(emu.bot_messages(person.user.id)) == 2  # no retry of the poison one


async def test_an_update_that_crashed_the_bot_three_times_is_skipped_at_start(
    emu: Emulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """No crash loop: an update the bot died on three times is not tried a fourth time."""
    config = make_config(tmp_path)
    user = await emu.create_user("C", language_code="ru", started=True)
    killer = {
        "update_id": 7,
        "message": {
            "message_id": 1,
            "date": 1_790_000_000,
            "chat": {"id": user.id, "type": "private", "first_name": "C"},
            "from": {"id": user.id, "is_bot": False, "first_name": "C"},
            "text": "как проверить баланс",
        },
    }
    journal = await Journal.open(config.bot.database)
    await journal.inbox_put([(7, json.dumps(killer)), (8, json.dumps({**killer, "update_id": 8}))])
    for _ in range(3):
        await journal.inbox_attempt(7)
    await journal.close()
    with caplog.at_level(logging.ERROR):
        dono = await start_dono(emu, config)
        try:
            reply = await emu.wait_for_bot_message(user.id, timeout=10)
            assert "*100#" in reply["text"]  # update 8, left over too, is handled
            assert "update 7 was started 3 times and never finished; skipped" in caplog.text
            await settled(emu)
            assert len(emu.bot_messages(user.id)) == 1
        finally:
            await dono.stop()
