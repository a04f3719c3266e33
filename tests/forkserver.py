"""A fork server for the tests' `dono` processes: one interpreter per test worker imports the
bot once (aiogram's types alone take 5 s of CPU), then forks a real process for each run.

A forked run is a process of its own, as `python -m bot.cli run` would be: its own pid, its
environment, working folder and output file, its exit code, SIGTERM and kill -9 as usual; the
module `bot.cli` runs as ``__main__`` in it. Only the interpreter's start and the imports are
shared. Run as ``python -m tests.forkserver``, it reads one JSON request a line on stdin and
writes ``started <id> <pid>`` and ``exited <pid> <code>`` lines on stdout (a code of -N: ended
by signal N, as subprocess.Popen says).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
_replies = -1  # the server's stdout, for its reports
# what `dono run` imports (bot.cli itself runs as __main__ in each run)
WARM = ("bot.app", "bot.config", "bot.report.page", "bot.playground", "asyncpg", "redis.asyncio")


# -- the server: runs in its own interpreter -------------------------------------------------


def _child(request: dict[str, Any]) -> int:
    """In the forked process: become the requested `dono` run, and return its exit code."""
    import runpy
    import traceback

    if request["memory_cap"]:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (request["memory_cap"], request["memory_cap"]))
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    out = os.open(request["log"], os.O_WRONLY | os.O_CREAT | (request["append"] and os.O_APPEND))
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(out)
    os.close(null)
    sys.argv = ["bot.cli", *request["args"]]
    sys.modules.pop("bot.cli", None)  # run as __main__ only, as `python -m` does
    try:
        runpy.run_module("bot.cli", run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if not isinstance(exc.code, int | None):
            print(exc.code, file=sys.stderr)
    except BaseException:  # as the interpreter does: the traceback, exit code 1
        traceback.print_exc()
        code = 1
    return code


def _fork(request: dict[str, Any]) -> int:
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        os.close(_replies)  # the server's; the run ends as the interpreter would
        code = _child(request)
    finally:
        try:
            import logging

            atexit._run_exitfuncs()
            logging.shutdown()
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _reap(report: Any) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        report(f"exited {pid} {code}")


def serve() -> None:
    """Imports the bot, then forks a run per request until stdin closes."""
    import importlib

    for name in WARM:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    global _replies
    _replies = os.dup(1)

    def report(line: str) -> None:
        os.write(_replies, (line + "\n").encode())

    pending = b""
    while True:
        ready, _, _ = select.select([0], [], [], 0.02)
        _reap(report)
        if not ready:
            continue
        chunk = os.read(0, 1 << 16)
        if not chunk:
            return
        pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            request = json.loads(line)
            try:
                report(f"started {request['id']} {_fork(request)}")
            except OSError as exc:  # fork refused (no memory, too many processes)
                print(f"fork server: cannot fork: {exc}", file=sys.stderr, flush=True)
                report(f"started {request['id']} 0")


# -- the client: in the test process --------------------------------------------------------


class Forked:
    """A forked `dono` run, with the part of subprocess.Popen's interface the tests use."""

    def __init__(self, server: ForkServer, pid: int) -> None:
        self.server = server
        self.pid = pid
        self.args = ["bot.cli"]

    @property
    def returncode(self) -> int | None:
        return self.server.codes.get(self.pid)

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        with self.server.changed:
            if not self.server.changed.wait_for(lambda: self.pid in self.server.codes, timeout):
                raise subprocess.TimeoutExpired(self.args, timeout or 0)
        return self.server.codes[self.pid]

    def send_signal(self, sig: int) -> None:
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class ForkServer:
    """The server process of this test worker, and what it has said."""

    def __init__(self) -> None:
        handle, name = tempfile.mkstemp(prefix="dono-forkserver-", suffix=".log")
        self.log = Path(name)  # what the server itself says (a fork refused, a traceback)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.forkserver"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=handle,
            text=True,
            bufsize=1,
        )
        os.close(handle)
        self.changed = threading.Condition()
        self.pids: dict[int, int] = {}
        self.codes: dict[int, int] = {}
        self.next_id = 0
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            what, first, second = line.split()
            with self.changed:
                if what == "started":
                    self.pids[int(first)] = int(second)
                else:
                    self.codes[int(first)] = int(second)
                self.changed.notify_all()
        with self.changed:  # the server ended: nobody waits for it in vain
            self.changed.notify_all()

    def spawn(
        self, args: list[str], env: dict[str, str], log: Path, append: bool, memory_cap: int | None
    ) -> Forked:
        log.open(
            "a" if append else "w"
        ).close()  # there (and empty) once this returns, as with Popen
        with self.lock:
            self.next_id += 1
            request_id = self.next_id
            request = {"id": request_id, "args": args, "env": env, "cwd": str(ROOT)}
            request |= {"memory_cap": memory_cap}
            assert self.proc.stdin is not None
            self.proc.stdin.write(json.dumps(request | {"log": str(log), "append": append}))
            self.proc.stdin.write("\n")
            self.proc.stdin.flush()
        with self.changed:
            # the first request waits for the server's imports
            self.changed.wait_for(lambda: request_id in self.pids or not self.alive(), 120)
            pid = self.pids.pop(request_id, 0)
        assert pid, f"the fork server did not fork ({self.log}):\n{self.log.read_text()}"
        return Forked(self, pid)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        with contextlib.suppress(OSError):  # a log with nothing to say is not kept
            if self.log.stat().st_size == 0:
                self.log.unlink()


_server: ForkServer | None = None


def spawn_dono(
    args: list[str],
    env: dict[str, str],
    log: Path,
    append: bool = False,
    memory_cap: int | None = None,
) -> Forked:
    """`python -m bot.cli *args` with this environment and its output (stdout and stderr)
    in ``log`` (appended to, or a new file), its address space capped at ``memory_cap``
    bytes if given; forked from this worker's fork server (started on first use)."""
    global _server
    if _server is not None and not _server.alive():
        print(f"fork server ended ({_server.log}): starting another", file=sys.__stderr__)
    if _server is None or not _server.alive():
        _server = ForkServer()
        atexit.register(_server.close)
    return _server.spawn(args, env, log, append, memory_cap)


if __name__ == "__main__":
    serve()
