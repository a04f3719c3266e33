"""Two instances of the real bot in one process on one PostgreSQL database, polling the
emulator: a burst from many chats answered once each and in order per chat across the two;
one of them killed mid-burst (its tasks cancelled, its connections cut, nothing marked done)
and the other taking its updates over without a repeated send; one leader polling and running
the timers, replaced within seconds when it dies."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from bot.app import Dono
from emulator import Emulator
from tests.e2e.conftest import make_config, settled, wait_for
from tests.e2e.test_webhook import free_port
from tests.pg import fresh_schema

BALANCE, TOPUP = "как проверить баланс", "kak popolnit balans"
SECRET = "webhook-secret-for-tests"


def is_balance(text: str) -> bool:
    return "*100#" in text


def is_topup(text: str) -> bool:
    return "пополн" in text.lower()


async def start_instance(
    emu: Emulator,
    tmp_path: Path,
    url: str,
    name: str,
    group_id: int | None = None,
    webhook: bool = False,
) -> Dono:
    config = make_config(tmp_path / name)
    config.bot.database, config.bot.journal = url, None  # the journal in PostgreSQL: shared
    config.ops.instance = name
    config.agents.group_id = group_id
    config.telegram.webhook.listen_port = free_port()
    dono = await Dono.create(config, emu.token, api_base=emu.base_url)
    dono.journal.lease = 2.0  # a dead instance's updates are taken over after 2 s
    dono.journal.claim_batch = 4  # small turns: both instances take part in a burst
    if webhook:
        await dono.start_webhook("https://bot.example.tj/telegram", SECRET)
    else:
        await dono.start_polling(polling_timeout=1)
    return dono


@asynccontextmanager
async def two_instances(
    emu: Emulator, tmp_path: Path, group_id: int | None = None
) -> AsyncIterator[tuple[Dono, Dono, str]]:
    async with fresh_schema() as url:
        a = await start_instance(emu, tmp_path, url, "a", group_id)
        b = await start_instance(emu, tmp_path, url, "b", group_id)
        try:
            yield a, b, url
        finally:
            await a.stop()
            await b.stop()


async def crash(dono: Dono) -> None:
    """As a ``kill -9`` leaves it: every task of the instance gone at once, its connections
    to PostgreSQL cut (which frees its advisory locks), nothing marked done or released."""
    poller = dono.poller
    assert poller is not None
    dono._stopped = True  # its stop() would finish and release what it holds: not this time
    tasks = [dono.task, *poller._background, *poller.tasks]
    if dono.timers is not None:
        tasks += [dono.timers._follow, *dono.timers.tasks]
    for task in tasks:
        if task is not None:
            task.cancel()
    dono.journal.pool.terminate()
    if dono.journal._session is not None:
        dono.journal._session.terminate()
    dono.store.database.pool.terminate()
    await asyncio.gather(*(t for t in tasks if t is not None), return_exceptions=True)
    await dono.reloader.stop()
    await dono.bot.session.close()


async def leader_of(*instances: Dono) -> Dono:
    """The one instance that leads, once one does."""

    async def leading() -> list[Dono] | None:
        pollers = [d.poller for d in instances]
        if any(p is None or p._led_at is None for p in pollers):
            return None  # not every instance has tried to lead yet
        return [d for d in instances if d.poller is not None and d.poller.leader]

    found = await wait_for(leading, lambda ds: ds is not None and len(ds) == 1, timeout=10)
    assert found is not None
    return found[0]


async def owners(url: str) -> dict[str, int]:
    """Who handled (or holds) the stored updates: instance → how many."""
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT owner, COUNT(*) FROM journal_inbox GROUP BY owner")
    finally:
        await conn.close()
    return {str(r[0]): int(r[1]) for r in rows}


async def answers(emu: Emulator, users: list, each: int, timeout: float = 30) -> dict[int, list]:
    """Every user's answers from the bot, once each has ``each`` (or fails after timeout)."""

    async def read() -> dict[int, list]:
        return {u.id: [m.get("text") or "" for m in emu.bot_messages(u.id)] for u in users}

    await wait_for(read, lambda got: all(len(t) >= each for t in got.values()), timeout)
    await settled(emu)  # a repeated answer would come in this window
    return await read()


