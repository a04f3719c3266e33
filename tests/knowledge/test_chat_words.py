"""Words subscribers use for what the knowledge base's triggers say otherwise: general
language in ``knowledge.synonyms`` and ``knowledge.lexicon``, each checked on a word and on a
sentence written for this test."""

import pytest

from knowledge.index import word_key
from knowledge.matcher import Matcher
from knowledge.text import normalize
from tests.knowledge.conftest import what


@pytest.mark.parametrize(
    ("word", "same_as"),
    [
        ("стащили", "украли"),  # stolen
        ("своровал", "украл"),
        ("сбой", "авария"),  # a network failure is an outage
        ("остатки", "осталось"),  # what is left
        ("цены", "стоимость"),  # what it costs
        ("стоят", "цена"),
        ("вызовы", "звонки"),  # a call
    ],
)
def test_words_for_one_thing_share_a_key(word: str, same_as: str) -> None:
    assert word_key(word, "ru") == word_key(same_as, "ru")


@pytest.mark.parametrize(
    ("word", "same_as"),
    [
        ("пора", "вайрон"),  # torn in pieces, broken
        ("шикаст", "вайрон"),
        ("сарф", "хароҷот"),  # spent, expenses
    ],
)
def test_tajik_words_for_one_thing_share_a_key(word: str, same_as: str) -> None:
    assert word_key(normalize(word), "tg") == word_key(normalize(same_as), "tg")


@pytest.mark.parametrize(
    ("message", "topic"),
    [
        ("у брата стащили телефон", "sim_lost"),
        ("сбой сети в кишлаке", "outage_report"),
        ("какой у меня остаток мегабайт", "remaining_quota"),
        ("какая стоимость тарифов у вас", "tariff_list"),
        ("как перевести вызовы на другой номер", "call_forwarding"),
        ("Сим-корти ман пора шуд, чӣ кор кунам?", "sim_replace"),
        ("Маблағ ба чӣ сарф шуд?", "charges_detail"),
    ],
)
def test_a_synonym_finds_its_topic(matcher: Matcher, message: str, topic: str) -> None:
    assert what(matcher.match(message)) == ("answer", topic)
