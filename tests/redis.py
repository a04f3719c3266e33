"""The Redis server the tests run against: its URL from ``DONO_TEST_REDIS_URL`` or the file
``.ci/redis`` writes (``.venv/.dono-redis-url``), and a fresh key prefix per test so tests stay
independent under ``pytest -n 2``."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

URL_FILE = Path(__file__).resolve().parent.parent / ".venv" / ".dono-redis-url"
NO_SERVER = "no Redis server: run `bash .ci/setup` as root (it installs and starts one)"


def server_url() -> str | None:
    url = os.environ.get("DONO_TEST_REDIS_URL")
    if url:
        return url
    return URL_FILE.read_text().strip() or None if URL_FILE.exists() else None


async def redis_url() -> str:
    """The test server's URL; skips the test when none is there or it does not answer."""
    from redis.asyncio import Redis
    from redis.exceptions import RedisError

    url = server_url()
    if url is None:
        pytest.skip(NO_SERVER)
    client = Redis.from_url(url)
    try:
        await client.ping()
    except (OSError, RedisError) as exc:
        pytest.skip(f"{NO_SERVER} ({exc})")
    finally:
        await client.aclose()
    return url


def fresh_prefix() -> str:
    """A key prefix no other test uses."""
    return f"t{uuid.uuid4().hex[:10]}"
