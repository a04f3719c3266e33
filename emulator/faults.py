"""Fault injection rules: forced errors, 429s, hung requests and dropped connections."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

FaultKind = Literal["error", "retry_after", "timeout", "drop"]
FAULT_KINDS: tuple[str, ...] = ("error", "retry_after", "timeout", "drop")

_STATUS_TEXT = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass
class Fault:
    """One injected failure rule.

    ``count`` requests are affected (None = unlimited), optionally only until the clock
    reaches ``until``. ``methods`` holds lower-case method names, None means every method.
    With ``apply=True`` the request is executed first and only the response is lost
    (``timeout``/``drop``), which is how duplicate sends happen in real life. ``after`` lets
    that many matching calls through before the rule starts firing (an outage that begins
    part-way through a burst).
    """

    id: int
    kind: str
    methods: frozenset[str] | None = None
    count: int | None = 1
    until: float | None = None
    status: int = 500
    description: str | None = None
    retry_after: int = 5
    hold: float = 30.0
    apply: bool = False
    raw_body: str | None = None
    after: int = 0
    hits: int = 0
    passed: int = 0

    def matches(self, method: str, now: float) -> bool:
        """Whether this rule applies to a call of ``method`` at ``now``."""
        if self.until is not None and now >= self.until:
            return False
        if self.count is not None and self.hits >= self.count:
            return False
        return self.methods is None or method in self.methods

    def expired(self, now: float) -> bool:
        """Whether the rule can never fire again."""
        if self.until is not None and now >= self.until:
            return True
        return self.count is not None and self.hits >= self.count

    def error_body(self) -> dict[str, Any]:
        """The Telegram-shaped JSON body for ``error`` faults."""
        text = self.description or _STATUS_TEXT.get(self.status, "Internal Server Error")
        return {"ok": False, "error_code": self.status, "description": text}

    def to_json(self) -> dict[str, Any]:
        """Plain dict for the control API."""
        return {
            "id": self.id,
            "kind": self.kind,
            "methods": sorted(self.methods) if self.methods is not None else None,
            "count": self.count,
            "until": self.until,
            "status": self.status,
            "description": self.description,
            "retry_after": self.retry_after,
            "hold": self.hold,
            "apply": self.apply,
            "after": self.after,
            "hits": self.hits,
        }


def normalize_methods(method: str | Iterable[str] | None) -> frozenset[str] | None:
    """Accept one name, several names or None; compare case-insensitively."""
    if method is None:
        return None
    if isinstance(method, str):
        return frozenset({method.lower()})
    return frozenset(m.lower() for m in method)


class FaultInjector:
    """Ordered list of fault rules; the first matching rule fires."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.rules: list[Fault] = []
        self._ids = itertools.count(1)

    def add(
        self,
        kind: str,
        method: str | Iterable[str] | None = None,
        *,
        count: int | None = 1,
        seconds: float | None = None,
        status: int = 500,
        description: str | None = None,
        retry_after: int = 5,
        hold: float = 30.0,
        apply: bool = False,
        raw_body: str | None = None,
        after: int = 0,
    ) -> Fault:
        """Register a rule. ``seconds`` makes it a time window (and unlimited in count);
        ``after``: matching calls let through before it fires."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULT_KINDS}")
        until = None
        if seconds is not None:
            until = self.clock() + seconds
            count = None
        fault = Fault(
            id=next(self._ids),
            kind=kind,
            methods=normalize_methods(method),
            count=count,
            until=until,
            status=status,
            description=description,
            retry_after=retry_after,
            hold=hold,
            apply=apply,
            raw_body=raw_body,
            after=after,
        )
        self.rules.append(fault)
        return fault

    def take(self, method: str) -> Fault | None:
        """Return (and count) the first rule matching ``method``, dropping spent rules."""
        now = self.clock()
        found = None
        for fault in self.rules:
            if fault.matches(method, now):
                if fault.passed < fault.after:
                    fault.passed += 1
                    continue
                fault.hits += 1
                found = fault
                break
        self.rules = [f for f in self.rules if not f.expired(now)]
        return found

    def remove(self, fault_id: int) -> bool:
        """Delete one rule by id."""
        before = len(self.rules)
        self.rules = [f for f in self.rules if f.id != fault_id]
        return len(self.rules) != before

    def clear(self) -> None:
        """Remove every rule."""
        self.rules.clear()
