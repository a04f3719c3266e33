"""Which desk a new ticket goes to (handoff.desks.choose_desk)."""

from __future__ import annotations

from handoff.desks import DeskLoad, DeskRule, choose_desk

RU = DeskRule("ru", languages=("ru",))
TG = DeskRule("tg", languages=("tg",))
ROAMING = DeskRule("roaming", categories=("roaming",))
ANY = DeskRule("any")
LIMIT = 5.0


def choose(rules, lang, category=None, **loads):
    return choose_desk(rules, loads, lang, category, LIMIT)


def test_no_desks_no_choice():
    assert choose([], "ru") is None


def test_language_picks_its_desk():
    assert choose([RU, TG], "tg") == "tg"
    assert choose([RU, TG], "ru") == "ru"


def test_category_picks_its_desk_over_one_that_takes_any():
    assert choose([ANY, ROAMING], "ru", "roaming") == "roaming"
    assert choose([ANY, ROAMING], "ru", "balance") == "any"
    assert choose([ANY, ROAMING], "ru", None) == "any"  # unknown category: a desk for any


def test_the_more_specific_rule_wins():
    ru_roaming = DeskRule("ru-roaming", languages=("ru",), categories=("roaming",))
    assert choose([RU, ru_roaming], "ru", "roaming") == "ru-roaming"


def test_among_equals_most_spare_budget_then_fewest_waiting():
    a, b = DeskRule("a"), DeskRule("b")
    assert choose([a, b], "ru", a=DeskLoad(spare=3), b=DeskLoad(spare=9)) == "b"
    same = DeskLoad(spare=5, waiting=4)
    assert choose([a, b], "ru", a=same, b=DeskLoad(spare=5, waiting=1)) == "b"
    assert choose([a, b], "ru", a=same, b=same) == "a"  # then the configuration's order


def test_a_busy_desk_overflows_to_the_next_matching():
    ru2 = DeskRule("ru2", languages=("ru",))
    busy = DeskLoad(wait=LIMIT + 1, spare=0)
    assert choose([RU, ru2, TG], "ru", ru=busy) == "ru2"


def test_every_matching_desk_busy_goes_to_any_free_desk():
    busy = DeskLoad(wait=30)
    assert choose([RU, TG], "ru", ru=busy) == "tg"


def test_every_desk_busy_goes_to_the_matching_desk_waiting_least():
    ru2 = DeskRule("ru2", languages=("ru",))
    loads = {"ru": DeskLoad(wait=40), "ru2": DeskLoad(wait=20), "tg": DeskLoad(wait=10)}
    assert choose_desk([RU, ru2, TG], loads, "ru", None, LIMIT) == "ru2"


def test_no_matching_desk_any_desk_takes_it():
    assert choose([RU, TG], "en") == "ru"
    assert choose([RU, TG], "en", ru=DeskLoad(wait=60)) == "tg"


# -- the desk a ticket is on (tickets.desk) --------------------------------------------------

import pytest  # noqa: E402

from handoff.storage import Store  # noqa: E402
from handoff.tickets import TicketClosed  # noqa: E402


async def _ticket(store: Store, user_id: int):
    ticket, _ = await store.open_ticket(user_id, "asked", "q", "ru")
    return ticket


async def test_lookups_keep_to_the_desk(store: Store) -> None:
    a = await store.set_desk((await _ticket(store, 1)).id, "ru")
    b = await store.set_desk((await _ticket(store, 2)).id, "tg")
    old = await _ticket(store, 3)  # a ticket from before desks: the default desk's
    for ticket, thread in ((a, 7), (b, 7), (old, 8)):
        await store.set_thread(ticket.id, thread, 100 + ticket.id)
        await store.record_message(ticket.id, "in", 1, 500, thread)  # same id in each group
    assert (await store.ticket_by_thread(7, ("ru",))).id == a.id
    assert (await store.ticket_by_thread(7, ("tg",))).id == b.id
    assert (await store.ticket_by_thread(8, ("ru", ""))).id == old.id
    assert await store.ticket_by_thread(8, ("tg",)) is None
    assert (await store.ticket_by_card(100 + a.id, ("ru",))).id == a.id
    assert await store.ticket_by_card(100 + a.id, ("tg",)) is None
    assert (await store.find_message(group_message_id=500, desks=("ru",))).ticket_id == a.id
    assert (await store.find_message(group_message_id=500, desks=("",))).ticket_id == old.id
    assert [e.ticket.id for e in await store.queue(desks=("tg",))] == [b.id]
    assert [e.ticket.id for e in await store.queue(desks=("ru", ""))] == [a.id, old.id]
    assert len(await store.queue()) == 3


async def test_move_to_desk_forgets_the_old_topic(store: Store) -> None:
    ticket = await store.set_desk((await _ticket(store, 1)).id, "ru")
    await store.set_thread(ticket.id, 7, 70)
    moved = await store.move_to_desk(ticket.id, "tg", agent_id=42)
    assert (moved.desk, moved.thread_id, moved.card_message_id) == ("tg", None, None)
    assert moved.id == ticket.id and moved.status == "waiting"
    event = (await store.events(ticket.id))[-1]
    assert (event.name, event.agent_id, event.detail) == ("desk_transfer", 42, "ru>tg")
    await store.close_ticket(ticket.id, reason="user")
    with pytest.raises(TicketClosed):
        await store.move_to_desk(ticket.id, "ru")


def test_desk_figures_of_a_day() -> None:
    from handoff.desks import desk_figures
    from handoff.tickets import Ticket

    def ticket(n, status, claimed=None, csat=None):
        return Ticket(n, n, status, "asked", "q", "ru", 100.0, claimed_at=claimed, csat=csat)

    day = [
        ticket(1, "waiting"),
        ticket(2, "claimed", claimed=130.0),
        ticket(3, "closed", claimed=110.0, csat=5),
        ticket(4, "closed", claimed=200.0, csat=2),
    ]
    f = desk_figures(day, waiting=3)
    assert (f.handed_off, f.waiting, f.claimed, f.closed) == (4, 3, 1, 2)
    assert f.median_wait == 30.0 and f.csat == 3.5
    empty = desk_figures([], waiting=0)
    assert empty.median_wait is None and empty.csat is None
