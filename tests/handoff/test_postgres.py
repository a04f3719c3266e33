"""What only the PostgreSQL backend has: several instances on one database, placeholders
translated, and a URL that never reaches a log with its password."""

from __future__ import annotations

import asyncio
import logging

import pytest

from handoff.storage import Store
from handoff.storage.database import is_postgres, redacted, sqlite_path
from handoff.storage.postgres import dollars
from handoff.tickets import AlreadyClaimed
from tests.handoff.conftest import Clock
from tests.pg import fresh_schema


async def test_two_instances_racing_for_one_subscriber_open_one_ticket(clock: Clock) -> None:
    """Two instances (two pools, as two processes would have) hand the same subscriber off at
    once, and two agents claim at once: one ticket, one claim."""
    async with fresh_schema() as url:
        a, b = await Store.open(url, clock=clock), await Store.open(url, clock=clock)
        try:
            for user in range(100, 110):
                one, two = await asyncio.gather(
                    a.request_handoff(user, "asked", "?"), b.request_handoff(user, "asked", "?")
                )
                assert one == two
                won = await asyncio.gather(
                    a.claim(one, 1, "A"), b.claim(one, 2, "B"), return_exceptions=True
                )
                assert sorted(type(w).__name__ for w in won) == ["AlreadyClaimed", "Ticket"]
                assert any(isinstance(w, AlreadyClaimed) for w in won)
            rows = await a.database.fetchall("SELECT user_id, COUNT(*) FROM tickets GROUP BY 1")
            assert {r[0]: r[1] for r in rows} == {u: 1 for u in range(100, 110)}
        finally:
            await a.close()
            await b.close()


def test_placeholders_become_numbered_outside_literals() -> None:
    assert dollars("SELECT '?' || ? FROM t WHERE a = ? AND b = 'x?y'") == (
        "SELECT '?' || $1 FROM t WHERE a = $2 AND b = 'x?y'"
    )


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "postgresql://dono:s3cr%40t@db.example:5432/dono",
            "postgresql://dono:***@db.example:5432/dono",
        ),
        ("postgresql://dono@db/dono", "postgresql://dono@db/dono"),
        ("postgresql:///dono?host=/run/postgresql", "postgresql:///dono?host=/run/postgresql"),
        ("sqlite:///var/dono.sqlite3", "sqlite:///var/dono.sqlite3"),
    ],
)
def test_a_url_is_shown_without_its_password(url: str, shown: str) -> None:
    assert redacted(url) == shown


def test_which_backend_a_url_names() -> None:
    assert is_postgres("postgresql://h/db") and is_postgres("postgres://h/db")
    assert not is_postgres("sqlite:///var/dono.sqlite3") and not is_postgres("var/x.sqlite3")
    assert sqlite_path("sqlite:///var/dono.sqlite3") == "var/dono.sqlite3"
    assert sqlite_path("sqlite:////srv/dono.sqlite3") == "/srv/dono.sqlite3"
    assert sqlite_path("var/dono.sqlite3") == "var/dono.sqlite3"


async def test_a_wrong_password_is_not_in_the_error_or_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Opening fails (no server listens there); neither the error nor a log line shows the
    password."""
    caplog.set_level(logging.DEBUG)
    url = "postgresql://dono:hunter2-secret@127.0.0.1:9/dono"
    with pytest.raises(Exception) as failed:
        await Store.open(url)
    assert "hunter2-secret" not in str(failed.value)
    assert "hunter2-secret" not in caplog.text


async def test_a_write_section_cancelled_on_a_cut_connection_ends_cancelled(clock: Clock) -> None:
    """A ``kill -9`` of a peer, a stop: the connection is cut and the task cancelled while it
    writes. The rollback fails on the dead connection; the cancel is what comes up, not the
    rollback's error (which the poller would take for the database being away and retry)."""
    async with fresh_schema() as url:
        store = await Store.open(url, clock=clock)
        try:
            with pytest.raises(asyncio.CancelledError):
                async with store.database.writing():
                    store.database._section.get().conn.terminate()  # type: ignore[attr-defined,union-attr]
                    raise asyncio.CancelledError
            assert await store.database.fetchall("SELECT 1") == [(1,)]  # the pool goes on
        finally:
            await store.close()
