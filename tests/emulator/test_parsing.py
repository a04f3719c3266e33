"""HTML / MarkdownV2 / Markdown parsing into text + entities, and Telegram's error texts."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.errors import EntityParseError
from emulator.html import escape, parse_html
from emulator.markdown import parse_markdown, parse_markdown_v2
from emulator.text import detect_entities, finalize, utf16_len


def test_html_nested_entities_and_utf16_offsets() -> None:
    text, entities = parse_html(
        '😀 <b>bold <i>both</i></b> <a href="https://x.io/?a=1&amp;b=2">l</a>'
    )
    assert text == "😀 bold both l"
    assert entities == [
        {"offset": 3, "length": 9, "type": "bold"},
        {"offset": 8, "length": 4, "type": "italic"},
        {"offset": 13, "length": 1, "type": "text_link", "url": "https://x.io/?a=1&b=2"},
    ]


def test_html_all_allowed_tags() -> None:
    src = (
        "<strong>a</strong><em>b</em><u>c</u><ins>d</ins><s>e</s><strike>f</strike><del>g</del>"
        '<span class="tg-spoiler">h</span><tg-spoiler>i</tg-spoiler><code>j</code>'
        '<pre><code class="language-python">k</code></pre><blockquote>l</blockquote>'
        '<blockquote expandable>m</blockquote><tg-emoji emoji-id="5368324170671202286">n</tg-emoji>'
    )
    text, entities = parse_html(src)
    assert text == "abcdefghijklmn"
    kinds = [e["type"] for e in entities]
    assert kinds == [
        "bold",
        "italic",
        "underline",
        "underline",
        "strikethrough",
        "strikethrough",
        "strikethrough",
        "spoiler",
        "spoiler",
        "code",
        "pre",
        "blockquote",
        "expandable_blockquote",
        "custom_emoji",
    ]
    assert entities[10]["language"] == "python"


def test_html_entities_decoded_and_bare_ampersand_kept() -> None:
    text, entities = parse_html("1 &lt; 2 &amp;&amp; 3 &gt; 2 &quot;q&quot; &#128512; &#x41; AT&T")
    assert text == '1 < 2 && 3 > 2 "q" 😀 A AT&T'
    assert entities == []


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("<div>x</div>", 'Unsupported start tag "div" at byte offset 0'),
        ("ok</b>", "Unexpected end tag at byte offset 2"),
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("привет <br/>", 'Unsupported start tag "br/" at byte offset 13'),
        ("<b", "Unclosed start tag at byte offset 0"),
        ('<span class="x">s</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
    ],
)
def test_html_errors_match_telegram(source: str, message: str) -> None:
    with pytest.raises(EntityParseError) as info:
        parse_html(source)
    assert str(info.value) == message


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60))
def test_escaped_text_round_trips(raw: str) -> None:
    text, entities = parse_html(escape(raw))
    assert text == raw
    assert entities == []


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30))
def test_bold_entity_covers_whole_text(raw: str) -> None:
    text, entities = parse_html(f"<b>{escape(raw)}</b>")
    assert text == raw
    assert entities == [{"offset": 0, "length": utf16_len(raw), "type": "bold"}]


def test_markdown_v2() -> None:
    text, entities = parse_markdown_v2(
        "*bold* _it_ __under__ ~st~ ||sp|| `code` [link](https://e.com/a\\)b) 1\\.5"
    )
    assert text == "bold it under st sp code link 1.5"
    types = [e["type"] for e in entities]
    assert types == [
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "spoiler",
        "code",
        "text_link",
    ]
    assert entities[-1]["url"] == "https://e.com/a)b"


def test_markdown_v2_errors() -> None:
    with pytest.raises(EntityParseError, match=r"Character '\.' is reserved"):
        parse_markdown_v2("Price 1.5")
    with pytest.raises(EntityParseError, match="Can't find end of Bold entity at byte offset 0"):
        parse_markdown_v2("*bold")


def test_markdown_v2_pre_and_blockquote() -> None:
    text, entities = parse_markdown_v2("```python\nprint(1)\n```\n>quoted\n>more\nafter")
    assert text == "print(1)\n\nquoted\nmore\nafter"
    assert {"offset": 0, "length": 9, "type": "pre", "language": "python"} in entities
    assert {"offset": 10, "length": 11, "type": "blockquote"} in entities


def test_legacy_markdown() -> None:
    text, entities = parse_markdown("*b* _i_ `c` [t](http://x.y)")
    assert text == "b i c t"
    assert [e["type"] for e in entities] == ["bold", "italic", "code", "text_link"]
    with pytest.raises(EntityParseError, match="Can't find end of the entity starting at byte"):
        parse_markdown("*open")


def test_auto_entities_and_trimming() -> None:
    text, entities = finalize(
        "  /start@dono_bot see https://a.b/c, mail me@x.org #tag @someone \n", []
    )
    assert text == "/start@dono_bot see https://a.b/c, mail me@x.org #tag @someone"
    assert [e["type"] for e in entities] == ["bot_command", "url", "email", "hashtag", "mention"]
    code = [{"offset": 0, "length": 6, "type": "code"}]
    assert detect_entities("/start", code) == []
