"""Subscribers and bans (SQLite): profiles from Telegram updates, languages, who blocked the
bot, who is banned."""

from __future__ import annotations

from handoff.storage.database import Repository
from handoff.subscribers import Subscriber
from handoff.tickets import Ban


class SqliteSubscribers(Repository):
    """The ``subscribers`` and ``bans`` tables."""

    async def touch_subscriber(
        self,
        user_id: int,
        chat_id: int,
        first_name: str,
        username: str | None,
        language_code: str | None,
    ) -> Subscriber:
        """Create or refresh a subscriber from a Telegram update; returns the stored profile."""
        now = self.clock()
        async with self._writing():
            await self.db.execute(
                """
                INSERT INTO subscribers
                    (user_id, chat_id, first_name, username, language_code, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(user_id) DO UPDATE SET
                    chat_id = excluded.chat_id, first_name = excluded.first_name,
                    username = excluded.username, language_code = excluded.language_code,
                    blocked = 0, updated_at = excluded.updated_at
                """,
                (user_id, chat_id, first_name, username, language_code, now, now),
            )
        sub = await self.subscriber(user_id)
        assert sub is not None
        return sub

    async def subscriber(self, user_id: int) -> Subscriber | None:
        row = await self.db.fetchone(
            "SELECT user_id, chat_id, first_name, username, language_code, lang, blocked "
            "FROM subscribers WHERE user_id = ?",
            (user_id,),
        )
        if row is None:
            return None
        return Subscriber(
            row["user_id"],
            row["chat_id"],
            row["first_name"],
            row["username"],
            row["language_code"],
            row["lang"],
            bool(row["blocked"]),
        )

    async def set_language(self, user_id: int, lang: str) -> None:
        async with self._writing():
            await self.db.execute(
                "UPDATE subscribers SET lang = ?, updated_at = ? WHERE user_id = ?",
                (lang, self.clock(), user_id),
            )

    async def mark_blocked(self, chat_id: int) -> None:
        async with self._writing():
            await self.db.execute(
                "UPDATE subscribers SET blocked = 1, updated_at = ? WHERE chat_id = ?",
                (self.clock(), chat_id),
            )

    async def unban(self, user_id: int) -> bool:
        """Lift a ban; False when there was none."""
        async with self._writing():
            changed = await self.db.execute("DELETE FROM bans WHERE user_id = ?", (user_id,))
        return changed > 0

    async def is_banned(self, user_id: int) -> bool:
        return await self.ban_of(user_id) is not None

    async def ban_of(self, user_id: int) -> Ban | None:
        row = await self.db.fetchone(
            "SELECT user_id, banned_by, reason, ts FROM bans WHERE user_id = ?", (user_id,)
        )
        return None if row is None else Ban(*row)

    async def ban(
        self, user_id: int, by: int | None, reason: str = "", now: float | None = None
    ) -> None:
        """Record a ban (again: refreshes who and why)."""
        async with self._writing():
            await self.db.execute(
                "INSERT INTO bans (user_id, banned_by, reason, ts) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(user_id) DO UPDATE SET banned_by = excluded.banned_by,"
                " reason = excluded.reason, ts = excluded.ts",
                (user_id, by, reason, self._now(now)),
            )
