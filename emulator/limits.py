"""Token-bucket flood control mirroring Telegram's per-chat and global send limits."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass
class Limits:
    """Send limits; every rule can be switched off on its own.

    * private chats: ``private_per_second`` messages/s with a burst of ``private_burst``;
    * groups/supergroups: ``group_per_minute`` messages/min (burst ``group_burst``);
    * all chats of one bot: ``global_per_second`` messages/s.
    """

    enabled: bool = True
    private_enabled: bool = True
    private_per_second: float = 1.0
    private_burst: int = 5
    group_enabled: bool = True
    group_per_minute: float = 20.0
    group_burst: int = 20
    global_enabled: bool = True
    global_per_second: float = 30.0
    global_burst: int = 30

    def update(self, **changes: Any) -> None:
        """Change fields by name (unknown names raise ``TypeError``)."""
        names = {f.name for f in fields(self)}
        for key, value in changes.items():
            if key not in names:
                raise TypeError(f"unknown limit {key!r}")
            setattr(self, key, value)

    def to_json(self) -> dict[str, Any]:
        """Plain dict for the control API."""
        return asdict(self)


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class RateLimiter:
    """Checks and consumes send tokens; returns Telegram's ``retry_after`` when exceeded."""

    def __init__(self, limits: Limits, clock: Callable[[], float]) -> None:
        self.limits = limits
        self.clock = clock
        self._buckets: dict[tuple[Any, ...], _Bucket] = {}

    def reset(self) -> None:
        """Forget all consumed tokens."""
        self._buckets.clear()

    def _rules(self, bot_id: int, chat_id: int, private: bool) -> list[tuple[Any, float, float]]:
        lim = self.limits
        rules: list[tuple[Any, float, float]] = []
        if private and lim.private_enabled:
            rules.append((("p", bot_id, chat_id), lim.private_per_second, lim.private_burst))
        if not private and lim.group_enabled:
            rules.append((("g", bot_id, chat_id), lim.group_per_minute / 60.0, lim.group_burst))
        if lim.global_enabled:
            rules.append((("all", bot_id), lim.global_per_second, lim.global_burst))
        return rules

    def acquire(self, bot_id: int, chat_id: int, *, private: bool, count: int = 1) -> int | None:
        """Consume ``count`` sends (a call that posts several messages); return None if
        allowed, else seconds to wait (>= 1). A call of more messages than a bucket holds
        goes once the bucket is full and leaves it in debt: the calls after it wait."""
        if not self.limits.enabled:
            return None
        now = self.clock()
        rules = self._rules(bot_id, chat_id, private)
        wait = 0.0
        buckets: list[_Bucket] = []
        for key, rate, burst in rules:
            capacity = max(float(burst), 1.0)
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket(capacity, now)
            bucket.tokens = min(capacity, bucket.tokens + (now - bucket.stamp) * rate)
            bucket.stamp = now
            buckets.append(bucket)
            need = min(float(count), capacity)
            if bucket.tokens < need and rate > 0:
                wait = max(wait, (need - bucket.tokens) / rate)
            elif bucket.tokens < need:
                wait = max(wait, 3600.0)
        if wait > 0:
            return max(1, math.ceil(wait))
        for bucket in buckets:
            bucket.tokens -= float(count)
        return None
