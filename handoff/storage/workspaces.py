"""Agents' workspaces (SQLite and PostgreSQL): a ticket's topic in its agent's private chat
with the bot, where its relay goes instead of the operators' group (issue 13, item 2)."""

from __future__ import annotations

from dataclasses import dataclass

from handoff.storage.database import Repository


@dataclass(frozen=True, slots=True)
class Workspace:
    """Where a ticket is worked on: a topic (``thread_id``) in an agent's private chat."""

    ticket_id: int
    chat_id: int
    thread_id: int
    agent_id: int
    opened_at: float


_COLUMNS = "ticket_id, chat_id, thread_id, agent_id, opened_at"


class SqliteWorkspaces(Repository):
    """The ``ticket_workspaces`` table: at most one workspace per ticket."""

    async def open_workspace(
        self, ticket_id: int, chat_id: int, thread_id: int, agent_id: int, now: float | None = None
    ) -> Workspace:
        """The ticket's workspace is this topic from now on (replacing an earlier one)."""
        opened = self._now(now)
        async with self._writing():
            await self.db.execute(
                f"INSERT INTO ticket_workspaces ({_COLUMNS}) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (ticket_id) DO UPDATE SET chat_id = excluded.chat_id,"
                " thread_id = excluded.thread_id, agent_id = excluded.agent_id,"
                " opened_at = excluded.opened_at",
                (ticket_id, chat_id, thread_id, agent_id, opened),
            )
        return Workspace(ticket_id, chat_id, thread_id, agent_id, opened)

    async def workspace_of(self, ticket_id: int) -> Workspace | None:
        row = await self.db.fetchone(
            f"SELECT {_COLUMNS} FROM ticket_workspaces WHERE ticket_id = ?", (ticket_id,)
        )
        return Workspace(*row) if row is not None else None

    async def workspace_at(self, chat_id: int, thread_id: int) -> Workspace | None:
        """The workspace that is this topic of this private chat, if any."""
        row = await self.db.fetchone(
            f"SELECT {_COLUMNS} FROM ticket_workspaces WHERE chat_id = ? AND thread_id = ?",
            (chat_id, thread_id),
        )
        return Workspace(*row) if row is not None else None

    async def close_workspace(self, ticket_id: int) -> None:
        """The ticket is worked on in the group again (its agent changed, or has no chat)."""
        async with self._writing():
            await self.db.execute("DELETE FROM ticket_workspaces WHERE ticket_id = ?", (ticket_id,))
