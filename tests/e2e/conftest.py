"""End-to-end fixtures: the Bot API emulator on 127.0.0.1 and the real Dono talking to it."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.app import Dono
from bot.config import BotConfig, Config, KnowledgeConfig
from emulator import Emulator, start_emulator

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
    return Config(
        knowledge=KnowledgeConfig(path=kb or ROOT / "kb"),
        bot=BotConfig(database=tmp_path / "dono.sqlite3"),
    )


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
