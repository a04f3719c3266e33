"""config.yaml's bot.database: a SQLite file (a path or sqlite:///path) or a PostgreSQL URL,
the environment's URL winning, and the journal's file for each."""

from pathlib import Path

import pytest

from bot.config import load_config


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
    assert bot.journal_path() == tmp_path / "var" / "dono.sqlite3"  # the journal shares it


def test_a_postgresql_url_is_kept_and_the_journal_gets_its_own_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DONO_DATABASE_URL", raising=False)
    bot = load_config(_config(tmp_path, "postgresql://dono@db.internal:5432/dono")).bot
    assert bot.database_url() == "postgresql://dono@db.internal:5432/dono"
    assert bot.journal_path() == tmp_path / "var" / "dono"


def test_the_environments_url_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DONO_DATABASE_URL", "postgresql://dono@10.0.0.5/dono")
    bot = load_config(_config(tmp_path, "var/dono.sqlite3")).bot
    assert bot.database_url() == "postgresql://dono@10.0.0.5/dono"
