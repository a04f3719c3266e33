"""Steady benchmark: subscribers chatting for minutes, some handed off to a few agents.

    .venv/bin/python bench/steady.py [--users 200] [--minutes 5] [--handoff 0.2] [--agents 3]
                                     [--group-per-minute 20] [--json bench/results/steady.json]
    .venv/bin/python bench/steady.py --operator [--minutes 10] [--rate 10] [--users 1000]
                                     [--json bench/results/steady-operator.json]

``--operator`` is the scale of the operator Dono is for, at Telegram's real limits (20 a minute
per group including edits and topic operations, 1 a second per private chat, 30 a second
overall): 30 agents, ``--rate`` hand-offs a minute (10) for ``--minutes`` (10: 100 tickets),
while ``--users`` other subscribers (1,000) ask the bot questions every 60-180 s. ``--rate 0``
is the same load without hand-offs: the baseline for the other subscribers' answer latency.
Scale it down (``--minutes 2 --rate 5 --users 200``) to try it on a shared machine.

The emulator runs in this process on 127.0.0.1 with Telegram's flood limits on; Dono runs as
its own process (`dono run`) with an operators' forum group, as in production. Each subscriber
writes every 15-45 s: questions for the bot, and, for the share that asks for a human
(/operator), messages to their agent until the agent has answered three times and closes the
ticket; the subscriber then rates the agent and leaves (writing again within
`agents.reopen_window` would reopen the ticket). Agents claim new
cards within a few seconds and answer each message 2-6 s after it reaches them.

Reports: the bot's CPU (seconds and share of one core), RSS (peak and at the end), the SQLite
files' size, answer latency (question → answer), relay latency both ways (subscriber → topic,
agent → subscriber) p50/p99, what was still queued 60 s after the load stopped, anything
never delivered after a bounded drain (lost) and anything delivered twice (duplicated). Texts
the bot relayed together as one message (``bot.desk.relay.SEPARATOR``) count part by part.

`--group-per-minute` raises Telegram's 20 a minute per group in both the emulator and the
bot's pacer, to measure the bot rather than that ceiling; `--groups N` spreads the desk over
N groups (``agents.groups``). The README states which values produced which figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.burst import pct, proc_stats  # noqa: E402
from bot.desk.relay import SEPARATOR  # noqa: E402
from emulator import DEFAULT_TOKEN, Emulator, start_emulator  # noqa: E402

QUESTIONS = {
    "ru": [
        "как проверить баланс",
        "kak popolnit balans",
        "настройки интернета андроид",
        "роуминг",
        "rfr gjgjkybnm",
        "какой у меня номер",
        "как подключить пакет интернета",
        "не работает интернет",
    ],
    "tg": [
        "Баланси ман чанд аст?",
        "чи тавр балансро пур кунам",
        "роуминг чи тавр фаъол мешавад",
        "раками ман чанд аст",
    ],
    "en": [
        "how do I check my balance",
        "what is my number",
        "how to top up",
        "roaming abroad",
    ],
}
THINK = (15.0, 45.0)  # seconds between a subscriber's messages
OPERATOR_THINK = (60.0, 180.0)  # the operator's scale: a thousand people asking now and then
CLAIM_DELAY = (1.0, 5.0)
REPLY_DELAY = (2.0, 6.0)
REPLIES_PER_TICKET = 3
NAME = re.compile(r"Sub(\d{4})")


@dataclass
class Sub:
    i: int
    user: Any
    lang: str
    handoff_at: float | None  # seconds after start when this one asks for a human
    state: str = "bot"  # bot | ticket | done (rated the agent and left)
    asked_at: float | None = None  # a question waiting for the bot's answer
    sent: int = 0


@dataclass
class Ticket:
    thread: int
    group: int  # the chat id of its desk's group
    sub: Sub
    agent: int
    card_id: int
    claimed: asyncio.Event = field(default_factory=asyncio.Event)
    replies: int = 0
    closing: bool = False
    chat: int = 0  # where its agent answers: the group, or their private chat (workspaces)
    at: int | None = None  # the topic there


@dataclass
class Tally:
    answer: list[float] = field(default_factory=list)
    relay_in: list[float] = field(default_factory=list)
    relay_out: list[float] = field(default_factory=list)
    card: list[float] = field(default_factory=list)  # "/operator" → the ticket's card
    questions: int = 0
    to_agents: dict[str, float] = field(default_factory=dict)  # text → when sent
    to_subscribers: dict[str, float] = field(default_factory=dict)
    delivered: set[str] = field(default_factory=set)
    duplicated: int = 0
    tickets: int = 0
    closed: int = 0
    reopened: int = 0  # a subscriber wrote again just as their ticket closed
    rss: list[float] = field(default_factory=list)


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def files_mb(directory: Path) -> float:
    return sum(p.stat().st_size for p in directory.glob("dono.sqlite3*")) / 2**20


class Scenario:
    def __init__(
        self,
        emu: Emulator,
        groups: list[Any],
        agents: list[Any],
        subs: list[Sub],
        think: tuple[float, float] = THINK,
    ) -> None:
        self.emu = emu
        self.think = think
        self.groups = {g.id: n for n, g in enumerate(groups)}  # chat id → its desk's number
        self.agents = agents  # agent a works at desk a % len(groups)
        self.agent_chats = {a.id: n for n, a in enumerate(agents)}  # workspaces: their chats
        self.workspaces: dict[tuple[int, int], Ticket] = {}  # (agent's chat, topic) → ticket
        self.subs = {s.user.id: s for s in subs}
        self.by_index = {s.i: s for s in subs}
        self.tickets: dict[int, Ticket] = {}
        self.asked_human: dict[int, float] = {}  # by subscriber: when they asked
        self.load = [0] * len(agents)
        self.tally = Tally()
        self.tasks: set[asyncio.Task] = set()
        self.start = time.time()

    def later(self, delay: tuple[float, float], coro: Any) -> None:
        async def run() -> None:
            await asyncio.sleep(random.uniform(*delay))
            await coro

        task = asyncio.create_task(run())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def subscriber(self, sub: Sub, until: float) -> None:
        first = random.uniform(0, self.think[0])
        if sub.handoff_at is not None and self.think is OPERATOR_THINK:
            first = sub.handoff_at  # at the operator's scale, hand-offs come at the rate asked
        await asyncio.sleep(first)
        while time.time() < until and sub.state != "done":
            now = time.time()
            if sub.state == "bot":
                if sub.handoff_at is not None and now - self.start >= sub.handoff_at:
                    sub.handoff_at = None
                    sub.state = "ticket"
                    sub.asked_at = None
                    self.asked_human[sub.i] = time.time()
                    await self.emu.send_text(sub.user, "/operator")
                else:
                    sub.asked_at = time.time()
                    self.tally.questions += 1
                    await self.emu.send_text(sub.user, random.choice(QUESTIONS[sub.lang]))
            else:
                sub.sent += 1
                text = f"Sub{sub.i:04d}: сообщение {sub.sent}"
                self.tally.to_agents[text] = time.time()
                await self.emu.send_text(sub.user, text)
            think = self.think if sub.state == "bot" and sub.handoff_at is None else THINK
            await asyncio.sleep(random.uniform(*think))

    async def claim(self, ticket: Ticket, data: str) -> None:
        agent = self.agents[ticket.agent]
        query = await self.emu.press_button(
            agent, ticket.card_id, data, chat=ticket.group, strict=False
        )
        await self.emu.wait_for_callback_answer(query, timeout=60)
        ticket.claimed.set()

    async def reply(self, ticket: Ticket) -> None:
        await ticket.claimed.wait()
        if ticket.closing:
            return
        ticket.replies += 1
        agent = self.agents[ticket.agent]
        text = f"Agent{ticket.agent}: ответ {ticket.replies} для Sub{ticket.sub.i:04d}"
        self.tally.to_subscribers[text] = time.time()
        await self.emu.send_text(agent, text, chat=ticket.chat, thread_id=ticket.at)
        if ticket.replies >= REPLIES_PER_TICKET:
            ticket.closing = True
            self.later(REPLY_DELAY, self.close(ticket))

    async def close(self, ticket: Ticket) -> None:
        agent = self.agents[ticket.agent]
        await self.emu.send_text(agent, "/close", chat=ticket.chat, thread_id=ticket.at)
        self.load[ticket.agent] -= 1
        self.tally.closed += 1

    async def rate(self, sub: Sub, message: dict) -> None:
        await self.emu.press_button(sub.user, message["message_id"], text="5 ⭐", strict=False)

    def relayed(self, pending: dict[str, float], text: str, at: float) -> bool:
        """A relayed text (or part of one): its latency, or a duplicate."""
        tally = self.tally
        if text in pending:
            tally.delivered.add(text)
            (tally.relay_in if pending is tally.to_agents else tally.relay_out).append(
                at - pending.pop(text)
            )
            return True
        if text in tally.delivered:
            tally.duplicated += 1
            return True
        return False

    def on_group_message(self, group: int, msg: dict, at: float) -> None:
        text = msg.get("text") or ""
        thread = (group, msg.get("message_thread_id"))
        parts = [self.relayed(self.tally.to_agents, part, at) for part in text.split(SEPARATOR)]
        if any(parts):
            ticket = self.tickets.get(thread)
            if ticket is not None:
                self.later(REPLY_DELAY, self.reply(ticket))
            return
        buttons = [
            b for row in (msg.get("reply_markup") or {}).get("inline_keyboard", []) for b in row
        ]
        claim = next((b for b in buttons if "Взять" in b["text"]), None)
        found = NAME.search(text)
        if claim is None or found is None or thread[1] is None:
            return
        if thread in self.tickets and not self.tickets[thread].closing:
            return  # its card again (a refresh); a closed ticket's new card: it reopened
        sub = self.by_index[int(found.group(1))]
        sub.state = "ticket"  # also when the bot handed off on its own
        desk, desks = self.groups[group], len(self.groups)
        here = [a for a in range(len(self.agents)) if a % desks == desk]
        agent = min(here, key=lambda a: self.load[a])
        self.load[agent] += 1
        ticket = Ticket(thread[1], group, sub, agent, msg["message_id"], chat=group, at=thread[1])
        if sub.i in self.asked_human:
            self.tally.card.append(at - self.asked_human.pop(sub.i))
        if thread in self.tickets:
            self.tally.reopened += 1
        else:
            self.tally.tickets += 1
        self.tickets[thread] = ticket
        self.later(CLAIM_DELAY, self.claim(ticket, claim["callback_data"]))

    def on_workspace_message(self, chat: int, msg: dict, at: float) -> None:
        """A message in an agent's private chat (``--workspaces``): the ticket's card opens
        its topic there (the agent answers there from now on); a relayed text is timed. The
        history forwarded into a new topic was delivered before: not counted again."""
        text = msg.get("text") or ""
        thread = (chat, msg.get("message_thread_id"))
        if "forward_origin" in msg or thread[1] is None:
            return
        parts = [self.relayed(self.tally.to_agents, part, at) for part in text.split(SEPARATOR)]
        ticket = self.workspaces.get(thread)
        if any(parts):
            if ticket is not None:
                self.later(REPLY_DELAY, self.reply(ticket))
            return
        found = NAME.search(text)
        if ticket is not None or found is None or "#" not in text:
            return
        agent = self.agent_chats[chat]
        for ticket in self.tickets.values():
            if ticket.sub.i == int(found.group(1)) and ticket.agent == agent:
                ticket.chat, ticket.at = chat, thread[1]
                self.workspaces[thread] = ticket

    def on_private_message(self, sub: Sub, msg: dict, at: float) -> None:
        text = msg.get("text") or ""
        if self.relayed(self.tally.to_subscribers, text, at):
            return
        buttons = [
            b["text"]
            for row in (msg.get("reply_markup") or {}).get("inline_keyboard", [])
            for b in row
        ]
        if [b.split()[0] for b in buttons] == ["1", "2", "3", "4", "5"]:  # "1 ⭐" … "5 ⭐"
            sub.state = "done"
            self.later((1.0, 3.0), self.rate(sub, msg))
            return
        if sub.asked_at is not None:
            self.tally.answer.append(at - sub.asked_at)
            sub.asked_at = None

    async def watch(self, stop: asyncio.Event) -> None:
        seen = self.emu.cursor()
        while not stop.is_set():
            for ev in await self.emu.wait_for_events(seen, timeout=0.5):
                seen = max(seen, ev.seq)
                if ev.kind != "message" or not ev.from_bot:
                    continue
                msg = ev.data.get("message") or {}
                if ev.chat_id in self.groups:
                    self.on_group_message(ev.chat_id, msg, ev.time)
                elif (sub := self.subs.get(ev.chat_id)) is not None:
                    self.on_private_message(sub, msg, ev.time)
                elif ev.chat_id in self.agent_chats:
                    self.on_workspace_message(ev.chat_id, msg, ev.time)


def cost(call: dict) -> int:
    """Messages a call Telegram took spent of its chat's budget: one per message it posted
    (an album, forwardMessages and copyMessages answer with a list of them), else one."""
    result = call.get("result")
    return max(1, len(result)) if isinstance(result, list) else 1


def group_budget_spent(emu: Emulator, group_ids: set[int]) -> Counter[str]:
    """What the groups' budgets paid for, by method: each send, edit and topic operation
    Telegram took in an operators' group."""
    spent: Counter[str] = Counter()
    for call in emu.calls():
        chat = str(call["params"].get("chat_id", ""))
        method = call["method"]
        in_group = chat.lstrip("-").isdigit() and int(chat) in group_ids
        if call.get("ok") and in_group and not method.lower().startswith(("get", "answer")):
            spent[method] += cost(call)
    return spent


