"""Which database errors mean "wait for the database" rather than "this update is poison"."""

from __future__ import annotations

import sqlite3

import pytest

from bot.durable import storage_unavailable


@pytest.mark.parametrize(
    "message",
    [
        "database is locked",
        "database table is locked",
        "database or disk is full",
        "disk I/O error",
        "unable to open database file",
        "attempt to write a readonly database",
    ],
)
def test_the_database_being_away_is_worth_waiting_for(message: str) -> None:
    assert storage_unavailable(sqlite3.OperationalError(message))


@pytest.mark.parametrize(
    "exc",
    [
        sqlite3.OperationalError("no such table: tickets"),
        sqlite3.IntegrityError("UNIQUE constraint failed: tickets.id"),
        ValueError("database is locked"),  # not a database error, whatever it says
        KeyError("full"),
    ],
)
def test_bugs_and_bad_data_are_not(exc: Exception) -> None:
    assert not storage_unavailable(exc)
