"""Several Dono instances at once (issue 14's acceptance), each a real `dono run` process on
one PostgreSQL database and one Redis: two in webhook mode behind nginx, two in polling mode,
an instance kill -9ed and started again, a desk ticket whose subscriber and agent updates land
on different instances, and PostgreSQL stopped for a while. Every question is answered exactly
once, in order per chat, and Telegram (the emulator) never had to say 429."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from emulator import Emulator
from handoff.storage import Store
from tests.e2e.conftest import button_data, settled
from tests.e2e.instances import Cluster, Instance, PrivatePostgres, cluster, wait_until

# each test starts two `dono run` processes (aiogram's import alone takes seconds on a busy
# machine), kills and restarts one: more than the suite's 120 s may be needed under load
pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

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

        await wait_until(enough, timeout, f"{count} answers (have {self.answered()})", every=0)

    def wrong_chats(self) -> dict[int, list[str]]:
        """Chats whose answers are not exactly the expected ones in order: what they got."""
        wrong = {}
        for user in self.users:
            got = [self.marker(m.get("text") or "") for m in self.emu.bot_messages(user.id)]
            if got != self.expected[user.id]:
                wrong[user.id] = got
        return wrong

    @staticmethod
    def marker(text: str) -> str:
        return next((m for _, m in QUESTIONS if text.startswith(m)), text[:40])

    async def check(self, nodes: Cluster, timeout: float = 60) -> None:
        """All answered, each once and in order; no 429 from Telegram."""
        total = sum(len(v) for v in self.expected.values())
        await self.until_answered(total, timeout)
        await settled(self.emu, quiet=1.0)  # a repeated answer would come in this window
        wrong = self.wrong_chats()
        assert not wrong, (
            f"{len(wrong)} chats wrong, e.g. {list(wrong.items())[:3]} ({nodes.logs()})"
        )
        rejected = [c for c in self.emu.calls() if c.get("error_code") == 429]
        assert rejected == [], f"Telegram said 429 {len(rejected)} times ({nodes.logs()})"


async def test_webhook_behind_nginx_an_instance_killed_and_restarted(
    emu: Emulator, tmp_path: Path
) -> None:
    """Two instances behind nginx; 50 subscribers × 3 questions; one instance kill -9ed
    while answering, questions keep coming, it is started again: every question answered
    once, in order, no 429, and nginx passed deliveries to both instances."""
    async with cluster(emu, tmp_path, "webhook", global_per_second=LIMIT) as nodes:
        burst = await Burst.of(emu, 50)
        await burst.round()
        await burst.round()
        await burst.until_answered(40, timeout=30)
        victim = nodes.instances[0]
        victim.kill9()
        await burst.round()
        await nodes.restart(victim)
        await burst.check(nodes)
        assert nodes.nginx is not None
        used = {addr for line in nodes.nginx.upstreams_used() for addr in line.split(", ")}
        ports = {f"127.0.0.1:{i.listen_port}" for i in nodes.instances}
        assert ports <= used, f"nginx passed deliveries to {used}, not to both of {ports}"


async def test_polling_the_leader_killed_another_takes_over(emu: Emulator, tmp_path: Path) -> None:
    """Two instances polling; the leader kill -9ed mid-burst: the other one polls within
    seconds, every question answered once, in order, no 429; the old leader comes back
    as a follower."""
    async with cluster(emu, tmp_path, "polling", global_per_second=LIMIT) as nodes:
        burst = await Burst.of(emu, 50)
        leader = await nodes.leader()
        await burst.round()
        await burst.round()
        await burst.until_answered(40, timeout=30)
        leader.kill9()
        killed_at = time.monotonic()
        await burst.round()  # waits at Telegram until someone polls
        successor = await nodes.leader(not_=leader, timeout=20)
        took_over = time.monotonic() - killed_at
        assert successor is not leader
        assert took_over < 15, f"the take-over took {took_over:.1f} s"
        await nodes.restart(leader)
        await burst.check(nodes)
        assert await nodes.leader() is successor  # the restarted one follows


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


async def test_a_desk_ticket_and_a_conversation_across_instances(
    emu: Emulator, tmp_path: Path
) -> None:
    """A ticket's whole life with every subscriber update delivered to one instance and
    every agent update to the other: hand-off (topic and card), the subscriber's message
    relayed, the claim, the agent's answer relayed, the close and the rating. Then an outage
    report whose steps alternate between the instances: the conversation's state (FSM) is
    where both see it."""
    agent = await emu.create_user("Dilnoza", language_code="ru", username="dilnoza")
    group = await emu.create_forum_group("Operators", agents=[agent])
    async with cluster(emu, tmp_path, "webhook", group_id=group.id) as nodes:
        near, far = nodes.instances
        user = await emu.create_user("Farrukh", language_code="ru")
        inbox = emu.inbox(user.id)
        since = emu.cursor()
        await delivered_to(nodes, near, lambda: emu.send_text(user, "позовите оператора"))
        card = await emu.wait_for_bot_message(
            group.id, predicate=lambda m: "Обращение #" in (m.get("text") or ""), since=since
        )
        thread = card["message_thread_id"]
        topic = emu.inbox(group.id, thread_id=thread)
        await inbox.next(timeout=15)  # told they are in the queue
        await delivered_to(nodes, near, lambda: emu.send_text(user, "Интернет не работает"))
        relayed = await topic.next(timeout=15, predicate=lambda m: "Интернет" in m["text"])
        assert "Интернет не работает" in relayed["text"]
        claim = button_data(card, "Взять")
        await delivered_to(
            nodes, far, lambda: emu.press_button(agent, card["message_id"], claim, chat=group.id)
        )
        assert "Оператор взял" in (await inbox.next(timeout=15))["text"]
        answer = "Здравствуйте! Перезагрузите телефон."
        in_topic = {"chat": group.id, "thread_id": thread}
        await delivered_to(nodes, far, lambda: emu.send_text(agent, answer, **in_topic))
        assert (await inbox.next(timeout=15))["text"] == answer
        await delivered_to(nodes, far, lambda: emu.send_text(agent, "/close", **in_topic))
        csat = await inbox.next(timeout=15)
        rate = button_data(csat, "5")
        await delivered_to(nodes, near, lambda: emu.press_button(user, csat["message_id"], rate))
        await topic.next(timeout=15, predicate=lambda m: "⭐" in (m.get("text") or ""))
        store = await Store.open(nodes.database_url)
        try:
            ticket = await store.get_ticket(1)
        finally:
            await store.close()
        assert (ticket.status, ticket.agent_name, ticket.csat) == ("closed", "Dilnoza", 5)
        await outage_report_across(nodes, near, far)


async def outage_report_across(nodes: Cluster, near: Instance, far: Instance) -> None:
    """The outage flow: asked on ``near``, the district picked on ``far``, described on
    ``near`` again."""
    emu = nodes.emu
    user = await emu.create_user("Malika", language_code="ru")
    inbox = emu.inbox(user.id)
    await delivered_to(nodes, near, lambda: emu.send_text(user, "в нашем районе нет связи"))
    assert "Сообщите о сбое" in (await inbox.next(timeout=15))["text"]
    ask = await inbox.next(timeout=15)
    assert "Где нет связи" in ask["text"]
    await inbox.next(timeout=15)  # the hint with the location button
    district = button_data(ask, "Худжанд")
    await delivered_to(nodes, far, lambda: emu.press_button(user, ask["message_id"], district))
    assert "опишите" in (await inbox.next(timeout=15))["text"]
    await delivered_to(nodes, near, lambda: emu.send_text(user, "нет интернета с утра"))
    thanks = await inbox.next(timeout=15)
    assert "записано и передано" in thanks["text"] and "Худжанд" in thanks["text"]


async def degraded_everywhere(nodes: Cluster) -> bool:
    """Whether every instance's /healthz says degraded, naming the database."""
    for instance in nodes.instances:
        got = await instance.healthz()
        if got is None:
            return False
        status, body = got
        if not (status == 503 and body.get("status") == "degraded" and body.get("database")):
            return False
    return True


async def test_postgresql_stopped_for_a_while_loses_nothing(emu: Emulator, tmp_path: Path) -> None:
    """Two polling instances on a PostgreSQL server of this test's own, stopped for ~15 s
    while subscribers keep asking, then started: /healthz said degraded meanwhile, and every
    question is answered once, in order, afterwards."""
    pg = PrivatePostgres().init()
    pg.start()
    try:
        async with cluster(emu, tmp_path, "polling", database_url=pg.url) as nodes:
            burst = await Burst.of(emu, 20)
            await burst.round()
            await burst.until_answered(20, timeout=30)
            await asyncio.to_thread(pg.stop)
            stopped_at = time.monotonic()
            await burst.round()
            await wait_until(lambda: degraded_everywhere(nodes), 15, "/healthz degraded")
            await asyncio.sleep(max(0.0, 15 - (time.monotonic() - stopped_at)))
            await asyncio.to_thread(pg.start)
            await burst.round()
            await burst.check(nodes)
            for instance in nodes.instances:
                await instance.wait_healthy(timeout=30)
    finally:
        pg.remove()