def where(call: dict) -> str:
    """A refused call's method and kind of chat (for the report)."""
    chat = str(call["params"].get("chat_id", ""))
    return f"{call['method']} in a {'group' if chat.startswith('-') else 'private chat'}"


def handoff_times(args: argparse.Namespace, duration: float) -> dict[int, float]:
    """Which subscribers ask for a human, and when (seconds after the start): ``--rate`` a
    minute, evenly, after the ``--users`` who only ask the bot; else ``--handoff`` of them."""
    if args.rate is None:
        handing = random.sample(range(args.users), round(args.users * args.handoff))
        return {i: random.uniform(20, duration - 120) for i in handing}
    count = round(args.rate * args.minutes)
    return {args.users + k: 10 + k * 60 / args.rate for k in range(count)} if count else {}


def write_config(
    tmp: Path, group_ids: list[int], per_minute: float, workspaces: bool = False
) -> Path:
    """The repository's config for this run: one group as ``agents.group_id``, several (or
    agents' workspaces) as ``agents.groups`` (desks taking any language and category)."""
    config = (ROOT / "config.yaml").read_text(encoding="utf-8")
    mode = ", workspaces: true" if workspaces else ""
    desks = ", ".join(f"{{name: desk{n}, group_id: {g}{mode}}}" for n, g in enumerate(group_ids))
    if len(group_ids) == 1 and not workspaces:
        config = config.replace("group_id: null ", f"group_id: {group_ids[0]} ")
    else:
        config = config.replace("groups: [] ", f"groups: [{desks}] ")
        assert f"groups: [{desks}]" in config, "agents.groups: this branch has no desks"
    for old, new in [
        ("path: kb ", f"path: {ROOT / 'kb'} "),
        ("database: var/dono.sqlite3", f"database: {tmp / 'dono.sqlite3'}"),
        ("watch: true ", "watch: false "),
        ("group_per_minute: 20", f"group_per_minute: {per_minute:g}"),
        ("group_burst: 20", f"group_burst: {max(20, int(per_minute / 3))}"),
    ]:
        assert old in config, old
        config = config.replace(old, new)
    path = tmp / "config.yaml"
    path.write_text(config, encoding="utf-8")
    return path


