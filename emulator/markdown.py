"""Parsers for Telegram's MarkdownV2 and legacy Markdown parse modes (text + entities)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from emulator.errors import EntityParseError
from emulator.text import Entity, sort_entities, utf16_len

RESERVED_V2 = frozenset("_*[]()~`>#+-=|{}.!")
_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}


@dataclass
class _Frame:
    kind: str
    offset: int  # UTF-16 offset in output
    source_index: int  # index in the source where the markup started
    language: str | None = None


def _byte_offset(src: str, index: int) -> int:
    return len(src[:index].encode("utf-8"))


class _V2:
    def __init__(self, src: str) -> None:
        self.src = src
        self.out: list[str] = []
        self.pos16 = 0
        self.stack: list[_Frame] = []
        self.entities: list[Entity] = []
        self.quote_start: int | None = None
        self.quote_expandable = False
        self.last_line_end = 0

    def emit(self, chunk: str) -> None:
        self.out.append(chunk)
        self.pos16 += utf16_len(chunk)

    def add(self, kind: str, offset: int, **extra: Any) -> None:
        length = self.pos16 - offset
        if length > 0:
            self.entities.append({"offset": offset, "length": length, "type": kind, **extra})

    def reserved(self, ch: str) -> EntityParseError:
        return EntityParseError(
            f"Character '{ch}' is reserved and must be escaped with the preceding '\\'"
        )

    def close_quote(self, end: int) -> None:
        if self.quote_start is not None:
            kind = "expandable_blockquote" if self.quote_expandable else "blockquote"
            length = end - self.quote_start
            if length > 0:
                self.entities.append({"offset": self.quote_start, "length": length, "type": kind})
        self.quote_start = None
        self.quote_expandable = False

    def line_start(self, i: int) -> int:
        """Handle ``>``/``**>`` blockquote markers at the beginning of a line."""
        src = self.src
        if self.stack:
            return i
        if src.startswith("**>", i):
            if self.quote_start is None:
                self.quote_start = self.pos16
            self.quote_expandable = True
            return i + 3
        if src.startswith(">", i):
            if self.quote_start is None:
                self.quote_start = self.pos16
            return i + 1
        self.close_quote(self.last_line_end)
        return i

    def run(self) -> tuple[str, list[Entity]]:
        src, n = self.src, len(self.src)
        i = self.line_start(0)
        while i < n:
            ch = src[i]
            if ch == "\\" and i + 1 < n and 0 < ord(src[i + 1]) <= 126:
                self.emit(src[i + 1])
                i += 2
                continue
            top = self.stack[-1] if self.stack else None
            if top is not None and top.kind in ("code", "pre"):
                i = self.in_code(top, i)
                continue
            if ch == "\n":
                self.last_line_end = self.pos16
                self.emit(ch)
                i = self.line_start(i + 1)
                continue
            if self.quote_expandable and src.startswith("||", i) and self.at_line_end(i + 2):
                i += 2  # expandable blockquote terminator
                continue
            if ch not in RESERVED_V2:
                self.emit(ch)
                i += 1
                continue
            i = self.markup(ch, i, top)
        if self.stack:
            top = self.stack[-1]
            raise EntityParseError(
                f"Can't find end of {_NAMES[top.kind]} entity at byte offset "
                f"{_byte_offset(src, top.source_index)}"
            )
        self.close_quote(self.pos16)
        return "".join(self.out), sort_entities(self.entities)

    def at_line_end(self, i: int) -> bool:
        return i >= len(self.src) or self.src[i] == "\n"

    def in_code(self, top: _Frame, i: int) -> int:
        src = self.src
        if top.kind == "pre" and src.startswith("```", i):
            self.stack.pop()
            extra = {"language": top.language} if top.language else {}
            self.add("pre", top.offset, **extra)
            return i + 3
        if top.kind == "code" and src[i] == "`":
            self.stack.pop()
            self.add("code", top.offset)
            return i + 1
        self.emit(src[i])
        return i + 1

    def markup(self, ch: str, i: int, top: _Frame | None) -> int:
        src = self.src
        if ch == "_" and src.startswith("__", i):
            return self.toggle("underline", i, 2, top)
        if ch == "_":
            return self.toggle("italic", i, 1, top)
        if ch == "*":
            return self.toggle("bold", i, 1, top)
        if ch == "~":
            return self.toggle("strikethrough", i, 1, top)
        if ch == "|" and src.startswith("||", i):
            return self.toggle("spoiler", i, 2, top)
        if ch == "`":
            if src.startswith("```", i):
                j = i + 3
                end = src.find("\n", j)
                language = None
                if end >= 0 and src[j:end].strip() and " " not in src[j:end].strip():
                    language = src[j:end].strip()
                    j = end + 1
                elif end == j:
                    j = end + 1
                self.stack.append(_Frame("pre", self.pos16, i, language))
                return j
            self.stack.append(_Frame("code", self.pos16, i))
            return i + 1
        if ch == "[":
            self.stack.append(_Frame("text_link", self.pos16, i))
            return i + 1
        if ch == "!" and src.startswith("![", i):
            self.stack.append(_Frame("custom_emoji", self.pos16, i))
            return i + 2
        if ch == "]" and top is not None and top.kind in ("text_link", "custom_emoji"):
            return self.close_link(top, i)
        raise self.reserved(ch)

    def toggle(self, kind: str, i: int, width: int, top: _Frame | None) -> int:
        if top is not None and top.kind == kind:
            self.stack.pop()
            self.add(kind, top.offset)
        else:
            self.stack.append(_Frame(kind, self.pos16, i))
        return i + width

    def close_link(self, top: _Frame, i: int) -> int:
        src, n = self.src, len(self.src)
        self.stack.pop()
        i += 1
        if i >= n or src[i] != "(":
            return i  # no URL part: the text stays, no entity
        i += 1
        url: list[str] = []
        while i < n and src[i] != ")":
            if src[i] == "\\" and i + 1 < n and 0 < ord(src[i + 1]) <= 126:
                url.append(src[i + 1])
                i += 2
            else:
                url.append(src[i])
                i += 1
        if i >= n:
            raise EntityParseError(
                f"Can't find end of a url at byte offset {_byte_offset(src, top.source_index)}"
            )
        target = "".join(url)
        if top.kind == "custom_emoji":
            emoji_id = target.removeprefix("tg://emoji?id=")
            self.add("custom_emoji", top.offset, custom_emoji_id=emoji_id)
        elif target.startswith("tg://user?id=") and _user_id(target[13:]):
            user = {"id": int(target[13:]), "is_bot": False, "first_name": ""}
            self.add("text_mention", top.offset, user=user)
        elif target:
            self.add("text_link", top.offset, url=target)
        return i + 1


def parse_markdown_v2(src: str) -> tuple[str, list[Entity]]:
    """Parse MarkdownV2 into ``(plain_text, entities)`` or raise EntityParseError."""
    return _V2(src).run()


def parse_markdown(src: str) -> tuple[str, list[Entity]]:
    """Parse legacy Markdown (``*bold*``, ``_italic_``, code, pre, ``[text](url)``)."""
    out: list[str] = []
    entities: list[Entity] = []
    pos16 = 0
    i, n = 0, len(src)

    def fail(begin: int) -> EntityParseError:
        return EntityParseError(
            f"Can't find end of the entity starting at byte offset {_byte_offset(src, begin)}"
        )

    while i < n:
        ch = src[i]
        if ch == "\\" and i + 1 < n and src[i + 1] in "_*`[":
            out.append(src[i + 1])
            pos16 += 1
            i += 2
            continue
        if ch not in "_*`[":
            out.append(ch)
            pos16 += utf16_len(ch)
            i += 1
            continue
        begin = i
        if ch == "[":
            close = src.find("]", i + 1)
            if close < 0:
                raise fail(begin)
            label = src[i + 1 : close]
            if close + 1 < n and src[close + 1] == "(":
                end = src.find(")", close + 2)
                if end < 0:
                    raise fail(begin)
                url = src[close + 2 : end]
                i = end + 1
            else:
                url = ""
                i = close + 1
            length = utf16_len(label)
            if url and length:
                entities.append(
                    {"offset": pos16, "length": length, "type": "text_link", "url": url}
                )
            out.append(label)
            pos16 += length
            continue
        if src.startswith("```", i):
            end = src.find("```", i + 3)
            if end < 0:
                raise fail(begin)
            body = src[i + 3 : end]
            language = None
            first, sep, rest = body.partition("\n")
            if sep and first and " " not in first:
                language, body = first, rest
            length = utf16_len(body)
            if length:
                entity: Entity = {"offset": pos16, "length": length, "type": "pre"}
                if language:
                    entity["language"] = language
                entities.append(entity)
            out.append(body)
            pos16 += length
            i = end + 3
            continue
        end = src.find(ch, i + 1)
        if end < 0:
            raise fail(begin)
        body = src[i + 1 : end]
        length = utf16_len(body)
        kind = {"*": "bold", "_": "italic", "`": "code"}[ch]
        if length:
            entities.append({"offset": pos16, "length": length, "type": kind})
        out.append(body)
        pos16 += length
        i = end + 1
    return "".join(out), sort_entities(entities)


def _user_id(text: str) -> bool:
    """Whether ``text`` is a user id Telegram would read (ASCII digits, 64-bit)."""
    return text.isascii() and text.isdigit() and len(text) <= 19
