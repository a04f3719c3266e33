"""The SQLite repositories implement the storage interfaces exactly (names, parameters, async),
so a second backend written against ``handoff.storage.protocols`` fits where they do."""

from __future__ import annotations

import inspect

import pytest

from handoff.storage import protocols
from handoff.storage.desks import SqliteDesks
from handoff.storage.interactions import SqliteInteractions
from handoff.storage.messages import SqliteMessages
from handoff.storage.outages import SqliteOutages
from handoff.storage.subscribers import SqliteSubscribers
from handoff.storage.tickets import SqliteTickets
from handoff.storage.views import SqliteReports

PAIRS = [
    (protocols.Subscribers, SqliteSubscribers),
    (protocols.Interactions, SqliteInteractions),
    (protocols.Tickets, SqliteTickets),
    (protocols.RelayedMessages, SqliteMessages),
    (protocols.Desks, SqliteDesks),
    (protocols.Outages, SqliteOutages),
    (protocols.Reports, SqliteReports),
]


def public(cls: type) -> dict[str, object]:
    return {
        name: member
        for name, member in vars(cls).items()
        if callable(member) and not name.startswith("_")
    }


@pytest.mark.parametrize(("protocol", "impl"), PAIRS, ids=lambda c: c.__name__)
def test_the_repository_is_its_protocol(protocol: type, impl: type) -> None:
    wanted, given = public(protocol), public(impl)
    assert set(wanted) == set(given)
    for name, method in wanted.items():
        assert inspect.iscoroutinefunction(given[name]), name
        assert list(inspect.signature(method).parameters) == list(
            inspect.signature(given[name]).parameters
        ), name
