"""A hand-off interrupted (Telegram failing past the retries, the operators' group refusing the
bot) is finished when its update is handled again: one topic, one card, the subscriber told
once — never an empty topic, a second one, or the question relayed into General."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from bot.app import Dono
from emulator import Emulator
from tests.e2e.conftest import Desk, Person, buttons, settled, wait_for

TOLD = "Передал ваш вопрос оператору"  # the queue notice (ru)
UNAVAILABLE = "Сейчас операторы недоступны"


def topics_by_ticket(emu: Emulator, group_id: int) -> Counter:
    """How many forum topics each ticket has ("#12 Name · ru" → 12)."""
    found = (re.match(r"#(\d+) ", t["name"]) for t in emu.topics(group_id))
    return Counter(int(m.group(1)) for m in found if m)


def cards_by_ticket(emu: Emulator, group_id: int) -> Counter:
    """How many cards with a Claim button each ticket has in the group."""
    counts: Counter = Counter()
    for m in emu.bot_messages(group_id):
        found = re.search(r"Обращение #(\d+)", m.get("text") or "")
        claim = [b for b in buttons(m) if (b.get("callback_data") or "").startswith("tk:claim")]
        if found and claim:
            counts[int(found.group(1))] += 1
    return counts


def told(emu: Emulator, user_id: int, text: str = TOLD) -> int:
    return sum(text in (m.get("text") or "") for m in emu.bot_messages(user_id))


def in_general(emu: Emulator, group_id: int) -> list[dict[str, Any]]:
    """The bot's messages in the group outside any topic (where a relay must never land)."""
    return [m for m in emu.bot_messages(group_id) if not m.get("message_thread_id")]


async def test_topic_creation_failing_past_the_retries_is_finished_on_the_next_round(
    desk: Desk,
) -> None:
    emu, dono = desk.emu, desk.dono
    assert dono.retry is not None
    dono.retry.max_attempts, dono.retry.base_delay = 2, 0.05  # give up fast, as after minutes
    emu.inject_error("createForumTopic", count=4, status=502)  # two rounds of retries fail
    person = Person(emu, await emu.create_user("Farrukh", language_code="ru"))
    reply = await person.send("позовите оператора", timeout=30)
    assert TOLD in reply["text"]
    card = await desk.card(timeout=10)
    assert card["message_thread_id"] and "Farrukh" in card["text"]
    await settled(emu)
    failed = [c for c in emu.calls("createForumTopic") if c.get("status") == 502]
    assert len(failed) == 4  # the update was handled again after each round gave up
    assert topics_by_ticket(emu, desk.group.id) == {1: 1}
    assert cards_by_ticket(emu, desk.group.id) == {1: 1}
    assert told(emu, person.user.id) == 1
    assert in_general(emu, desk.group.id) == []  # the question was not relayed into General
    ticket = await dono.store.get_ticket(1)
    assert ticket is not None and ticket.thread_id == card["message_thread_id"]


async def test_the_card_failing_past_the_retries_is_sent_into_the_same_topic(
    desk: Desk,
) -> None:
    emu, dono = desk.emu, desk.dono
    assert dono.retry is not None
    dono.retry.max_attempts, dono.retry.base_delay = 2, 0.05
    # the topic is made, then every sendMessage fails for two rounds (card first)
    emu.inject_error("sendMessage", count=4, status=500)
    person = Person(emu, await emu.create_user("Farrukh", language_code="ru"))
    await emu.send_text(person.user, "/operator")
    reply = await person.next(timeout=30)
    assert TOLD in reply["text"]
    card = await desk.card(timeout=10)
    await settled(emu)
    assert topics_by_ticket(emu, desk.group.id) == {1: 1}  # /operator again: no second topic
    assert cards_by_ticket(emu, desk.group.id) == {1: 1}
    assert told(emu, person.user.id) == 1
    assert card["message_thread_id"] == (await dono.store.get_ticket(1)).thread_id


