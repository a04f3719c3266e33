"""The daily digests posted (SQLite and PostgreSQL): one row per reported day, claimed by the
instance that posts it before it posts, so a digest goes out once per day however the timers
move between instances (a leader change, a restart or a deploy at the digest's hour)."""

from __future__ import annotations

from handoff.storage.database import Repository

STALE_CLAIM = 600.0  # seconds after which a claim never marked posted is taken again


class SqliteDigests(Repository):
    """The ``digests`` table."""

    async def claim(self, day: str, owner: str, now: float | None = None) -> bool:
        """Whether ``owner`` is to post the digest of ``day`` now: nobody claimed it, or a
        claim was made more than ``STALE_CLAIM`` seconds ago and never marked posted (the
        instance died on the way; its digest may have gone out, or not)."""
        at = self._now(now)
        async with self._writing():
            if await self.db.execute(
                "INSERT INTO digests (day, owner, claimed_at) VALUES (?, ?, ?)"
                " ON CONFLICT (day) DO NOTHING",
                (day, owner, at),
            ):
                return True
            return bool(
                await self.db.execute(
                    "UPDATE digests SET owner = ?, claimed_at = ?"
                    " WHERE day = ? AND posted_at IS NULL AND claimed_at < ?",
                    (owner, at, day, at - STALE_CLAIM),
                )
            )

    async def posted(self, day: str, now: float | None = None) -> None:
        async with self._writing():
            await self.db.execute(
                "UPDATE digests SET posted_at = ? WHERE day = ?", (self._now(now), day)
            )

    async def release(self, day: str) -> None:
        """The claim given back: the digest could not be posted, the next look tries again."""
        async with self._writing():
            await self.db.execute("DELETE FROM digests WHERE day = ? AND posted_at IS NULL", (day,))

    async def posted_at(self, day: str) -> float | None:
        row = await self.db.fetchone("SELECT posted_at FROM digests WHERE day = ?", (day,))
        return row[0] if row is not None else None
