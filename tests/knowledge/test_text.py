"""Normalization: what subscribers type becomes comparable text."""

from hypothesis import given
from hypothesis import strategies as st

from knowledge.lang import stem
from knowledge.text import (
    layout_en_to_ru,
    layout_ru_to_en,
    normalize,
    phonetic,
    script,
    translit_to_cyrillic,
)


def test_case_yo_punctuation_and_emoji() -> None:
    assert normalize("  Ёлки-Палки!!! 👍 Как ПОПОЛНИТЬ??? ") == "елки палки как пополнить"


def test_tajik_letters_fold_to_russian_look_alikes() -> None:
    assert normalize("Тарифҳо") == normalize("Тарифхо") == "тарифхо"
    assert normalize("ӣ ӯ қ ғ ҳ ҷ Ӣ Ӯ Қ Ғ Ҳ Ҷ") == "и у к г х ч и у к г х ч"


def test_repeated_letters_are_squeezed() -> None:
    assert normalize("приииивееет") == "привет"
    assert normalize("касса") == "касса"  # a real double letter stays


def test_latin_look_alikes_inside_cyrillic_words() -> None:
    assert normalize("тapиф") == "тариф"  # Latin a and p
    assert normalize("apn") == "apn"


def test_wrong_keyboard_layout_both_ways() -> None:
    assert layout_en_to_ru("rfr gjgjkybnm ,fkfyc") == "как пополнить баланс"
    assert layout_ru_to_en("щзукфещк") == "operator"


def test_translit_to_cyrillic() -> None:
    assert translit_to_cyrillic("kak proverit balans") == "как проверит баланс"
    assert translit_to_cyrillic("obeshanniy platezh") == "обешанний платеж"
    assert translit_to_cyrillic("shchet") == "щет"


def test_phonetic_key_forgives_common_misspellings() -> None:
    assert phonetic("щет") == phonetic("счет")
    assert phonetic(stem("папалнить", "ru")) == phonetic(stem("пополнить", "ru"))
    assert phonetic("обешаннии") == phonetic("обещанный")


def test_script_detection() -> None:
    assert script("kak dela") == "latin"
    assert script("как дела") == "cyrillic"
    assert script("Ҳисоб") == "cyrillic"
    assert script("👍 123") == "other"


def test_tajik_stemmer_strips_plural_and_possessive() -> None:
    assert stem(normalize("тарифҳо"), "tg") == stem(normalize("тариф"), "tg")
    assert stem(normalize("бастаҳои"), "tg") == "баста"
    assert stem(normalize("рақамам"), "tg") == stem(normalize("рақам"), "tg")


@given(st.text())
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once


@given(st.text(alphabet=st.characters(categories=["Ll", "Lu"]), min_size=1, max_size=30))
def test_phonetic_is_idempotent(word: str) -> None:
    key = phonetic(normalize(word))
    assert phonetic(key) == key