async def test_a_later_message_finishes_a_hand_off_given_up_on(
    desk: Desk, monkeypatch: Any
) -> None:
    """A hand-off whose update was given up (Telegram refusing it for half an hour): the
    subscriber's next message finishes it, then goes into the new topic."""
    from bot import errors

    emu, dono = desk.emu, desk.dono
    monkeypatch.setattr(errors, "MAX_TELEGRAM_RETRIES", 0)  # given up after the first round
    assert dono.retry is not None
    dono.retry.max_attempts, dono.retry.base_delay = 1, 0.05
    emu.inject_error("createForumTopic", count=1, status=500)
    person = Person(emu, await emu.create_user("Farrukh", language_code="ru"))
    await emu.send_text(person.user, "позовите оператора")
    ticket = await wait_for(lambda: dono.store.get_ticket(1), lambda t: t is not None)
    await settled(emu)
    assert topics_by_ticket(emu, desk.group.id) == {} and told(emu, person.user.id) == 0
    reply = await person.send("алло, вы тут?", timeout=15)
    assert TOLD in reply["text"]
    ticket = await wait_for(lambda: dono.store.get_ticket(1), lambda t: t and t.thread_id)
    copied = await emu.wait_for_bot_message(
        desk.group.id, predicate=lambda m: m.get("text") == "алло, вы тут?", timeout=10
    )
    assert copied["message_thread_id"] == ticket.thread_id
    await settled(emu)
    assert topics_by_ticket(emu, desk.group.id) == {1: 1}
    assert cards_by_ticket(emu, desk.group.id) == {1: 1}
    assert told(emu, person.user.id) == 1 and in_general(emu, desk.group.id) == []


async def _health(dono: Dono) -> dict:
    return await dono.status()


async def test_bot_removed_from_the_group_keeps_the_hand_off_and_the_messages(
    desk: Desk,
) -> None:
    """A 403 from the operators' group is the group's: the subscriber is not marked blocked,
    is told honestly, their messages are kept; once the bot is back everything arrives."""
    emu, dono, owner = desk.emu, desk.dono, desk.agents[0]
    person = Person(emu, await emu.create_user("Farrukh", language_code="ru"))
    await emu.remove_bot_from(desk.group.id, by=owner)
    reply = await person.send("позовите оператора", timeout=15)
    assert UNAVAILABLE in reply["text"]
    await emu.send_text(person.user, "я подожду")
    health = await wait_for(lambda: _health(dono), lambda h: h["status"] == "degraded")
    assert "kicked" in health["operators_group"]
    sub = await dono.store.subscriber(person.user.id)
    assert sub is not None and not sub.blocked
    ticket = await dono.store.open_ticket_of(person.user.id)
    assert ticket is not None and ticket.status == "waiting"

    since = emu.cursor()
    await emu.add_bot_to(desk.group.id, by=owner)
    card = await desk.card(since=since, timeout=30)
    copied = await emu.wait_for_bot_message(
        desk.group.id, predicate=lambda m: m.get("text") == "я подожду", timeout=30, since=since
    )
    assert copied["message_thread_id"] == card["message_thread_id"]
    notice = await person.next(timeout=15)
    assert TOLD in notice["text"]
    await settled(emu)
    assert topics_by_ticket(emu, desk.group.id) == {1: 1}
    assert cards_by_ticket(emu, desk.group.id) == {1: 1}
    assert told(emu, person.user.id) == 1 and told(emu, person.user.id, UNAVAILABLE) == 1
    assert (await _health(dono))["status"] == "ok"
    sub = await dono.store.subscriber(person.user.id)
    assert sub is not None and not sub.blocked


async def test_messages_into_a_shown_ticket_wait_while_the_bot_is_out_of_the_group(
    desk: Desk,
) -> None:
    """A 403 on relaying into the ticket's topic is the group's: the message is kept, not
    dropped, the subscriber not marked blocked; it arrives once the bot is back."""
    emu, dono, owner = desk.emu, desk.dono, desk.agents[0]
    person = Person(emu, await emu.create_user("Farrukh", language_code="ru"))
    assert TOLD in (await person.send("/operator"))["text"]
    card = await desk.card(timeout=10)
    await emu.remove_bot_from(desk.group.id, by=owner)
    await emu.send_text(person.user, "всё ещё жду")
    await wait_for(lambda: _health(dono), lambda h: h["status"] == "degraded")
    sub = await dono.store.subscriber(person.user.id)
    assert sub is not None and not sub.blocked
    since = emu.cursor()
    await emu.add_bot_to(desk.group.id, by=owner)
    copied = await emu.wait_for_bot_message(
        desk.group.id, predicate=lambda m: m.get("text") == "всё ещё жду", timeout=30, since=since
    )
    assert copied["message_thread_id"] == card["message_thread_id"]
    await settled(emu)
    texts = [m.get("text") for m in emu.bot_messages(desk.group.id)]
    assert texts.count("всё ещё жду") == 1
    assert (await dono.store.open_ticket_of(person.user.id)) is not None
