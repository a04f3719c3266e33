"""Parser for Telegram's HTML parse_mode: returns plain text plus MessageEntity dicts."""

# Only the tags the Bot API documents are accepted; anything else fails with the message
# Telegram gives (``Unsupported start tag "x" at byte offset N``, ...). Offsets in error
# messages are UTF-8 byte offsets into the source; entity offsets are UTF-16 code units.

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from emulator.errors import EntityParseError
from emulator.text import Entity, sort_entities, utf16_len

ALLOWED_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "a",
        "code",
        "pre",
        "blockquote",
        "tg-emoji",
    }
)
_SIMPLE = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
}
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_SPACES = " \t\n\r\x0b\x0c"


@dataclass
class _Open:
    tag: str
    attrs: dict[str, str]
    offset: int  # UTF-16 offset in the output where the entity starts
    language: str | None = None
    children: list[str] = field(default_factory=list)


def _byte_offset(src: str, index: int) -> int:
    return len(src[:index].encode("utf-8"))


def _decode_entity(src: str, i: int) -> tuple[str, int] | None:
    """Decode ``&...;`` at ``src[i]``; return (char, consumed) or None to keep a literal '&'."""
    end = src.find(";", i + 1, i + 12)
    if end < 0:
        return None
    body = src[i + 1 : end]
    if body in _NAMED:
        return _NAMED[body], end - i + 1
    if body.startswith("#") and len(body) > 1:
        try:
            code = int(body[2:], 16) if body[1] in "xX" else int(body[1:], 10)
        except ValueError:
            return None
        if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF:
            return chr(code), end - i + 1
    return None


