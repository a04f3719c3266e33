"""Hot reload of the knowledge base: watch the directory, validate, swap, tell the admins."""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from watchfiles import awatch

from knowledge.loader import KnowledgeBase, Problem
from knowledge.service import KnowledgeService

log = logging.getLogger("dono.reload")

MAX_ERRORS_SHOWN = 20


@dataclass(frozen=True)
class ReloadResult:
    ok: bool
    version: str  # the version now served
    previous: str
    problems: tuple[Problem, ...] = ()
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()

    def summary(self) -> str:
        """One line for logs and admins: what changed, or why nothing did."""
        if not self.ok:
            errors = sum(p.severity == "error" for p in self.problems)
            return f"knowledge base NOT reloaded ({errors} error(s)); still serving {self.version}"
        if self.version == self.previous:
            return f"knowledge base unchanged ({self.version})"
        parts = [f"knowledge base reloaded: {self.previous} → {self.version}"]
        for label, ids in (
            ("added", self.added),
            ("removed", self.removed),
            ("changed", self.changed),
        ):
            if ids:
                parts.append(f"{label}: {', '.join(ids)}")
        return "; ".join(parts)

    def html(self) -> str:
        """The same for Telegram, with the file:line errors."""
        text = html.escape(self.summary())
        errors = [p for p in self.problems if p.severity == "error"]
        if errors:
            lines = [html.escape(str(p)) for p in errors[:MAX_ERRORS_SHOWN]]
            if len(errors) > MAX_ERRORS_SHOWN:
                lines.append(f"… +{len(errors) - MAX_ERRORS_SHOWN}")
            text += "\n<pre>" + "\n".join(lines) + "</pre>"
        return text


def diff(old: KnowledgeBase, new: KnowledgeBase) -> tuple[list[str], list[str], list[str]]:
    """Topic and intent ids added, removed and changed between two versions."""
    before = {**old.topics, **old.intents}
    after = {**new.topics, **new.intents}
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    changed = sorted(i for i in set(before) & set(after) if before[i] != after[i])
    return added, removed, changed


class Reloader:
    """Reloads on demand (``/reload``) and on file changes; one reload at a time."""

    def __init__(
        self,
        knowledge: KnowledgeService,
        notify: Callable[[ReloadResult], Awaitable[None]] | None = None,
        debounce_ms: int = 300,
    ) -> None:
        self.knowledge = knowledge
        self.notify = notify
        self.debounce_ms = debounce_ms
        self._lock = asyncio.Lock()
        self._task: asyncio.Task | None = None
        self._stop = asyncio.Event()
        self.changed = asyncio.Condition()
        self.last: ReloadResult | None = None

    async def reload(self) -> ReloadResult:
        async with self._lock:
            old = self.knowledge.kb
            # validation and indexing are CPU work: keep the bot answering meanwhile
            ok, problems = await asyncio.to_thread(self.knowledge.reload)
            new = self.knowledge.kb
            added, removed, changed = diff(old, new) if ok else ([], [], [])
            result = ReloadResult(
                ok,
                new.version,
                old.version,
                tuple(problems),
                tuple(added),
                tuple(removed),
                tuple(changed),
            )
        (log.info if ok else log.error)(result.summary())
        for problem in problems:
            (log.error if problem.severity == "error" else log.warning)("%s", problem)
        self.last = result
        async with self.changed:
            self.changed.notify_all()
        if self.notify is not None and (not ok or result.version != result.previous):
            try:
                await self.notify(result)
            except Exception:
                log.exception("could not tell the admins about the reload")
        return result

    async def wait(self, predicate: Callable[[ReloadResult], bool], timeout: float) -> ReloadResult:
        """Wait (bounded) until a reload result satisfies ``predicate``: for tests and tools."""
        async with self.changed:
            await asyncio.wait_for(
                self.changed.wait_for(lambda: self.last is not None and predicate(self.last)),
                timeout,
            )
        assert self.last is not None
        return self.last

    def start(self) -> None:
        self._task = asyncio.create_task(self._watch())

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def _watch(self) -> None:
        path = self.knowledge.path
        watched = path if path.is_dir() else path.parent
        log.info("watching %s for knowledge-base changes", watched)
        async for changes in awatch(
            watched,
            debounce=self.debounce_ms,
            step=50,
            stop_event=self._stop,
            watch_filter=lambda _, name: name.endswith((".yaml", ".yml")),
        ):
            log.info("knowledge-base files changed: %d", len(changes))
            try:
                await self.reload()
            except Exception:
                log.exception("reload failed; the previous knowledge base stays")
