"""Checks that an answer is Telegram HTML that sendMessage will accept."""

from __future__ import annotations

import re
from html.parser import HTMLParser

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
_BAD_AMP = re.compile(r"&(?!(?:#\d{1,7}|#x[0-9a-fA-F]{1,6}|lt|gt|amp|quot);)")


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            self.errors.append(f"tag <{tag}> is not allowed in Telegram HTML")
            return
        if tag == "a" and not dict(attrs).get("href"):
            self.errors.append("<a> needs an href")
        if tag == "span" and dict(attrs).get("class") != "tg-spoiler":
            self.errors.append('<span> is allowed only as <span class="tg-spoiler">')
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag not in ALLOWED_TAGS:
            return
        if not self.stack or self.stack[-1] != tag:
            expected = f"</{self.stack[-1]}>" if self.stack else "no closing tag"
            self.errors.append(f"</{tag}> does not close an open tag (expected {expected})")
            if tag in self.stack:
                del self.stack[self.stack.index(tag) :]
            return
        self.stack.pop()


def html_problems(text: str) -> list[str]:
    """What is wrong with ``text`` as Telegram HTML; empty when it is fine."""
    checker = _Checker()
    try:
        checker.feed(text)
        checker.close()
    except Exception as exc:  # HTMLParser raises on some broken markup
        return [f"unparsable HTML: {exc}"]
    errors = checker.errors
    errors.extend(f"<{tag}> is never closed" for tag in checker.stack)
    if _BAD_AMP.search(text):
        errors.append("a bare '&' must be written &amp;")
    if re.search(r"<(?![a-zA-Z/])", text):
        errors.append("a bare '<' must be written &lt;")
    return errors
