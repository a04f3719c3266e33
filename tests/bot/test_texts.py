"""Every UI text exists in every language, with the same placeholders and every plural form
the language needs, as valid HTML; numbers and durations read as each language writes them."""

import re

import pytest

from bot.texts import (
    OWN_UNIT_NAMES,
    catalog,
    duration,
    language_from_code,
    number,
    plural_categories,
    t,
)
from knowledge.html import html_problems
from knowledge.lang import LANGS


def _forms(text: str | dict[str, str]) -> list[str]:
    return list(text.values()) if isinstance(text, dict) else [text]


def _placeholders(text: str | dict[str, str]) -> set[str]:
    return {p for form in _forms(text) for p in re.findall(r"{(\w+)}", form)}


def test_every_key_in_every_language() -> None:
    # unit names are needed only where CLDR has none (Babel names the others)
    keys = {
        lang: {k for k in catalog(lang) if lang in OWN_UNIT_NAMES or not k.startswith("unit_")}
        for lang in LANGS
    }
    shared = {k for k in keys["tg"] if not k.startswith("unit_")}
    assert keys["ru"] == keys["en"] == shared


@pytest.mark.parametrize("lang", LANGS)
def test_placeholders_match_and_html_is_valid(lang: str) -> None:
    for key, text in catalog(lang).items():
        if key in catalog("ru"):
            assert _placeholders(text) == _placeholders(catalog("ru")[key]), (lang, key)
        for form in _forms(text):
            assert html_problems(form) == [], (lang, key)


@pytest.mark.parametrize("lang", LANGS)
def test_a_plural_text_has_every_form_of_its_language(lang: str) -> None:
    for key, text in catalog(lang).items():
        if isinstance(text, dict):
            assert set(text) == plural_categories(lang), (lang, key)
            assert all("{count}" in form for form in text.values()), (lang, key)


def test_a_plural_text_takes_the_form_for_its_number(monkeypatch: pytest.MonkeyPatch) -> None:
    forms = {"one": "{count} оценка", "few": "{count} оценки", "many": "{count} оценок"}
    monkeypatch.setitem(catalog("ru"), "test_scores", {**forms, "other": "{count} оценки"})
    got = [t("ru", "test_scores", count=n) for n in (1, 2, 5, 11, 21, 22, 25, 12345)]
    assert got == [
        "1 оценка",
        "2 оценки",
        "5 оценок",
        "11 оценок",
        "21 оценка",
        "22 оценки",
        "25 оценок",
        f"{number('ru', 12345)} оценок",
    ]
    with pytest.raises(TypeError):
        t("ru", "test_scores")


@pytest.mark.parametrize(
    ("lang", "seconds", "text"),
    [
        ("ru", 47, "47 с"),
        ("ru", 125, "2 мин 5 с"),
        ("ru", 3900, "1 ч 5 мин"),
        ("ru", 3605, "1 ч"),
        ("ru", 0, "0 с"),
        ("en", 47, "47 sec"),
        ("en", 3900, "1 hr 5 min"),
        ("tg", 125, "2 дақиқа 5 сония"),
        ("tg", 90000, "1 рӯз 1 соат"),
    ],
)
def test_durations_read_as_the_language_writes_them(lang: str, seconds: int, text: str) -> None:
    assert duration(lang, seconds) == text


def test_numbers_are_grouped_as_the_language_groups_them() -> None:
    assert number("en", 12345) == "12,345"
    assert number("ru", 12345).replace("\xa0", " ") == "12 345"


def test_unknown_language_falls_back_to_russian() -> None:
    assert t("xx", "menu_title") == t("ru", "menu_title")
    assert t("tg", "handoff_waiting", position=3).count("3") == 1


@pytest.mark.parametrize(
    ("code", "lang"),
    [("tg", "tg"), ("ru-RU", "ru"), ("en-US", "en"), ("uk", "ru"), (None, "ru"), ("de", "ru")],
)
def test_language_from_telegram_code(code: str | None, lang: str) -> None:
    assert language_from_code(code) == lang
