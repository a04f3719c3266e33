"""Burst benchmark: N distinct subscribers each ask one question within a few seconds.

    .venv/bin/python bench/burst.py [--users 10000] [--within 10] [--json bench/results/burst.json]
    .venv/bin/python bench/burst.py --instances 2 [--database postgresql://…] [--redis redis://…]
        [--mode polling|webhook] [--stop-postgres 60] [--json bench/results/burst-2-instances.json]

The emulator (Telegram's flood limits on: 30 messages/s per bot, 1/s per private chat) runs in
this process on 127.0.0.1; Dono runs as its own process (`dono run`) against it, as in
production. Reports: answered / lost, unhandled 429s (429s the bot got: it waits them out),
time to drain, answer latency p50/p99 (question sent → answer delivered), the outgoing rate
while a backlog existed against the 30/s ceiling, and the bot's CPU time and peak RSS.
Bounded: gives up after --timeout seconds.

With --instances N, N `dono run` processes share one PostgreSQL database and one Redis
(tests/e2e/instances.py runs them; in webhook mode behind nginx). The database is a fresh one
on --database's server, or on a PostgreSQL cluster of the benchmark's own when --database is
not given (so its CPU is the bot's load only); Redis is --redis, else the test server's
(.venv/.dono-redis-url). Reported per instance: CPU and peak RSS; and PostgreSQL's own CPU
(the postmaster and every backend, from /proc). --stop-postgres S stops PostgreSQL (a private
cluster only) for S seconds once a tenth of the answers went out, then starts it again, and
reports what each instance's /healthz said meanwhile.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from emulator import DEFAULT_TOKEN, Emulator, start_emulator  # noqa: E402

QUESTIONS = [
    "как проверить баланс",
    "kak popolnit balans",
    "Баланси ман чанд аст?",
    "how do I check my balance",
    "какой у меня номер",
    "настройки интернета андроид",
    "роуминг",
    "rfr gjgjkybnm",
    "Интернет нест",
    "what is my number",
]


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(q / 100 * len(values)) - 1))]


def proc_stats(pid: int) -> tuple[float, float]:
    """(CPU seconds, peak RSS MB) of a process, from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    peak = 0.0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                peak = int(line.split()[1]) / 1024
    return cpu, peak


def postgres_cpu_now(data_dir: Path) -> float:
    """CPU seconds this run of PostgreSQL used so far: the postmaster's own and its ended
    children's (which it waited for), plus every live backend's."""
    ticks = os.sysconf("SC_CLK_TCK")
    postmaster = int((data_dir / "postmaster.pid").read_text().split()[0])
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(entry.name), int(fields[1])
        if pid == postmaster:
            total += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
        elif ppid == postmaster:
            total += int(fields[11]) + int(fields[12])
    return total / ticks


class PostgresCpu:
    """PostgreSQL's CPU seconds from now on, across a stop and a start (a new postmaster
    counts from zero again)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.used = 0.0
        self.baseline = postgres_cpu_now(data_dir)

    def stopping(self) -> None:
        self.used += postgres_cpu_now(self.data_dir) - self.baseline

    def started(self) -> None:
        self.baseline = postgres_cpu_now(self.data_dir)

    def total(self) -> float:
        return self.used + postgres_cpu_now(self.data_dir) - self.baseline


async def data_directory(url: str) -> Path | None:
    """The server's data directory (superuser only), to find its processes."""
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        return Path(await conn.fetchval("SHOW data_directory"))
    except asyncpg.PostgresError:
        return None
    finally:
        await conn.close()


async def ask(emu: Emulator, users: int, within: float) -> tuple[float, dict[int, float], float]:
    """Each of ``users`` new subscribers asks one question, spread over ``within`` seconds:
    (start time, when each asked, how long the sending took)."""
    people = [
        await emu.create_user(f"U{i}", language_code=random.choice(["ru", "tg", "en"]))
        for i in range(users)
    ]
    sent_at: dict[int, float] = {}
    start = time.time()
    for i, person in enumerate(people):
        target = start + within * i / users
        if (delay := target - time.time()) > 0:
            await asyncio.sleep(delay)
        await emu.send_text(person, QUESTIONS[i % len(QUESTIONS)])
        sent_at[person.id] = time.time()
    return start, sent_at, time.time() - start


