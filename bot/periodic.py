"""The bot's own timers: outage reports that never made a cluster are passed to the agents once
their window has passed, the daily digest is posted at its hour, and an unanswered ticket near
its first-response target is nudged (``bot.desk.sla``). All only with an operators' group;
each failure is logged and retried at the next tick, never fatal.

With several instances only the one that leads (``bot.durable``) runs them: they start when it
takes the lead and stop when it loses it. A nudge is recorded in the database before it is sent
(``DeskSla``), so a new leader never sends it again; the digest's day is claimed in the
database before it is posted (``bot.digest``), so it goes out once a day however the lead
moves, and one the hour missed (a restart, a deploy) still goes out later that morning."""

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
from bot.errors import raise_if_cancelled
from bot.handlers.outage import post_singles
from handoff.storage import Store
from knowledge.search import topic_title
from knowledge.service import KnowledgeService

log = logging.getLogger("dono.periodic")

MIN_TICK = 30.0  # seconds between looks for outage reports to pass on, at the least
NUDGE_TICK = 30.0  # seconds between looks for unanswered tickets near their SLA target
LEAD_TICK = 1.0  # seconds between looks at whether this instance leads


class Periodic:
    def __init__(
        self,
        config: Config,
        store: Store,
        desk: Desk,
        knowledge: KnowledgeService | None = None,
        clock: Callable[[], float] = time.time,
        leading: Callable[[], bool] = lambda: True,
    ) -> None:
        self.config, self.store, self.desk, self.clock = config, store, desk, clock
        self.knowledge = knowledge
        self.leading = leading  # whether this instance runs the timers now
        self.tasks: list[asyncio.Task] = []
        self.sla: DeskSla | None = None  # the nudges' (with a first-response target)
        self._follow: asyncio.Task | None = None

    def start(self) -> None:
        """The timers, now if this instance leads, else once it does (looked at every
        second)."""
        if self.desk.group_id is None:
            return
        if self.leading():
            self._start_jobs()
        self._follow = asyncio.create_task(self._follow_the_lead(), name="dono-timers-lead")

    async def _follow_the_lead(self) -> None:
        while True:
            await asyncio.sleep(LEAD_TICK)
            leading = self.leading()
            if leading and not self.tasks:
                log.info("the timers run on this instance now")
                self._start_jobs()
            elif not leading and self.tasks:
                log.info("the timers stop here: another instance leads")
                await self._stop_jobs()

    def _start_jobs(self) -> None:
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
                ledger=self.store.digests,
                owner=self.config.ops.instance_name(),
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
                raise_if_cancelled()
                log.exception("outage reports: could not pass them on; trying again later")

    async def _nudges(self, sla: DeskSla) -> None:
        while True:
            await asyncio.sleep(NUDGE_TICK)
            try:
                await sla.nudge(self.desk, self.clock())
            except asyncio.CancelledError:
                raise
            except Exception:
                raise_if_cancelled()
                log.exception("SLA nudges: a look failed; trying again later")

    async def stop(self) -> None:
        if self._follow is not None:
            self._follow.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._follow
            self._follow = None
        await self._stop_jobs()

    async def _stop_jobs(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.tasks.clear()
