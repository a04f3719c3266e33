"""Several `dono run` processes against one emulator: the multi-instance harness.

A :class:`Cluster` runs N instances with the same configuration (one PostgreSQL database,
fresh per test; Redis when `.ci/redis` started one), each with its own DONO_INSTANCE, health
port and webhook port; in webhook mode nginx is in front of them, with the config from
docs/deploy/nginx.conf, and the emulator's webhook points at nginx. Helpers kill -9 an
instance, start it again, wait for its /healthz and tell which one is the polling leader.
PostgreSQL can also be a private server of the test's own (:class:`PrivatePostgres`), to be
stopped and started without touching the server other tests use.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import pytest
import pytest_asyncio
import yaml

from emulator import Emulator, start_emulator
from tests.e2e.conftest import ROOT, settled
from tests.forkserver import Forked, spawn_dono
from tests.pg import NO_SERVER, server_url

NGINX_CONF = ROOT / "docs" / "deploy" / "nginx.conf"
REDIS_URL_FILE = ROOT / ".venv" / ".dono-redis-url"
SECRET = "multi-instance_test-secret"
NO_REDIS = "no Redis server: run `bash .ci/setup` as root (it installs and starts one)"
NO_NGINX = "no nginx: run `bash .ci/setup` as root (it installs Debian's nginx)"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_url() -> str | None:
    """The test Redis server, on a database number of this test's own (keys never meet
    another test's), or None."""
    url = os.environ.get("DONO_TEST_REDIS_URL")
    if not url and REDIS_URL_FILE.exists():
        url = REDIS_URL_FILE.read_text().strip()
    if not url:
        return None
    return re.sub(r"/\d*$", "", url) + f"/{uuid.uuid4().int % 15 + 1}"


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None
    )


def as_root() -> bool:
    return os.geteuid() == 0


async def wait_until(
    check: Any, timeout: float, what: str, every: float = 0.1, why: Any = None
) -> Any:
    """Calls ``await check()`` until it returns something true; fails after ``timeout``
    (saying ``why()`` too, if given)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if loop.time() > deadline:
            pytest.fail(f"{what}: not within {timeout:g} s" + (f" ({why()})" if why else ""))
        await asyncio.sleep(every)


# -- PostgreSQL -----------------------------------------------------------------------------


@asynccontextmanager
async def fresh_database(url: str | None = None) -> AsyncIterator[str]:
    """A new, empty database on the server at ``url`` (default: the test server), dropped
    afterwards; skips the test when there is no server."""
    import asyncpg

    url = url or server_url()
    if url is None:
        pytest.skip(NO_SERVER)
    name = f"multi_{uuid.uuid4().hex[:12]}"
    try:
        conn = await asyncpg.connect(url)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.skip(f"{NO_SERVER} ({exc})")
    try:
        await conn.execute(f"CREATE DATABASE {name}")
    finally:
        await conn.close()
    try:
        yield urlunsplit(urlsplit(url)._replace(path=f"/{name}"))
    finally:
        # a new connection: the server may have been stopped and started meanwhile
        with suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            conn = await asyncpg.connect(url, timeout=10)
            try:
                await conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            finally:
                await conn.close()


class PrivatePostgres:
    """A PostgreSQL cluster of one test's own (Debian's binaries, as .ci/postgres runs the
    shared one): initdb into a temporary folder, start, stop, start again on the same port."""

    def __init__(self) -> None:
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: p.parent.name)
        if not bins:
            pytest.skip(NO_SERVER)
        self.bin = bins[-1]
        # the postgres user must reach it: a folder of its own under /tmp, not pytest's
        self.dir = Path(tempfile.mkdtemp(prefix="dono-pg-private-"))
        self.data = self.dir / "data"
        self.port = free_port()
        if as_root():
            shutil.chown(self.dir, "postgres", "postgres")

    def _run(self, *args: str) -> None:
        cmd = [str(self.bin / args[0]), *args[1:]]
        if as_root():
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, cwd="/", check=True, capture_output=True, timeout=60)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def init(self) -> PrivatePostgres:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8")
        return self

    def start(self) -> None:
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.data} -c fsync=off"
        log = str(self.dir / "server.log")
        self._run("pg_ctl", "start", "-w", "-D", str(self.data), "-l", log, "-o", options)

    def stop(self) -> None:
        self._run("pg_ctl", "stop", "-w", "-m", "fast", "-D", str(self.data))

    def remove(self) -> None:
        with suppress(subprocess.SubprocessError, OSError):
            self._run("pg_ctl", "stop", "-w", "-m", "immediate", "-D", str(self.data))
        shutil.rmtree(self.dir, ignore_errors=True)


# -- nginx ----------------------------------------------------------------------------------


def render_site(listen_port: int, upstreams: list[int]) -> str:
    """docs/deploy/nginx.conf with a loopback listen port instead of TLS on 443, and these
    instances' webhook ports as the upstream servers; fails if the file lost its shape."""
    text = NGINX_CONF.read_text(encoding="utf-8")
    servers = re.findall(r"^(\s*)server 127\.0\.0\.1:\d+( [^;]*)?;\n", text, flags=re.M)
    assert len(servers) >= 2, f"{NGINX_CONF}: no upstream server lines"
    indent, options = servers[0]
    lines = "".join(f"{indent}server 127.0.0.1:{p}{options};\n" for p in upstreams)
    text = re.sub(r"(^\s*server 127\.0\.0\.1:\d+[^;]*;\n)+", lines, text, count=1, flags=re.M)
    text, n = re.subn(r"listen 443 ssl;", f"listen 127.0.0.1:{listen_port};", text)
    assert n == 1, f"{NGINX_CONF}: no 'listen 443 ssl;' line"
    return re.sub(r"^\s*ssl_\w+ [^;]*;\n", "", text, flags=re.M)


