"""`dono playground`: the Bot API emulator, the real bot and the web page, no token needed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import tempfile
from pathlib import Path

from bot.app import Dono, setup_logging
from bot.config import Config

log = logging.getLogger("dono.playground")


async def start_playground(config: Config, port: int | None = None):
    """Start the emulator on the playground port and the bot against it; returns both."""
    from emulator import DEFAULT_TOKEN, start_emulator

    emu = await start_emulator(
        config.playground.host, port if port is not None else config.playground.port
    )
    if config.agents.group_id is None:
        # the operators' side of the page: a forum group with two agents
        agents = [
            await emu.create_user("Dilnoza", username="dilnoza_agent", language_code="ru"),
            await emu.create_user("Rustam", username="rustam_agent", language_code="ru"),
        ]
        group = await emu.create_forum_group("Operators", agents=agents)
        config.agents.group_id = group.id
    dono = await Dono.create(config, DEFAULT_TOKEN, api_base=emu.base_url)
    await dono.start_polling(polling_timeout=5)
    return emu, dono


async def _serve(config: Config, port: int | None) -> None:
    emu, dono = await start_playground(config, port)
    print(f"Dono playground: open {emu.base_url}/ in a browser (Ctrl+C to stop)", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await dono.stop()
    await emu.stop()


def run_playground(config: Config, port: int | None = None, db: Path | None = None) -> int:
    setup_logging()
    if db is not None:  # kept: `dono report --db` on it after the playground has stopped
        config.bot.database = db
        print(f"playground database: {db} (kept)", flush=True)
        asyncio.run(_serve(config, port))
        return 0
    # The emulator starts empty every time, so the bot's database does too: a fresh one per
    # run, apart from a real bot's (`dono report --db` on it while the playground runs).
    with tempfile.TemporaryDirectory(prefix="dono-playground-") as tmp:
        config.bot.database = Path(tmp) / "playground.sqlite3"
        print(f"playground database: {config.bot.database} (deleted on exit; --db to keep)")
        asyncio.run(_serve(config, port))
    return 0
