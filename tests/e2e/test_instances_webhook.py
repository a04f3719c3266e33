"""Two Dono instances in webhook mode behind nginx (issue 14's acceptance), each a real
`dono run` process on one PostgreSQL database and one Redis, nginx running the config of
docs/deploy/nginx.conf: a burst of questions during which one instance is kill -9ed and
started again (every question answered exactly once, in order per chat, and Telegram — the
emulator — never had to say 429), and a desk ticket whose subscriber and agent updates land on
different instances."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from emulator import Emulator
from handoff.storage import Store
from tests.e2e.conftest import button_data
from tests.e2e.instances import (
    CLUSTER_MODULE,
    LIMIT,
    Burst,
    Cluster,
    Instance,
    cluster,
    delivered_to,
    kill9_between_sends,
    module_emulator,  # noqa: F401 (the fixture emu)
)

pytestmark = CLUSTER_MODULE


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def desk(emu: Emulator) -> tuple:
    """The operators' forum group with one agent."""
    agent = await emu.create_user("Dilnoza", language_code="ru", username="dilnoza")
    return agent, await emu.create_forum_group("Operators", agents=[agent])


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def nodes(
    emu: Emulator, desk: tuple, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Cluster]:
    tmp = tmp_path_factory.mktemp("webhook-cluster")
    group = desk[1]
    async with cluster(emu, tmp, "webhook", group_id=group.id, global_per_second=LIMIT) as c:
        yield c


async def test_webhook_behind_nginx_an_instance_killed_and_restarted(
    emu: Emulator, nodes: Cluster
) -> None:
    """Two instances behind nginx; 50 subscribers × 3 questions; one instance kill -9ed
    while answering, questions keep coming, it is started again: every question answered
    once, in order, no 429, and nginx passed deliveries to both instances."""
    nodes.route_to(None)  # through nginx
    burst = await Burst.of(emu, 50)
    await burst.round()
    await burst.round()
    await burst.until_answered(40, timeout=30)
    victim = nodes.instances[0]
    await kill9_between_sends(emu, victim)
    await burst.round()
    await nodes.restart(victim)
    await burst.check(nodes)
    assert nodes.nginx is not None
    used = {addr for line in nodes.nginx.upstreams_used() for addr in line.split(", ")}
    ports = {f"127.0.0.1:{i.listen_port}" for i in nodes.instances}
    assert ports <= used, f"nginx passed deliveries to {used}, not to both of {ports}"


async def test_a_desk_ticket_and_a_conversation_across_instances(
    emu: Emulator, nodes: Cluster, desk: tuple
) -> None:
    """A ticket's whole life with every subscriber update delivered to one instance and
    every agent update to the other: hand-off (topic and card), the subscriber's message
    relayed, the claim, the agent's answer relayed, the close and the rating. Then an outage
    report whose steps alternate between the instances: the conversation's state (FSM) is
    where both see it."""
    agent, group = desk
    for instance in nodes.instances:  # up, whatever the test before did
        await instance.wait_healthy()
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
