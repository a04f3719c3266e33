"""Decision rules for chat messages, each on sentences written for it: a long message's
story dilutes its score but is no evidence against its topic."""

from pathlib import Path

import pytest

from knowledge.decision import Decision
from knowledge.loader import load
from knowledge.matcher import Matcher

ROOT = Path(__file__).parent.parent.parent


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(load(ROOT / "kb"))


def _what(d: Decision) -> tuple[str, str | None]:
    return d.kind, d.topic or d.intent


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            "Здравствуйте, мы с семьёй на следующей неделе едем отдыхать в Турцию, подскажите, "
            "будет ли там работать мой номер и сколько это стоит",
            "roaming",
        ),
    ],
)
def test_a_long_story_around_a_clear_question_is_answered(
    matcher: Matcher, message: str, expected: str
) -> None:
    d = matcher.match(message)
    assert d.score < matcher.thresholds.answer  # the story keeps it under the usual bar
    assert _what(d) == ("answer", expected), d.explanation


def test_a_long_message_with_a_word_no_topic_knows_is_not_answered_so(matcher: Matcher) -> None:
    # as long, but about another company's laptop: its unknown words still count against it
    d = matcher.match(
        "Добрый вечер, я купил новый ноутбук Lenovo, а он никак не видит мой домашний Wi-Fi, "
        "хотя пароль я ввёл правильно"
    )
    assert d.kind != "answer", d.explanation
