"""The daily digest: yesterday's figures posted to the operators' group at a configured local
hour (``reports.digest_hour``), in the desk's language — what a lead reads before the morning
stand-up, with the definitions of ``handoff.reports`` and ``handoff.insights``."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.errors import raise_if_cancelled
from bot.report.format import format_csat, format_share
from bot.texts import duration, t
from handoff.hours import WorkingHours
from handoff.insights import HasInsights, Insights, build_insights
from handoff.reports import Report, aggregate, today_window
from handoff.sla import SlaTargets
from handoff.storage.digests import SqliteDigests

log = logging.getLogger("dono.digest")

TOP_TOPICS = 3


def next_run(now: float, hour: int, tz: str) -> float:
    """The next ``hour``:00 local after ``now``."""
    zone = ZoneInfo(tz)
    local = datetime.fromtimestamp(now, zone)
    at = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if at.timestamp() <= now:
        at = (local + timedelta(days=1)).replace(hour=hour, minute=0, second=0, microsecond=0)
    return at.timestamp()


def day_before(ts: float, tz: str) -> tuple[float, float]:
    """``[since, until)`` of the local day before the one ``ts`` is in."""
    today, _ = today_window(ts, tz)
    return today_window(today - 1, tz)


def digest_text(
    lang: str, report: Report, found: Insights, titles: Callable[[str], str] | None = None
) -> str:
    """The digest message (HTML) of one day's report and insights."""
    o, sla, queue = report.outcomes, found.sla, found.queue
    day = report.days[0].date.isoformat() if report.days else ""
    lines = [
        t(lang, "digest_title", day=day),
        t(
            lang,
            "digest_conversations",
            count=o.conversations,
            share=format_share(o.first_line_resolution),
        ),
        t(lang, "digest_handed_off", count=o.handed_off),
    ]
    wait = report.times.wait_until_claim.p50
    if wait is not None:
        lines.append(t(lang, "digest_wait", wait=duration(lang, wait)))
    if sla.first_response.target is not None:
        lines.append(
            t(
                lang,
                "digest_sla",
                share=format_share(sla.first_response.share),
                target=duration(lang, sla.first_response.target),
                count=sla.first_response.breached,
            )
        )
    lines.append(t(lang, "digest_backlog", count=queue.backlog_end))
    if report.csat.count:
        lines.append(
            t(lang, "digest_csat", csat=format_csat(report.csat.average), count=report.csat.count)
        )
    named = [
        (titles(k) if titles else k, n)
        for k, n in found.before_handoff
        if k not in ("none", "clarify")
    ][:TOP_TOPICS]
    if named:
        lines.append(
            t(lang, "digest_before_handoff", topics=", ".join(f"{k} ({n})" for k, n in named))
        )
    return "\n".join(lines)


class Digest:
    """Posts the digest every day at ``hour`` (local), once: the day is claimed in ``ledger``
    (``handoff.storage.digests``) before it is posted, so another instance, a new leader or
    a restart never posts it again, and one that was not posted at the hour (the bot was
    down, a deploy, the leader changing) still goes out up to ``CATCH_UP`` seconds later. A
    failed post is logged and tried again ``RETRY_EVERY`` seconds later."""

    CATCH_UP = 6 * 3600.0
    RETRY_EVERY = 300.0

    def __init__(
        self,
        store: HasInsights,
        post: Callable[[str], Awaitable[object]],
        hour: int,
        lang: str,
        tz: str,
        sla: SlaTargets,
        hours: WorkingHours,
        titles: Callable[[str], str] | None = None,
        clock: Callable[[], float] = time.time,
        ledger: SqliteDigests | None = None,
        owner: str = "dono",
    ) -> None:
        self.store, self.post, self.hour, self.lang, self.tz = store, post, hour, lang, tz
        self.sla, self.hours, self.titles, self.clock = sla, hours, titles, clock
        self.ledger, self.owner = ledger, owner
        self._posted_for: str | None = None  # without a ledger: this process's memory

    async def text_for(self, since: float, until: float) -> str:
        rows = await self.store.reports.report_rows(since, until)
        report = aggregate(rows, since, until, self.tz)
        found = await build_insights(self.store, since, until, self.tz, self.sla, self.hours, rows)
        return digest_text(self.lang, report, found, self.titles)

    async def post_once(self, window: tuple[float, float] | None = None) -> None:
        """The digest of ``window`` (default: yesterday), now."""
        text = await self.text_for(*(window or day_before(self.clock(), self.tz)))
        await self.post(text)

    def due(self, now: float) -> tuple[str, tuple[float, float]] | None:
        """The reported day (and its window) whose digest is due at ``now``: today's hour has
        passed, by no more than ``CATCH_UP``; None when none is."""
        zone = ZoneInfo(self.tz)
        local = datetime.fromtimestamp(now, zone)
        for back in (0, 1):  # today's hour, or (a late one caught up past midnight) yesterday's
            day = local - timedelta(days=back)
            at = day.replace(hour=self.hour, minute=0, second=0, microsecond=0).timestamp()
            if at <= now < at + self.CATCH_UP:
                window = day_before(at, self.tz)  # the day before the one the hour is in
                return datetime.fromtimestamp(window[0], zone).date().isoformat(), window
        return None

    async def post_if_due(self) -> bool:
        """Post the digest if it is due and nobody has; whether this call posted it."""
        found = self.due(self.clock())
        if found is None or found[0] == self._posted_for:
            return False
        day, window = found
        if self.ledger is not None and not await self.ledger.claim(day, self.owner):
            if await self.ledger.posted_at(day) is not None:
                self._posted_for = day  # posted elsewhere; a claim of one that died: later
            return False
        try:
            await self.post_once(window)
        except BaseException:
            if self.ledger is not None:
                try:
                    await self.ledger.release(day)
                except Exception as exc:  # the database away too: the claim goes stale
                    log.warning("daily digest: claim of %s not given back (%s)", day, exc)
            raise
        self._posted_for = day
        if self.ledger is not None:
            await self.ledger.posted(day)
        return True

    async def run(self) -> None:
        while True:
            wait = self.RETRY_EVERY
            try:
                await self.post_if_due()
            except asyncio.CancelledError:
                raise
            except Exception:
                raise_if_cancelled()  # a stop, whatever the database made of it
                log.exception(
                    "daily digest: could not post it; trying again in %.0f s", self.RETRY_EVERY
                )
            else:
                now = self.clock()
                wait = min(wait, max(0.0, next_run(now, self.hour, self.tz) - now))
            await asyncio.sleep(wait + 0.01)
