"""bot.desk.cards: what a ticket's topic is named after, in order of what says most."""

from __future__ import annotations

from bot.desk.cards import problem_of, topic_title
from bot.tglimits import TOPIC_TITLE, utf16_len
from handoff.tickets import Ticket


def ticket(reason: str = "asked", question: str = "позовите оператора") -> Ticket:
    return Ticket(1, 42, "waiting", reason, question, "ru", 0.0)


TITLES = {"roaming": "Роуминг"}


def title_of(item: dict) -> str | None:
    return TITLES.get(item.get("topic") or "")


def test_an_answered_topic_beats_a_later_question_and_the_handoff_phrase() -> None:
    recent = [
        {"kind": "none", "text": "а ещё вопрос"},
        {"kind": "answer", "topic": "roaming", "text": "роуминг"},
    ]
    assert problem_of(ticket(), recent, title_of) == "Роуминг"


def test_a_miss_that_handed_off_is_the_problem_when_nothing_was_answered() -> None:
    recent = [{"kind": "smalltalk", "text": "привет"}, {"kind": "none", "text": "старое"}]
    assert problem_of(ticket("bot_failed", "где мой заказ"), recent, title_of) == "где мой заказ"
    assert problem_of(ticket(), recent, title_of) == "старое"


def test_handoff_phrases_small_talk_and_commands_are_never_the_problem() -> None:
    recent = [
        {"kind": "handoff", "text": "позовите оператора"},
        {"kind": "smalltalk", "text": "спасибо"},
        {"kind": "none", "text": "/start"},
    ]
    assert problem_of(ticket(), recent, title_of) is None
    assert topic_title(ticket(), None, None) == "#1 42 · ru"


def test_a_long_problem_is_cut_in_utf16_units() -> None:
    title = topic_title(ticket(), None, "🙏" * 100)
    assert utf16_len(title) <= TOPIC_TITLE and title.endswith("…")
