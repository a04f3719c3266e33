"""config.yaml's bot.database: a SQLite file (a path or sqlite:///path) or a PostgreSQL URL,
the environment's URL winning, and the journal's file for each."""

import os
import socket
from pathlib import Path

import pytest

from bot.config import OpsConfig, load_config


def _config(tmp_path: Path, database: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(f"bot:\n  database: {database}\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("database", ["var/dono.sqlite3", "sqlite:///var/dono.sqlite3"])
def test_a_sqlite_database_is_a_file_next_to_the_config(
    tmp_path: Path, database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DONO_DATABASE_URL", raising=False)
    bot = load_config(_config(tmp_path, database)).bot
    assert bot.database_url() == str(tmp_path / "var" / "dono.sqlite3")
    assert bot.journal_target() == tmp_path / "var" / "dono.sqlite3"  # the journal shares it


def test_a_postgresql_url_is_kept_and_the_journal_lives_in_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DONO_DATABASE_URL", raising=False)
    bot = load_config(_config(tmp_path, "postgresql://dono@db.internal:5432/dono")).bot
    assert bot.database_url() == "postgresql://dono@db.internal:5432/dono"
    assert bot.journal_target() == "postgresql://dono@db.internal:5432/dono"  # shared


def test_a_journal_path_keeps_it_in_a_sqlite_file_beside_postgresql(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DONO_DATABASE_URL", raising=False)
    path = _config(tmp_path, "postgresql://dono@db.internal:5432/dono")
    path.write_text(path.read_text() + "  journal: var/dono\n", encoding="utf-8")
    assert load_config(path).bot.journal_target() == tmp_path / "var" / "dono"


def test_the_environments_url_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DONO_DATABASE_URL", "postgresql://dono@10.0.0.5/dono")
    bot = load_config(_config(tmp_path, "var/dono.sqlite3")).bot
    assert bot.database_url() == "postgresql://dono@10.0.0.5/dono"
    assert bot.journal_target() == "postgresql://dono@10.0.0.5/dono"  # the journal with it


@pytest.mark.parametrize(
    ("env", "configured", "expected"),
    [("b2", "a1", "b2"), (None, "a1", "a1")],
)
def test_the_instance_is_named_by_the_environment_then_the_config(
    monkeypatch: pytest.MonkeyPatch, env: str | None, configured: str, expected: str
) -> None:
    if env is None:
        monkeypatch.delenv("DONO_INSTANCE", raising=False)
    else:
        monkeypatch.setenv("DONO_INSTANCE", env)
    assert OpsConfig(instance=configured).instance_name() == expected


def test_an_unnamed_instance_is_its_host_and_pid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DONO_INSTANCE", raising=False)
    assert OpsConfig().instance_name() == f"{socket.gethostname()}-{os.getpid()}"
