"""Telegram's length limits, counted as Telegram counts them: in UTF-16 code units."""

from __future__ import annotations

MESSAGE_TEXT = 4096  # sendMessage/editMessageText text, after entities are parsed
CAPTION = 1024  # media captions
TOPIC_TITLE = 128  # createForumTopic/editForumTopic name
CALLBACK_ANSWER = 200  # answerCallbackQuery text
CALLBACK_DATA = 64  # inline button callback_data, in bytes (UTF-8), not UTF-16


def utf16_len(text: str) -> int:
    """The length Telegram sees: an emoji outside the BMP (😀) counts 2, a letter 1."""
    return len(text.encode("utf-16-le")) // 2


def cut_utf16(text: str, limit: int, ellipsis: str = "") -> str:
    """``text`` if it fits in ``limit`` UTF-16 units, else its longest prefix that fits with
    ``ellipsis`` after it; never half of a surrogate pair (an emoji is kept or dropped whole).
    """
    if utf16_len(text) <= limit:
        return text
    room = limit - utf16_len(ellipsis)
    if room < 0:
        raise ValueError(f"the ellipsis {ellipsis!r} alone is longer than {limit} units")
    return text[: prefix_fitting(text, room)].rstrip() + ellipsis


def prefix_fitting(text: str, limit: int) -> int:
    """How many characters (code points) of ``text`` fit in ``limit`` UTF-16 units."""
    units = 0
    for i, ch in enumerate(text):
        units += 2 if ord(ch) > 0xFFFF else 1
        if units > limit:
            return i
    return len(text)
