"""The update journal: updates kept before Telegram is told they arrived, who handles each, and
what was sent for each (``bot.durable`` uses it).

Two backends behind one interface, ``Journal``: a SQLite file of its own next to the bot's
database (``<db>.journal``; one instance), and tables in the bot's PostgreSQL database
(``journal_inbox``, ``journal_sent``), shared by every instance using that database. A send is
recorded as intended before it is made, so a send cut off by a crash is known as one that may
have arrived. Every error of either backend reaches the caller as ``JournalUnavailable``: the
journal can't be used now (a locked or full file, a server away), the caller waits.

Several instances share the PostgreSQL journal: each stored update is *claimed* by one
instance (``claim``), which holds it by a lease it renews while it handles it (``renew``); an
update of a chat another live instance holds waits for that one, so a chat's updates are
handled in order; a dead instance's lease runs out and another takes its updates over. One
instance at a time *leads* (``lead``): it polls Telegram and runs the timers. The journal's SQL
is the transport's business, so it lives here, not in ``handoff/storage/``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from contextvars import ContextVar
from pathlib import Path

from handoff.storage.database import is_postgres

LEASE = 10.0  # seconds an instance holds an update it claimed without renewing the lease

# (update id, JSON) or (update id, JSON, chat key): what ``inbox_put`` keeps
Row = tuple[int, str] | tuple[int, str, str | None]


class JournalUnavailable(Exception):
    """The journal can't be used now (SQLite locked, disk full, PostgreSQL away): wait."""


_unjournaled: ContextVar[bool] = ContextVar("dono_unjournaled", default=False)


@contextlib.contextmanager
def not_journaled() -> Iterator[None]:
    """Sends made inside are not recorded in (or answered from) the journal: for a send whose
    record is kept elsewhere (a ticket's hand-off step), so it does not take a place in the
    update's sequence of sends that handling the update again would have to repeat."""
    token = _unjournaled.set(True)
    try:
        yield
    finally:
        _unjournaled.reset(token)


def journaled() -> bool:
    """Whether a send made now is recorded in the journal (see ``not_journaled``)."""
    return not _unjournaled.get()


def journal_path(path: str | Path) -> str:
    return ":memory:" if str(path) == ":memory:" else f"{path}.journal"


class Journal:
    """Open with ``await Journal.open(target)``: a ``postgresql://`` URL (shared by the
    instances on that database) or a path (the SQLite file ``<path>.journal``, one
    instance); close with ``await close()``."""

    shared = False  # several instances may use it at once
    poll_every = 5.0  # seconds between looks for updates stored by others, at most
    lease = LEASE
    claim_batch = 500  # updates claimed at once, at most

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._new = asyncio.Event()

    @staticmethod
    async def open(
        target: str | Path, clock: Callable[[], float] = time.time, lease: float = LEASE
    ) -> Journal:
        if is_postgres(target):
            from bot.journal.postgres import PostgresJournal

            return await PostgresJournal.connect(str(target), clock, lease)
        from bot.journal.sqlite import SqliteJournal

        return await SqliteJournal.connect(target, clock)

    async def close(self) -> None:
        raise NotImplementedError

    # -- the inbox -----------------------------------------------------------------------

    async def inbox_put(self, updates: Sequence[Row]) -> None:
        """Keep updates (id, JSON[, chat key]) before they are acknowledged to Telegram;
        repeats are ignored."""
        raise NotImplementedError

    async def inbox_add(self, update_id: int, body: str, chat: str | None = None) -> bool:
        """Keep one update (a webhook delivery); False when it was kept already (Telegram
        delivers again what it is not sure arrived)."""
        raise NotImplementedError

    async def inbox_pending(
        self, limit: int = 1000, after: int | None = None
    ) -> list[tuple[int, str, int]]:
        """Stored updates not handled yet, oldest first (after ``after``, if given), at most
        ``limit``: (id, JSON, attempts so far)."""
        raise NotImplementedError

    async def inbox_last_id(self) -> int | None:
        raise NotImplementedError

    async def inbox_attempt(self, update_id: int) -> None:
        raise NotImplementedError

    async def inbox_done(self, update_id: int, error: str | None = None) -> None:
        raise NotImplementedError

    # -- what was sent -------------------------------------------------------------------

    async def sent_get(self, update_id: int, chat_id: str, n: int) -> str | None:
        """The Bot API response already received for this update's n-th send to a chat; ""
        when the send was started (``sent_intended``) and its response never recorded."""
        raise NotImplementedError

    async def sent_put(
        self, update_id: int, chat_id: str, n: int, method: str, response: str
    ) -> None:
        raise NotImplementedError

    async def sent_intended(self, update_id: int, chat_id: str, n: int, method: str) -> None:
        """Record that this send is about to be made (its response, once known, replaces it):
        handling the update again then knows a send whose answer never came may have
        reached Telegram."""
        await self.sent_put(update_id, chat_id, n, method, "")

    async def sent_refused(self, update_id: int, chat_id: str, n: int) -> None:
        """Telegram refused the intended send (an error, not silence): it was not made."""
        raise NotImplementedError

    async def prune(self, keep: float = 3600.0, keep_errors: float = 7 * 86400.0) -> int:
        """Forget handled updates (and what was sent for them) older than ``keep`` seconds, the
        ones that failed after ``keep_errors``; pending ones and the newest (the polling
        offset) stay. Returns how many updates were forgotten."""
        raise NotImplementedError

    # -- several instances ---------------------------------------------------------------

    async def claim(
        self, owner: str, limit: int, in_hand: Collection[int] = ()
    ) -> list[tuple[int, str, int]]:
        """Take pending updates for ``owner`` to handle, oldest first, at most ``limit``: none
        in ``in_hand`` (the owner has them), none held by another live instance, none of a
        chat another live instance holds an update of. (id, JSON, attempts so far)."""
        raise NotImplementedError

    async def unclaimed(self) -> int:
        """How many stored updates no live instance holds (the shared backlog)."""
        return 0

    async def renew(self, owner: str, in_hand: Collection[int]) -> None:
        """The owner is alive and still has these: their leases start again."""

    async def release(self, owner: str) -> None:
        """The owner stops: what it holds and has not finished is free for the others."""

    async def lead(self) -> bool:
        """Try to be (or stay) the one instance that polls and runs the timers; whether it is."""
        return True

    async def wait_for_new(self, timeout: float) -> None:
        """Returns when an update was stored (here or, shared, by another instance) since the
        last call, or after ``timeout`` seconds."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._new.wait(), timeout)
        self._new.clear()

    def stored(self) -> None:
        """Something new is in the inbox: wake ``wait_for_new``."""
        self._new.set()

    @contextlib.contextmanager
    def unavailable_as(self, errors: tuple[type[BaseException], ...]) -> Iterator[None]:
        """The backend's own errors, raised inside, as ``JournalUnavailable``."""
        try:
            yield
        except errors as exc:
            task = asyncio.current_task()
            if task is not None and task.cancelling():  # the driver's clean-up, cut off
                raise asyncio.CancelledError from exc  # mid-cancel, raised its own error
            raise JournalUnavailable(f"{type(exc).__name__}: {exc}") from exc


__all__ = ["LEASE", "Journal", "JournalUnavailable", "journal_path", "journaled", "not_journaled"]
