"""Every UI text exists in every language, with the same placeholders, as valid HTML."""

import re

import pytest

from bot.texts import catalog, language_from_code, t
from knowledge.html import html_problems
from knowledge.lang import LANGS


def test_every_key_in_every_language() -> None:
    keys = {lang: set(catalog(lang)) for lang in LANGS}
    assert keys["ru"] == keys["tg"] == keys["en"]


@pytest.mark.parametrize("lang", LANGS)
def test_placeholders_match_and_html_is_valid(lang: str) -> None:
    for key, text in catalog(lang).items():
        assert set(re.findall(r"{(\w+)}", text)) == set(re.findall(r"{(\w+)}", catalog("ru")[key]))
        assert html_problems(text) == [], (lang, key)


def test_unknown_language_falls_back_to_russian() -> None:
    assert t("xx", "menu_title") == t("ru", "menu_title")
    assert t("tg", "handoff_waiting", position=3).count("3") == 1


@pytest.mark.parametrize(
    ("code", "lang"),
    [("tg", "tg"), ("ru-RU", "ru"), ("en-US", "en"), ("uk", "ru"), (None, "ru"), ("de", "ru")],
)
def test_language_from_telegram_code(code: str | None, lang: str) -> None:
    assert language_from_code(code) == lang
