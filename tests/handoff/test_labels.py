"""A ticket's triage: how labels are written and refused, the queue's order by priority, the
due time of an SLA target (across a weekend and a holiday with business hours), and the
repository that keeps priority, labels and the one nudge."""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import random
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.config import ConfigError, load_config
from bot.report.insights_page import insight_sections
from handoff.hours import WorkingHours
from handoff.insights import Insights, build_insights
from handoff.labels import (
    MAX_LABELS,
    PRIORITIES,
    LabelChange,
    LabelRefused,
    apply_labels,
    in_priority_order,
    normalize_label,
    parse_labels,
    parse_priority,
)
from handoff.reports import plain
from handoff.sla import SlaTargets, due_at, nudge_at
from handoff.storage import Store, protocols
from handoff.storage.labels import SqliteLabels
from handoff.tickets import QueueEntry, Ticket, TicketNotFound
from tests.handoff.conftest import Clock
from tests.handoff.test_reports import DAY, DAY0, TZ, fill_scenario, sql
from tests.pg import on_postgres, on_store

ZONE = ZoneInfo(TZ)
OFFICE = WorkingHours.from_config(
    {
        "timezone": "Asia/Dushanbe",
        **{day: "09:00-18:00" for day in ("mon", "tue", "wed", "thu", "fri")},
        "holidays": ["2026-03-23"],  # a Monday
    }
)


def local(*args: int) -> float:
    return datetime(*args, tzinfo=ZONE).timestamp()  # type: ignore[misc]


# -- labels -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("#Billing", "billing"),
        ("  роуминг ", "роуминг"),
        ("Интернет_4G", "интернет_4g"),
        ("пул-3", "пул-3"),
        ("##vip", "vip"),
        ("e\u0301", "\u00e9"),  # the same letter typed two ways is one label
        ("x" * 32, "x" * 32),
        ("ｂｉｌｌｉｎｇ", "billing"),  # fullwidth letters are the plain ones
        ("ﬁle", "file"),  # so is a ligature
        ("İstanbul", "i\u0307stanbul"),  # a letter with its accent, not refused
        ("ǅemal", "džemal"),
    ],
)
def test_a_label_is_stored_lowercase_without_its_hash(typed: str, stored: str) -> None:
    assert normalize_label(typed) == stored


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("", "empty"),
        ("#", "empty"),
        ("x" * 33, "too_long"),
        ("<b>x</b>", "bad_chars"),
        ("two words", "bad_chars"),
        ('"quoted"', "bad_chars"),
        ("tab\tx", "bad_chars"),
        ("emoji🔥", "bad_chars"),
        ("a.b", "bad_chars"),
        ("\u200fbilling", "bad_chars"),  # a direction mark
        ("bil\u200bling", "bad_chars"),  # a zero-width space
        ("b\u0456lling", "mixed_scripts"),  # a Cyrillic і in a Latin word
        ("\u0301x", "bad_chars"),  # an accent on nothing
    ],
)
def test_a_label_that_cannot_be_stored_is_refused_with_why(typed: str, code: str) -> None:
    with pytest.raises(LabelRefused) as refused:
        normalize_label(typed)
    assert refused.value.code == code


@given(st.text(max_size=60))
def test_normalizing_never_crashes_and_is_idempotent(text: str) -> None:
    try:
        label = normalize_label(text)
    except LabelRefused:
        return
    assert normalize_label(label) == label and 0 < len(label) <= 32


def test_label_words_add_and_remove() -> None:
    change = parse_labels(["#Billing", "-Roaming", "billing", "vip"])
    assert change == LabelChange(add=("billing", "vip"), remove=("roaming",))
    assert apply_labels(["roaming", "old"], change) == ("old", "billing", "vip")
    assert parse_labels([]).empty and apply_labels(["a"], parse_labels([])) == ("a",)


def test_only_listed_labels_are_added_but_any_can_be_removed() -> None:
    allowed = ["Billing", "#роуминг"]
    assert parse_labels(["#Роуминг"], allowed).add == ("роуминг",)
    assert parse_labels(["-spam"], allowed).remove == ("spam",)
    with pytest.raises(LabelRefused) as refused:
        parse_labels(["billing", "spam"], allowed)
    assert (refused.value.code, refused.value.label) == ("not_allowed", "spam")


def test_a_ticket_carries_at_most_ten_labels() -> None:
    full = [f"l{n}" for n in range(MAX_LABELS)]
    assert apply_labels(full, parse_labels(["l0", "-l1", "new"])) == (*full[:1], *full[2:], "new")
    with pytest.raises(LabelRefused) as refused:
        apply_labels(full, parse_labels(["new"]))
    assert (refused.value.code, refused.value.label) == ("too_many", "new")


