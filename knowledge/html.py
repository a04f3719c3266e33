"""Checks text as Telegram's HTML parse mode reads it: what sendMessage would refuse, and why.

The rules follow Telegram's own parser (tdlib's ``parse_html``): a ``<`` always starts a tag,
whose name runs to a space or ``>``; only the documented tags exist; there are no
self-closing tags (``<b/>`` is a tag named ``b/``); every tag is closed in order. On top of
what Telegram refuses, ``html_problems`` also reports what it accepts but shows wrongly
(a bare ``&``, ``<a>`` without ``href``).
"""

from __future__ import annotations

import re

ALLOWED_TAGS = frozenset(
    [
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "a",
        "code",
        "pre",
        "tg-spoiler",
        "tg-emoji",
        "span",
        "blockquote",
    ]
)
_SPACES = " \t\n\r\x0b\x0c"
_BAD_AMP = re.compile(r"&(?!(?:#\d{1,7}|#x[0-9a-fA-F]{1,6}|lt|gt|amp|quot);)")
_ENTITY = re.compile(r"&(?:#\d{1,7}|#x[0-9a-fA-F]{1,6}|lt|gt|amp|quot);")


def _tag(text: str, begin: int, end: int) -> str:
    """The tag as written, shortened for a message."""
    written = text[begin:end]
    return written if len(written) <= 40 else written[:37] + "..."


def telegram_refuses(text: str) -> str | None:
    """Why Telegram would answer ``can't parse entities`` to ``text``, or None if it parses."""
    n, i = len(text), 0
    stack: list[str] = []
    while i < n:
        if text[i] != "<":
            i = text.find("<", i)
            if i < 0:
                break
            continue
        begin = i
        if i + 1 < n and text[i + 1] == "/":  # end tag
            j = i + 2
            while j < n and text[j] not in _SPACES and text[j] != ">":
                j += 1
            name = text[i + 2 : j].lower()
            while j < n and text[j] in _SPACES:
                j += 1
            if not stack:
                return f"{_tag(text, begin, j + 1)} closes nothing (no tag is open there)"
            if j >= n or text[j] != ">":
                return f"malformed end tag {_tag(text, begin, j + 1)!r} (write it as </tag>)"
            if name and name != stack[-1]:
                return f"</{name}> does not close an open tag (expected </{stack[-1]}>)"
            stack.pop()
            i = j + 1
            continue
        j = i + 1
        while j < n and text[j] not in _SPACES and text[j] != ">":
            j += 1
        name = text[i + 1 : j].lower()
        if not name:
            return "a bare '<' must be written &lt;"
        if j >= n:
            return (
                f"{_tag(text, begin, j)} is an unfinished tag; "
                "a '<' that is not a tag must be written &lt;"
            )
        if name not in ALLOWED_TAGS:
            if name.endswith("/") and name[:-1] in ALLOWED_TAGS:
                return f"<{name}> is not allowed: Telegram has no self-closing tags"
            if not name[0].isalpha():
                return "a bare '<' must be written &lt;"
            return f"tag <{name}> is not allowed in Telegram HTML"
        parsed = _attributes(text, j)
        if parsed is None:
            return f"<{name} ...> is never finished with '>'"
        attrs, i = parsed
        if name == "span" and attrs.get("class") != "tg-spoiler":
            return '<span> is allowed only as <span class="tg-spoiler">'
        stack.append(name)
    if stack:
        return f"<{stack[-1]}> is never closed"
    return None


def _attributes(text: str, i: int) -> tuple[dict[str, str], int] | None:
    """A start tag's attributes from ``i`` and the index after its '>'; None if it never ends."""
    n = len(text)
    attrs: dict[str, str] = {}
    while True:
        while i < n and text[i] in _SPACES:
            i += 1
        if i >= n:
            return None
        if text[i] == ">":
            return attrs, i + 1
        start = i
        while i < n and text[i] not in _SPACES and text[i] not in "=>":
            i += 1
        name = text[start:i].lower()
        while i < n and text[i] in _SPACES:
            i += 1
        if i >= n or text[i] != "=":
            attrs[name] = ""  # a valueless attribute: <blockquote expandable>
            continue
        i += 1
        while i < n and text[i] in _SPACES:
            i += 1
        if i >= n:
            return None
        if text[i] in "\"'":
            end = text.find(text[i], i + 1)
            if end < 0:
                return None
            attrs[name] = text[i + 1 : end]
            i = end + 1
        else:
            start = i
            while i < n and text[i] not in _SPACES and text[i] != ">":
                i += 1
            attrs[name] = text[start:i]


def html_problems(text: str) -> list[str]:
    """What is wrong with ``text`` as Telegram HTML; empty when it is fine."""
    errors = []
    refused = telegram_refuses(text)
    if refused is not None:
        errors.append(refused)
    if refused is None and re.search(r"<a(?=[\s>])(?![^>]*\bhref\s*=\s*[\"']?[^\s\"'>])", text):
        errors.append("<a> needs an href")
    if _BAD_AMP.search(text):
        errors.append("a bare '&' must be written &amp;")
    return errors


def plain_text_problems(text: str) -> list[str]:
    """Problems of a text that Telegram shows both as HTML (inserted into a message) and as
    plain text (a button label): it must read the same in both, so no tags, no entities."""
    if "<" in text:
        return ["'<' cannot be used here (the text goes into HTML messages and button labels)"]
    if _ENTITY.search(text):
        return [
            "HTML entities such as &amp; cannot be used here (buttons would show them as written)"
        ]
    return []
