"""Local Telegram Bot API emulator for tests, benchmarks and the playground page."""

from emulator.client import EmulatorClient, EmulatorControlError
from emulator.core import DEFAULT_BOT_USERNAME, DEFAULT_TOKEN, Inbox
from emulator.errors import ApiError, EmulatorError, EmulatorTimeout
from emulator.limits import Limits
from emulator.models import BotAccount, Chat, SimUser
from emulator.server import Emulator, start_emulator

__all__ = [
    "DEFAULT_BOT_USERNAME",
    "DEFAULT_TOKEN",
    "ApiError",
    "BotAccount",
    "Chat",
    "Emulator",
    "EmulatorClient",
    "EmulatorControlError",
    "EmulatorError",
    "EmulatorTimeout",
    "Inbox",
    "Limits",
    "SimUser",
    "start_emulator",
]