async def collect(
    emu: Emulator, sent_at: dict[int, float], deadline: float, on_answer=None
) -> dict[int, float]:
    """When each subscriber got their first answer, until all did or ``deadline``."""
    answered: dict[int, float] = {}
    seen = 0
    while len(answered) < len(sent_at) and time.time() < deadline:
        events = await emu.wait_for_events(seen, timeout=1.0)
        for ev in events:
            if ev.kind == "message" and ev.from_bot and ev.chat_id in sent_at:
                answered.setdefault(ev.chat_id, ev.time)
        seen += len(events)
        if on_answer is not None:
            await on_answer(len(answered))
    return answered


def figures(emu: Emulator, users: int, start: float, span: float, sent_at, answered) -> dict:
    calls = emu.calls("sendMessage")
    latencies = [answered[u] - sent_at[u] for u in answered]
    times = sorted(answered.values())
    drain = times[-1] - start if times else None
    # the outgoing rate while there was a backlog: answers from the first to the last
    busy = (times[-1] - times[0]) if len(times) > 1 else None
    rate = (len(times) - 1) / busy if busy else None
    return {
        "users": users,
        "questions_sent_within_s": round(span, 2),
        "answered": len(answered),
        "lost": users - len(answered),
        "answers_duplicated": sum(1 for c in calls if c.get("ok")) - len(answered),
        "rejected_429": sum(1 for c in emu.calls() if c.get("error_code") == 429),
        "time_to_drain_s": round(drain, 1) if drain else None,
        "latency_p50_s": round(statistics.median(latencies), 2) if latencies else None,
        "latency_p99_s": round(pct(latencies, 99), 2) if latencies else None,
        "outgoing_rate_per_s": round(rate, 2) if rate else None,
        "share_of_30_per_s": round(rate / 30, 3) if rate else None,
    }


async def run(users: int, within: float, timeout: float) -> dict:
    emu = await start_emulator()
    tmp = Path(tempfile.mkdtemp(prefix="dono-burst-"))
    config = (ROOT / "config.yaml").read_text(encoding="utf-8")
    config = config.replace("path: kb ", f"path: {ROOT / 'kb'} ").replace(
        "database: var/dono.sqlite3", f"database: {tmp / 'dono.sqlite3'}"
    )
    config = config.replace("watch: true ", "watch: false ")
    (tmp / "config.yaml").write_text(config, encoding="utf-8")
    env = {
        **os.environ,
        "DONO_BOT_TOKEN": DEFAULT_TOKEN,
        "DONO_API_BASE": emu.base_url,
        "DONO_CONFIG": str(tmp / "config.yaml"),
        "DONO_LOG_LEVEL": "WARNING",
    }
    bot = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run"], cwd=ROOT, env=env, stderr=subprocess.PIPE
    )
    try:
        await emu.wait_for_event(lambda e: e.kind == "poll", since=0, timeout=60)
        start, sent_at, span = await ask(emu, users, within)
        answered = await collect(emu, sent_at, start + timeout)
        cpu, peak = proc_stats(bot.pid)
    finally:
        bot.terminate()
        bot.wait(timeout=30)
        await emu.stop()
    return {
        **figures(emu, users, start, span, sent_at, answered),
        "bot_cpu_s": round(cpu, 1),
        "bot_peak_rss_mb": round(peak, 1),
        "machine": f"{os.cpu_count()} cores, Python {sys.version.split()[0]}",
    }


