"""The bot's own timers: outage reports that never made a cluster are passed to the agents once
their window has passed, the daily digest is posted at its hour, and an unanswered ticket near
its first-response target is nudged (``bot.desk.sla``). All only with an operators' group;
each failure is logged and retried at the next tick, never fatal."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from bot.config import Config
from bot.desk import Desk
from bot.desk.sla import DeskSla
from bot.digest import Digest
from bot.handlers.outage import post_singles
from handoff.storage import Store
from knowledge.search import topic_title
from knowledge.service import KnowledgeService

log = logging.getLogger("dono.periodic")

MIN_TICK = 30.0  # seconds between looks for outage reports to pass on, at the least
NUDGE_TICK = 30.0  # seconds between looks for unanswered tickets near their SLA target


class Periodic:
    def __init__(
        self,
        config: Config,
        store: Store,
        desk: Desk,
        knowledge: KnowledgeService | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config, self.store, self.desk, self.clock = config, store, desk, clock
        self.knowledge = knowledge
        self.tasks: list[asyncio.Task] = []
        self.sla: DeskSla | None = None  # the nudges' (with a first-response target)

    def start(self) -> None:
        if self.desk.group_id is None:
            return
        self.tasks.append(asyncio.create_task(self._outages(), name="dono-outage-singles"))
        hour = self.config.reports.digest_hour
        if hour is not None:
            digest = Digest(
                self.store,
                self.desk.post,
                hour,
                self.desk.lang,
                self.desk.hours.timezone,
                self.config.reports.targets(),
                self.desk.hours,
                titles=self._title,
                clock=self.clock,
            )
            self.tasks.append(asyncio.create_task(digest.run(), name="dono-digest"))
        targets = self.config.reports.targets()
        if targets.first_response and targets.nudge:
            self.sla = DeskSla(self.store, targets, self.desk.hours, self.desk.lang)
            self.tasks.append(asyncio.create_task(self._nudges(self.sla), name="dono-sla-nudges"))

    def _title(self, topic_id: str) -> str:
        """A topic's name in the desk's language, from the KB as it is now."""
        topic = self.knowledge.kb.topics.get(topic_id) if self.knowledge else None
        return topic_title(topic, self.desk.lang) if topic is not None else topic_id

    async def _outages(self) -> None:
        tick = max(MIN_TICK, self.config.outages.alert_minutes * 60 / 4)
        while True:
            await asyncio.sleep(tick)
            try:
                await post_singles(self.store, self.desk, self.config, self.clock())
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outage reports: could not pass them on; trying again later")

    async def _nudges(self, sla: DeskSla) -> None:
        while True:
            await asyncio.sleep(NUDGE_TICK)
            try:
                await sla.nudge(self.desk, self.clock())
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("SLA nudges: a look failed; trying again later")

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.tasks.clear()