async def run(args: argparse.Namespace) -> dict:
    random.seed(args.seed)
    emu = await start_emulator()
    emu.set_limits(
        group_per_minute=args.group_per_minute, group_burst=max(20, int(args.group_per_minute / 3))
    )
    tmp = Path(tempfile.mkdtemp(prefix="dono-steady-"))
    agents = [await emu.create_user(f"Agent{a}", language_code="ru") for a in range(args.agents)]
    if args.workspaces:  # the bot's topic mode in private chats; each agent has started it
        emu.set_private_topics(True)
        for agent in agents:
            emu.private_chat(emu.default_bot, agent, create=True)
    groups = [
        await emu.create_forum_group(f"Operators {n}", agents=agents[n :: args.groups])
        for n in range(args.groups)
    ]
    env = {
        **os.environ,
        "DONO_BOT_TOKEN": DEFAULT_TOKEN,
        "DONO_API_BASE": emu.base_url,
        "DONO_CONFIG": str(
            write_config(tmp, [g.id for g in groups], args.group_per_minute, args.workspaces)
        ),
        "DONO_LOG_LEVEL": "WARNING",
    }
    bot = subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], cwd=ROOT, env=env)
    duration = args.minutes * 60
    try:
        await emu.wait_for_event(lambda e: e.kind == "poll", since=0, timeout=60)
        cpu_before, _ = proc_stats(bot.pid)
        handoff_at = handoff_times(args, duration)
        total = args.users + (len(handoff_at) if args.rate is not None else 0)
        langs = random.choices(["ru", "tg", "en"], weights=[6, 3, 1], k=total)
        subs = [
            Sub(
                i,
                await emu.create_user(f"Sub{i:04d}", language_code=langs[i]),
                langs[i],
                handoff_at.get(i),
            )
            for i in range(total)
        ]
        think = OPERATOR_THINK if args.operator else THINK
        scenario = Scenario(emu, groups, agents, subs, think)
        stop = asyncio.Event()
        watcher = asyncio.create_task(scenario.watch(stop))
        until = scenario.start + duration

        async def sample() -> None:
            while not stop.is_set():
                scenario.tally.rss.append(rss_mb(bot.pid))
                await asyncio.sleep(1.0)

        sampler = asyncio.create_task(sample())
        await asyncio.gather(*(scenario.subscriber(s, until) for s in subs))
        # drain: what was sent gets delivered, open tickets get their answers
        stopped = time.time()
        deadline = stopped + args.drain
        tally = scenario.tally
        queued_at_60: int | None = None
        while time.time() < deadline and (
            tally.to_agents
            or tally.to_subscribers
            or scenario.tasks
            or scenario.asked_human
            or any(s.asked_at for s in subs)
        ):
            if queued_at_60 is None and time.time() >= stopped + 60:
                queued_at_60 = len(tally.to_agents) + len(tally.to_subscribers)
            await asyncio.sleep(0.5)
        if queued_at_60 is None:  # all delivered before the minute was out
            queued_at_60 = len(tally.to_agents) + len(tally.to_subscribers)
        elapsed = time.time() - scenario.start
        cpu_after, peak = proc_stats(bot.pid)
        end_rss = rss_mb(bot.pid)
        stop.set()
        await asyncio.gather(watcher, sampler)
    finally:
        bot.terminate()
        bot.wait(timeout=30)
        await emu.stop()
    size = files_mb(tmp)
    too_many = sum(1 for c in emu.calls() if c.get("error_code") == 429)
    spent = group_budget_spent(emu, {g.id for g in groups})

    def ms(values: list[float], q: float) -> float | None:
        return round(pct(values, q) * 1000) if values else None

    cpu = cpu_after - cpu_before
    return {
        "scale": "operator" if args.operator else "steady",
        "users": len(subs),
        "minutes": args.minutes,
        "agents": args.agents,
        "handoffs_per_minute": args.rate,
        "groups": args.groups,
        "workspaces": args.workspaces,
        "group_per_minute": args.group_per_minute,
        "questions": tally.questions,
        "answered": len(tally.answer),
        "unanswered": sum(1 for s in subs if s.asked_at),
        "tickets": tally.tickets,
        "tickets_closed": tally.closed,
        "tickets_reopened": tally.reopened,
        "relayed_to_agents": len(tally.relay_in),
        "relayed_to_subscribers": len(tally.relay_out),
        "not_relayed": len(tally.to_agents) + len(tally.to_subscribers),
        "queued_60s_after_load": queued_at_60,
        "duplicated": tally.duplicated,
        "rejected_429": too_many,
        "rejected_429_in": sorted({where(c) for c in emu.calls() if c.get("error_code") == 429}),
        "group_messages": sum(spent.values()),
        "group_messages_per_ticket": round(sum(spent.values()) / max(1, tally.tickets), 1),
        "group_messages_by_method": dict(spent.most_common()),
        "answer_latency_p50_ms": round(statistics.median(tally.answer) * 1000)
        if tally.answer
        else None,
        "answer_latency_p99_ms": ms(tally.answer, 99),
        "card_p50_ms": ms(tally.card, 50),
        "card_p99_ms": ms(tally.card, 99),
        "tickets_without_card": len(scenario.asked_human),
        "relay_to_agents_p50_ms": round(statistics.median(tally.relay_in) * 1000)
        if tally.relay_in
        else None,
        "relay_to_agents_p99_ms": ms(tally.relay_in, 99),
        "relay_to_subscribers_p50_ms": round(statistics.median(tally.relay_out) * 1000)
        if tally.relay_out
        else None,
        "relay_to_subscribers_p99_ms": ms(tally.relay_out, 99),
        "bot_cpu_s": round(cpu, 1),
        "bot_cpu_share_of_one_core": round(cpu / elapsed, 3),
        "bot_rss_peak_mb": round(peak, 1),
        "bot_rss_end_mb": round(end_rss, 1),
        "bot_rss_median_mb": round(statistics.median(tally.rss), 1) if tally.rss else None,
        "sqlite_mb": round(size, 2),
        "elapsed_s": round(elapsed, 1),
        "machine": f"{os.cpu_count()} cores, Python {sys.version.split()[0]}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--handoff", type=float, default=0.2, help="share that asks for a human")
    parser.add_argument("--agents", type=int, default=3)
    parser.add_argument(
        "--group-per-minute",
        type=float,
        default=20.0,
        help="the group flood limit in the emulator and the bot (Telegram's is 20)",
    )
    parser.add_argument("--drain", type=float, default=120.0, help="seconds to wait at the end")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", help="also write the result to this file")
    parser.add_argument(
        "--operator",
        action="store_true",
        help="the operator's scale: 30 agents, --rate 10, 1000 users, 10 minutes",
    )
    parser.add_argument("--groups", type=int, default=1, help="desks (agents.groups)")
    parser.add_argument(
        "--workspaces",
        action="store_true",
        help="agents get their tickets as topics in their private chats (the desks' workspaces)",
    )
    parser.add_argument("--rate", type=float, help="hand-offs a minute, besides --users")
    args = parser.parse_args()
    if args.operator:
        given = set(sys.argv)
        args.agents = args.agents if "--agents" in given else 30
        args.users = args.users if "--users" in given else 1000
        args.minutes = args.minutes if "--minutes" in given else 10.0
        args.rate = args.rate if args.rate is not None else 10.0
    result = asyncio.run(run(args))
    print(json.dumps(result, ensure_ascii=False, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")


if __name__ == "__main__":
    main()
