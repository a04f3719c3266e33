"""Hot reload of the knowledge base: watch the directory, validate, swap, tell the admins."""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from watchfiles import awatch

from bot.texts import number, t
from bot.tglimits import MESSAGE_TEXT, cut_utf16, utf16_len
from knowledge.loader import KnowledgeBase, Problem
from knowledge.service import KnowledgeService

log = logging.getLogger("dono.reload")

MAX_ERRORS_SHOWN = 20
# The report goes into one message with a line of locale text around it: keep it well under
# Telegram's 4,096 and say how many errors were left out.
REPORT_BUDGET = MESSAGE_TEXT - 300
MAX_LINE = 300  # UTF-16 units of one file:line error in the report
RELOAD_TIMEOUT = 60.0  # seconds a reload may take before it is reported as stuck
SWAP_POLL = 0.5  # seconds between checks that the KB folder is still the one watched


@dataclass(frozen=True)
class ReloadResult:
    ok: bool
    version: str  # the version now served
    previous: str
    problems: tuple[Problem, ...] = ()
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    recovered: bool = False  # good after a failed one: the admins are told it is fixed
    stuck_after: float | None = None  # seconds it ran before it was reported as stuck
    crash: str | None = None  # the exception a reload raised

    def summary(self) -> str:
        """One line for logs and admins: what changed, or why nothing did."""
        if not self.ok:
            errors = sum(p.severity == "error" for p in self.problems)
            return f"knowledge base NOT reloaded ({errors} error(s)); still serving {self.version}"
        fixed = "fixed, loads without errors again; " if self.recovered else ""
        if self.version == self.previous:
            return f"{fixed}knowledge base unchanged ({self.version})"
        parts = [f"knowledge base reloaded: {self.previous} → {self.version}"]
        for label, ids in (
            ("added", self.added),
            ("removed", self.removed),
            ("changed", self.changed),
        ):
            if ids:
                parts.append(f"{label}: {', '.join(ids)}")
        return fixed + "; ".join(parts)

    def text(self, lang: str, budget: int = REPORT_BUDGET) -> str:
        """The same for Telegram in ``lang``, with the file:line errors as the loader writes
        them: as many as fit in ``budget`` UTF-16 units (Telegram's measure, after HTML), and
        how many more there are."""
        version = html.escape(self.version)
        if self.stuck_after is not None:
            return t(lang, "reload_stuck", seconds=number(lang, self.stuck_after), version=version)
        if self.crash is not None:
            return t(lang, "reload_crashed", error=html.escape(self.crash), version=version)
        errors = [p for p in self.problems if p.severity == "error"]
        if not self.ok:
            head = t(lang, "reload_failed", count=len(errors), version=html.escape(self.version))
        elif self.version == self.previous:
            head = t(lang, "reload_unchanged", version=html.escape(self.version))
        else:
            head = t(lang, "reload_ok", previous=self.previous, version=self.version)
            for key, ids in (
                ("reload_added", self.added),
                ("reload_removed", self.removed),
                ("reload_changed", self.changed),
            ):
                if ids:
                    head += "\n" + t(lang, key, ids=html.escape(", ".join(ids)))
        if self.recovered:
            head = t(lang, "reload_fixed", version=html.escape(self.version)) + "\n" + head
        if not errors:
            return head
        lines: list[str] = []
        used = utf16_len(head) + 1
        for problem in errors[:MAX_ERRORS_SHOWN]:
            line = cut_utf16(str(problem), MAX_LINE, "…")
            # room for this line and for the "… +N more" line that may follow it
            if used + utf16_len(line) + 1 + 80 > budget:
                break
            lines.append(line)
            used += utf16_len(line) + 1
        shown = [html.escape(line) for line in lines]
        if len(lines) < len(errors):
            shown.append(t(lang, "reload_more", count=len(errors) - len(lines)))
        return head + "\n<pre>" + "\n".join(shown) + "</pre>"


