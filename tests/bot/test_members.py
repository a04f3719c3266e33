"""Who counts as an agent: Telegram's member statuses, and a chat_member update replacing the
cached answer (bot/desk/members.py)."""

from __future__ import annotations

from aiogram.types import (
    ChatMemberAdministrator,
    ChatMemberLeft,
    ChatMemberMember,
    ChatMemberOwner,
    ChatMemberRestricted,
    User,
)

from bot.desk.members import Members, is_current_member
from tests.mocked_bot import MockedBot

USER = User(id=7, is_bot=False, first_name="Rustam")


def rights(kind: type) -> dict[str, bool]:
    """Every flag a member of ``kind`` must carry (the list grows with the Bot API)."""
    return {
        name: False
        for name, field in kind.model_fields.items()
        if field.is_required() and (name.startswith(("can_", "is_")))
    }


def restricted(is_member: bool) -> ChatMemberRestricted:
    flags = rights(ChatMemberRestricted) | {"is_member": is_member}
    return ChatMemberRestricted(user=USER, until_date=0, **flags)


def test_members_by_status() -> None:
    assert is_current_member(ChatMemberOwner(user=USER, is_anonymous=False))
    assert is_current_member(ChatMemberMember(user=USER))
    assert is_current_member(restricted(is_member=True))
    assert not is_current_member(restricted(is_member=False))  # restricted, and gone
    assert not is_current_member(ChatMemberLeft(user=USER))
    admin = ChatMemberAdministrator(user=USER, **rights(ChatMemberAdministrator))
    assert is_current_member(admin)


async def test_a_chat_member_update_replaces_the_cached_answer(bot: MockedBot) -> None:
    members = Members(bot, group_id=-100, clock=lambda: 0.0)  # the cache never expires here
    assert await members.is_member(USER.id)  # the mocked bot says: a member
    asked = len(bot.session.requests)
    members.changed(USER.id, ChatMemberLeft(user=USER))
    assert not await members.is_member(USER.id)
    assert len(bot.session.requests) == asked  # told by the update, not asked again
