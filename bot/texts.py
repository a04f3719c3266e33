"""UI texts per language, loaded from bot/locales/<lang>.yaml and looked up by key.

A text is a string, or — when it shows a number — a mapping of CLDR plural categories to
strings (``{one: "{count} оценка", few: "{count} оценки", many: "{count} оценок"}``); the
category comes from Babel's CLDR rules for the language and the ``count`` parameter. Durations
and numbers are formatted by Babel too, in the reader's language ("2 мин 5 с", "1 hr 5 min");
CLDR has no Tajik unit names, so Tajik's come from its catalog (``unit_*``).
"""

from __future__ import annotations

from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from babel import Locale
from babel.numbers import format_decimal
from babel.units import format_unit

from knowledge.lang import LANGS

LOCALES = Path(__file__).parent / "locales"
UNITS = (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))
OWN_UNIT_NAMES = frozenset({"tg"})  # languages whose unit names CLDR lacks

Text = str | dict[str, str]


@cache
def catalog(lang: str) -> dict[str, Text]:
    data = yaml.safe_load((LOCALES / f"{lang}.yaml").read_text(encoding="utf-8"))
    return {str(k): _clean(v) for k, v in data.items()}


def _clean(value: Any) -> Text:
    if isinstance(value, dict):
        return {str(k): str(v).rstrip("\n") for k, v in value.items()}
    return str(value).rstrip("\n")


@cache
def plural_categories(lang: str) -> frozenset[str]:
    """The plural categories a language's texts must give ("other" always)."""
    return Locale.parse(lang).plural_form.tags | {"other"}


def plural_category(lang: str, count: float) -> str:
    return Locale.parse(lang).plural_form(abs(count))


def t(lang: str | None, key: str, /, **params: object) -> str:
    """The text ``key`` in ``lang`` (Russian when the language is unknown), formatted; a
    plural text in the form for ``count``."""
    lang = lang if lang in LANGS else "ru"
    text = catalog(lang)[key]
    if isinstance(text, dict):
        count = params.get("count")
        if not isinstance(count, int | float):
            raise TypeError(f"text {key!r} is a plural and needs a number count=")
        text = text.get(plural_category(lang, count), text["other"])
        params = {**params, "count": number(lang, count)}
    return text.format(**params) if params else text


def number(lang: str | None, value: float) -> str:
    """A number as the language writes it: "12 345", "12,345"."""
    return format_decimal(value, locale=lang if lang in LANGS else "ru")


def duration(lang: str | None, seconds: float | timedelta, parts: int = 2) -> str:
    """A duration in at most ``parts`` units, largest first: "47 с", "2 мин 5 с", "1 ч 5 мин"."""
    lang = lang if lang in LANGS else "ru"
    if isinstance(seconds, timedelta):
        seconds = seconds.total_seconds()
    left = max(0, round(seconds))
    shown: list[str] = []
    for unit, size in UNITS:
        amount, left = divmod(left, size)
        if amount and len(shown) < parts:
            shown.append(_unit(lang, amount, unit))
        elif shown:
            break  # "1 ч 5 мин", never "1 ч 0 мин 5 с"
    return " ".join(shown) or _unit(lang, 0, "second")


def _unit(lang: str, amount: int, unit: str) -> str:
    if lang in OWN_UNIT_NAMES:
        return t(lang, f"unit_{unit}", count=amount)
    return format_unit(amount, f"duration-{unit}", length="short", locale=lang)


def language_from_code(code: str | None, default: str = "ru") -> str:
    """ru/tg/en from Telegram's language_code ("tg", "ru-RU", "en-US", ...)."""
    if code:
        base = code.split("-")[0].lower()
        if base in LANGS:
            return base
        if base in ("uk", "be", "kk", "ky", "uz"):  # neighbours who mostly read Russian
            return "ru"
    return default
