"""config.yaml's redis section and the instance's name: the environment wins, no Redis by
default."""

import os
from pathlib import Path

import pytest

from bot.config import load_config


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_no_redis_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DONO_REDIS_URL", raising=False)
    config = load_config(_config(tmp_path, "bot: {}\n"))
    assert config.redis.redis_url() is None
    assert config.redis.prefix == "dono"


def test_the_environments_redis_url_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DONO_REDIS_URL", "redis://:secret@10.0.0.7:6379/1")
    config = load_config(_config(tmp_path, "redis:\n  url: redis://127.0.0.1:6379/0\n"))
    assert config.redis.redis_url() == "redis://:secret@10.0.0.7:6379/1"
    monkeypatch.delenv("DONO_REDIS_URL")
    assert config.redis.redis_url() == "redis://127.0.0.1:6379/0"


def test_the_instance_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DONO_INSTANCE", raising=False)
    ops = load_config(_config(tmp_path, "ops:\n  instance: east-1\n")).ops
    assert ops.instance_name() == "east-1"
    monkeypatch.setenv("DONO_INSTANCE", "west-2")
    assert ops.instance_name() == "west-2"
    monkeypatch.delenv("DONO_INSTANCE")
    ops.instance = None
    name = ops.instance_name()
    assert name.endswith(f"-{os.getpid()}") and len(name) > len(f"-{os.getpid()}")