def test_priorities() -> None:
    assert [parse_priority(p) for p in ("High", " urgent ", "low", "normal")] == [
        "high",
        "urgent",
        "low",
        "normal",
    ]
    assert parse_priority("asap") is None and parse_priority("") is None


def _entry(position: int, ticket_id: int, priority: str) -> QueueEntry:
    ticket = Ticket(ticket_id, 1, "waiting", "asked", "", "ru", 0.0, priority=priority)
    return QueueEntry(position, ticket, 0.0)


def test_the_queue_is_served_by_priority_then_by_wait() -> None:
    queue = [
        _entry(1, 1, "low"),
        _entry(2, 2, "normal"),
        _entry(3, 3, "high"),
        _entry(4, 4, "normal"),
        _entry(5, 5, "urgent"),
        _entry(6, 6, "high"),
    ]
    ordered = in_priority_order(queue)
    assert [e.ticket.id for e in ordered] == [5, 3, 6, 2, 4, 1]
    assert [e.position for e in ordered] == [1, 2, 3, 4, 5, 6]
    same = [_entry(n, n, "normal") for n in (1, 2, 3)]
    assert in_priority_order(same) == same  # nothing raised: the order of waiting


# -- when a target runs out -------------------------------------------------------------------


def test_round_the_clock_a_target_is_due_that_much_later() -> None:
    start = local(2026, 3, 20, 17, 0)
    assert due_at(WorkingHours(), start, 7200) == start + 7200


def test_in_business_hours_the_weekend_and_a_holiday_do_not_count() -> None:
    friday_5pm = local(2026, 3, 20, 17, 0)  # one open hour left on Friday
    # Saturday, Sunday and Monday (a holiday) pass; the second hour is Tuesday 09:00-10:00
    assert due_at(OFFICE, friday_5pm, 7200) == pytest.approx(local(2026, 3, 24, 10, 0), abs=0.01)
    # the nudge at 80% of it: 96 minutes, so 36 on Tuesday
    sla = SlaTargets(first_response=7200, business_hours=True, nudge=0.8)
    assert nudge_at(sla, OFFICE, friday_5pm) == pytest.approx(local(2026, 3, 24, 9, 36), abs=0.01)
    # asked on the holiday itself: the clock starts on Tuesday morning
    holiday = local(2026, 3, 23, 11, 0)
    assert due_at(OFFICE, holiday, 900) == pytest.approx(local(2026, 3, 24, 9, 15), abs=0.01)
    # used up exactly at Friday's close: due at the close, not on Tuesday
    assert due_at(OFFICE, friday_5pm, 3600) == pytest.approx(local(2026, 3, 20, 18), abs=0.01)


def test_the_due_time_is_where_the_open_seconds_reach_the_target() -> None:
    for start in (local(2026, 3, 19, 8, 0), local(2026, 3, 21, 12, 0), local(2026, 3, 20, 17, 59)):
        for target in (60.0, 3600.0, 9 * 3600.0, 30 * 3600.0):
            due = due_at(OFFICE, start, target)
            assert due is not None
            assert OFFICE.open_seconds(start, due) == pytest.approx(target, abs=0.01)
            assert OFFICE.open_seconds(start, due - 1) < target


def test_a_desk_that_never_opens_has_no_due_time() -> None:
    closed = WorkingHours("Asia/Dushanbe", tuple(() for _ in range(7)))
    assert due_at(closed, local(2026, 3, 20), 60) is None


def test_no_nudge_without_a_target_or_with_nudge_off() -> None:
    start = local(2026, 3, 20, 10)
    assert nudge_at(SlaTargets(), WorkingHours(), start) is None
    assert nudge_at(SlaTargets(first_response=600, nudge=None), WorkingHours(), start) is None
    assert nudge_at(SlaTargets(first_response=600), WorkingHours(), start) == start + 480


@pytest.mark.parametrize(
    ("value", "nudge"),
    [({"first_response": "10m"}, 0.8), ({"nudge": 0.5}, 0.5), ({"nudge": 0}, None)],
)
def test_the_nudge_is_read_from_the_sla_config(value: dict, nudge: float | None) -> None:
    assert SlaTargets.from_config(value).nudge == nudge
    assert SlaTargets.from_config({"nudge": None}).nudge is None


@pytest.mark.parametrize("bad", [1, 1.5, -0.1, "80%", True])
def test_a_wrong_nudge_names_its_key(bad: object) -> None:
    with pytest.raises(ValueError, match=r"reports\.sla\.nudge"):
        SlaTargets.from_config({"first_response": 60, "nudge": bad}, "reports.sla")


# -- the repository ---------------------------------------------------------------------------