def diff(old: KnowledgeBase, new: KnowledgeBase) -> tuple[list[str], list[str], list[str]]:
    """Topic and intent ids (and canned replies', as ``reply:<id>``) added, removed and changed
    between two versions."""
    before = {**old.topics, **old.intents, **{f"reply:{k}": v for k, v in old.replies.items()}}
    after = {**new.topics, **new.intents, **{f"reply:{k}": v for k, v in new.replies.items()}}
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    changed = sorted(i for i in set(before) & set(after) if before[i] != after[i])
    return added, removed, changed


class Reloader:
    """Reloads on demand (``/reload``) and on file changes; one reload at a time.

    A reload always ends in a ReloadResult that is logged and sent to the admins: a reload
    that raises (even MemoryError) is a failed one; one that takes longer than ``timeout``
    is reported as stuck while it goes on in the background (its own outcome is reported
    when it ends, and no second one starts meanwhile). So the lock is never held for longer
    than ``timeout``, and the last good knowledge base keeps serving.
    """

    def __init__(
        self,
        knowledge: KnowledgeService,
        notify: Callable[[ReloadResult], Awaitable[None]] | None = None,
        debounce_ms: int = 300,
        timeout: float = RELOAD_TIMEOUT,
    ) -> None:
        self.knowledge = knowledge
        self.notify = notify
        self.debounce_ms = debounce_ms
        self.timeout = timeout
        self._lock = asyncio.Lock()
        self._task: asyncio.Task | None = None
        self._work: asyncio.Future | None = None  # the validation running in a thread
        self._late: asyncio.Future | None = None  # a timed-out one, reported when it ends
        self._rerun = False  # asked for while a timed-out one ran: reload again after it
        self._followups: set[asyncio.Task] = set()
        self._stop = asyncio.Event()
        self.changed = asyncio.Condition()
        self.last: ReloadResult | None = None
        # told of every reload that changed the KB here (the fan-out to other instances)
        self.announce: Callable[[ReloadResult], Awaitable[None]] | None = None

    def _where(self) -> str:
        return str(self.knowledge.path)

    async def reload(self, tell_success: bool = True) -> ReloadResult:
        """``tell_success=False``: the admins hear of it only if it fails (a reload another
        instance's set off: that one told them)."""
        async with self._lock:
            old = self.knowledge.kb
            if self._work is None:
                # validation and indexing are CPU work: keep the bot answering meanwhile
                self._work = asyncio.ensure_future(asyncio.to_thread(self.knowledge.reload))
                self._work.add_done_callback(self._work_done)
            else:  # a timed-out one still runs and may have read the files before this ask
                self._rerun = True
            work = self._work
            stuck_after = crash = None
            try:
                ok, problems = await asyncio.wait_for(asyncio.shield(work), self.timeout)
            except TimeoutError:
                ok, problems, stuck_after = False, [self._stuck()], self.timeout
                if self._late is not work:  # its outcome is reported once, when it ends
                    self._late = work
                    work.add_done_callback(lambda w: self._report_late(w, old))
            except Exception as exc:  # any failure, MemoryError too, is an outcome to report
                ok, problems, crash = False, [self._failed(exc)], _crash(exc)
        return await self._finish(
            ok, list(problems), old, stuck_after=stuck_after, crash=crash, tell=tell_success
        )

    def _work_done(self, work: asyncio.Future) -> None:
        if self._work is work:
            self._work = None
        if self._rerun and not self._stop.is_set():
            self._rerun = False
            task = asyncio.ensure_future(self._reload_quietly())
            self._followups.add(task)
            task.add_done_callback(self._followups.discard)

    def _stuck(self) -> Problem:
        return Problem(
            self._where(),
            1,
            f"the reload did not finish within {self.timeout:g} s and goes on in the "
            "background; its outcome will be reported when it ends",
        )

    def _failed(self, exc: BaseException) -> Problem:
        log.error("reload failed", exc_info=exc)
        return Problem(self._where(), 1, f"the reload failed: {type(exc).__name__}: {exc}")

    def _report_late(self, work: asyncio.Future, old: KnowledgeBase) -> None:
        if work.cancelled():
            return
        exc = work.exception()
        ok, problems = (False, [self._failed(exc)]) if exc is not None else work.result()
        crash = _crash(exc) if exc is not None else None
        task = asyncio.ensure_future(self._finish(ok, list(problems), old, crash=crash))
        self._followups.add(task)
        task.add_done_callback(self._followups.discard)

    async def _finish(
        self,
        ok: bool,
        problems: list[Problem],
        old: KnowledgeBase,
        stuck_after: float | None = None,
        crash: str | None = None,
        tell: bool = True,
    ) -> ReloadResult:
        """Log the outcome, wake waiters, tell the admins: every reload ends here."""
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
            recovered=ok and self.last is not None and not self.last.ok,
            stuck_after=stuck_after,
            crash=crash,
        )
        (log.info if ok else log.error)(result.summary())
        for problem in problems:
            (log.error if problem.severity == "error" else log.warning)("%s", problem)
        self.last = result
        async with self.changed:
            self.changed.notify_all()
        if self.notify is not None and (
            not ok or (tell and (result.recovered or result.version != result.previous))
        ):
            try:
                await self.notify(result)
            except Exception:
                log.exception("could not tell the admins about the reload")
        if ok and result.version != result.previous and self.announce is not None:
            try:
                await self.announce(result)
            except Exception:
                log.exception("could not tell the other instances about the reload")
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
        for task in list(self._followups):
            task.cancel()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def _watch(self) -> None:
        """Watch the KB folder for edits, and the folder itself for being replaced (``mv
        kb.new kb``, a symlink switched, a checkout that recreates it): then watch the new
        folder and reload from it. inotify follows the old folder, so the swap is noticed by
        checking, every SWAP_POLL, what the path leads to."""
        path = self.knowledge.path
        previous: tuple[str, int, int] | None = None
        held: int | None = None  # the folder last watched, kept open (see below)
        try:
            while not self._stop.is_set():
                identity = _identity(path)
                if identity is None:  # between the two mv's of a swap, or gone: wait for it
                    await self._pause(SWAP_POLL)
                    continue
                # Holding the watched folder open, until the next one is open, keeps its
                # inode taken: a folder deleted and created again (a checkout) can't come
                # back with the same inode number and go unnoticed.
                try:
                    fd = os.open(identity[0], os.O_RDONLY)
                except OSError:
                    await self._pause(SWAP_POLL)
                    continue
                st = os.fstat(fd)
                if (st.st_dev, st.st_ino) != identity[1:]:  # swapped again meanwhile
                    os.close(fd)
                    continue
                if held is not None:
                    os.close(held)
                held = fd
                # a folder other than the one loaded: reload once its watch is running
                pending = previous is not None and identity != previous
                if pending:
                    log.warning("knowledge-base folder %s was replaced; reloading from it", path)
                previous = identity
                await self._watch_folder(path, identity, pending)
        finally:
            if held is not None:
                os.close(held)

    async def _watch_folder(
        self, path: Path, identity: tuple[str, int, int], pending: bool
    ) -> None:
        """Reload on changes in the folder ``path`` leads to, until it leads elsewhere."""
        watched = Path(identity[0])
        if not watched.is_dir():
            watched = watched.parent
        log.info("watching %s for knowledge-base changes", watched)
        try:
            async for changes in awatch(
                watched,
                debounce=self.debounce_ms,
                step=50,
                stop_event=self._stop,
                rust_timeout=int(SWAP_POLL * 1000),
                yield_on_timeout=True,
                watch_filter=lambda _, name: name.endswith((".yaml", ".yml")),
            ):
                if _identity(path) != identity:
                    return  # replaced: watch what the path leads to now
                if changes or pending:
                    pending = False
                    if changes:
                        log.info("knowledge-base files changed: %d", len(changes))
                    await self._reload_quietly()
        except Exception:
            log.exception("watching %s failed; starting again", watched)
            await self._pause(SWAP_POLL)

    async def _reload_quietly(self) -> None:
        try:
            await self.reload()
        except Exception:
            log.exception("reload failed; the previous knowledge base stays")

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)


def _crash(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _identity(path: Path) -> tuple[str, int, int] | None:
    """What ``path`` leads to now: the real path and its inode; None while it is missing."""
    try:
        real = os.path.realpath(path)
        st = os.stat(real)
    except OSError:
        return None
    return real, st.st_dev, st.st_ino
