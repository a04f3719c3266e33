"""The desks (``agents.groups``, or the one ``agents.group_id``): which group a ticket is on,
which desk a group is, and where a new ticket goes (``handoff.desks.choose_desk`` over each
desk's rules and its load now: the pacer's wait and spare budget for its group, its queue).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.config import AgentsConfig, DeskConfig
from bot.pacing import Pacer
from handoff.desks import DeskLoad, DeskRule, choose_desk, desk_names
from handoff.tickets import Ticket
from knowledge.service import KnowledgeService

if TYPE_CHECKING:
    from handoff.storage import Store

log = logging.getLogger(__name__)


class Desks:
    """The configured desks, looked up by name, by group and by ticket."""

    def __init__(self, config: AgentsConfig, pacer: Pacer | None = None, bot_id: int = 0) -> None:
        self.all = config.desks()
        self.pacer = pacer
        self.bot_id = bot_id  # whose buckets the pacer reads (shared ones are per bot)
        self.overflow_after = config.overflow_after
        self.default = next((d for d in self.all if d.group_id == config.group_id), None)
        self._by_name = {d.name.lower(): d for d in self.all}
        self._by_group = {d.group_id: d for d in self.all}

    @property
    def several(self) -> bool:
        return len(self.all) > 1

    @property
    def group_ids(self) -> list[int]:
        return [d.group_id for d in self.all]

    def named(self, name: str) -> DeskConfig | None:
        return self._by_name.get(name.strip().lower())

    def of(self, ticket: Ticket) -> DeskConfig | None:
        """The desk a ticket is on (one from before desks, or not named: the default)."""
        return self._by_name.get((ticket.desk or "").lower(), self.default)

    def group_of(self, ticket: Ticket) -> int | None:
        desk = self.of(ticket)
        return desk.group_id if desk is not None else None

    def here(self, chat_id: int | None) -> DeskConfig | None:
        """The desk whose group this is (None: not a desk's group)."""
        return self._by_group.get(chat_id) if chat_id is not None else None

    def names(self, desk: DeskConfig | None) -> tuple[str, ...] | None:
        """The ``tickets.desk`` values that mean this desk (None: every desk)."""
        if desk is None:
            return None
        return desk_names(desk.name, desk is self.default)

    def is_on(self, ticket: Ticket, chat_id: int | None) -> bool:
        """Whether the ticket is on the desk of this group."""
        desk = self.here(chat_id)
        return desk is not None and desk is self.of(ticket)

    def label(self, desk: DeskConfig | None) -> str:
        return desk.name if desk is not None and desk.name else "—"

    def unknown_categories(self, knowledge: KnowledgeService) -> list[str]:
        """``agents.groups[].categories`` the knowledge base does not have (warned at start:
        such a desk takes no ticket by that category)."""
        kb = knowledge.kb
        known = set(kb.categories) | {topic.category for topic in kb.topics.values()}
        wrong = [f"{d.name}: {c}" for d in self.all for c in d.categories if c not in known]
        for item in wrong:
            log.warning("agents.groups %s is no category of the knowledge base", item)
        return wrong

    async def load(self, store: Store, desk: DeskConfig) -> DeskLoad:
        """A desk's load now: its group's wait and spare budget (every instance's sends with
        the shared Redis pacer), its waiting tickets."""
        waiting = len(await store.queue(desks=self.names(desk)))
        if self.pacer is None:
            return DeskLoad(waiting=waiting)
        wait, spare = await self.pacer.budget(self.bot_id, desk.group_id)
        return DeskLoad(wait, spare, waiting)

    async def route(self, store: Store, ticket: Ticket, category: str | None) -> Ticket:
        """A new ticket's desk, chosen and recorded before its topic is made (a ticket on a
        desk keeps it; with one desk nothing is recorded)."""
        if not self.several or ticket.desk:
            return ticket
        loads = {d.name: await self.load(store, d) for d in self.all}
        rules = [DeskRule(d.name, tuple(d.languages), tuple(d.categories)) for d in self.all]
        name = choose_desk(rules, loads, ticket.lang, category, self.overflow_after)
        log.info("ticket #%s to desk %s (%s, %s)", ticket.id, name, ticket.lang, category)
        return await store.set_desk(ticket.id, name or "")


async def category_of(
    store: Store, knowledge: KnowledgeService | None, ticket: Ticket
) -> str | None:
    """The KB category of what the subscriber last asked about (the topic their latest
    answered or offered question was about), None if unknown."""
    if knowledge is None:
        return None
    kb = knowledge.kb
    for item in await store.recent_interactions(ticket.user_id, limit=10):
        topic = kb.topics.get(item.get("topic") or "")
        if topic is not None:
            return topic.category
    return None
