"""The desk's rules on plain tickets: every transition, every refusal and every duration."""

from __future__ import annotations

import dataclasses

import pytest

from handoff import tickets as rules
from handoff.tickets import (
    AlreadyClaimed,
    DeskError,
    InvalidScore,
    NotClaimed,
    NotClosed,
    NotYourTicket,
    ReopenExpired,
    Ticket,
    TicketClosed,
)

T = 1000.0


def waiting(**changes: object) -> Ticket:
    base = Ticket(
        id=7, user_id=42, status="waiting", reason="command", question="интернет", lang="ru",
        created_at=T, queued_at=T,
    )  # fmt: skip
    return dataclasses.replace(base, **changes)


def claimed_by_alice() -> Ticket:
    return rules.claim(waiting(), 1, "Alice", T + 30)


def test_claim_a_waiting_ticket() -> None:
    t = claimed_by_alice()
    assert (t.status, t.agent_id, t.agent_name, t.claimed_at) == ("claimed", 1, "Alice", T + 30)
    assert t.wait_until_claim == 30


def test_a_claimed_ticket_cant_be_claimed_again() -> None:
    with pytest.raises(AlreadyClaimed) as err:
        rules.claim(claimed_by_alice(), 2, "Bob", T + 40)
    assert (err.value.code, err.value.agent_name, err.value.agent_id) == (
        "already_claimed",
        "Alice",
        1,
    )
    assert err.value.params == {"agent": "Alice"}
    # A double tap by the same agent says so too; the bot compares agent_id with the caller.
    with pytest.raises(AlreadyClaimed):
        rules.claim(claimed_by_alice(), 1, "Alice", T + 40)


def test_a_closed_ticket_cant_be_claimed() -> None:
    with pytest.raises(TicketClosed) as err:
        rules.claim(rules.close(waiting(), T + 5), 1, "Alice", T + 6)
    assert err.value.code == "closed"


def test_release_returns_the_ticket_to_the_queue_keeping_the_first_claim() -> None:
    t = rules.release(claimed_by_alice(), 1)
    assert (t.status, t.agent_id, t.agent_name, t.claimed_at, t.queued_at) == (
        "waiting", None, None, T + 30, T,
    )  # fmt: skip
    again = rules.claim(t, 2, "Bob", T + 90)
    assert again.claimed_at == T + 30 and again.agent_name == "Bob"


def test_only_the_owner_releases_unless_forced() -> None:
    with pytest.raises(NotYourTicket) as err:
        rules.release(claimed_by_alice(), 2)
    assert (err.value.code, err.value.agent_name) == ("not_yours", "Alice")
    assert rules.release(claimed_by_alice(), 2, force=True).status == "waiting"


def test_release_needs_a_claimed_ticket() -> None:
    with pytest.raises(NotClaimed) as err:
        rules.release(waiting(), 1)
    assert err.value.code == "not_claimed"
    with pytest.raises(TicketClosed):
        rules.release(rules.close(claimed_by_alice(), T + 50, agent_id=1), 1)


def test_transfer_hands_the_ticket_to_another_agent() -> None:
    t = rules.transfer(claimed_by_alice(), 1, 2, "Bob")
    assert (t.status, t.agent_id, t.agent_name, t.claimed_at) == ("claimed", 2, "Bob", T + 30)
    with pytest.raises(NotYourTicket):
        rules.transfer(claimed_by_alice(), 3, 2, "Bob")
    with pytest.raises(AlreadyClaimed):
        rules.transfer(claimed_by_alice(), 1, 1, "Alice")
    with pytest.raises(NotClaimed):
        rules.transfer(waiting(), 1, 2, "Bob")


def test_close_a_claimed_ticket() -> None:
    t = rules.close(claimed_by_alice(), T + 300, "agent", 1, "Alice")
    assert (t.status, t.closed_at, t.close_reason, t.agent_id) == ("closed", T + 300, "agent", 1)
    assert t.handling_time == 270 and t.resolution_time == 300


