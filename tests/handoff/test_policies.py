"""The desk's policies, as pure functions."""

from __future__ import annotations

import dataclasses

from handoff import tickets as rules
from handoff.policies import hand_off_after_misses, is_miss, subscriber_reopens
from handoff.tickets import Ticket

T = 1_000_000.0
MISS = {"kind": "none", "normalized": "кто написал"}
EMPTY = {"kind": "none", "normalized": ""}  # an emoji: nothing to miss
ANSWER = {"kind": "answer", "normalized": "баланс"}
SMALLTALK = {"kind": "smalltalk", "normalized": "спасибо"}


def test_a_miss_is_a_none_on_a_real_question() -> None:
    assert is_miss(MISS) and not is_miss(EMPTY) and not is_miss(ANSWER)
    assert not is_miss(SMALLTALK)


def test_hand_off_after_n_misses() -> None:
    assert not hand_off_after_misses([MISS, MISS], 0)  # never
    assert hand_off_after_misses([], 1)  # on the first miss
    assert hand_off_after_misses([MISS], 2)
    assert not hand_off_after_misses([ANSWER, MISS], 2)  # newest first: the last one helped
    assert not hand_off_after_misses([SMALLTALK], 2)
    assert not hand_off_after_misses([EMPTY], 2)
    assert hand_off_after_misses([MISS, MISS, ANSWER], 3)
    assert not hand_off_after_misses([MISS], 3)  # not enough history yet


def closed(reason: str, at: float = T) -> Ticket:
    ticket = Ticket(1, 42, "waiting", "command", "", "ru", created_at=T - 100)
    return dataclasses.replace(rules.close(ticket, at, reason), closed_at=at)


def test_one_reopen_rule_for_every_close_but_a_ban_or_a_cancel() -> None:
    for reason in ("agent", "blocked", "timeout"):
        assert subscriber_reopens(closed(reason), T + 59, window=60), reason
        assert not subscriber_reopens(closed(reason), T + 60, window=60), reason
    assert not subscriber_reopens(closed("banned"), T + 1, window=60)
    assert not subscriber_reopens(closed("user"), T + 1, window=60)  # they cancelled it
    assert not subscriber_reopens(None, T, window=60)
    assert not subscriber_reopens(closed("agent"), T + 1, window=0)  # reopening switched off
