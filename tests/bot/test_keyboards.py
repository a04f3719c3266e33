"""The answer's keyboard: a second ask as one more button, and the 👍/👎 choice shown."""

from __future__ import annotations

from pathlib import Path

from bot import keyboards
from bot.callbacks import FeedbackCb, TopicCb
from knowledge.loader import check

ROOT = Path(__file__).resolve().parents[2]
KB, _ = check(ROOT / "kb")
assert KB is not None


def labels(markup) -> list[str]:
    return [b.text for row in markup.inline_keyboard for b in row]


def data(markup) -> list[str]:
    return [b.callback_data for row in markup.inline_keyboard for b in row if b.callback_data]


def test_a_second_ask_is_one_more_topic_button() -> None:
    topic = KB.topics["balance_check"]
    plain = keyboards.answer(KB, topic, "ru")
    also = keyboards.answer(KB, topic, "ru", also="tariff_list")
    extra = [d for d in data(also) if d not in data(plain)]
    assert extra == [TopicCb(id="tariff_list").pack()]
    title = keyboards.topic_title(KB.topics["tariff_list"], "ru")
    assert title in labels(also)
    assert data(keyboards.answer(KB, topic, "ru", also="no_such_topic")) == data(plain)
    assert data(keyboards.answer(KB, topic, "ru", also="balance_check")) == data(plain)


def test_the_vote_is_shown_on_the_buttons() -> None:
    markup = keyboards.answer(KB, KB.topics["balance_check"], "en")
    liked = keyboards.with_vote(markup, True, "en")
    assert "✓ 👍 Helpful" in labels(liked) and "👎 Not helpful" in labels(liked)
    disliked = keyboards.with_vote(liked, False, "en")
    assert "👍 Helpful" in labels(disliked) and "✓ 👎 Not helpful" in labels(disliked)
    assert data(disliked) == data(markup)  # the same buttons, only marked
    assert FeedbackCb(topic="balance_check", helpful=True).pack() in data(disliked)
