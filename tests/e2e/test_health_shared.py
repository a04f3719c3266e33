"""/healthz per instance with PostgreSQL and Redis: degraded while either is out of reach, ok
again when it answers, and the updates that came meanwhile wait and are handled."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from bot.app import Dono
from bot.errors import storage_unavailable
from emulator import Emulator
from tests.conftest import wait_for
from tests.e2e.conftest import Person, make_config, start_dono
from tests.e2e.test_shared_pacing import answering, redis_server
from tests.e2e.test_webhook import free_port
from tests.pg import fresh_schema

pytestmark = pytest.mark.slow


async def test_an_unreachable_postgresql_is_degraded_and_the_update_waits_for_it(
    emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DONO_DATABASE_URL", raising=False)
    monkeypatch.delenv("DONO_REDIS_URL", raising=False)
    async with fresh_schema() as url:
        config = make_config(tmp_path)
        config.bot.database, config.bot.journal = url, tmp_path / "journal"
        dono = await start_dono(emu, config)
        try:
            person = Person(emu, await emu.create_user("Pg", language_code="ru"))
            first = await person.send("как проверить баланс")
            assert "*100#" in first["text"]
            assert (await dono.status())["database"] == "ok"
            database = dono.store.database
            working = database.pool  # type: ignore[attr-defined]
            # PostgreSQL out of reach: every new connection is refused
            closed = f"postgresql://postgres@127.0.0.1:{free_port()}/dono"
            database.pool = await asyncpg.create_pool(closed, min_size=0)  # type: ignore[attr-defined]
            await emu.send_text(person.user, "какой у меня номер")
            await wait_for(lambda: _kept(dono), bool)
            health = await wait_for(dono.status, lambda h: h["database"] != "ok")
            assert health["status"] == "degraded" and "Connect" in health["database"]
            assert emu.bot_messages(person.user.id)[-1] == first  # no apology: it waits
            await database.pool.close()  # type: ignore[attr-defined]
            database.pool = working  # type: ignore[attr-defined]
            assert "*111#" in (await person.next(timeout=15))["text"]  # handled once it is back
            await wait_for(dono.status, lambda h: h["status"] == "ok" and h["database"] == "ok")
        finally:
            await dono.stop()


async def _kept(dono: Dono) -> int:
    assert dono.poller is not None
    return len(dono.poller.waiting)


async def test_an_unreachable_redis_is_degraded_until_it_answers(
    emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DONO_REDIS_URL", raising=False)
    port = free_port()
    config = make_config(tmp_path)
    config.redis.url = f"redis://127.0.0.1:{port}/0"
    with redis_server(port, tmp_path) as server:
        await answering(config.redis.url)
        dono = await start_dono(emu, config)
        try:
            assert (await dono.status())["redis"] == "ok"
            server.kill()
            server.wait()
            health = await wait_for(dono.status, lambda h: h["redis"] != "ok", timeout=10)
            assert health["redis"] == "unreachable" and health["status"] == "degraded"
            with redis_server(port, tmp_path):
                await wait_for(dono.status, lambda h: h["status"] == "ok", timeout=10)
        finally:
            await dono.stop()


async def test_postgresql_out_of_reach_is_worth_waiting_for() -> None:
    """What asyncpg raises when PostgreSQL is away is no fault of the update."""
    closed = f"postgresql://postgres@127.0.0.1:{free_port()}/dono"
    with pytest.raises(OSError) as refused:
        await asyncpg.connect(closed, timeout=2)
    pool = await asyncpg.create_pool(closed, min_size=0)
    with pytest.raises(OSError) as from_pool:
        await pool.fetchval("SELECT 1")
    await pool.close()
    with pytest.raises(asyncpg.InterfaceError) as pool_closed:
        await pool.fetchval("SELECT 1")
    for exc in (refused.value, from_pool.value, pool_closed.value, TimeoutError()):
        assert storage_unavailable(exc), exc
    assert not storage_unavailable(ValueError("a bug"))
    assert not storage_unavailable(FileNotFoundError(2, "no such photo"))