async def burst(emu: Emulator, count: int) -> list:
    users = [await emu.create_user(f"S{i}", language_code="ru") for i in range(count)]
    for user in users:
        await emu.send_text(user, BALANCE)
    for user in users:
        await emu.send_text(user, TOPUP)
    return users


def in_order_once(got: dict[int, list]) -> dict[int, list]:
    """The chats whose answers are not exactly: the balance answer, then the top-up one."""
    return {
        uid: texts
        for uid, texts in got.items()
        if len(texts) != 2 or not is_balance(texts[0]) or not is_topup(texts[1])
    }


async def test_a_burst_is_answered_once_and_in_order_per_chat_by_both_instances(
    emu: Emulator, tmp_path: Path
) -> None:
    async with two_instances(emu, tmp_path) as (a, b, url):
        await leader_of(a, b)
        since = emu.cursor()
        users = await burst(emu, 30)
        got = await answers(emu, users, 2)
        assert in_order_once(got) == {}
        handled = await owners(url)
        assert set(handled) == {"a", "b"} and sum(handled.values()) == 60, handled
        conflicts = [c for c in emu.calls("getUpdates", since=since) if c.get("error_code")]
        assert conflicts == []  # one instance polls: Telegram never saw two at once


async def test_an_instance_killed_mid_burst_has_its_updates_taken_over_without_repeats(
    emu: Emulator, tmp_path: Path
) -> None:
    async with two_instances(emu, tmp_path) as (a, b, url):
        await leader_of(a, b)
        # Telegram holds every answer (then drops it, unmade): at the kill, the killed
        # instance's claimed updates have their answer started and not made
        emu.faults.add(method="sendMessage", kind="timeout", count=10_000, hold=1.5)
        users = await burst(emu, 12)

        async def held() -> dict[str, int]:
            conn = await asyncpg.connect(url)
            try:
                rows = await conn.fetch(
                    "SELECT owner, COUNT(*) FROM journal_inbox WHERE done_at IS NULL"
                    " AND owner IS NOT NULL GROUP BY owner"
                )
            finally:
                await conn.close()
            return {str(r[0]): int(r[1]) for r in rows}

        holding = await wait_for(held, lambda h: sum(h.values()) == 24, timeout=15)
        victim, survivor = (a, b) if holding.get("a", 0) >= holding.get("b", 0) else (b, a)
        await emu.wait_for_event(
            lambda e: e.kind == "call" and e.data.get("fault") == "timeout", timeout=10
        )
        await crash(victim)
        emu.clear_faults()
        got = await answers(emu, users, 2, timeout=40)
        assert in_order_once(got) == {}, f"killed {victim.config.ops.instance}: {holding}"
        assert await owners(url) == {survivor.config.ops.instance: 24}  # all taken over
        await wait_for(
            lambda: asyncio.sleep(0, survivor.poller.leader), lambda leading: leading, timeout=10
        )


async def test_the_leader_killed_is_replaced_within_seconds_timers_and_polling_alike(
    emu: Emulator, tmp_path: Path
) -> None:
    agent = await emu.create_user("Dilnoza", language_code="ru")
    group = await emu.create_forum_group("Operators", agents=[agent])
    async with two_instances(emu, tmp_path, group.id) as (a, b, _):
        leader = await leader_of(a, b)
        other = b if leader is a else a
        assert leader.timers is not None and other.timers is not None
        await wait_for(lambda: asyncio.sleep(0, leader.timers.tasks), bool, timeout=5)
        assert not other.timers.tasks  # the timers run once, on the leader
        await crash(leader)
        await leader_of(other)
        await wait_for(lambda: asyncio.sleep(0, other.timers.tasks), bool, timeout=5)
        user = await emu.create_user("After", language_code="ru")
        await emu.send_text(user, BALANCE)
        reply = await emu.inbox(user.id).next(timeout=10)
        assert is_balance(reply["text"])


@pytest.fixture(autouse=True)
def _no_instance_name_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DONO_INSTANCE", raising=False)
    monkeypatch.delenv("DONO_DATABASE_URL", raising=False)


def delivery(update_id: int, user: object, text: str) -> dict:
    """What Telegram POSTs for a subscriber's message."""
    uid = user.id  # type: ignore[attr-defined]
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_700_000_000,
            "chat": {"id": uid, "type": "private", "first_name": "W"},
            "from": {"id": uid, "is_bot": False, "first_name": "W", "language_code": "ru"},
            "text": text,
        },
    }


