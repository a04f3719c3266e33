"""`dono demo` then `dono report` as the README shows them, on the configured database; the
playground keeps its database when given `--db`."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sqlite3
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from tests.e2e.conftest import ROOT
from tests.e2e.test_run_process import free_port
from tests.forkserver import spawn_dono


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """The repository's config, with the database where the bot would create it."""
    data = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    data["knowledge"]["path"] = str(ROOT / "kb")
    data["bot"]["database"] = "var/dono.sqlite3"  # relative to the config file
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_report_without_a_database_says_how_to_get_one(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(config), "report", "--since", "7d"]) == 2
    err = capsys.readouterr().err
    assert str(config.parent / "var" / "dono.sqlite3") in err
    assert "dono demo" in err and "--db" in err


def test_demo_then_report_on_the_configured_database(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(config), "demo", "--days", "3"]) == 0
    said = capsys.readouterr().out
    db = config.parent / "var" / "dono.sqlite3"
    conversations, handoffs, outages = (
        int(re.search(rf"(\d+) {what}", said).group(1))  # type: ignore[union-attr]
        for what in ("conversations", "hand-offs", "outage reports")
    )
    assert db.exists() and conversations > 100 and handoffs > 5 and outages > 0

    out = config.parent / "report.json"
    args = ["--config", str(config), "report", "--since", "4d", "--json", "--out", str(out)]
    assert main(args) == 0  # no --db: the configured database
    report = json.loads(out.read_text(encoding="utf-8"))
    # a conversation is one subscriber on one local day: one the demo started just before
    # midnight is two in the report (which ones do depends on the hour the test runs)
    assert conversations <= report["outcomes"]["conversations"] <= conversations + 3
    assert report["outcomes"]["handed_off"] == handoffs
    assert report["csat"]["count"] > 0 and report["topics"] and report["outages"]
    # what the bot could not answer, for `dono unanswered`
    with sqlite3.connect(db) as con:
        kinds = dict(con.execute("SELECT kind, COUNT(*) FROM interactions GROUP BY kind"))
    assert kinds.get("answer", 0) > kinds.get("none", 0) > 0

    # a second run never writes into a database that exists
    before = db.stat().st_mtime_ns
    assert main(["--config", str(config), "demo"]) == 1
    assert "already exists" in capsys.readouterr().err and db.stat().st_mtime_ns == before


@pytest.mark.slow
async def test_the_playground_keeps_its_database_with_db(config: Path, tmp_path: Path) -> None:
    db = tmp_path / "kept.sqlite3"
    log = tmp_path / "playground.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DONO_")}
    command = ["--config", str(config), "playground", "--port", str(free_port()), "--db", str(db)]
    proc = spawn_dono(command, env, log)  # `python -m bot.cli ...`, forked from the fork server
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while "open http" not in log.read_text(encoding="utf-8"):
            assert proc.poll() is None and loop.time() < deadline, log.read_text("utf-8")
            await asyncio.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert db.exists()
    with sqlite3.connect(db) as con:  # the bot's own database, with its tables
        assert con.execute("SELECT COUNT(*) FROM tickets").fetchone() == (0,)
