"""The agent desk on Telegram: the service (``service.Desk``: one method per workflow), what it
shows (``cards``) and how it relays (``relay``)."""

from bot.callbacks import CsatCb, TicketCb
from bot.desk.cards import csat_keyboard
from bot.desk.relay import message_kind, topic_gone
from bot.desk.service import Agent, Desk
from bot.desk.workspace import WorkspaceDesk

__all__ = [
    "Agent",
    "CsatCb",
    "Desk",
    "TicketCb",
    "WorkspaceDesk",
    "csat_keyboard",
    "message_kind",
    "topic_gone",
]