class Nginx:
    """nginx under a temporary prefix, on a free loopback port, in front of the instances."""

    def __init__(self, prefix: Path, upstreams: list[int]) -> None:
        binary = nginx_binary()
        if binary is None:
            pytest.skip(NO_NGINX)
        self.binary = binary
        self.prefix = prefix
        self.port = free_port()
        (prefix / "tmp").mkdir(parents=True, exist_ok=True)
        (prefix / "dono.conf").write_text(render_site(self.port, upstreams), encoding="utf-8")
        temps = "".join(
            f"    {kind}_temp_path {prefix / 'tmp' / kind};\n"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        # workers run as the master's user: root when root (no other user may enter
        # pytest's folders), and no user directive otherwise (it only applies to root)
        (prefix / "nginx.conf").write_text(
            ("user root;\n" if as_root() else "")
            + f"worker_processes 1;\nerror_log {prefix / 'error.log'} info;\n"
            + "events { worker_connections 512; }\nhttp {\n"
            + "    log_format up '$request_uri $status $upstream_addr $upstream_status';\n"
            + f"    access_log {prefix / 'access.log'} up;\n{temps}"
            + f"    include {prefix / 'dono.conf'};\n}}\n",
            encoding="utf-8",
        )
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/telegram"

    async def start(self) -> None:
        global_ = f"daemon off; pid {self.prefix / 'nginx.pid'};"
        cmd = [self.binary, "-p", str(self.prefix), "-c", str(self.prefix / "nginx.conf")]
        with (self.prefix / "stderr.log").open("w") as err:
            self.proc = subprocess.Popen([*cmd, "-g", global_], stdout=err, stderr=err)

        async def listening() -> bool:
            assert self.proc is not None and self.proc.poll() is None, self.errors()
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                return False
            writer.close()
            return True

        await wait_until(listening, 15, "nginx listening")

    def errors(self) -> str:
        return "\n".join(
            p.read_text(errors="replace")
            for p in (self.prefix / "stderr.log", self.prefix / "error.log")
            if p.exists()
        )

    def upstreams_used(self) -> list[str]:
        """Per delivery nginx passed on, the instance address(es) it went to."""
        log = self.prefix / "access.log"
        return [line.split()[2] for line in log.read_text().splitlines()] if log.exists() else []

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


# -- instances ------------------------------------------------------------------------------


class Instance:
    """One `dono run` of the cluster: its name, ports, config file and log."""

    def __init__(self, cluster: Cluster, number: int) -> None:
        self.cluster = cluster
        self.name = f"dono-{number}"
        self.health_port = free_port()
        self.listen_port = free_port()
        self.config_path = cluster.tmp / f"config-{number}.yaml"
        self.log = cluster.tmp / f"{self.name}.log"
        self.proc: Forked | None = None

    def start(self) -> Instance:
        config = yaml.safe_load(yaml.safe_dump(self.cluster.config))
        config["ops"]["health_port"] = self.health_port
        config["telegram"]["webhook"]["listen_port"] = self.listen_port
        self.config_path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith("DONO_")}
        env |= {
            "DONO_BOT_TOKEN": self.cluster.emu.token,
            "DONO_API_BASE": self.cluster.emu.base_url,
            "DONO_CONFIG": str(self.config_path),
            "DONO_INSTANCE": self.name,
            "DONO_DATABASE_URL": self.cluster.database_url,
            "DONO_WEBHOOK_SECRET": SECRET,
            "DONO_LOG_LEVEL": self.cluster.log_level,
        }
        if self.cluster.redis_url:
            env["DONO_REDIS_URL"] = self.cluster.redis_url
        with self.log.open("a", encoding="utf-8") as out:
            out.write(f"---- {self.name} starting\n")
        self.proc = spawn_dono(["run"], env, self.log, append=True)
        return self

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def kill9(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def terminate(self) -> None:
        if self.running:
            assert self.proc is not None
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    async def healthz(self) -> tuple[int, dict] | None:
        """(HTTP status, body) of its /healthz, or None when nothing answers."""
        url = f"http://127.0.0.1:{self.health_port}/healthz"
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http,
                http.get(url) as r,
            ):
                return r.status, await r.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError):
            return None

    async def wait_healthy(self, timeout: float = 120) -> dict:
        """Its /healthz body once it says ok (fails if the process ends first)."""

        async def ok() -> dict | None:
            assert self.running, f"{self.name} ended:\n{self.output()[-3000:]}"
            got = await self.healthz()
            return got[1] if got and got[0] == 200 and got[1].get("status") == "ok" else None

        return await wait_until(ok, timeout, f"{self.name} healthy (log {self.log})", every=0.2)


