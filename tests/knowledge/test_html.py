"""The KB's HTML check refuses exactly what Telegram refuses (the emulator's parser, which
follows Telegram's, is the referee), plus what Telegram accepts but shows wrongly."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.errors import EntityParseError
from emulator.html import parse_html
from knowledge.html import html_problems, plain_text_problems, telegram_refuses

REFUSED = [
    "<b/>",  # no self-closing tags: a tag named "b/"
    "x<y",  # '<' always starts a tag
    "1 < 2",
    "<div>x</div>",
    "<br>",
    "<b>x",
    "<b>x</i>",
    "</b>",
    "<span>x</span>",
    "<!-- a comment -->",
    "<i>x</ i>",
    '<a href="x>y</a>',
]
ACCEPTED = [
    "<b>x</b>",
    "<b >x</b >",
    '<a href="https://example.com/?a=1&amp;b=2">x</a>',
    '<span class="tg-spoiler">x</span>',
    '<pre><code class="language-python">print(1 &lt; 2)</code></pre>',
    "<blockquote expandable>x</blockquote>",
    "x &gt; y, 1 &lt; 2",
]


def telegram_accepts(text: str) -> bool:
    try:
        parse_html(text)
    except EntityParseError:
        return False
    return True


@pytest.mark.parametrize("text", REFUSED)
def test_what_telegram_refuses_is_refused(text: str) -> None:
    assert not telegram_accepts(text)
    assert telegram_refuses(text) is not None
    assert html_problems(text)


@pytest.mark.parametrize("text", ACCEPTED)
def test_what_telegram_accepts_passes(text: str) -> None:
    assert telegram_accepts(text)
    assert telegram_refuses(text) is None
    assert html_problems(text) == []


PIECES = ["<", ">", "/", "b", "i", "a", " ", "x", '"', "'", "=", "&", "amp;", "span", "pre"]


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from([*PIECES, "<b>", "</b>", "<i>", "</i>", "href="]), max_size=14))
def test_same_verdict_as_telegram(parts: list[str]) -> None:
    text = "".join(parts)
    assert (telegram_refuses(text) is None) == telegram_accepts(text), text


def test_messages_say_what_to_fix() -> None:
    assert html_problems("<b/>") == ["<b/> is not allowed: Telegram has no self-closing tags"]
    assert "&lt;" in html_problems("x<y")[0]
    assert html_problems("<b>x") == ["<b> is never closed"]


def test_titles_read_the_same_in_buttons_and_messages() -> None:
    assert plain_text_problems("Тарифы & цены") == []
    assert plain_text_problems("📶 Интернет") == []
    assert plain_text_problems("<b>Тарифы</b>")
    assert plain_text_problems("a < b")
    assert plain_text_problems("Tom &amp; Jerry")
