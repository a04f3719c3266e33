"""Burst benchmark: N distinct subscribers each ask one question within a few seconds.

    .venv/bin/python bench/burst.py [--users 10000] [--within 10] [--json bench/results/burst.json]

The emulator (Telegram's flood limits on: 30 messages/s per bot, 1/s per private chat) runs in
this process on 127.0.0.1; Dono runs as its own process (`dono run`) against it, as in
production. Reports: answered / lost, unhandled 429s (429s the bot got: it waits them out),
time to drain, answer latency p50/p99 (question sent → answer delivered), the outgoing rate
while a backlog existed against the 30/s ceiling, and the bot's CPU time and peak RSS.
Bounded: gives up after --timeout seconds.
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

from emulator import DEFAULT_TOKEN, start_emulator  # noqa: E402

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
        send_span = time.time() - start

        answered: dict[int, float] = {}
        seen = 0
        deadline = start + timeout
        while len(answered) < users and time.time() < deadline:
            events = await emu.wait_for_events(seen, timeout=1.0)
            for ev in events:
                if ev.kind == "message" and ev.from_bot and ev.chat_id in sent_at:
                    answered.setdefault(ev.chat_id, ev.time)
            seen += len(events)
        cpu, peak = proc_stats(bot.pid)
    finally:
        bot.terminate()
        bot.wait(timeout=30)
        await emu.stop()

    calls = emu.calls("sendMessage")
    too_many = sum(1 for c in calls if c.get("error_code") == 429)
    latencies = [answered[u] - sent_at[u] for u in answered]
    times = sorted(answered.values())
    drain = times[-1] - start if times else None
    # the outgoing rate while there was a backlog: answers from the first to the last
    busy = (times[-1] - times[0]) if len(times) > 1 else None
    rate = (len(times) - 1) / busy if busy else None
    return {
        "users": users,
        "questions_sent_within_s": round(send_span, 2),
        "answered": len(answered),
        "lost": users - len(answered),
        "answers_duplicated": sum(1 for c in calls if c.get("ok")) - len(answered),
        "rejected_429": too_many,
        "time_to_drain_s": round(drain, 1) if drain else None,
        "latency_p50_s": round(statistics.median(latencies), 2) if latencies else None,
        "latency_p99_s": round(pct(latencies, 99), 2) if latencies else None,
        "outgoing_rate_per_s": round(rate, 2) if rate else None,
        "share_of_30_per_s": round(rate / 30, 3) if rate else None,
        "bot_cpu_s": round(cpu, 1),
        "bot_peak_rss_mb": round(peak, 1),
        "machine": f"{os.cpu_count()} cores, Python {sys.version.split()[0]}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--within", type=float, default=10.0)
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--json", help="also write the result to this file")
    args = parser.parse_args()
    result = asyncio.run(run(args.users, args.within, args.timeout))
    print(json.dumps(result, ensure_ascii=False, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")


if __name__ == "__main__":
    main()
