"""The pacer's buckets: bursts pass, then one request per interval, in arrival order."""

from bot.pacing import Bucket


def test_burst_then_rate() -> None:
    bucket = Bucket(rate=1.0, burst=5)
    delays = [bucket.reserve(100.0) for _ in range(8)]
    assert delays[:5] == [0, 0, 0, 0, 0]
    assert delays[5:] == [1.0, 2.0, 3.0]


def test_idle_time_refills() -> None:
    bucket = Bucket(rate=30.0, burst=30)
    for _ in range(30):
        bucket.reserve(0.0)
    assert bucket.reserve(0.0) > 0
    assert bucket.reserve(10.0) == 0  # ten idle seconds later the burst is back


def test_group_rate_is_per_minute() -> None:
    bucket = Bucket(rate=20 / 60, burst=20)
    delays = [bucket.reserve(0.0) for _ in range(22)]
    assert delays[19] == 0 and round(delays[20], 6) == 3.0 and round(delays[21], 6) == 6.0
