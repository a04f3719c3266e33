"""What a knowledge-base admin's mistake most likely was, said so they can fix it."""

from __future__ import annotations

import re


def syntax_hint(text: str, line: int) -> str:
    """What usually causes a syntax error on that line."""
    lines = text.splitlines()
    here = lines[line - 1] if 0 < line <= len(lines) else ""
    if "\t" in here:
        return " (a tab: YAML indents with spaces only)"
    if ": " in here.split(":", 1)[-1]:
        return ' (a ": " inside text makes YAML read a key: put the text in quotes)'
    return ""


_ID_LINE = re.compile(rb"^[ \t-]*id:[ \t]*[\"']?([a-z][a-z0-9_]*)", re.MULTILINE)


def ids_in(raw: bytes) -> set[str]:
    """The ids a file seems to define, read line by line: what a file YAML can't parse
    (or whose entries are invalid) would define once fixed."""
    return {m.group(1).decode() for m in _ID_LINE.finditer(raw)}
