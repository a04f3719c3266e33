"""One subscriber cannot starve the desk: past ``agents.flood`` (so many messages in so many
seconds into one ticket) the subscriber is told once, politely, that their messages are kept
and passed on, and their texts go to the group as one digest per ``digest_seconds``, after
every other ticket's relays (``bot.pacing.BULK``), until their pace drops again."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

from bot.config import FloodConfig


class FloodGuard:
    """Arrival times per ticket over the last ``per_seconds``, and each one's next digest."""

    def __init__(self, config: FloodConfig, clock: Callable[[], float] = time.monotonic):
        self.config = config
        self.clock = clock
        self._arrivals: dict[int, deque[float]] = {}
        self._next_digest: dict[int, float] = {}
        self._told: set[int] = set()  # tickets whose subscriber was told (once per ticket)

    def _recent(self, ticket_id: int, now: float) -> deque[float]:
        arrivals = self._arrivals.get(ticket_id)
        if arrivals is None:
            return deque()
        while arrivals and arrivals[0] <= now - self.config.per_seconds:
            arrivals.popleft()
        if not arrivals:
            del self._arrivals[ticket_id]
            self._next_digest.pop(ticket_id, None)
        return arrivals

    def arrived(self, ticket_id: int) -> bool:
        """A subscriber's message came into the ticket; True the first time it floods (the
        one time the subscriber is told)."""
        if not self.config.messages:
            return False
        now = self.clock()
        self._recent(ticket_id, now)
        self._arrivals.setdefault(ticket_id, deque()).append(now)
        if not self.flooding(ticket_id):
            return False
        self._next_digest.setdefault(ticket_id, now + self.config.digest_seconds)
        if ticket_id in self._told:
            return False
        self._told.add(ticket_id)
        return True

    def flooding(self, ticket_id: int) -> bool:
        if not self.config.messages:
            return False
        return len(self._recent(ticket_id, self.clock())) > self.config.messages

    async def digest_turn(self, ticket_id: int) -> None:
        """Wait for the ticket's next digest (at once when it does not flood)."""
        if not self.flooding(ticket_id):
            return
        now = self.clock()
        at = self._next_digest.get(ticket_id, now)
        if at > now:
            await asyncio.sleep(at - now)
        self._next_digest[ticket_id] = max(at, now) + self.config.digest_seconds

    def forget(self, ticket_id: int) -> None:
        """A closed ticket's record goes (its subscriber may be told again in a new one)."""
        self._arrivals.pop(ticket_id, None)
        self._next_digest.pop(ticket_id, None)
        self._told.discard(ticket_id)
