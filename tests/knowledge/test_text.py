"""Normalization: what subscribers type becomes comparable text."""

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from knowledge import text as T
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


# The fast paths of normalize() and script() against their plain definitions: the regexes and
# the translation table they replace (str.replace per letter present, str.count per letter).
_MESSAGES = st.text(
    alphabet=st.sampled_from(
        "abcxyzKGgABC АБВабвгжяёЁӣӯқғҳҷӢӮҚҒҲҶ 2345 4g 3 Г ааа ooo!?,.-_😀\u0306\u0304\u200b"
    ),
    max_size=60,
)


def _normalize_plain(text: str) -> str:
    text = unicodedata.normalize("NFC", text[: T.MAX_QUERY_CHARS * 4]).lower()
    text = T._REPEAT_RE.sub(r"\1", text.translate(T.TAJIK_FOLD))
    words = T._WORD_RE.findall(text)
    if T._LATIN_RE.search(text) and T._CYR_RE.search(text):
        words = [T.fold_homoglyphs(w) for w in words]
    return T._GENERATION_RE.sub(r"\1g", " ".join(words))


def _script_plain(text: str) -> str:
    lat, cyr = len(T._LATIN_RE.findall(text.lower())), len(T._CYR_RE.findall(text.lower()))
    if lat == 0 and cyr == 0:
        return "other"
    return "latin" if lat > cyr else "cyrillic"


@given(st.one_of(_MESSAGES, st.text()))
def test_fast_normalize_and_script_are_their_plain_definitions(text: str) -> None:
    assert normalize(text) == _normalize_plain(text)
    assert script(text) == _script_plain(text)
