"""knowledge.search: the desk's /kb finds topics by words, in any of the three languages."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.loader import load
from knowledge.search import search, topic_title

KB = load(Path(__file__).resolve().parents[2] / "kb")


@pytest.mark.parametrize(
    ("words", "topic"),
    [
        ("подписки", "paid_subscriptions"),
        ("подписка", "paid_subscriptions"),
        ("обуна", "paid_subscriptions"),
        ("subscriptions", "paid_subscriptions"),
        ("роуминг", "roaming"),
        ("интернет не работает", "no_internet"),
    ],
)
def test_the_best_match_is_the_topic_the_words_are_about(words: str, topic: str) -> None:
    assert search(KB, words, "ru")[0].topic == topic


def test_titles_are_in_the_asked_language_and_nothing_is_found_for_nonsense() -> None:
    (first, *_) = search(KB, "подписки", "en")
    assert first.title == topic_title(KB.topics["paid_subscriptions"], "en")
    assert search(KB, "кракозябра", "ru") == []
    assert search(KB, "и в", "ru") == []  # function words only
    assert len(search(KB, "баланс", "ru", limit=3)) == 3
