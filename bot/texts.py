"""UI texts per language, loaded from bot/locales/<lang>.yaml and looked up by key."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

from knowledge.lang import LANGS

LOCALES = Path(__file__).parent / "locales"


@cache
def catalog(lang: str) -> dict[str, str]:
    data = yaml.safe_load((LOCALES / f"{lang}.yaml").read_text(encoding="utf-8"))
    return {str(k): str(v).rstrip("\n") for k, v in data.items()}


def t(lang: str | None, key: str, /, **params: object) -> str:
    """The text ``key`` in ``lang`` (Russian when the language is unknown), formatted."""
    texts = catalog(lang if lang in LANGS else "ru")
    text = texts[key]
    return text.format(**params) if params else text


def language_from_code(code: str | None, default: str = "ru") -> str:
    """ru/tg/en from Telegram's language_code ("tg", "ru-RU", "en-US", ...)."""
    if code:
        base = code.split("-")[0].lower()
        if base in LANGS:
            return base
        if base in ("uk", "be", "kk", "ky", "uz"):  # neighbours who mostly read Russian
            return "ru"
    return default
