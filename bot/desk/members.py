"""Who is an agent: a current member of the operators' group, as Telegram says (getChatMember),
remembered briefly and forgotten the moment a ``chat_member`` update says it changed."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.types import ChatMember, ChatMemberRestricted

log = logging.getLogger(__name__)

# how long a getChatMember answer is trusted: a removed agent's chat_member update normally
# ends it at once; this bounds the case where that update never comes (the bot not an admin)
MEMBER_TTL = 10.0

_MEMBER_STATUSES = ("creator", "administrator", "member")


def is_current_member(member: ChatMember) -> bool:
    """In the group now: creator, administrator, member, or restricted but still a member
    (a restricted user who left keeps the status with ``is_member`` false)."""
    if isinstance(member, ChatMemberRestricted) or member.status == "restricted":
        return bool(getattr(member, "is_member", False))
    return member.status in _MEMBER_STATUSES


class Members:
    """Membership of one operators' group, cached for ``MEMBER_TTL`` seconds per user."""

    def __init__(
        self, bot: Bot, group_id: int | None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.bot = bot
        self.group_id = group_id
        self.clock = clock
        self._known: dict[int, tuple[bool, float]] = {}

    async def is_member(self, user_id: int) -> bool:
        if self.group_id is None:
            return False
        cached = self._known.get(user_id)
        now = self.clock()
        if cached is not None and now - cached[1] < MEMBER_TTL:
            return cached[0]
        try:
            member = await self.bot.get_chat_member(self.group_id, user_id)
            ok = is_current_member(member)
        except (TelegramBadRequest, TelegramForbiddenError) as exc:  # unknown user, bot removed
            log.info("getChatMember %s: %s; not an agent", user_id, exc.message)
            ok = False
        self._known[user_id] = (ok, now)
        return ok

    def changed(self, user_id: int, member: ChatMember) -> None:
        """A ``chat_member`` update: the user's new status replaces whatever was cached."""
        self._known[user_id] = (is_current_member(member), self.clock())
