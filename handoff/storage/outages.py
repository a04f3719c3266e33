"""Outage reports (SQLite): what subscribers reported, and which reports the agents were told
about."""

from __future__ import annotations

from handoff.storage.database import Repository


class SqliteOutages(Repository):
    """The ``outages`` table."""

    async def add_outage(
        self,
        user_id: int,
        district: str | None,
        description: str = "",
        latitude: float | None = None,
        longitude: float | None = None,
    ) -> int:
        async with self._writing():
            new_id = await self.db.insert(
                "INSERT INTO outages (user_id, district, latitude, longitude, description, ts)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (user_id, district, latitude, longitude, description, self.clock()),
            )
        return new_id

    async def outage_cluster(self, district: str, since: float) -> list[dict]:
        """Reports from one district since ``since`` that agents have not been told about."""
        rows = await self.db.fetchall(
            "SELECT id, user_id, description, ts FROM outages"
            " WHERE district = ? AND ts >= ? AND notified = 0 ORDER BY ts",
            (district, since),
        )
        return [dict(r) for r in rows]

    async def unnotified_outages(self, before: float) -> list[dict]:
        """Reports from before ``before`` that no alert has told the agents about."""
        rows = await self.db.fetchall(
            "SELECT id, user_id, district, description, ts FROM outages"
            " WHERE ts < ? AND notified = 0 ORDER BY ts",
            (before,),
        )
        return [dict(r) for r in rows]

    async def mark_outages_notified(self, ids: list[int]) -> None:
        if not ids:
            return
        async with self._writing():
            await self.db.executemany(
                "UPDATE outages SET notified = 1 WHERE id = ?", [(i,) for i in ids]
            )

    async def outages(self, since: float, until: float | None = None) -> list[dict]:
        rows = await self.db.fetchall(
            "SELECT id, user_id, district, latitude, longitude, description, ts FROM outages"
            " WHERE ts >= ? AND ts < ? ORDER BY ts",
            (since, until if until is not None else float("inf")),
        )
        return [dict(r) for r in rows]
