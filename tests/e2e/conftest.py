"""End-to-end fixtures: the Bot API emulator on 127.0.0.1 and the real Dono talking to it."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from bot.app import Dono
from bot.config import Config, load_config
from emulator import Emulator, start_emulator
from tests.conftest import wait_for

__all__ = ["wait_for"]  # re-exported: the e2e tests import it from here

ROOT = Path(__file__).resolve().parent.parent.parent


class Person:
    """A simulated subscriber in a private chat with the bot, as a test reads it."""

    def __init__(self, emu: Emulator, user: Any) -> None:
        self.emu = emu
        self.user = user
        self.inbox = emu.inbox(user.id)

    async def send(self, text: str, timeout: float = 10.0) -> dict:
        """Send text and return the bot's next message in this chat."""
        await self.emu.send_text(self.user, text)
        return await self.inbox.next(timeout=timeout)

    async def next(self, timeout: float = 10.0) -> dict:
        return await self.inbox.next(timeout=timeout)

    async def press(self, message: dict, callback_data: str) -> str:
        return await self.emu.press_button(self.user, message["message_id"], callback_data)


def buttons(message: dict) -> list[dict]:
    markup = message.get("reply_markup") or {}
    return [b for row in markup.get("inline_keyboard", []) for b in row]


def button_data(message: dict, text_part: str) -> str:
    for b in buttons(message):
        if text_part in b["text"]:
            return b["callback_data"]
    raise AssertionError(f"no button with {text_part!r} in {[b['text'] for b in buttons(message)]}")


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    emulator = await start_emulator()
    try:
        yield emulator
    finally:
        await emulator.stop()


def make_config(tmp_path: Path, kb: Path | None = None) -> Config:
    """The repository's config.yaml, with the test's KB and a fresh database."""
    config = load_config(ROOT / "config.yaml")
    config.knowledge.path = kb or ROOT / "kb"
    config.bot.database = tmp_path / "dono.sqlite3"
    return config


@pytest.fixture
def kb_copy(tmp_path: Path) -> Path:
    target = tmp_path / "kb"
    shutil.copytree(ROOT / "kb", target)
    return target


@pytest.fixture
async def dono(emu: Emulator, tmp_path: Path) -> AsyncIterator[Dono]:
    bot = await Dono.create(make_config(tmp_path), emu.token, api_base=emu.base_url)
    await bot.start_polling(polling_timeout=1)
    try:
        yield bot
    finally:
        await bot.stop()


@pytest.fixture
async def person(emu: Emulator, dono: Dono) -> Person:
    user = await emu.create_user("Alice", language_code="ru")
    return Person(emu, user)


class Desk:
    """The operators' forum group with two agents, and the bot configured for it."""

    def __init__(self, emu: Emulator, dono: Dono, group: Any, agents: list[Any]) -> None:
        self.emu = emu
        self.dono = dono
        self.group = group
        self.agents = agents

    async def card(
        self, ticket_no: int | None = None, timeout: float = 10.0, since: int = 0
    ) -> dict:
        """The first ticket card the bot posted in the group after ``since``."""

        def is_card(m: dict) -> bool:
            text = m.get("text") or ""
            return ("Обращение #" in text) and (ticket_no is None or f"#{ticket_no}" in text)

        return await self.emu.wait_for_bot_message(
            self.group.id, predicate=is_card, timeout=timeout, since=since
        )

    async def say(self, agent: Any, text: str, thread_id: int | None, **kw: Any) -> dict:
        return await self.emu.send_text(agent, text, chat=self.group.id, thread_id=thread_id, **kw)

    def topic(self, thread_id: int | None) -> Any:
        """A cursor over the bot's messages in a ticket's topic, from now on."""
        return self.emu.inbox(self.group.id, thread_id=thread_id)


def roomy_group(emu: Emulator, config: Config, per_minute: float = 600, burst: int = 60) -> None:
    """For a functional test whose desk makes more of the group's operations (sends, edits,
    topic operations) than Telegram's 20 a minute allow in a test's few seconds: the emulator
    and the bot both at this faster group limit. The real limit is kept, and tested, in every
    other test (test_group_budget, the emulator's own tests)."""
    emu.set_limits(group_per_minute=per_minute, group_burst=burst)
    config.telegram.limits.group_per_minute = per_minute
    config.telegram.limits.group_burst = burst


def roomy_private(emu: Emulator, config: Config, per_second: float = 20, burst: int = 20) -> None:
    """As ``roomy_group``, for private chats: for a test whose subscriber gets more messages
    than Telegram's 1 a second (burst 5) let through in a test's few seconds. The real limit
    is kept, and tested, in every other test (test_flood, test_resilience's pacing)."""
    emu.set_limits(private_per_second=per_second, private_burst=burst)
    config.telegram.limits.private_per_second = per_second
    config.telegram.limits.private_burst = burst


async def start_dono(emu: Emulator, config: Config) -> Dono:
    bot = await Dono.create(config, emu.token, api_base=emu.base_url)
    await bot.start_polling(polling_timeout=1)
    return bot


@asynccontextmanager
async def open_desk(
    emu: Emulator,
    tmp_path: Path,
    configure: Callable[[Config], None] = lambda config: None,
    *,
    names: tuple[str, ...] = ("Dilnoza", "Rustam"),
    kb: Path | None = None,
) -> AsyncIterator[Desk]:
    """The operators' forum group with these agents and the bot configured for it (the
    repository's config with ``configure`` applied), stopped on the way out."""
    agents = [
        await emu.create_user(name, language_code="ru", username=name.lower()) for name in names
    ]
    group = await emu.create_forum_group("Operators", agents=agents)
    config = make_config(tmp_path, kb)
    config.agents.group_id = group.id
    configure(config)
    env = Desk(emu, await start_dono(emu, config), group, agents)
    try:
        yield env
    finally:
        await env.dono.stop()


@pytest.fixture
async def desk(emu: Emulator, tmp_path: Path) -> AsyncIterator[Desk]:
    async with open_desk(emu, tmp_path) as env:
        yield env


def _signed(config: Config) -> None:
    config.agents.signature = "first_name"


@pytest.fixture
async def signed_desk(emu: Emulator, tmp_path: Path, kb_copy: Path) -> AsyncIterator[Desk]:
    """One agent whose answers are signed, over a copy of the KB a test may edit."""
    async with open_desk(emu, tmp_path, _signed, names=("Dilnoza",), kb=kb_copy) as env:
        yield env


async def settled(emu: Emulator, quiet: float = 0.5, limit: float = 10.0) -> None:
    """Returns once the emulator has logged nothing new for ``quiet`` seconds: the window in
    which a repeated answer (or a request still in flight) would have shown up."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while loop.time() < deadline:
        if not await emu.wait_for_events(emu.cursor(), timeout=quiet):
            return
