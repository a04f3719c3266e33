"""Command line entry point: ``python -m emulator --port 8081`` runs the emulator standalone."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal

from emulator.core import DEFAULT_BOT_USERNAME, DEFAULT_TOKEN
from emulator.limits import Limits
from emulator.server import LOOPBACK_HOSTS, Emulator


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line options."""
    parser = argparse.ArgumentParser(
        prog="python -m emulator", description="Local Telegram Bot API emulator."
    )
    parser.add_argument("--host", default="127.0.0.1", choices=sorted(LOOPBACK_HOSTS))
    parser.add_argument("--port", type=int, default=8081, help="0 picks a free port")
    parser.add_argument("--token", default=DEFAULT_TOKEN, help="bot token to accept")
    parser.add_argument("--bot-username", default=DEFAULT_BOT_USERNAME)
    parser.add_argument(
        "--accept-any-token", action="store_true", help="auto-register any well-formed token"
    )
    parser.add_argument("--no-limits", action="store_true", help="disable flood limits")
    parser.add_argument(
        "--private-topics", action="store_true", help="the bot has topic mode in private chats"
    )
    parser.add_argument(
        "--forum-archive-after",
        type=int,
        default=None,
        metavar="N",
        help="archive a forum's messages but its newest N (Telegram: about a million)",
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="create a subscriber and an 'Operators' forum group with two agents",
    )
    return parser.parse_args(argv)


async def run(args: argparse.Namespace) -> None:
    """Start the emulator and serve until SIGINT/SIGTERM."""
    emu = Emulator(
        host=args.host,
        port=args.port,
        token=args.token,
        bot_username=args.bot_username,
        accept_any_token=args.accept_any_token,
        limits=Limits(enabled=not args.no_limits),
        private_topics=args.private_topics,
        forum_archive_after=args.forum_archive_after,
    )
    await emu.start()
    print(f"Telegram Bot API emulator listening on {emu.base_url}", flush=True)
    print(f"  bot token:   {emu.token}  (@{emu.default_bot.username})", flush=True)
    print(f"  playground:  {emu.base_url}/", flush=True)
    print(f"  control API: {emu.base_url}/_emu/state", flush=True)
    if args.demo:
        subscriber = await emu.create_user("Demo Subscriber", language_code="ru")
        alice = await emu.create_user("Agent Alice", username="agent_alice")
        bob = await emu.create_user("Agent Bob", username="agent_bob")
        group = await emu.create_forum_group("Operators", agents=[alice, bob])
        print(f"  demo: subscriber {subscriber.id}, operator group {group.id}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await emu.stop()


def main(argv: list[str] | None = None) -> None:
    """Run until interrupted."""
    asyncio.run(run(parse_args(argv)))


if __name__ == "__main__":
    main()
