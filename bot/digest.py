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

from bot.report.format import format_csat, format_share
from bot.texts import duration, t
from handoff.hours import WorkingHours
from handoff.insights import HasInsights, Insights, build_insights
from handoff.reports import Report, aggregate, today_window
from handoff.sla import SlaTargets

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
    """Posts the digest every day at ``hour`` (local); one failed day is logged, not fatal."""

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
    ) -> None:
        self.store, self.post, self.hour, self.lang, self.tz = store, post, hour, lang, tz
        self.sla, self.hours, self.titles, self.clock = sla, hours, titles, clock

    async def text_for(self, since: float, until: float) -> str:
        rows = await self.store.reports.report_rows(since, until)
        report = aggregate(rows, since, until, self.tz)
        found = await build_insights(self.store, since, until, self.tz, self.sla, self.hours, rows)
        return digest_text(self.lang, report, found, self.titles)

    async def post_once(self) -> None:
        """Yesterday's digest, now."""
        text = await self.text_for(*day_before(self.clock(), self.tz))
        await self.post(text)

    async def run(self) -> None:
        while True:
            await asyncio.sleep(max(0.0, next_run(self.clock(), self.hour, self.tz) - self.clock()))
            try:
                await self.post_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("daily digest: could not post it; next try tomorrow")
            await asyncio.sleep(1)  # past the hour's first second: never twice for one day
