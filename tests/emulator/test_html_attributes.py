"""Attribute values in Telegram HTML, read as Telegram reads them: what a renderer that does
not escape ``"`` produces is refused, an escaped quote is part of the value."""

from __future__ import annotations

import pytest

from emulator.errors import EntityParseError
from emulator.html import parse_html


@pytest.mark.parametrize(
    ("src", "error"),
    [
        (
            '<a href="https://x.io/?q="1"">l</a>',
            'Expected equal sign in declaration of an attribute of the tag "a" at byte offset 0',
        ),
        ("x <b bold>y</b>", 'of an attribute of the tag "b" at byte offset 2'),
        ('<a href=https://x.io/a"b>l</a>', "Unexpected end of name token at byte offset 8"),
    ],
)
def test_a_broken_attribute_is_refused(src: str, error: str) -> None:
    with pytest.raises(EntityParseError, match=error):
        parse_html(src)


def test_escaped_quotes_and_the_valueless_expandable_are_read() -> None:
    text, entities = parse_html(
        '<a href="https://x.io/?q=&quot;1&quot;">l</a> <pre><code class="language-py&quot;">c'
        "</code></pre> <blockquote expandable>q</blockquote> <a href=tg.me>t</a>"
    )
    assert text == "l c q t"
    assert entities[0]["url"] == 'https://x.io/?q="1"'
    assert entities[1]["language"] == 'py"'
    assert entities[2]["type"] == "expandable_blockquote"
    assert entities[3]["url"] == "tg.me"