async def test_webhook_deliveries_to_any_instance_are_handled_once_by_whichever_claims_them(
    emu: Emulator, tmp_path: Path
) -> None:
    """Behind a load balancer a delivery lands on either instance, and Telegram's repeat of it
    may land on the other. Here b only takes deliveries (its claim loop stopped): a handles
    what b stored, and each update is answered once, in order per chat."""
    async with fresh_schema() as url:
        a = await start_instance(emu, tmp_path, url, "a", webhook=True)
        b = await start_instance(emu, tmp_path, url, "b", webhook=True)
        try:
            await wait_for(lambda: asyncio.sleep(0, b.poller._background), bool, timeout=5)
            b.poller._background[0].cancel()  # b's claim loop: b handles nothing
            users = [
                await emu.create_user(f"W{i}", language_code="ru", started=True) for i in range(6)
            ]
            posts = [(2 * i + 1, u, BALANCE) for i, u in enumerate(users)]
            posts += [(2 * i + 2, u, TOPUP) for i, u in enumerate(users)]
            headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
            async with aiohttp.ClientSession() as http:
                for n, (update_id, user, text) in enumerate(posts):
                    first, repeat = (a, b) if n % 2 else (b, a)
                    for dono in (first, repeat):  # delivered, then delivered again elsewhere
                        port = dono.config.telegram.webhook.listen_port
                        async with http.post(
                            f"http://127.0.0.1:{port}/telegram",
                            json=delivery(update_id, user, text),
                            headers=headers,
                        ) as response:
                            assert response.status == 200
            got = await answers(emu, users, 2)
            assert in_order_once(got) == {}
            assert await owners(url) == {"a": 12}
        finally:
            await a.stop()
            await b.stop()


async def test_a_journal_postgresql_cannot_use_is_waited_out_as_a_locked_sqlite_file(
    emu: Emulator, tmp_path: Path
) -> None:
    """PostgreSQL refusing the journal's statements (here its table gone for a while): the
    delivery is answered 503, so Telegram keeps it; once the table is back it is taken and
    answered, once."""
    async with fresh_schema() as url:
        dono = await start_instance(emu, tmp_path, url, "a", webhook=True)
        conn = await asyncpg.connect(url)
        try:
            user = await emu.create_user("P", language_code="ru", started=True)
            port = dono.config.telegram.webhook.listen_port
            headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
            await conn.execute("ALTER TABLE journal_inbox RENAME TO journal_inbox_away")
            async with aiohttp.ClientSession() as http:
                post = {"url": f"http://127.0.0.1:{port}/telegram", "headers": headers}
                async with http.post(**post, json=delivery(1, user, BALANCE)) as response:
                    assert response.status == 503
                assert dono.poller is not None and dono.poller.storage_error is not None
                await conn.execute("ALTER TABLE journal_inbox_away RENAME TO journal_inbox")
                async with http.post(**post, json=delivery(1, user, BALANCE)) as response:
                    assert response.status == 200
            got = await answers(emu, [user], 1)
            assert len(got[user.id]) == 1 and is_balance(got[user.id][0])
            assert dono.poller.storage_error is None
        finally:
            await conn.close()
            await dono.stop()


async def test_an_update_held_longer_than_a_lease_stays_with_its_live_instance(
    emu: Emulator, tmp_path: Path
) -> None:
    """Telegram holding an answer past the 2-second lease: the instance handling it renews
    its lease, so the other never takes the update too (which would answer it twice)."""
    async with two_instances(emu, tmp_path) as (a, b, url):
        await leader_of(a, b)
        emu.faults.add(method="sendMessage", kind="timeout", count=1, hold=5)
        user = await emu.create_user("Slow", language_code="ru")
        await emu.send_text(user, BALANCE)
        await emu.wait_for_event(
            lambda e: e.kind == "call" and e.data.get("fault") == "timeout", timeout=10
        )

        async def idle() -> bool:  # answered, and neither instance has anything in hand
            return not (a.poller and a.poller.tasks) and not (b.poller and b.poller.tasks)

        await wait_for(idle, lambda done: done and emu.bot_messages(user.id), timeout=20)
        got = await answers(emu, [user], 1)
        assert len(got[user.id]) == 1 and is_balance(got[user.id][0])
        assert sum((await owners(url)).values()) == 1