class Outage:
    """PostgreSQL stopped for ``seconds`` once ``after`` answers went out, then started;
    meanwhile every instance's /healthz is read each second."""

    def __init__(self, pg, nodes, cpu: PostgresCpu, seconds: float, after: int) -> None:
        self.pg, self.nodes, self.seconds, self.after = pg, nodes, seconds, after
        self.cpu = cpu
        self.stopped_at: float | None = None
        self.started_at: float | None = None
        self.said: dict[str, set[str]] = {i.name: set() for i in nodes.instances}
        self._last_look = 0.0

    async def __call__(self, answered: int) -> None:
        now = time.time()
        if self.stopped_at is None and answered >= self.after:
            self.cpu.stopping()
            await asyncio.to_thread(self.pg.stop)
            self.stopped_at = now
            self.answered_at_stop = answered
        elif self.stopped_at is not None and self.started_at is None:
            if now - self._last_look >= 1:
                self._last_look = now
                for instance in self.nodes.instances:
                    got = await instance.healthz()
                    self.said[instance.name].add(got[1].get("status") if got else "no answer")
            if now - self.stopped_at >= self.seconds:
                await asyncio.to_thread(self.pg.start)
                self.cpu.started()
                self.started_at = time.time()

    def figures(self) -> dict:
        return {
            "postgres_stopped_s": round(self.started_at - self.stopped_at, 1)
            if self.stopped_at and self.started_at
            else None,
            "answered_when_stopped": getattr(self, "answered_at_stop", None),
            "healthz_while_stopped": {k: sorted(v) for k, v in self.said.items()},
        }


async def run_instances(args: argparse.Namespace) -> dict:
    """The burst against ``args.instances`` `dono run` processes on PostgreSQL + Redis
    (long: start-up, the burst, an optional outage, and the figures of every process)."""
    from tests.e2e.instances import Cluster, PrivatePostgres, fresh_database

    pg = None
    if args.database is None:
        pg = PrivatePostgres().init()
        pg.start()
    elif args.stop_postgres:
        raise SystemExit("--stop-postgres needs the benchmark's own server: leave out --database")
    emu = await start_emulator()
    tmp = Path(tempfile.mkdtemp(prefix="dono-burst-"))
    try:
        server = pg.url if pg is not None else args.database
        data_dir = pg.data if pg is not None else await data_directory(server)
        async with fresh_database(server) as url:
            nodes = Cluster(emu, tmp, url, args.mode, args.instances)
            nodes.log_level = "WARNING"
            nodes.redis_url = args.redis or nodes.redis_url
            if not nodes.redis_url:
                raise SystemExit("no Redis: pass --redis or run bash .ci/setup")
            await nodes.start()
            try:
                cpu = PostgresCpu(data_dir) if data_dir else None
                outage = None
                if args.stop_postgres and cpu is not None:
                    outage = Outage(pg, nodes, cpu, args.stop_postgres, args.users // 10)
                start, sent_at, span = await ask(emu, args.users, args.within)
                answered = await collect(emu, sent_at, start + args.timeout, outage)
                per_instance = {i.name: proc_stats(i.proc.pid) for i in nodes.instances}
                pg_cpu = cpu.total() if cpu is not None else None
            finally:
                nodes.stop()
    finally:
        await emu.stop()
        if pg is not None:
            pg.remove()
    result = figures(emu, args.users, start, span, sent_at, answered)
    result |= {
        "instances": args.instances,
        "mode": args.mode,
        "database": "PostgreSQL (a private cluster)" if pg is not None else "PostgreSQL",
        "redis": True,
        "instance_cpu_s": {k: round(v[0], 1) for k, v in per_instance.items()},
        "instance_peak_rss_mb": {k: round(v[1], 1) for k, v in per_instance.items()},
        "postgres_cpu_s": round(pg_cpu, 1) if pg_cpu is not None else None,
        "load_average_15m_at_end": round(os.getloadavg()[2], 2),  # the machine's other work too
        "machine": f"{os.cpu_count()} cores, Python {sys.version.split()[0]}",
    }
    if outage is not None:
        result |= outage.figures()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--within", type=float, default=10.0)
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--json", help="also write the result to this file")
    parser.add_argument("--instances", type=int, default=0, help="N dono run on PostgreSQL+Redis")
    parser.add_argument("--mode", choices=["polling", "webhook"], default="polling")
    parser.add_argument("--database", help="a PostgreSQL server (default: one of its own)")
    parser.add_argument("--redis", help="a Redis server (default: .venv/.dono-redis-url)")
    parser.add_argument("--stop-postgres", type=float, default=0, metavar="SECONDS")
    args = parser.parse_args()
    if args.instances:
        result = asyncio.run(run_instances(args))
    else:
        result = asyncio.run(run(args.users, args.within, args.timeout))
    print(json.dumps(result, ensure_ascii=False, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")


if __name__ == "__main__":
    main()
