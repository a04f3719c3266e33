"""Canned replies: the one placeholder their text may have, how it is filled, and what a reply
gets wrong beyond the schema (shown by ``dono check`` with the file and line)."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Mapping

from knowledge.html import plain_text_problems
from knowledge.lang import LANGS
from knowledge.problem import Problem
from knowledge.schema import Reply

NAME = "{name}"  # the subscriber's first name; the only placeholder replaced
_PLACEHOLDER = re.compile(r"\{\s*([^{}\s]{1,40})\s*\}")

Loc = tuple[str | int, ...]


def fill(text: str, first_name: str) -> str:
    """A reply's text as the subscriber gets it: ``{name}`` is their first name, escaped for
    HTML; nothing else in the text is read as a placeholder."""
    return text.replace(NAME, html.escape(first_name))


def placeholder_problems(text: str) -> list[str]:
    """``{nmae}`` or ``{ name }`` would reach the subscriber as written: only ``{name}`` is
    replaced."""
    return [
        f'"{m.group(0)}" is not a placeholder: only {NAME} is replaced (the subscriber\'s '
        "first name)"
        for m in _PLACEHOLDER.finditer(text)
        if m.group(0) != NAME
    ]


def reply_checks(
    name: str,
    lines: Mapping[Loc, int],
    replies: Iterable[Reply],
    text_problems: Callable[[str], list[str]],
) -> Iterable[Problem]:
    """One file's replies: titles are plain text (they are buttons), texts are HTML Telegram
    takes and short enough (``text_problems``, the answers' own check) with no placeholder but
    ``{name}``."""
    for i, reply in enumerate(replies):
        at: Loc = ("replies", i)
        for lang in LANGS:
            title_line = lines.get((*at, "title", lang), lines.get(at, 1))
            for issue in plain_text_problems(getattr(reply.title, lang)):
                yield Problem(name, title_line, f'reply "{reply.id}": title.{lang}: {issue}')
            text = getattr(reply.text, lang)
            text_line = lines.get((*at, "text", lang), lines.get(at, 1))
            for issue in [*text_problems(text), *placeholder_problems(text)]:
                yield Problem(name, text_line, f'reply "{reply.id}": text.{lang}: {issue}')