class _Parser:
    def __init__(self, src: str) -> None:
        self.src = src
        self.out: list[str] = []
        self.pos16 = 0
        self.stack: list[_Open] = []
        self.entities: list[Entity] = []

    def emit(self, chunk: str) -> None:
        self.out.append(chunk)
        self.pos16 += utf16_len(chunk)

    def fail(self, message: str) -> EntityParseError:
        return EntityParseError(message)

    def run(self) -> tuple[str, list[Entity]]:
        src, n, i = self.src, len(self.src), 0
        while i < n:
            ch = src[i]
            if ch == "&":
                decoded = _decode_entity(src, i)
                if decoded is None:
                    self.emit("&")
                    i += 1
                else:
                    self.emit(decoded[0])
                    i += decoded[1]
            elif ch != "<":
                j = i
                while j < n and src[j] not in "<&":
                    j += 1
                self.emit(src[i:j])
                i = j
            elif i + 1 < n and src[i + 1] == "/":
                i = self.end_tag(i)
            else:
                i = self.start_tag(i)
        if self.stack:
            raise self.fail(
                f'Can\'t find end tag corresponding to start tag "{self.stack[-1].tag}"'
            )
        return "".join(self.out), sort_entities(self.entities)

    def start_tag(self, begin: int) -> int:
        src, n = self.src, len(self.src)
        i = begin + 1
        while i < n and src[i] not in _SPACES and src[i] != ">":
            i += 1
        if i >= n:
            raise self.fail(f"Unclosed start tag at byte offset {_byte_offset(src, begin)}")
        tag = src[begin + 1 : i].lower()
        if tag not in ALLOWED_TAGS:
            raise self.fail(
                f'Unsupported start tag "{tag}" at byte offset {_byte_offset(src, begin)}'
            )
        attrs: dict[str, str] = {}
        while True:
            while i < n and src[i] in _SPACES:
                i += 1
            if i >= n:
                raise self.fail(
                    f'Unclosed start tag "{tag}" at byte offset {_byte_offset(src, begin)}'
                )
            if src[i] == ">":
                break
            name_start = i
            while i < n and src[i] not in _SPACES and src[i] not in "=>":
                i += 1
            name = src[name_start:i].lower()
            while i < n and src[i] in _SPACES:
                i += 1
            if i >= n or src[i] != "=":
                if tag == "blockquote" and name == "expandable":
                    attrs[name] = ""  # the one valueless attribute Telegram knows
                    continue
                raise self.fail(
                    "Expected equal sign in declaration of an attribute of the tag "
                    f'"{tag}" at byte offset {_byte_offset(src, begin)}'
                )
            i += 1
            while i < n and src[i] in _SPACES:
                i += 1
            if i >= n:
                raise self.fail(
                    f'Unclosed start tag "{tag}" at byte offset {_byte_offset(src, begin)}'
                )
            value, i = self.attribute_value(i, begin)
            attrs[name] = value
        i += 1  # skip '>'
        if tag == "span" and attrs.get("class") != "tg-spoiler":
            raise self.fail(
                f'Tag "span" must have class "tg-spoiler" at byte offset {_byte_offset(src, begin)}'
            )
        self.stack.append(_Open(tag=tag, attrs=attrs, offset=self.pos16))
        return i

    def attribute_value(self, i: int, begin: int) -> tuple[str, int]:
        src, n = self.src, len(self.src)
        quote = src[i]
        if quote not in "'\"":
            # unquoted: a name token (letters, digits, periods, hyphens), as Telegram reads it
            start = i
            while i < n and ((src[i].isascii() and src[i].isalnum()) or src[i] in ".-"):
                i += 1
            if i < n and src[i] not in _SPACES and src[i] != ">":
                raise self.fail(
                    f"Unexpected end of name token at byte offset {_byte_offset(src, start)}"
                )
            return src[start:i].lower(), i
        i += 1
        value: list[str] = []
        while i < n and src[i] != quote:
            if src[i] == "&" and (decoded := _decode_entity(src, i)) is not None:
                value.append(decoded[0])
                i += decoded[1]
            else:
                value.append(src[i])
                i += 1
        if i >= n:
            raise self.fail(f"Unclosed start tag at byte offset {_byte_offset(src, begin)}")
        return "".join(value), i + 1

    def end_tag(self, begin: int) -> int:
        src, n = self.src, len(self.src)
        if not self.stack:
            raise self.fail(f"Unexpected end tag at byte offset {_byte_offset(src, begin)}")
        i = begin + 2
        while i < n and src[i] not in _SPACES and src[i] != ">":
            i += 1
        name = src[begin + 2 : i].lower()
        while i < n and src[i] in _SPACES:
            i += 1
        if i >= n or src[i] != ">":
            raise self.fail(f"Unclosed end tag at byte offset {_byte_offset(src, begin)}")
        top = self.stack[-1]
        if name and name != top.tag:
            raise self.fail(
                f"Unmatched end tag at byte offset {_byte_offset(src, begin)}, "
                f'expected "</{top.tag}>", found "</{name}>"'
            )
        self.stack.pop()
        self.close(top)
        return i + 1

    def close(self, item: _Open) -> None:
        length = self.pos16 - item.offset
        parent = self.stack[-1] if self.stack else None
        entity: dict[str, Any] | None = None
        if item.tag in _SIMPLE:
            entity = {"type": _SIMPLE[item.tag]}
        elif item.tag == "a":
            href = item.attrs.get("href", "")
            if href.startswith("tg://user?id="):
                user_id = href.removeprefix("tg://user?id=")
                if user_id.isascii() and user_id.isdigit() and len(user_id) <= 19:
                    entity = {
                        "type": "text_mention",
                        "user": {"id": int(user_id), "is_bot": False, "first_name": ""},
                    }
            elif href:
                entity = {"type": "text_link", "url": href}
        elif item.tag == "code":
            language = item.attrs.get("class", "")
            if parent is not None and parent.tag == "pre":
                if language.startswith("language-") and len(language) > len("language-"):
                    parent.language = language.removeprefix("language-")
            else:
                entity = {"type": "code"}
        elif item.tag == "pre":
            entity = {"type": "pre"}
            if item.language:
                entity["language"] = item.language
        elif item.tag == "blockquote":
            kind = "expandable_blockquote" if "expandable" in item.attrs else "blockquote"
            entity = {"type": kind}
        elif item.tag == "tg-emoji":
            emoji_id = item.attrs.get("emoji-id", "")
            if emoji_id:
                entity = {"type": "custom_emoji", "custom_emoji_id": emoji_id}
        if entity is not None and length > 0:
            self.entities.append({"offset": item.offset, "length": length, **entity})


def parse_html(src: str) -> tuple[str, list[Entity]]:
    """Parse Telegram HTML into ``(plain_text, entities)`` or raise EntityParseError."""
    return _Parser(src).run()


def escape(text: str) -> str:
    """Escape text for Telegram HTML (``<``, ``>``, ``&``)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