def test_close_someone_elses_ticket_needs_force() -> None:
    with pytest.raises(NotYourTicket):
        rules.close(claimed_by_alice(), T + 300, "agent", 2, "Bob")
    t = rules.close(claimed_by_alice(), T + 300, "agent", 2, "Bob", force=True)
    assert t.agent_name == "Alice"  # the handling agent stays the one who worked on it


def test_system_closes_need_no_agent() -> None:
    for reason in ("blocked", "banned", "timeout", "user"):
        t = rules.close(claimed_by_alice(), T + 60, reason)
        assert (t.status, t.close_reason, t.agent_name) == ("closed", reason, "Alice")


def test_closing_a_waiting_ticket_records_who_did() -> None:
    t = rules.close(waiting(), T + 10, "agent", 3, "Carol")
    assert (t.agent_id, t.agent_name, t.claimed_at, t.handling_time) == (3, "Carol", None, None)


def test_close_twice_and_unknown_reasons() -> None:
    closed = rules.close(waiting(), T + 10)
    with pytest.raises(TicketClosed):
        rules.close(closed, T + 20)
    with pytest.raises(ValueError, match="unknown close reason"):
        rules.close(waiting(), T + 10, "bored")


def test_subscriber_reopens_within_the_window() -> None:
    closed = rules.close(claimed_by_alice(), T + 100, agent_id=1)
    t = rules.reopen(closed, T + 159, window=60)
    assert (t.status, t.closed_at, t.close_reason, t.agent_id, t.reopened, t.queued_at) == (
        "waiting", None, None, None, 1, T + 159,
    )  # fmt: skip
    assert t.claimed_at == T + 30  # the first claim still measures the first wait
    with pytest.raises(ReopenExpired) as err:
        rules.reopen(closed, T + 160, window=60)
    assert err.value.code == "reopen_expired"


def test_an_agent_reopens_at_any_time() -> None:
    closed = rules.close(claimed_by_alice(), T + 100, agent_id=1)
    assert rules.reopen(closed, T + 86400 * 30, by_agent=True).status == "waiting"


def test_only_closed_tickets_reopen_and_bans_are_final() -> None:
    with pytest.raises(NotClosed) as err:
        rules.reopen(waiting(), T + 1, 60)
    assert err.value.code == "not_closed"
    banned = rules.close(waiting(), T + 10, "banned")
    assert not rules.reopenable(banned, T + 11, 60)


def test_rate_a_closed_ticket() -> None:
    closed = rules.close(claimed_by_alice(), T + 100, agent_id=1)
    assert rules.rate(closed, 5).csat == 5
    assert rules.rate(rules.rate(closed, 5), 2).csat == 2
    for bad in (0, 6, True, 4.5, "5"):
        with pytest.raises(InvalidScore) as err:
            rules.rate(closed, bad)  # type: ignore[arg-type]
        assert err.value.code == "bad_score"
    with pytest.raises(NotClosed):
        rules.rate(waiting(), 5)


def test_durations_are_none_until_their_step_happened() -> None:
    t = waiting(conversation_started_at=T - 45)
    assert t.time_to_handoff == 45
    assert (t.wait_until_claim, t.first_response_time, t.handling_time, t.resolution_time) == (
        None, None, None, None,
    )  # fmt: skip
    answered = dataclasses.replace(claimed_by_alice(), first_response_at=T + 70)
    assert answered.first_response_time == 70
    row = rules.close(answered, T + 400, agent_id=1).metrics()
    assert row["id"] == 7 and row["resolution_time"] == 400 and row["handling_time"] == 370
    assert row["time_to_handoff"] is None  # not known for this one


def test_every_desk_error_has_its_own_code() -> None:
    errors = [
        cls for cls in vars(rules).values() if isinstance(cls, type) and issubclass(cls, DeskError)
    ]
    codes = [cls.code for cls in errors if cls is not DeskError]
    assert len(codes) == len(set(codes)) >= 10
