"""The pacer's buckets in Redis: two instances of one bot (two Bots with the same token, each
with its own pacer on the same Redis) sending as fast as they can stay inside Telegram's
limits together, at about the ceiling; with Redis gone each paces on its own share, and goes
back to Redis when it answers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiogram import Bot

from bot.app import create_bot
from bot.config import DeskConfig, RedisConfig
from bot.desk.routing import Desks
from bot.pacing import SAFETY, Limits, Pacer
from bot.shared import RedisLink, open_link
from bot.shared_pacing import RedisBuckets
from emulator import Emulator
from handoff.storage import Store
from tests.conftest import wait_for
from tests.e2e.conftest import make_config
from tests.redis import fresh_prefix, redis_url

pytestmark = pytest.mark.slow


@asynccontextmanager
async def instance(
    emu: Emulator, url: str, prefix: str, name: str, limits: Limits
) -> AsyncIterator[tuple[Bot, RedisLink, RedisBuckets]]:
    """One instance's bot: its own pacer over the shared Redis buckets."""
    link = await open_link(RedisConfig(url=url, prefix=prefix), name)
    assert link is not None
    shared = RedisBuckets(link, limits)
    bot = create_bot(emu.token, emu.base_url, pacer=Pacer(limits, shared=shared))
    try:
        yield bot, link, shared
    finally:
        await bot.session.close()
        await link.close()


def refused(emu: Emulator) -> list[dict]:
    return [c for c in emu.calls() if c.get("error_code") == 429]


async def flood(bot: Bot, chats: list[int]) -> None:
    await asyncio.gather(*(bot.send_message(chat, "news") for chat in chats))


async def test_two_instances_stay_under_the_bots_limit_together(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DONO_REDIS_URL", raising=False)
    url, prefix, limits = await redis_url(), fresh_prefix(), Limits()
    users = [(await emu.create_user(f"U{i}", started=True)).id for i in range(100)]
    async with (
        instance(emu, url, prefix, "a", limits) as (a, _, _),
        instance(emu, url, prefix, "b", limits) as (b, _, _),
    ):
        started = time.monotonic()
        await asyncio.gather(flood(a, users[:50]), flood(b, users[50:]))
        took = time.monotonic() - started
    assert refused(emu) == []
    assert len([c for c in emu.calls("sendMessage") if c.get("ok")]) == 100
    # 30 at once, then 30 a second (less the pacer's margin): about 2.4 s at the ceiling; the
    # upper bound is loose (a loaded machine is slower) but catches pacing far under it
    ceiling = (100 - limits.global_burst) / (limits.global_per_second * SAFETY)
    assert ceiling * 0.9 <= took < ceiling * 4 + 5


async def test_two_instances_stay_under_a_groups_limit_together(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DONO_REDIS_URL", raising=False)
    url, prefix = await redis_url(), fresh_prefix()
    # the group's limit sped up (10 a second after a burst of 5), the same for both sides
    emu.set_limits(group_per_minute=600, group_burst=5)
    limits = Limits(group_per_minute=600, group_burst=5)
    group = await emu.create_group("Desk")
    async with (
        instance(emu, url, prefix, "a", limits) as (a, _, _),
        instance(emu, url, prefix, "b", limits) as (b, _, _),
    ):
        started = time.monotonic()
        await asyncio.gather(flood(a, [group.id] * 12), flood(b, [group.id] * 12))
        took = time.monotonic() - started
    assert refused(emu) == []
    ceiling = (24 - 5) / (10 * SAFETY)
    assert ceiling * 0.9 <= took < ceiling * 4 + 5


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def redis_server(port: int, folder: Path) -> Iterator[subprocess.Popen]:
    """A Redis server of the test's own, on ``port``, to stop and start again."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("no redis-server: run `bash .ci/setup` as root")
    server = subprocess.Popen(
        [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"],
        cwd=folder,
        stdout=subprocess.DEVNULL,
    )
    try:
        yield server
    finally:
        server.kill()
        server.wait()


async def answering(url: str) -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(url)

    async def ping() -> bool:
        with contextlib.suppress(Exception):
            return bool(await client.ping())
        return False

    try:
        await wait_for(ping, bool)
    finally:
        await client.aclose()


async def test_redis_gone_paces_locally_at_a_share_then_back_to_redis(
    emu: Emulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    port = _free_port()
    url = f"redis://127.0.0.1:{port}/0"
    limits = Limits()
    users = [(await emu.create_user(f"U{i}", started=True)).id for i in range(40)]
    with redis_server(port, tmp_path) as server:
        await answering(url)
        async with (
            instance(emu, url, "p", "a", limits) as (a, link, shared),
            instance(emu, url, "p", "b", limits),
        ):
            await link.beat()
            assert link.instances == 2
            server.kill()
            server.wait()
            with caplog.at_level(logging.ERROR, logger="dono.redis"):
                await flood(a, users[:20])  # Redis gone: the sends still go, paced locally
            assert link.status == "unreachable"
            assert len([r for r in caplog.records if "unreachable" in r.message]) == 1
            fallback = shared.fallback()
            local = Pacer(limits, shared=shared)  # a desk's load: the buckets paced on now
            wait, spare = await local.budget(a.id, -100)
            assert wait == 0 and spare == local.spare_for(-100, fallback) < local.spare_for(-100)
            assert fallback.share == 0.5  # two instances were live: half the limits each
            half = limits.global_per_second * SAFETY / 2
            assert fallback.global_bucket.rate == pytest.approx(half)
            with redis_server(port, tmp_path):
                await answering(url)
                await wait_for(lambda: _send(a, users[20]), lambda _: link.status == "ok")
                await flood(a, users[21:30])
                from redis.asyncio import Redis

                client = Redis.from_url(url)
                try:  # the bot's bucket is in Redis again
                    assert await client.exists(link.key("pace", a.id))
                finally:
                    await client.aclose()
    assert refused(emu) == []


async def _send(bot: Bot, chat: int) -> None:
    await bot.send_message(chat, "again")


async def test_a_desks_budget_counts_every_instances_sends_so_new_tickets_go_elsewhere(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Instance a fills desk one's group with sends; instance b, which sent nothing there,
    reads the shared bucket (not its own, still full) and routes a new ticket to desk two."""
    monkeypatch.delenv("DONO_REDIS_URL", raising=False)
    url, prefix, limits = await redis_url(), fresh_prefix(), Limits()
    one, two = await emu.create_group("Desk one"), await emu.create_group("Desk two")
    config = make_config(tmp_path).agents
    config.groups = [
        DeskConfig(name="one", group_id=one.id),
        DeskConfig(name="two", group_id=two.id),
    ]
    config.group_id = one.id
    async with (
        instance(emu, url, prefix, "a", limits) as (a, _, _),
        instance(emu, url, prefix, "b", limits) as (b, _, shared),
    ):
        await flood(a, [one.id] * 15)
        pacer = Pacer(limits, shared=shared)
        assert pacer.spare_for(one.id) == pacer.spare_for(two.id)  # b's own view: both idle
        (wait_one, spare_one), (_, spare_two) = [
            await pacer.budget(b.id, g) for g in (one.id, two.id)
        ]
        assert wait_one == 0 and spare_one < 6 and spare_two > 15
        store = await Store.open(":memory:")
        try:
            ticket, _ = await store.open_ticket(7, "asked", "?", "ru")
            routed = await Desks(config, pacer, b.id).route(store, ticket, None)
        finally:
            await store.close()
    assert routed.desk == "two"