def test_the_repository_is_its_protocol() -> None:
    def public(cls: type) -> dict[str, object]:
        return {n: m for n, m in vars(cls).items() if callable(m) and not n.startswith("_")}

    wanted, given_ = public(protocols.Labels), public(SqliteLabels)
    assert set(wanted) == set(given_)
    for name, method in wanted.items():
        assert inspect.iscoroutinefunction(given_[name])
        assert list(inspect.signature(method).parameters) == list(
            inspect.signature(given_[name]).parameters
        )


async def test_priority_is_stored_once_with_its_event(store: Store, clock: Clock) -> None:
    ticket, _ = await store.open_ticket(7, "asked", "помогите", "ru")
    assert ticket.priority == "normal"
    assert await store.labels.set_priority(ticket.id, "urgent", 501)
    assert not await store.labels.set_priority(ticket.id, "urgent", 501)  # no change
    assert (await store.get_ticket(ticket.id)).priority == "urgent"
    events = [(e.name, e.agent_id, e.detail) for e in await store.events(ticket.id)]
    assert events.count(("priority", 501, "urgent")) == 1
    with pytest.raises(TicketNotFound):
        await store.labels.set_priority(999, "high", 501)


async def test_labels_are_stored_with_an_event_per_change(store: Store, clock: Clock) -> None:
    ticket, _ = await store.open_ticket(7, "asked", "", "ru")
    assert await store.labels.set_labels(ticket.id, ["b", "a"], 501) == (["b", "a"], [])
    clock.advance(1)
    assert await store.labels.set_labels(ticket.id, ["a", "c"], 502) == (["c"], ["b"])
    assert await store.labels.labels(ticket.id) == ["a", "c"]
    names = [(e.name, e.detail) for e in await store.events(ticket.id) if "label" in e.name]
    assert names == [
        ("label_added", "b"),
        ("label_added", "a"),
        ("label_removed", "b"),
        ("label_added", "c"),
    ]
    assert await store.labels.labels_of_tickets(0, clock.now + 1) == {ticket.id: ["a", "c"]}
    with pytest.raises(TicketNotFound):
        await store.labels.set_labels(999, ["x"], 501)


async def test_a_nudge_is_recorded_once_and_only_for_the_unanswered(
    store: Store, clock: Clock
) -> None:
    waiting, _ = await store.open_ticket(1, "asked", "", "ru")
    answered, _ = await store.open_ticket(2, "asked", "", "ru")
    await store.claim(answered.id, 501, "Мадина")
    await store.record_message(answered.id, "out")
    closed, _ = await store.open_ticket(3, "asked", "", "ru")
    await store.close_ticket(closed.id, reason="user")
    assert await store.labels.unanswered() == [waiting.id]
    assert await store.labels.mark_nudged(waiting.id)
    assert not await store.labels.mark_nudged(waiting.id)
    assert await store.labels.nudged_at(waiting.id) == clock.now
    assert await store.labels.unanswered() == []
    await store.labels.unmark_nudged(waiting.id)  # the send was refused: tried again later
    assert await store.labels.unanswered() == [waiting.id]


async def test_the_store_serves_the_queue_by_priority(store: Store, clock: Clock) -> None:
    ids = []
    for user in (1, 2, 3):
        ticket, _ = await store.open_ticket(user, "asked", "", "ru")
        ids.append(ticket.id)
        clock.advance(10)
    await store.labels.set_priority(ids[2], "high", 501)
    await store.labels.set_priority(ids[0], "low", 501)
    queue = await store.queue()
    assert [(e.position, e.ticket.id) for e in queue] == [(1, ids[2]), (2, ids[1]), (3, ids[0])]
    assert [e.wait for e in queue] == [10.0, 20.0, 30.0]


# -- the report: tickets and SLA attainment by priority and by label ----------------------------

WINDOW = (DAY0, DAY0 + 3 * DAY)
FIRST, RESOLVE = 240.0, 1800.0
LABELS = ("billing", "роуминг", "vip", "internet-4g")


@dataclass(frozen=True)
class Triaged:
    path: Path
    found: Insights
    office: Insights  # the same tickets judged in business hours


@pytest.fixture(scope="module")
def triaged(tmp_path_factory: pytest.TempPathFactory) -> Triaged:
    """The generated days of ``test_reports``, each ticket given a random priority and zero to
    three labels by agents."""
    path = tmp_path_factory.mktemp("triage") / "db.sqlite3"

    found, office = asyncio.run(on_store(path, _triage, DAY0))
    return Triaged(path, found, office)


