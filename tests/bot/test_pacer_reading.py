"""The pacer read without being used: how long a call to a chat would wait, how many could go
at once (the desks' routing asks this, bot.desk.routing)."""

from bot.pacing import Limits, Pacer

GROUP = -100123


def test_a_chat_never_used_has_its_whole_burst() -> None:
    pacer = Pacer(Limits(), clock=lambda: 0.0)
    assert pacer.wait_for(GROUP) == 0.0
    assert pacer.spare_for(GROUP) == pacer.local.chat(GROUP, 0.0).burst


def test_reading_matches_what_the_next_call_would_wait_and_changes_nothing() -> None:
    now = [50.0]
    pacer = Pacer(Limits(), clock=lambda: now[0])
    bucket = pacer.local.chat(GROUP, now[0])
    for _ in range(bucket.burst - 3):
        bucket.reserve(now[0])
    assert pacer.wait_for(GROUP) == 0.0 and round(pacer.spare_for(GROUP)) == 3
    for _ in range(3 + 4):
        bucket.reserve(now[0])
    tat = bucket.tat
    wait = pacer.wait_for(GROUP)
    assert pacer.spare_for(GROUP) == 0.0 and bucket.tat == tat
    assert abs(wait - bucket.reserve(now[0])) < 1e-9
    now[0] += wait + 1 / bucket.rate  # time passes: the wait shrinks
    assert pacer.wait_for(GROUP) == 0.0
