"""Interactions and feedback (SQLite): what the bot decided on each message, and the 👍/👎 its
answers got."""

from __future__ import annotations

from handoff.storage.database import Repository

SAME_UPDATE_WITHIN = 86400.0  # seconds: a row this recent with the update's id is its log


class SqliteInteractions(Repository):
    """The ``interactions`` and ``feedback`` tables."""

    async def log_interaction(
        self,
        user_id: int,
        text: str,
        normalized: str,
        kind: str,
        topic: str | None,
        candidates: list[str],
        score: float,
        lang: str | None,
        latency_ms: float,
        intent: str | None = None,
        update_id: int | None = None,
    ) -> int:
        """One message the bot decided on: ``kind`` is the matcher's (answer, clarify,
        handoff, smalltalk, none; "banned" for a banned subscriber's message), ``topic`` the
        answered topic, ``intent`` the small talk or hand-off intent. ``update_id``: the
        Telegram update it came in; logged for it once already (the update handled again),
        that row's id is returned and nothing is added. Telegram may reuse an update id after
        a week without updates, so only a recent row counts."""
        async with self._writing():
            if update_id is not None:
                row = await self.db.fetchone(
                    "SELECT id FROM interactions WHERE update_id = ? AND user_id = ? AND ts > ?",
                    (update_id, user_id, self.clock() - SAME_UPDATE_WITHIN),
                )
                if row is not None:
                    return int(row[0])
            new_id = await self.db.insert(
                "INSERT INTO interactions (user_id, ts, text, normalized, kind, topic,"
                " candidates, score, lang, latency_ms, intent, update_id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    user_id,
                    self.clock(),
                    text,
                    normalized,
                    kind,
                    topic,
                    ",".join(candidates),
                    score,
                    lang,
                    latency_ms,
                    intent,
                    update_id,
                ),
            )
        return new_id

    async def recent_interactions(self, user_id: int, limit: int = 5) -> list[dict]:
        """The subscriber's latest interactions, newest first; ``disliked``: their answer got
        a 👎 from them (a vote kept with this question, given after it)."""
        rows = await self.db.fetchall(
            "SELECT i.id, i.ts, i.text, i.normalized, i.kind, i.topic, i.intent, i.score,"
            " i.lang, EXISTS (SELECT 1 FROM feedback f WHERE f.user_id = i.user_id"
            " AND f.topic = i.topic AND f.question = i.text AND f.helpful = 0"
            " AND f.ts >= i.ts) AS disliked"
            " FROM interactions i WHERE i.user_id = ? ORDER BY i.id DESC LIMIT ?",
            (user_id, limit),
        )
        return [dict(r) | {"disliked": bool(r["disliked"])} for r in rows]

    async def set_latency(self, interaction: int, latency_ms: float) -> None:
        """How long the bot took, once its answer is out (logged before it, with the
        deciding's time, so that the answer's buttons can name the interaction)."""
        async with self._writing():
            await self.db.execute(
                "UPDATE interactions SET latency_ms = ? WHERE id = ?", (latency_ms, interaction)
            )

    async def chose(self, user_id: int, interaction: int, topic: str) -> bool:
        """The subscriber picked ``topic`` from the "did you mean" of their ``interaction``:
        the clarify's topic records the choice (the miss rule reads it), ``chosen`` and
        ``chosen_at`` the press (the report's click-through). False when they have no such
        clarify: someone else's, or a forged id, changes nothing."""
        async with self._writing():
            changed = await self.db.execute(
                "UPDATE interactions SET topic = ?, chosen = ?, chosen_at = ? WHERE id = ?"
                " AND user_id = ? AND kind = 'clarify'",
                (topic, topic, self.clock(), interaction, user_id),
            )
        return changed > 0

    async def add_feedback(
        self,
        user_id: int,
        topic: str,
        helpful: bool,
        message_id: int | None = None,
        question: int | None = None,
    ) -> None:
        """A 👍/👎 on a topic's answer, kept with the question that got that answer: the
        subscriber's interaction ``question`` (0: the answer was to a button press, no
        question); None, for data made without one (``dono demo``), the latest question about
        the topic. One per answer message (``message_id``) and subscriber: pressing again
        replaces the vote."""
        if question is None:
            asked = (
                "SELECT text FROM interactions WHERE user_id = ? AND topic = ?"
                " ORDER BY id DESC LIMIT 1"
            )
            args: tuple = (user_id, topic)
        else:
            asked = "SELECT text FROM interactions WHERE user_id = ? AND id = ?"
            args = (user_id, question)
        async with self._writing():
            await self.db.execute(
                "INSERT INTO feedback (user_id, topic, helpful, ts, question, message_id)"
                f" VALUES (?, ?, ?, ?, COALESCE(({asked}), ''), ?)"
                " ON CONFLICT (user_id, message_id) WHERE message_id IS NOT NULL"
                " DO UPDATE SET helpful = excluded.helpful, ts = excluded.ts,"
                " topic = excluded.topic, question = excluded.question",
                (user_id, topic, int(helpful), self.clock(), *args, message_id),
            )

    async def asked(self, user_id: int, interaction: int) -> str | None:
        """The text of this subscriber's interaction, None when they have no such one."""
        row = await self.db.fetchone(
            "SELECT text FROM interactions WHERE user_id = ? AND id = ?", (user_id, interaction)
        )
        return None if row is None else str(row[0])

    async def unanswered(self, since: float) -> list[dict]:
        """What the bot could not answer well since ``since``: "none" and "clarify" decisions
        (smalltalk and banned users' messages left out) and questions whose answer got 👎."""
        rows = await self.db.fetchall(
            "SELECT ts, text, normalized, kind, topic FROM interactions"
            " WHERE ts >= ? AND (kind = 'clarify' OR (kind = 'none' AND topic IS NULL))"
            " AND normalized != ''"
            " UNION ALL SELECT ts, question, '', 'dislike', topic FROM feedback"
            " WHERE ts >= ? AND helpful = 0 AND question != '' ORDER BY ts",
            (since, since),
        )
        return [dict(r) for r in rows]

    async def feedback_counts(self, topic: str) -> tuple[int, int]:
        """(helpful, not helpful) votes for a topic."""
        row = await self.db.fetchone(
            "SELECT COALESCE(SUM(helpful), 0), COALESCE(SUM(1 - helpful), 0) "
            "FROM feedback WHERE topic = ?",
            (topic,),
        )
        return (int(row[0]), int(row[1])) if row else (0, 0)

    async def conversation_start(
        self, user_id: int, now: float, gap: float, after: float | None
    ) -> float | None:
        rows = await self.db.fetchall(
            "SELECT ts FROM interactions WHERE user_id = ? AND ts <= ? AND ts > ? "
            "ORDER BY ts DESC LIMIT 500",
            (user_id, now, after if after is not None else float("-inf")),
        )
        start: float | None = None
        edge = now
        for (ts,) in rows:
            if edge - ts > gap:
                break
            start = edge = ts
        return start
