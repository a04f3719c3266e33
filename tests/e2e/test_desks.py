"""Several operators' groups (desks, ``agents.groups``): a new ticket goes to the desk whose
rules match (the subscriber's language, the KB category of what they asked), overflows to
another when its group's budget would keep it waiting, moves with ``/transfer <desk>`` with
its history, and ``/queue`` is per desk or of all."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiogram.exceptions import TelegramForbiddenError

from bot.app import Dono
from bot.config import Config, DeskConfig
from emulator import Emulator
from tests.e2e.conftest import (
    Person,
    button_data,
    make_config,
    roomy_group,
    settled,
    start_dono,
    wait_for,
)

CARD = "Обращение #"


class Desks:
    """Forum groups, one per desk, each with its own agent, and the bot configured for them."""

    def __init__(self, emu: Emulator, dono: Dono, groups: dict[str, Any], agents: dict) -> None:
        self.emu, self.dono, self.groups, self.agents = emu, dono, groups, agents

    async def card(self, desk: str, ticket: int, since: int = 0) -> dict:
        return await self.emu.wait_for_bot_message(
            self.groups[desk].id,
            predicate=lambda m: f"{CARD}{ticket}" in (m.get("text") or ""),
            timeout=15,
            since=since,
        )

    def cards(self, desk: str) -> list[dict]:
        return [
            m
            for m in self.emu.messages(self.groups[desk].id, from_bot=True)
            if CARD in (m.get("text") or "")
        ]

    async def say(self, desk: str, text: str, thread: int | None = None) -> dict:
        return await self.emu.send_text(
            self.agents[desk], text, chat=self.groups[desk].id, thread_id=thread
        )

    async def reply(self, desk: str, text: str, thread: int | None, since: int) -> dict:
        """The bot's answer in the desk's group (topic) to what an agent just said."""
        await self.say(desk, text, thread)
        return await self.emu.wait_for_bot_message(
            self.groups[desk].id, thread_id=thread, since=since, timeout=10
        )


@asynccontextmanager
async def open_desks(
    emu: Emulator,
    tmp_path: Path,
    desks: list[dict],
    configure: Callable[[Config], None] = lambda config: None,
    admins: tuple[str, ...] = (),
) -> AsyncIterator[Desks]:
    """``admins``: the desks whose agent is also a KB admin (``agents.admins``)."""
    groups, agents, specs = {}, {}, []
    for n, spec in enumerate(desks):
        name = spec["name"]
        agent = await emu.create_user(f"Agent{n}", language_code="ru", username=f"agent{n}")
        groups[name] = await emu.create_forum_group(f"Desk {name}", agents=[agent])
        agents[name] = agent
        specs.append(DeskConfig(group_id=groups[name].id, **spec))
    config = make_config(tmp_path)
    config.agents.group_id = None
    config.agents.groups = specs
    config.agents.group_id = specs[0].group_id
    config.agents.admins = [agents[name].id for name in admins]
    configure(config)
    dono = await start_dono(emu, config)
    try:
        yield Desks(emu, dono, groups, agents)
    finally:
        await dono.stop()


async def hand_off(emu: Emulator, name: str, lang: str, question: str) -> Person:
    """A subscriber asks the bot something, then for a human."""
    person = Person(emu, await emu.create_user(name, language_code=lang))
    await person.send(question)
    reply = await person.send(
        "Маро ба оператор гузаронед" if lang == "tg" else "позовите оператора"
    )
    assert "очеред" in reply["text"] or "queue" in reply["text"] or "навбат" in reply["text"]
    return person


BY_LANGUAGE = [
    {"name": "ru", "languages": ["ru"]},
    {"name": "tg", "languages": ["tg"]},
]


async def test_a_ticket_goes_to_the_desk_of_its_language(emu: Emulator, tmp_path: Path) -> None:
    async with open_desks(emu, tmp_path, BY_LANGUAGE) as env:
        await hand_off(emu, "Farrukh", "tg", "тавозунро чӣ тавр санҷам")
        await hand_off(emu, "Olga", "ru", "как проверить баланс")
        tg_card = await env.card("tg", 1)
        ru_card = await env.card("ru", 2)
        assert "Farrukh" in tg_card["text"] and "Olga" in ru_card["text"]
        assert [c["message_id"] for c in env.cards("tg")] == [tg_card["message_id"]]
        assert [c["message_id"] for c in env.cards("ru")] == [ru_card["message_id"]]
        store = env.dono.store
        assert [(await store.get_ticket(n)).desk for n in (1, 2)] == ["tg", "ru"]
        # a desk's agents act on its own tickets only: #1 is the Tajik desk's
        since = emu.cursor()
        answer = await env.reply("ru", "/close 1", None, since)
        assert "#1" in answer["text"] and (await store.get_ticket(1)).status == "waiting"
        # ... and the Tajik desk's agent on its own: claimed with the card's button
        claim = button_data(tg_card, "Взять")
        query = await emu.press_button(
            env.agents["tg"], tg_card["message_id"], claim, chat=env.groups["tg"].id
        )
        await emu.wait_for_callback_answer(query)
        assert (await store.get_ticket(1)).agent_id == env.agents["tg"].id


async def test_a_desks_group_that_removed_the_bot_degrades_health_until_it_is_back(
    emu: Emulator, tmp_path: Path
) -> None:
    """Any desk's group, not only the default one: /healthz names the desk whose group
    refuses the bot; its ticket waits and is shown once the bot is added back."""
    async with open_desks(emu, tmp_path, BY_LANGUAGE) as env:
        await emu.remove_bot_from(env.groups["tg"].id)
        person = Person(emu, await emu.create_user("Farrukh", language_code="tg"))
        await person.send("Маро ба оператор гузаронед", timeout=15)
        health = await wait_for(env.dono.status, lambda h: h["status"] == "degraded")
        assert (
            health["operators_group"].startswith("tg: ") and "kicked" in health["operators_group"]
        )
        assert env.dono.dp["desk"].operators.problems.keys() == {env.groups["tg"].id}
        since = emu.cursor()
        await emu.add_bot_to(env.groups["tg"].id)
        card = await env.card("tg", 1, since=since)
        assert "Farrukh" in card["text"]
        health = await wait_for(env.dono.status, lambda h: h["status"] == "ok")
        assert "operators_group" not in health


async def test_a_post_to_every_desk_reaches_the_groups_that_take_it(
    emu: Emulator, tmp_path: Path
) -> None:
    """The digest, an outage alert, a reload's result: a group that removed the bot does not
    keep the others from getting it (nor make a retry post it twice there); only when no
    group takes it does the caller hear of it."""
    async with open_desks(emu, tmp_path, BY_LANGUAGE) as env:
        desk = env.dono.dp["desk"]
        await emu.remove_bot_from(env.groups["ru"].id)  # the first desk's group
        await desk.post("Итоги дня: 3 разговора")
        got = [m.get("text") for m in emu.messages(env.groups["tg"].id, from_bot=True)]
        assert got == ["Итоги дня: 3 разговора"]
        await emu.remove_bot_from(env.groups["tg"].id)
        with pytest.raises(TelegramForbiddenError):
            await desk.post("Итоги дня: 4 разговора")


async def test_an_admin_reloads_the_kb_from_any_desks_group(emu: Emulator, tmp_path: Path) -> None:
    async with open_desks(emu, tmp_path, BY_LANGUAGE, admins=("tg",)) as env:
        since = emu.cursor()
        answer = await env.reply("tg", "/reload", None, since)
        assert "База знаний" in answer["text"]  # agents.language: ru
        since = emu.cursor()
        refused = await env.reply("ru", "/reload", None, since)  # not an admin
        assert "только для администраторов" in refused["text"]


BY_CATEGORY = [
    {"name": "general"},
    {"name": "billing", "categories": ["balance"]},
]


async def test_a_ticket_goes_to_the_desk_of_its_category(emu: Emulator, tmp_path: Path) -> None:
    async with open_desks(emu, tmp_path, BY_CATEGORY) as env:
        await hand_off(emu, "Olga", "ru", "как проверить баланс")
        await hand_off(emu, "Anvar", "ru", "как настроить интернет на телефоне")
        billing = await env.card("billing", 1)
        general = await env.card("general", 2)
        assert "Olga" in billing["text"] and "Anvar" in general["text"]
        assert [c["message_id"] for c in env.cards("billing")] == [billing["message_id"]]
        store = env.dono.store
        assert [(await store.get_ticket(n)).desk for n in (1, 2)] == ["billing", "general"]


def _tight_budget(config: Config) -> None:
    # the group's real rate (20 a minute), a burst of 4: three hand-offs need 6 of the
    # group's operations (a topic and a card each), so the second card already waits ~3 s
    config.telegram.limits.group_per_minute = 20
    config.telegram.limits.group_burst = 4
    config.agents.overflow_after = 2


OVERFLOW = [
    {"name": "ru", "languages": ["ru"]},
    {"name": "spare"},
]


async def test_a_desk_out_of_budget_overflows_to_the_next(emu: Emulator, tmp_path: Path) -> None:
    async with open_desks(emu, tmp_path, OVERFLOW, _tight_budget) as env:
        for n, name in enumerate(("Olga", "Vera", "Anna"), 1):
            await hand_off(emu, name, "ru", "как проверить баланс")
            assert (await env.dono.store.get_ticket(n)).desk == ("ru" if n < 3 else "spare")
        await env.card("ru", 1)
        await env.card("ru", 2)
        third = await env.card("spare", 3)
        assert "Anna" in third["text"]
    refused = [c["method"] for c in emu.calls() if c.get("error_code") == 429]
    assert refused == []


def _roomy(emu: Emulator) -> Callable[[Config], None]:
    def configure(config: Config) -> None:
        roomy_group(emu, config)

    return configure


async def test_transfer_to_another_desk_carries_the_history(emu: Emulator, tmp_path: Path) -> None:
    async with open_desks(emu, tmp_path, BY_LANGUAGE, _roomy(emu)) as env:
        person = await hand_off(emu, "Olga", "ru", "как проверить баланс")
        card = await env.card("ru", 1)
        old = card["message_thread_id"]
        await env.say("ru", "Здравствуйте, сейчас проверю", old)
        assert "сейчас проверю" in (await person.next())["text"]
        topic = emu.inbox(env.groups["ru"].id, thread_id=old)
        await emu.send_text(person.user, "у меня пропал интернет")
        await topic.next(predicate=lambda m: "пропал интернет" in (m.get("text") or ""))
        await env.say("ru", "!нужен таджикский", old)
        since = emu.cursor()
        await env.say("ru", "/transfer tg", old)

        new_card = await env.card("tg", 1, since)
        new = new_card["message_thread_id"]
        tg_topic = emu.inbox(env.groups["tg"].id, thread_id=new, since=since)
        moved = await tg_topic.next(predicate=lambda m: "↪️" in (m.get("text") or ""))
        assert "#1" in moved["text"] and "ru" in moved["text"]
        carried = [await tg_topic.next(timeout=10) for _ in range(3)]
        assert [m["text"] for m in carried] == [
            "Здравствуйте, сейчас проверю",
            "у меня пропал интернет",
            "!нужен таджикский",
        ]
        origins = [m["forward_origin"]["sender_user"]["id"] for m in carried]
        assert origins == [env.agents["ru"].id, person.user.id, env.agents["ru"].id]
        pointer = await topic.next(predicate=lambda m: "↪️" in (m.get("text") or ""))
        assert "tg" in pointer["text"]

        async def old_topic() -> dict:
            return {t["message_thread_id"]: t for t in emu.topics(env.groups["ru"].id)}[old]

        await wait_for(old_topic, lambda topic: topic["closed"])
        ticket = await env.dono.store.get_ticket(1)
        assert (ticket.desk, ticket.thread_id, ticket.status) == ("tg", new, "waiting")

        # the relay now goes to the new desk, both ways
        await emu.send_text(person.user, "вы тут?")
        await tg_topic.next(predicate=lambda m: m.get("text") == "вы тут?")
        await env.say("tg", "Салом, ман ёрӣ мерасонам", new)
        assert "ёрӣ" in (await person.next())["text"]

        # refused: the same desk, no such desk, a closed ticket
        since = emu.cursor()
        assert "уже на столе tg" in (await env.reply("tg", "/transfer tg", new, since))["text"]
        since = emu.cursor()
        unknown = await env.reply("tg", "/transfer billing", new, since)
        assert "billing" in unknown["text"] and "ru, tg" in unknown["text"]
        await env.say("tg", "/close", new)
        await person.next()  # the rating question
        since = emu.cursor()
        await env.say("tg", "/transfer 1 ru")
        refusal = await emu.wait_for_bot_message(env.groups["tg"].id, since=since, timeout=10)
        assert "закрыт" in refusal["text"]
        assert (await env.dono.store.get_ticket(1)).desk == "tg"


async def test_a_ticket_moved_to_another_desk_leaves_its_agents_workspace(
    emu: Emulator, tmp_path: Path
) -> None:
    """Claimed in a workspace, then moved with /transfer from there: the workspace is told and
    let go, so its old topic no longer acts on the ticket, which waits on the new desk."""
    emu.set_private_topics(True)
    desks = [{**BY_LANGUAGE[0], "workspaces": True}, BY_LANGUAGE[1]]
    async with open_desks(emu, tmp_path, desks, _roomy(emu)) as env:
        agent = env.agents["ru"]
        emu.private_chat(emu.default_bot, agent, create=True)  # she has started the bot
        person = await hand_off(emu, "Olga", "ru", "как проверить баланс")
        card = await env.card("ru", 1)
        since = emu.cursor()
        claim = button_data(card, "Взять")
        await emu.press_button(agent, card["message_id"], claim, chat=env.groups["ru"].id)
        created = await emu.wait_for_event(
            lambda e: e.kind == "topic_created" and e.chat_id == agent.id, since=since, timeout=10
        )
        assert (await person.next(timeout=10))["text"].startswith("Оператор взял")
        workspace = emu.inbox(agent.id, thread_id=created.thread_id, since=emu.cursor())
        await emu.send_text(agent, "Передаю коллегам", thread_id=created.thread_id)
        assert "Передаю" in (await person.next(timeout=10))["text"]
        since = emu.cursor()
        await emu.send_text(agent, "/transfer tg", thread_id=created.thread_id)
        await env.card("tg", 1, since)
        left = await workspace.next(
            timeout=10, predicate=lambda m: "уже не здесь" in (m.get("text") or "")
        )
        assert "#1" in left["text"]
        store = env.dono.dp["desk"].store
        assert await store.workspaces.workspace_of(1) is None
        await emu.send_text(agent, "я ещё тут", thread_id=created.thread_id)
        await settled(emu)
        ticket = await store.get_ticket(1)
        assert (ticket.desk, ticket.status, ticket.agent_id) == ("tg", "waiting", None)
        assert "я ещё тут" not in [m.get("text") for m in emu.bot_messages(person.user.id)]


def _with_lead(lead_id: list[int]) -> Callable[[Config], None]:
    def configure(config: Config) -> None:
        config.agents.leads = lead_id

    return configure


async def test_queue_and_stats_per_desk_and_overall(emu: Emulator, tmp_path: Path) -> None:
    lead = await emu.create_user("Lead", language_code="ru")
    async with open_desks(emu, tmp_path, BY_LANGUAGE, _with_lead([lead.id])) as env:
        await hand_off(emu, "Farrukh", "tg", "тавозунро чӣ тавр санҷам")
        await hand_off(emu, "Olga", "ru", "как проверить баланс")
        await env.card("ru", 2)

        ru = await env.reply("ru", "/queue", None, emu.cursor())
        assert "Olga" in ru["text"] and "Farrukh" not in ru["text"]
        assert "Стол ru" in ru["text"]
        every = await env.reply("ru", "/queue all", None, emu.cursor())
        assert "Olga" in every["text"] and "Farrukh" in every["text"]
        stats = await env.reply("tg", "/stats", None, emu.cursor())
        assert "🗂 tg: передано 1 · ждут 1" in stats["text"] and "🗂 ru" not in stats["text"]

        inbox = Person(emu, lead)
        overall = await inbox.send("/queue")
        assert "Olga" in overall["text"] and "Farrukh" in overall["text"]
        figures = await inbox.send("/stats")
        assert "🗂 ru: передано 1" in figures["text"] and "🗂 tg: передано 1" in figures["text"]
