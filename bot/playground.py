"""`dono playground`: the Bot API emulator, the real bot and the web page, no token needed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.app import Dono, setup_logging
from bot.config import Config

if TYPE_CHECKING:
    from emulator import Emulator

log = logging.getLogger("dono.playground")
DESK_ROUTE = "/_play/desk"


async def start_playground(config: Config, port: int | None = None) -> tuple[Emulator, Dono]:
    """Start the emulator on the playground port and the bot against it; returns both.

    The page opens with a subscriber ready to type and, unless the config names a real
    agents' group, the forum group the bot serves with two agents in it.
    """
    from emulator import DEFAULT_TOKEN, Emulator

    emu = Emulator(
        host=config.playground.host,
        port=port if port is not None else config.playground.port,
    )
    holder: dict[str, Dono] = {}

    async def desk(request: web.Request) -> web.Response:
        return await desk_view(request, emu, holder)

    emu.extra_routes.append(web.get(DESK_ROUTE, desk))
    await emu.start()
    if config.agents.group_id is None:
        agents = [
            await emu.create_user("Dilnoza", username="dilnoza_agent", language_code="ru"),
            await emu.create_user("Rustam", username="rustam_agent", language_code="ru"),
        ]
        group = await emu.create_forum_group("Operators", agents=agents)
        config.agents.group_id = group.id
    await emu.create_user("Фарход", last_name="Саидов", language_code="ru")
    dono = await Dono.create(config, DEFAULT_TOKEN, api_base=emu.base_url)
    holder["dono"] = dono
    await dono.start_polling(polling_timeout=5)
    return emu, dono


async def desk_view(request: web.Request, emu: Emulator, holder: dict[str, Dono]) -> web.Response:
    """``GET /_play/desk?after=ID``: what the page shows from the bot's database — each
    topic's ticket (state, agent, subscriber, which messages in it are the subscriber's)
    and the bot's latest decisions; plus the places a shared location can be."""
    dono = holder.get("dono")
    if dono is None:
        return web.json_response({"ok": False, "error": "the bot is starting"}, status=503)
    store, group_id = dono.store, dono.config.agents.group_id
    tickets: list[dict[str, Any]] = []
    chat = emu.find_chat(group_id) if group_id is not None else None
    for thread_id in chat.topics if chat else ():
        ticket = await store.ticket_by_thread(thread_id)
        if ticket is None:
            continue
        person = emu.users.get(ticket.user_id)
        relayed = await store.relayed.messages(ticket.id)
        tickets.append(
            {
                "id": ticket.id,
                "thread_id": thread_id,
                "status": ticket.status,
                "agent_name": ticket.agent_name,
                "user_id": ticket.user_id,
                "subscriber": person.to_api() if person else None,
                "from_subscriber": [
                    m.group_message_id
                    for m in relayed
                    if m.direction == "in" and m.group_message_id and m.agent_chat_id is None
                ],
            }
        )
    after = int(request.query.get("after", "0") or 0)
    places = [
        {"name": d.name, "latitude": d.latitude, "longitude": d.longitude}
        for d in dono.config.outages.districts
        if d.latitude is not None and d.longitude is not None
    ]
    result = {
        "group_id": group_id,
        "tickets": tickets,
        "decisions": await store.reports.latest_decisions(after),
        "places": places,
    }
    return web.json_response({"ok": True, "result": result})


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


def run_playground(config: Config, port: int | None = None, db: str | None = None) -> int:
    """Serve until Ctrl+C; the database is a fresh temporary one unless ``db`` names a file
    to keep (e.g. for `dono report --db` afterwards)."""
    setup_logging()
    # a line per update is the bot's business in production, noise on the playground console
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)
    if db is not None:
        config.bot.database = Path(db)
        print(f"playground database (kept): {config.bot.database}", flush=True)
        asyncio.run(_serve(config, port))
        return 0
    # The emulator starts empty every time, so the bot's database does too by default: a
    # fresh one per run, apart from a real bot's.
    with tempfile.TemporaryDirectory(prefix="dono-playground-") as tmp:
        config.bot.database = Path(tmp) / "playground.sqlite3"
        print(f"playground database: {config.bot.database} (deleted on exit; --db to keep)")
        asyncio.run(_serve(config, port))
    return 0
