"""The automatic hand-off's rule (misses since the bot last helped, asides stepped over), and
which closed tickets any message reopens."""

from __future__ import annotations

import dataclasses

from handoff.policies import any_message_reopens, hand_off_after_misses, is_aside, is_miss
from handoff.tickets import Ticket

NONE = {"kind": "none", "normalized": "кто написал"}
EMOJI = {"kind": "none", "normalized": ""}
HELLO = {"kind": "smalltalk", "normalized": "привет", "intent": "greeting"}
USELESS_CLARIFY = {"kind": "clarify", "normalized": "интернет", "topic": None}
PICKED_CLARIFY = {"kind": "clarify", "normalized": "интернет", "topic": "internet_setup"}
DISLIKED = {"kind": "answer", "normalized": "баланс", "topic": "balance", "disliked": True}
KEPT = {"kind": "answer", "normalized": "баланс", "topic": "balance", "disliked": False}
HANDOFF = {"kind": "handoff", "normalized": "оператор"}


def test_what_is_a_miss_and_what_is_an_aside() -> None:
    assert all(is_miss(i) for i in (NONE, USELESS_CLARIFY, DISLIKED))
    assert not any(is_miss(i) for i in (EMOJI, HELLO, PICKED_CLARIFY, KEPT, HANDOFF))
    assert is_aside(HELLO) and is_aside(EMOJI)
    assert not any(is_aside(i) for i in (NONE, KEPT, USELESS_CLARIFY))


def test_asides_are_stepped_over_and_help_ends_the_count() -> None:
    assert hand_off_after_misses([HELLO, NONE], 2)
    assert hand_off_after_misses([EMOJI, HELLO, USELESS_CLARIFY], 2)
    assert hand_off_after_misses([DISLIKED], 2)
    assert hand_off_after_misses([NONE, HELLO, DISLIKED], 3)
    assert not hand_off_after_misses([NONE, KEPT, NONE], 3)
    assert not hand_off_after_misses([PICKED_CLARIFY, NONE], 2)
    assert not hand_off_after_misses([HANDOFF, NONE], 2)
    assert not hand_off_after_misses([HELLO, HELLO], 2)  # small talk alone is no miss
    assert not hand_off_after_misses([NONE, NONE], 0)


def test_only_a_ticket_closed_by_a_block_is_reopened_by_anything() -> None:
    fields = {f.name: None for f in dataclasses.fields(Ticket)}
    blocked = Ticket(**fields | {"close_reason": "blocked"})
    assert any_message_reopens(blocked)
    assert not any(
        any_message_reopens(dataclasses.replace(blocked, close_reason=r))
        for r in ("agent", "timeout", "user", "banned")
    )