class Cluster:
    """N instances with one configuration, on one emulator; nginx in front in webhook mode."""

    def __init__(
        self,
        emu: Emulator,
        tmp: Path,
        database_url: str,
        mode: str,
        n: int = 2,
        group_id: int | None = None,
        global_per_second: int | None = None,
    ) -> None:
        self.emu = emu
        self.tmp = tmp
        self.database_url = database_url
        self.redis_url = redis_url()
        self.mode = mode
        self.log_level = "INFO"
        self.config: dict[str, Any] = yaml.safe_load((ROOT / "config.yaml").read_text("utf-8"))
        self.config["knowledge"].update(path=str(ROOT / "kb"), watch=False)
        self.config["bot"].update(database=database_url, journal=None)  # the env has it too
        self.config["agents"]["group_id"] = group_id
        self.config["telegram"]["mode"] = mode
        if global_per_second is not None:  # Telegram's 30/s lowered, here and in the emulator
            limit = {"global_per_second": global_per_second, "global_burst": global_per_second}
            self.config["telegram"]["limits"].update(limit)
            emu.set_limits(**limit)
        if "redis" in self.config:  # keys and channels of this test's own
            self.config["redis"]["prefix"] = f"dono-test-{uuid.uuid4().hex[:8]}"
        self.instances = [Instance(self, i + 1) for i in range(n)]
        self.nginx: Nginx | None = None
        if mode == "webhook":
            self.nginx = Nginx(tmp / "nginx", [i.listen_port for i in self.instances])
            self.config["telegram"]["webhook"]["url"] = self.nginx.url

    async def start(self) -> Cluster:
        if self.nginx is not None:
            await self.nginx.start()
        for instance in self.instances:
            instance.start()
        for instance in self.instances:
            await instance.wait_healthy()
        return self

    def stop(self) -> None:
        for instance in self.instances:  # all at once: each finishes what it has in hand
            if instance.running:
                assert instance.proc is not None
                instance.proc.send_signal(signal.SIGTERM)
        for instance in self.instances:
            instance.terminate()
        if self.nginx is not None:
            self.nginx.stop()

    async def restart(self, instance: Instance) -> dict:
        instance.start()
        return await instance.wait_healthy()

    async def leader(self, timeout: float = 15, not_: Instance | None = None) -> Instance:
        """The one instance whose /healthz says it polls (other than ``not_``), once there
        is exactly one."""

        async def one() -> Instance | None:
            leaders = []
            for instance in self.instances:
                if instance is not_ or not instance.running:
                    continue
                got = await instance.healthz()
                if got and got[1].get("leader") is True:
                    leaders.append(instance)
            return leaders[0] if len(leaders) == 1 else None

        return await wait_until(one, timeout, "exactly one polling leader", every=0.2)

    def route_to(self, instance: Instance | None) -> None:
        """From now on the emulator delivers updates straight to ``instance``'s webhook port
        (None: through nginx again)."""
        hook = self.emu.default_bot.webhook
        assert hook is not None and self.nginx is not None, "no webhook set"
        port = instance.listen_port if instance is not None else self.nginx.port
        hook["url"] = f"http://127.0.0.1:{port}/telegram"

    def logs(self) -> str:
        """Where to look when something failed."""
        names = [str(i.log) for i in self.instances]
        if self.nginx is not None:
            names.append(str(self.nginx.prefix))
        return ", ".join(names)


