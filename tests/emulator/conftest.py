"""Fixtures for the emulator tests: a fresh emulator, a real aiogram Bot and an echo bot."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest

try:
    import emulator  # noqa: F401
except ImportError:  # the editable install predates the emulator package
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from aiogram import Bot, Dispatcher, F
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.filters import CommandStart
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.backoff import BackoffConfig

from emulator import Emulator, start_emulator

FAST_BACKOFF = BackoffConfig(min_delay=0.05, max_delay=0.3, factor=1.5, jitter=0.01)


def make_bot(emu: Emulator, token: str | None = None, timeout: float = 10.0) -> Bot:
    """A real aiogram Bot talking to the emulator through AiohttpSession."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(emu.base_url), timeout=timeout)
    return Bot(token or emu.token, session=session)


def make_echo_dispatcher() -> Dispatcher:
    """/start greets with buttons, photos are acknowledged, text is echoed, presses answered."""
    dp = Dispatcher()

    @dp.message(CommandStart())
    async def start(message: Message) -> None:
        keyboard = InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    InlineKeyboardButton(text="Yes", callback_data="vote:yes"),
                    InlineKeyboardButton(text="No", callback_data="vote:no"),
                ],
                [InlineKeyboardButton(text="Site", url="https://example.com/help")],
            ]
        )
        assert message.from_user is not None
        await message.answer(
            f"Hello, <b>{message.from_user.first_name}</b>!",
            parse_mode="HTML",
            reply_markup=keyboard,
        )

    @dp.message(F.photo)
    async def photo(message: Message) -> None:
        assert message.photo
        await message.answer(f"photo {message.photo[-1].file_id}")

    @dp.message(F.text)
    async def echo(message: Message) -> None:
        await message.answer(message.text or "")

    @dp.edited_message(F.text)
    async def edited(message: Message) -> None:
        await message.answer(f"edited: {message.text}")

    @dp.callback_query(F.data.startswith("vote:"))
    async def vote(query: CallbackQuery) -> None:
        assert query.data is not None
        await query.answer(f"pressed {query.data}")
        if isinstance(query.message, Message):
            await query.message.edit_text(f"You voted {query.data.split(':')[1]}")

    return dp


@contextlib.asynccontextmanager
async def polling(dp: Dispatcher, bot: Bot) -> AsyncIterator[asyncio.Task[None]]:
    """Run ``dp.start_polling`` in a task for the duration of the block."""
    task = asyncio.create_task(
        dp.start_polling(
            bot,
            handle_signals=False,
            polling_timeout=1,
            backoff_config=FAST_BACKOFF,
            close_bot_session=False,
        )
    )
    try:
        yield task
    finally:
        with contextlib.suppress(RuntimeError):
            await dp.stop_polling()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 5)


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    server = await start_emulator()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def bot(emu: Emulator) -> AsyncIterator[Bot]:
    client = make_bot(emu)
    try:
        yield client
    finally:
        await client.session.close()


@pytest.fixture
async def echo_bot(emu: Emulator, bot: Bot) -> AsyncIterator[Bot]:
    async with polling(make_echo_dispatcher(), bot):
        yield bot


BotFactory = Callable[..., Bot]
PollingFactory = Callable[[Bot], AbstractAsyncContextManager[asyncio.Task[None]]]


@pytest.fixture
async def bot_factory(emu: Emulator) -> AsyncIterator[BotFactory]:
    """``bot_factory(token=None, timeout=10.0)``: extra aiogram Bots, closed after the test."""
    made: list[Bot] = []

    def factory(token: str | None = None, timeout: float = 10.0) -> Bot:
        client = make_bot(emu, token=token, timeout=timeout)
        made.append(client)
        return client

    try:
        yield factory
    finally:
        for client in made:
            await client.session.close()


@pytest.fixture
def echo_polling() -> PollingFactory:
    """``async with echo_polling(bot): ...`` runs the echo dispatcher for that bot."""

    def factory(bot: Bot) -> AbstractAsyncContextManager[asyncio.Task[None]]:
        return polling(make_echo_dispatcher(), bot)

    return factory
