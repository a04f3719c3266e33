"""Views and workspaces with several desks (``agents.groups``): a ticket's topic is made again
in its own desk's group, and a desk with ``workspaces: true`` gives its agents their tickets
in their private chats while the other desk keeps them in its group."""

from __future__ import annotations

from pathlib import Path

from bot.config import Config
from emulator import Emulator
from tests.e2e.conftest import button_data, roomy_group, settled
from tests.e2e.test_desks import hand_off, open_desks

DESKS = [
    {"name": "ru", "languages": ["ru"]},
    {"name": "tg", "languages": ["tg"], "workspaces": True},
]


async def claim(emu: Emulator, env, desk: str, card: dict) -> None:
    query = await emu.press_button(
        env.agents[desk],
        card["message_id"],
        button_data(card, "Взять"),
        chat=env.groups[desk].id,
    )
    await emu.wait_for_callback_answer(query)


async def test_an_archived_topic_is_made_again_in_its_desks_group(
    emu: Emulator, tmp_path: Path
) -> None:
    def roomy(config: Config) -> None:
        roomy_group(emu, config)

    async with open_desks(emu, tmp_path, DESKS, roomy) as env:
        person = await hand_off(emu, "Olga", "ru", "как проверить баланс")
        card = await env.card("ru", 1)
        group = env.groups["ru"]
        old = card["message_thread_id"]
        await emu.send_text(person.user, "номер 900 00 00 01")
        await emu.wait_for_bot_message(
            group.id, thread_id=old, predicate=lambda m: m.get("text") == "номер 900 00 00 01"
        )
        emu.set_forum_archive(group.next_message_id - 1 - old)
        emu.set_forum_archive(None)
        since = emu.cursor()
        await emu.send_text(person.user, "алло")
        new_card = await env.card("ru", 1, since=since)
        thread = new_card["message_thread_id"]
        assert thread != old
        await emu.wait_for_bot_message(
            group.id,
            thread_id=thread,
            predicate=lambda m: m.get("text") == "алло",
            since=since,
            timeout=15,
        )
        said = [m.get("text") for m in emu.messages(group, thread, from_bot=True)][1:]
        assert said[2:] == ["номер 900 00 00 01", "алло"]
        assert env.cards("tg") == []  # the other desk's group saw nothing


async def test_a_desk_with_workspaces_gives_its_agents_their_tickets_privately(
    emu: Emulator, tmp_path: Path
) -> None:
    emu.set_private_topics(True)

    def roomy(config: Config) -> None:
        roomy_group(emu, config)

    async with open_desks(emu, tmp_path, DESKS, roomy) as env:
        agent = env.agents["tg"]
        emu.private_chat(emu.default_bot, agent, create=True)
        person = await hand_off(emu, "Farrukh", "tg", "тавозунро чӣ тавр санҷам")
        card = await env.card("tg", 1)
        since = emu.cursor()
        await claim(emu, env, "tg", card)
        created = await emu.wait_for_event(
            lambda e: e.kind == "topic_created" and e.chat_id == agent.id, since=since, timeout=10
        )
        workspace = emu.inbox(agent.id, thread_id=created.thread_id, since=since)
        await workspace.take(3, timeout=10)  # its creation, the card, the header
        await emu.send_text(person.user, "салом")
        assert (await workspace.next(timeout=10))["text"] == "салом"
        await emu.send_text(agent, "Салом, гӯш мекунам", thread_id=created.thread_id)
        told = await person.inbox.next(
            predicate=lambda m: m.get("text") == "Салом, гӯш мекунам", timeout=10
        )
        assert told["text"] == "Салом, гӯш мекунам"
        # the Russian desk has no workspaces: its agent's ticket stays in its group
        ru_agent = env.agents["ru"]
        emu.private_chat(emu.default_bot, ru_agent, create=True)
        await hand_off(emu, "Olga", "ru", "как проверить баланс")
        ru_card = await env.card("ru", 2)
        query = await emu.press_button(
            ru_agent, ru_card["message_id"], button_data(ru_card, "Взять"), chat=env.groups["ru"].id
        )
        await emu.wait_for_callback_answer(query)
        await settled(emu)
        assert emu.topics(ru_agent.id) == []
        assert await env.dono.store.workspaces.workspace_of(2) is None