@asynccontextmanager
async def cluster(
    emu: Emulator,
    tmp: Path,
    mode: str,
    *,
    n: int = 2,
    group_id: int | None = None,
    database_url: str | None = None,
    need_redis: bool = True,
    global_per_second: int | None = None,
) -> AsyncIterator[Cluster]:
    """A started cluster on a fresh database (of the test server, or of ``database_url``'s
    server), stopped on the way out."""
    if need_redis and redis_url() is None:
        pytest.skip(NO_REDIS)
    async with fresh_database(database_url) as url:
        nodes = Cluster(emu, tmp, url, mode, n, group_id, global_per_second)
        try:
            yield await nodes.start()
        finally:
            nodes.stop()


# -- what the tests do with a cluster ----------------------------------------------------------

# the bot's 30 messages/s lowered to this, in the emulator and in every instance's pacer alike:
# a burst that two instances pacing on their own would send at twice the rate (and get 429s
# for), in a few seconds. Redis's shared buckets keep them to it together.
LIMIT = 15

# questions whose answers tell each other apart (by the heading each answer starts with)
QUESTIONS = [
    ("как проверить баланс", "Проверить баланс:"),
    ("kak popolnit balans", "Способы пополнить счёт:"),
    ("роуминг", "Роуминг:"),
    ("какой у меня номер", "Узнать свой номер:"),
]


class Burst:
    """Many subscribers, each asking a different question per round, and what each chat
    must have got back: one answer per question, in the order asked."""

    def __init__(self, emu: Emulator, users: list[Any]) -> None:
        self.emu = emu
        self.users = users
        self.since = emu.cursor()  # the emulator may have served other tests before
        self.expected: dict[int, list[str]] = {u.id: [] for u in users}

    @classmethod
    async def of(cls, emu: Emulator, n: int) -> Burst:
        return cls(emu, [await emu.create_user(f"S{i}", language_code="ru") for i in range(n)])

    async def round(self) -> None:
        """Every subscriber asks their next question."""
        for i, user in enumerate(self.users):
            question, marker = QUESTIONS[(i + len(self.expected[user.id])) % len(QUESTIONS)]
            self.expected[user.id].append(marker)
            await self.emu.send_text(user, question)

    def answered(self) -> int:
        return sum(len(self.emu.bot_messages(u.id)) for u in self.users)

    async def until_answered(self, count: int, timeout: float) -> None:
        async def enough() -> bool:
            if self.answered() >= count:
                return True
            await self.emu.wait_for_events(self.emu.cursor(), timeout=0.5)
            return False

        await wait_until(enough, timeout, f"{count} answers", every=0, why=self.calls_made)

    def calls_made(self) -> str:
        """What the bot asked Telegram since the burst began, by method and outcome."""
        made = Counter(
            f"{c['method']} {c.get('error_code') or 'ok'}" for c in self.emu.calls(since=self.since)
        )
        return f"have {self.answered()}; calls made: {dict(made)}"

    def wrong_chats(self, repeats: bool = False) -> tuple[dict[int, list[str]], int]:
        """Chats whose answers are not exactly the expected ones in order (what they got),
        and how many answers came twice in a row; with ``repeats`` those count as one."""
        wrong, twice = {}, 0
        for user in self.users:
            got = [self.marker(m.get("text") or "") for m in self.emu.bot_messages(user.id)]
            once = [m for i, m in enumerate(got) if i == 0 or m != got[i - 1]]
            twice += len(got) - len(once)
            if (once if repeats else got) != self.expected[user.id]:
                wrong[user.id] = got
        return wrong, twice

    @staticmethod
    def marker(text: str) -> str:
        return next((m for _, m in QUESTIONS if text.startswith(m)), text[:40])

    async def check(self, nodes: Cluster, timeout: float = 60, repeats: bool = False) -> None:
        """All answered, each once and in order; no 429 from Telegram. With ``repeats``, an
        answer may come twice, as the bot warns it may when a send's record was lost with the
        database (README, Operations): every repeat must be one an instance logged."""
        total = sum(len(v) for v in self.expected.values())
        await self.until_answered(total, timeout)
        await settled(self.emu, quiet=1.0)  # a repeated answer would come in this window
        wrong, twice = self.wrong_chats(repeats)
        assert not wrong, (
            f"{len(wrong)} chats wrong, e.g. {list(wrong.items())[:3]} ({nodes.logs()})"
        )
        warned = sum(
            i.output().count("may arrive twice") + i.output().count("made but not recorded")
            for i in nodes.instances
        )
        assert twice <= warned, f"{twice} answers twice, {warned} warned of ({nodes.logs()})"
        rejected = [c for c in self.emu.calls(since=self.since) if c.get("error_code") == 429]
        assert rejected == [], f"Telegram said 429 {len(rejected)} times ({nodes.logs()})"


