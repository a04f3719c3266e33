"""UTF-16 offset helpers, whitespace trimming and automatic entity detection for message text."""

from __future__ import annotations

import re
from typing import Any

Entity = dict[str, Any]

# Entity types that Telegram's automatic detection never overlaps.
_FORMATTING_ONLY = {"bold", "italic", "underline", "strikethrough", "spoiler", "blockquote"}
_TRIM_CHARS = " \t\r\n\x0b\x0c"

_AUTO_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("url", re.compile(r"\b(?:https?://|www\.)[^\s<>\"']+[^\s<>\"'.,;:!?)\]]", re.IGNORECASE)),
    ("email", re.compile(r"\b[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")),
    ("bot_command", re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{5,32})?(?!\w)")),
    ("mention", re.compile(r"(?<![\w@])@[A-Za-z][A-Za-z0-9_]{3,31}(?![\w@])")),
    ("hashtag", re.compile(r"(?<![\w#])#\w*[^\W\d]\w*")),
]


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units (Telegram's unit for offsets and limits)."""
    return len(text.encode("utf-16-le")) // 2


def utf16_slice(text: str, offset: int, length: int) -> str:
    """Substring addressed by UTF-16 offset and length."""
    raw = text.encode("utf-16-le")
    return raw[offset * 2 : (offset + length) * 2].decode("utf-16-le", errors="replace")


def _utf16_index(text: str) -> list[int]:
    """Prefix sums: UTF-16 offset of every code point index (plus the end)."""
    out = [0]
    total = 0
    for ch in text:
        total += 2 if ord(ch) > 0xFFFF else 1
        out.append(total)
    return out


def sort_entities(entities: list[Entity]) -> list[Entity]:
    """Order like Telegram: by offset, outer (longer) entities first."""
    return sorted(entities, key=lambda e: (e["offset"], -e["length"]))


def trim(text: str, entities: list[Entity]) -> tuple[str, list[Entity]]:
    """Strip leading/trailing whitespace as Telegram does, shifting and clipping entities."""
    stripped_left = text.lstrip(_TRIM_CHARS)
    lead = utf16_len(text) - utf16_len(stripped_left)
    result = stripped_left.rstrip(_TRIM_CHARS)
    size = utf16_len(result)
    fixed: list[Entity] = []
    for entity in entities:
        start = max(entity["offset"] - lead, 0)
        end = min(entity["offset"] + entity["length"] - lead, size)
        if end > start:
            fixed.append({**entity, "offset": start, "length": end - start})
    return result, fixed


def clean_entities(text: str, entities: list[Entity]) -> list[Entity]:
    """Drop malformed or out-of-range entities supplied explicitly by a client."""
    size = utf16_len(text)
    fixed: list[Entity] = []
    for entity in entities:
        if not isinstance(entity, dict) or not isinstance(entity.get("type"), str):
            continue
        try:
            offset = int(entity.get("offset", -1))
            length = int(entity.get("length", 0))
        except (TypeError, ValueError):
            continue
        if offset < 0 or length <= 0 or offset >= size:
            continue
        fixed.append({**entity, "offset": offset, "length": min(length, size - offset)})
    return fixed


def detect_entities(text: str, existing: list[Entity]) -> list[Entity]:
    """Telegram-style automatic url/email/mention/bot_command/hashtag entities.

    Automatic entities never overlap explicit non-formatting entities (code, links, ...).
    """
    index = _utf16_index(text)
    blocked = [
        (e["offset"], e["offset"] + e["length"])
        for e in existing
        if e["type"] not in _FORMATTING_ONLY
    ]
    found: list[Entity] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern in _AUTO_PATTERNS:
        for match in pattern.finditer(text):
            start, end = index[match.start()], index[match.end()]
            span = (start, end)
            if any(s < end and start < e for s, e in blocked + taken):
                continue
            taken.append(span)
            found.append({"offset": start, "length": end - start, "type": kind})
    return found


def finalize(text: str, entities: list[Entity]) -> tuple[str, list[Entity]]:
    """Trim, add automatic entities and sort: the text/entities Telegram would store."""
    text, entities = trim(text, entities)
    entities = entities + detect_entities(text, entities)
    return text, sort_entities(entities)
