"""Subscriber-side findings of issue 16: each test names what a subscriber saw go wrong."""

from __future__ import annotations

from bot.app import Dono
from emulator import Emulator
from tests.e2e.conftest import Person, button_data, wait_for

# -- 👍/👎 is kept with the question whose answer it sits under ------------------------------


async def test_feedback_is_kept_with_the_question_its_answer_was_for(
    person: Person, dono: Dono, emu: Emulator
) -> None:
    first = await person.send("как проверить баланс")
    second = await person.send("баланс проверить")  # the same topic, asked again
    assert "*100#" in first["text"] and "*100#" in second["text"]
    query_id = await person.press(first, button_data(first, "👎"))
    assert "Жаль" in (await emu.wait_for_callback_answer(query_id))["text"]
    disliked = await wait_for(
        lambda: dono.store.unanswered(0), lambda rows: any(r["kind"] == "dislike" for r in rows)
    )
    assert [r["text"] for r in disliked if r["kind"] == "dislike"] == ["как проверить баланс"]


async def test_forged_feedback_data_is_answered_politely(
    person: Person, dono: Dono, emu: Emulator
) -> None:
    other = Person(emu, await emu.create_user("Other", language_code="ru"))
    await other.send("как проверить баланс")
    (theirs,) = await wait_for(
        lambda: dono.store.recent_interactions(other.user.id, limit=1), lambda r: len(r) == 1
    )
    answer = await person.send("как проверить баланс")
    mine = button_data(answer, "👍")
    topic, helpful, q = mine.split(":")[1:]
    their_id = int(q) - 1  # the other subscriber's question was logged just before
    for forged in (f"f:{topic}:{helpful}:{2**64}", f"f:{topic}:{helpful}:-1",
                   f"f:{topic}:{helpful}:{their_id}", f"f:{topic}:{helpful}:x"):  # fmt: skip
        query_id = await emu.press_button(person.user, answer["message_id"], forged, strict=False)
        said = await emu.wait_for_callback_answer(query_id)
        assert "устарела" in (said.get("text") or ""), forged
    assert theirs["text"] == "как проверить баланс"
    assert await dono.store.feedback_counts(topic) == (0, 0)
