"""The pacer's queue per chat: the most urgent waiting call leaves first, arrival order within
a priority, a later edit of a waiting edit's message supersedes it, and one chat's queue
never holds up another's."""

from __future__ import annotations

import asyncio
from typing import Any

from aiogram.methods import EditMessageText, SendMessage

from bot.handling import done, handling
from bot.pacing import BULK, HIGH, LOW, NORMAL, Limits, Pacer, priority

GROUP = -100123


class _Bot:
    id = 42


def _pacer() -> Pacer:
    # a group of one call at once, then one every 10 ms: every call after the first waits
    return Pacer(Limits(group_per_minute=6000, group_burst=1, global_burst=1000))


async def _calls(pacer: Pacer, jobs: list[tuple[int, Any]]) -> tuple[list[Any], list[Any]]:
    """Starts each (priority, method) in turn, the group busy; what reached Telegram, in order,
    and what each caller got back."""
    sent: list[Any] = []

    async def make_request(bot: Any, method: Any) -> Any:
        sent.append(method)
        return f"result of {method.text}"

    async def call(level: int, method: Any) -> Any:
        with priority(level):
            return await pacer(make_request, _Bot(), method)  # type: ignore[arg-type]

    first = asyncio.create_task(call(NORMAL, SendMessage(chat_id=GROUP, text="first")))
    await asyncio.sleep(0)  # the first took the group's only call at once
    tasks = [asyncio.create_task(call(level, method)) for level, method in jobs]
    results = await asyncio.gather(first, *tasks)
    return sent, list(results[1:])


def _text(text: str) -> SendMessage:
    return SendMessage(chat_id=GROUP, text=text)


def _edit(text: str, message_id: int = 7) -> EditMessageText:
    return EditMessageText(chat_id=GROUP, message_id=message_id, text=text)


async def test_the_most_urgent_waiting_call_leaves_first() -> None:
    jobs = [
        (LOW, _text("refresh")),
        (NORMAL, _text("notice")),
        (BULK, _text("digest")),
        (HIGH, _text("relay 1")),
        (NORMAL, _text("card")),
        (HIGH, _text("relay 2")),
    ]
    sent, _ = await _calls(_pacer(), jobs)
    order = [m.text for m in sent]
    assert order == ["first", "relay 1", "relay 2", "notice", "card", "refresh", "digest"]


async def test_a_later_edit_of_a_waiting_edit_supersedes_it() -> None:
    pacer = _pacer()
    jobs = [
        (LOW, _edit("card v1")),
        (NORMAL, _text("notice")),
        (LOW, _edit("card v2")),
        (LOW, _edit("other card", message_id=8)),
        (LOW, _edit("card v3")),
    ]
    sent, results = await _calls(pacer, jobs)
    assert [m.text for m in sent] == ["first", "notice", "card v3", "other card"]
    # the dropped edits' callers get the result of the one that went out
    assert results == [
        "result of card v3",
        "result of notice",
        "result of card v3",
        "result of other card",
        "result of card v3",
    ]
    assert pacer.superseded == 2


async def test_a_superseding_edit_keeps_the_earlier_ones_place() -> None:
    jobs = [(LOW, _edit("card v1")), (LOW, _text("reminder")), (LOW, _edit("card v2"))]
    sent, _ = await _calls(_pacer(), jobs)
    assert [m.text for m in sent] == ["first", "card v2", "reminder"]


async def test_one_chats_queue_does_not_hold_up_another_chat() -> None:
    pacer = Pacer(Limits(group_per_minute=1, group_burst=1))  # the group: one a minute
    sent: list[Any] = []

    async def make_request(bot: Any, method: Any) -> Any:
        sent.append(method.chat_id)
        return True

    await pacer(make_request, _Bot(), _text("takes the group's one"))  # type: ignore[arg-type]
    stuck = [
        asyncio.create_task(pacer(make_request, _Bot(), _text(f"waits {i}")))  # type: ignore[arg-type]
        for i in range(5)
    ]
    await asyncio.sleep(0)
    assert pacer.wait_for(GROUP) > 60  # a minute for the next, and four behind it
    # a private chat's call goes at once, the group's queue notwithstanding
    await pacer(make_request, _Bot(), SendMessage(chat_id=5, text="hi"))  # type: ignore[arg-type]
    assert sent == [GROUP, 5]
    for task in stuck:
        task.cancel()
    await asyncio.gather(*stuck, return_exceptions=True)


async def test_a_call_that_must_wait_gives_back_its_updates_slot() -> None:
    pacer = Pacer(Limits(group_per_minute=1, group_burst=1))
    given: list[str] = []
    tokens = handling(lambda: given.append("slot"), lambda: given.append("order"))
    try:

        async def make_request(bot: Any, method: Any) -> Any:
            return True

        await pacer(make_request, _Bot(), _text("goes at once"))  # type: ignore[arg-type]
        assert given == []  # nothing waited: the slot stays with the update
        waiting = asyncio.create_task(pacer(make_request, _Bot(), _text("waits")))  # type: ignore[arg-type]
        await asyncio.sleep(0)
        assert given == ["slot"]  # a minute's wait holds no slot another update needs
        waiting.cancel()
        await asyncio.gather(waiting, return_exceptions=True)
    finally:
        done(tokens)


async def test_wait_for_and_spare_for_count_the_calls_waiting() -> None:
    pacer = Pacer(Limits(group_per_minute=20, group_burst=3))
    assert pacer.wait_for(GROUP) == 0 and pacer.spare_for(GROUP) == 2

    async def make_request(bot: Any, method: Any) -> Any:
        return True

    for i in range(2):
        await pacer(make_request, _Bot(), _text(f"burst {i}"))  # type: ignore[arg-type]
    assert pacer.spare_for(GROUP) < 1
    stuck = [
        asyncio.create_task(pacer(make_request, _Bot(), _text(f"waits {i}")))  # type: ignore[arg-type]
        for i in range(3)
    ]
    await asyncio.sleep(0)
    # the bucket's next turn in about 3 s, and three more calls at 3 s each behind it
    assert 9 < pacer.wait_for(GROUP) < 13
    assert pacer.spare_for(GROUP) == 0
    for task in stuck:
        task.cancel()
    await asyncio.gather(*stuck, return_exceptions=True)


async def test_a_call_of_many_messages_costs_each_of_them() -> None:
    """forwardMessages (the history of a re-made topic) and an album post several messages;
    Telegram counts each against the group's budget, so the pacer does too."""
    from aiogram.methods import ForwardMessages, SendMediaGroup
    from aiogram.types import InputMediaPhoto

    async def make_request(bot: Any, method: Any) -> Any:
        return True

    # a group of 10 at once, then one a minute: what is spare is what the calls took
    pacer = Pacer(Limits(group_per_minute=1, group_burst=10, global_burst=1000))
    spare = round(pacer.spare_for(GROUP))
    forward = ForwardMessages(chat_id=GROUP, from_chat_id=5, message_ids=[1, 2, 3, 4, 5])
    await pacer(make_request, _Bot(), forward)  # type: ignore[arg-type]
    assert round(pacer.spare_for(GROUP)) == spare - 5
    album = SendMediaGroup(
        chat_id=GROUP, media=[InputMediaPhoto(media="a"), InputMediaPhoto(media="b")]
    )
    await pacer(make_request, _Bot(), album)  # type: ignore[arg-type]
    assert round(pacer.spare_for(GROUP)) == spare - 7
    await pacer(make_request, _Bot(), _text("one"))  # type: ignore[arg-type]
    assert round(pacer.spare_for(GROUP)) == spare - 8
