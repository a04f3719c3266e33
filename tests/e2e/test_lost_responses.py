"""A response lost after Telegram made the call (the connection dropped on the way back): what
repeats, measured. The Bot API has no idempotency key and no way to look a sent message or a
new topic up, so the bot makes the call again — nothing is lost, and this is the one case that
may arrive twice (the README's "Operations" section quotes these figures)."""

from __future__ import annotations

from collections import Counter

from bot.app import Dono
from emulator import Emulator
from tests.e2e.conftest import Desk, Person, settled
from tests.e2e.test_faults import wait_until_answered
from tests.e2e.test_handoff_resume import TOLD, cards_by_ticket, told, topics_by_ticket


def lost(emu: Emulator, method: str) -> int:
    return len([c for c in emu.calls(method) if c.get("fault") == "drop"])


async def test_answers_whose_response_is_lost_are_repeated_and_nothing_else(
    emu: Emulator, dono: Dono
) -> None:
    """20 subscribers ask; 5 of the answers' responses are dropped after the message was sent.
    Measured: each of the 5 arrives twice, the other 15 once, none is lost."""
    people = [await emu.create_user(f"L{i}", language_code="ru") for i in range(20)]
    emu.faults.add("drop", "sendMessage", count=5, apply=True, after=3)
    for person in people:
        await emu.send_text(person, "как проверить баланс")
    chats = {p.id for p in people}
    counts = await wait_until_answered(emu, chats, timeout=30)
    await settled(emu)
    counts = Counter({c: len(emu.bot_messages(c)) for c in chats})
    twice = sum(1 for n in counts.values() if n == 2)
    dropped = lost(emu, "sendMessage")
    assert dropped == 5 and len(counts) == 20 and set(counts.values()) <= {1, 2}
    assert twice == dropped, f"{twice} answers twice for {dropped} lost responses"
    assert dono.retry is not None and dono.retry.repeated == dropped  # each one logged


async def test_hand_offs_whose_responses_are_lost(desk: Desk) -> None:
    """6 hand-offs; 2 createForumTopic and 2 sendMessage responses dropped after Telegram made
    them. Measured: each lost response leaves one extra (an empty topic, or a second card or
    notice); every ticket still has its topic with a card and its subscriber told."""
    emu = desk.emu
    people = [Person(emu, await emu.create_user(f"P{i}", language_code="ru")) for i in range(6)]
    emu.faults.add("drop", "createForumTopic", count=2, apply=True, after=1)
    emu.faults.add("drop", "sendMessage", count=2, apply=True, after=4)
    for person in people:
        await emu.send_text(person.user, "/operator")
    for person in people:
        assert TOLD in (await person.next(timeout=30))["text"]
    await settled(emu)
    topics, cards = topics_by_ticket(emu, desk.group.id), cards_by_ticket(emu, desk.group.id)
    notices = Counter({p.user.id: told(emu, p.user.id) for p in people})
    assert sorted(cards) == sorted(topics) == list(range(1, 7))  # nothing lost
    for ticket_id in range(1, 7):  # the ticket's recorded topic is the one with its card
        ticket = await desk.dono.store.get_ticket(ticket_id)
        assert ticket is not None and ticket.thread_id is not None
        here = emu.bot_messages(desk.group.id, ticket.thread_id)
        card = [m for m in here if f"Обращение #{ticket_id}" in (m.get("text") or "")]
        assert card, f"ticket #{ticket_id}: no card in its topic"
    extra_topics = sum(topics.values()) - 6
    extra_sends = sum(cards.values()) - 6 + sum(notices.values()) - 6
    assert lost(emu, "createForumTopic") == 2 and lost(emu, "sendMessage") == 2
    assert extra_topics == 2, f"{extra_topics} empty topics for 2 lost responses"
    assert extra_sends == 2, f"{extra_sends} second cards or notices for 2 lost responses"