async def kill9_between_sends(emu: Emulator, instance: Instance) -> float:
    """``kill -9`` an instance mid-burst, with no send of its half made: from a moment before
    the kill Telegram holds the bots' sends (and never makes them), so each send Telegram made
    has had its answer back and recorded; the hold ends once the kill has settled, and the
    sends held are made again, once. (A send Telegram made in the last milliseconds before a
    crash, its answer never recorded, is the one case the Bot API gives no way to tell apart:
    README, Known limits; ``tests/e2e/test_faults.py`` does the same for one process.)
    Returns when (``time.monotonic()``) it was killed."""
    since = emu.cursor()
    hold = emu.inject_timeout("sendMessage", count=100_000, hold=2.0)
    try:
        await emu.wait_for_call(
            "sendMessage", since=since, timeout=15, predicate=lambda c: c.get("status") == 0
        )
        await settled(emu, quiet=0.5, limit=3.0)  # answers on their way are recorded
        instance.kill9()
        killed_at = time.monotonic()
        await settled(emu, limit=3.0)  # what it wrote before it died reaches Telegram
    finally:
        emu.faults.rules.remove(hold)
    return killed_at


async def delivered_to(
    nodes: Cluster, instance: Instance, act: Callable[[], Awaitable[Any]]
) -> Any:
    """``act()`` (a subscriber's or agent's action) with its update delivered straight to
    ``instance``; returns once that instance took it."""
    emu = nodes.emu
    nodes.route_to(instance)
    since = emu.cursor()
    result = await act()
    await emu.wait_for_event(
        lambda e: e.kind == "webhook" and e.data["status"] == 200, since=since, timeout=15
    )
    return result


async def degraded_everywhere(nodes: Cluster) -> bool:
    """Whether every instance's /healthz says degraded, naming the database."""
    for instance in nodes.instances:
        got = await instance.healthz()
        if got is None:
            return False
        status, body = got
        named = body.get("database") not in (None, "ok")  # what failed, not "ok"
        if not (status == 503 and body.get("status") == "degraded" and named):
            return False
    return True


# One cluster per test module (starting two `dono run` processes costs tens of seconds on a
# busy machine: aiogram's import alone takes seconds); its tests run in the module's event
# loop, and the first test's time includes the start. A module sets ``pytestmark =
# CLUSTER_MODULE`` and imports ``module_emulator`` (the fixture ``emu`` for its tests).
CLUSTER_MODULE = [
    pytest.mark.slow,
    pytest.mark.timeout(300),
    pytest.mark.asyncio(loop_scope="module"),
]


@pytest_asyncio.fixture(scope="module", loop_scope="module", name="emu")
async def module_emulator() -> AsyncIterator[Emulator]:
    emulator = await start_emulator()
    try:
        yield emulator
    finally:
        await emulator.stop()
