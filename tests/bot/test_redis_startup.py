"""`dono run` does not start an instance whose Redis it can't use: in a shared journal it would
claim updates and hold them unanswered. A refused login stops it at once; a Redis that does
not answer, after the start-up wait (``telegram.startup_wait``)."""

from __future__ import annotations

import socket

import pytest

from bot.config import RedisConfig
from bot.shared import open_link
from handoff.storage.database import DatabaseUnavailable
from tests.redis import redis_url


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_a_redis_that_does_not_answer_stops_the_start_after_the_wait() -> None:
    config = RedisConfig(url=f"redis://:s3cret@127.0.0.1:{_closed_port()}/0")
    with pytest.raises(DatabaseUnavailable) as caught:
        await open_link(config, "a", wait=1.5)
    assert "s3cret" not in str(caught.value) and "***" in str(caught.value)


async def test_a_refused_login_stops_it_at_once() -> None:
    host = (await redis_url()).removeprefix("redis://")
    config = RedisConfig(url=f"redis://nobody:wrong-password@{host}")  # no such user
    with pytest.raises(DatabaseUnavailable) as caught:
        await open_link(config, "a", wait=60)
    assert "wrong-password" not in str(caught.value)


async def test_a_redis_that_answers_is_linked() -> None:
    link = await open_link(RedisConfig(url=await redis_url()), "a", wait=1)
    assert link is not None
    try:
        assert await link.client.ping()
    finally:
        await link.close()