async def _triage(store: Store, clock: Clock) -> tuple[Insights, Insights]:
    targets = SlaTargets(first_response=FIRST, resolution=RESOLVE)
    await fill_scenario(store, clock, days=4, per_day=40, seed=15, hostile=False)
    rng = random.Random(15)
    for row in await store.ticket_metrics(*WINDOW):
        priority = rng.choice(("urgent", "high", "normal", "normal", "low"))
        await store.labels.set_priority(row["id"], priority, 501)
        chosen = rng.sample(LABELS, rng.randint(0, 3))
        await store.labels.set_labels(row["id"], chosen, 501)
    found = await build_insights(store, *WINDOW, TZ, targets)
    office = await build_insights(
        store, *WINDOW, TZ, dataclasses.replace(targets, business_hours=True), OFFICE
    )
    return found, office


async def test_postgresql_gives_the_same_triage(triaged: Triaged) -> None:
    """The triaged days on PostgreSQL: priorities, labels and SLA (checked against SQL here)
    come out the same."""
    assert await on_postgres(_triage, DAY0) == (triaged.found, triaged.office)


def _judged(target: float, reached: str, until: float) -> str:
    """SQL: (met, breached) of a target over the tickets ``t`` (round the clock)."""
    return f"""SUM({reached} IS NOT NULL AND {reached} - t.created_at <= {target!r}),
        SUM(({reached} IS NOT NULL AND {reached} - t.created_at > {target!r})
            OR ({reached} IS NULL
                AND MIN({until!r}, COALESCE(t.closed_at, {until!r})) - t.created_at
                    > {target!r}))"""


RESOLVED = (
    "(CASE WHEN t.status = 'closed' AND t.closed_at < {until!r} AND t.close_reason NOT IN"
    " ('user', 'blocked', 'timeout', 'migrated') THEN t.closed_at END)"
)


def _segments_sql(path: Path, key: str, joins: str = "") -> dict[str, tuple]:
    since, until = WINDOW
    rows = sql(
        path,
        f"""SELECT {key}, COUNT(*), {_judged(FIRST, "t.first_response_at", until)},
            {_judged(RESOLVE, RESOLVED.format(until=until), until)}
            FROM tickets t {joins}
            WHERE t.created_at >= {since!r} AND t.created_at < {until!r} GROUP BY {key}""",
    )
    return {r[0]: tuple(r[1:]) for r in rows}


def _as_rows(segments) -> dict[str, tuple]:
    return {
        s.key: (
            s.tickets,
            s.first_response.met,
            s.first_response.breached,
            s.resolution.met,
            s.resolution.breached,
        )
        for s in segments
    }


def test_tickets_and_sla_by_priority_match_sql(triaged: Triaged) -> None:
    triage = triaged.found.triage
    assert triage is not None
    expected = _segments_sql(triaged.path, "t.priority")
    assert _as_rows(triage.by_priority) == expected
    assert [s.key for s in triage.by_priority] == [p for p in PRIORITIES if p in expected]
    assert len(expected) == 4 and all(met and late for _, met, late, _, _ in expected.values())


def test_tickets_and_sla_by_label_match_sql(triaged: Triaged) -> None:
    triage = triaged.found.triage
    assert triage is not None
    expected = _segments_sql(triaged.path, "l.label", "JOIN ticket_labels l ON l.ticket_id = t.id")
    assert _as_rows(triage.by_label) == expected and set(expected) == set(LABELS)
    counts = [s.tickets for s in triage.by_label]
    assert counts == sorted(counts, reverse=True)


def test_in_business_hours_the_groups_add_up_to_the_whole(triaged: Triaged) -> None:
    office = triaged.office
    assert office.triage is not None
    for which in ("first_response", "resolution"):
        whole = getattr(office.sla, which)
        parts = [getattr(s, which) for s in office.triage.by_priority]
        assert sum(p.met for p in parts) == whole.met
        assert sum(p.breached for p in parts) == whole.breached
    # nights and the weekend don't count: fewer are late than round the clock
    assert office.sla.first_response.breached < triaged.found.sla.first_response.breached


def test_the_figures_are_in_the_json_and_on_the_page(triaged: Triaged) -> None:
    data = plain(triaged.found)["triage"]
    assert data["by_priority"][0]["key"] == "urgent"
    assert {s["key"] for s in data["by_label"]} == set(LABELS)
    html = "".join(insight_sections(triaged.found, TZ))
    assert 'data-testid="triage"' in html and "#роуминг" in html and "#internet-4g" in html


# -- configuration ----------------------------------------------------------------------------


def test_config_labels_are_normalized_and_a_bad_one_names_its_key(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("agents:\n  labels: ['#Billing', роуминг, billing]\n", encoding="utf-8")
    assert load_config(good).agents.labels == ["billing", "роуминг"]
    for body, key in (
        ("agents:\n  labels: [Billing, 'bad label']\n", "agents.labels"),
        ("reports:\n  sla: {first_response: 10m, nudge: 2}\n", "reports.sla.nudge"),
    ):
        bad = tmp_path / "bad.yaml"
        bad.write_text(body, encoding="utf-8")
        with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
            load_config(bad)
