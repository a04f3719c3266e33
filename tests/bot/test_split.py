"""Long answers are split under Telegram's limit without breaking HTML."""

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.split import split_html
from knowledge.html import html_problems


def visible(text: str) -> str:
    return re.sub(r"<[^>]*>", "", text)


def test_short_text_is_one_message() -> None:
    assert split_html("<b>hi</b>") == ["<b>hi</b>"]


def test_splits_on_paragraphs() -> None:
    paras = [f"Paragraph {i} " + "word " * 150 for i in range(12)]
    text = "\n\n".join(p.strip() for p in paras)
    chunks = split_html(text, limit=1000)
    assert len(chunks) > 1
    assert all(len(c) <= 1000 for c in chunks)
    assert all(c.startswith("Paragraph") for c in chunks)  # every cut at a paragraph end


def test_open_tags_are_closed_and_reopened() -> None:
    text = "<b>" + "bold words " * 100 + "</b>"
    chunks = split_html(text, limit=300)
    assert len(chunks) >= 4
    for c in chunks:
        assert html_problems(c) == []
        assert c.startswith("<b>") and c.endswith("</b>")


def test_a_word_longer_than_the_limit_is_cut() -> None:
    chunks = split_html("x" * 10_000)
    assert [len(c) for c in chunks] == [4096, 4096, 1808]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["", "b", "i", "code"]),
            st.text(alphabet="абв xyz\n😀", min_size=0, max_size=300),
        ),
        max_size=30,
    ),
    st.integers(min_value=50, max_value=500),
)
def test_chunks_fit_and_keep_every_character(parts: list[tuple[str, str]], limit: int) -> None:
    text = "".join(f"<{t}>{s}</{t}>" if t else s for t, s in parts)
    chunks = split_html(text, limit=limit)
    for c in chunks:
        assert len(visible(c).encode("utf-16-le")) // 2 <= limit
        assert html_problems(c) == []
    squash = lambda s: re.sub(r"\s+", "", s)  # noqa: E731
    assert squash("".join(visible(c) for c in chunks)) == squash(visible(text))


def test_emoji_count_as_telegram_counts_them() -> None:
    """5,000 emoji are 10,000 UTF-16 units: three messages of at most 4,096 units each."""
    from bot.tglimits import utf16_len

    text = "😀" * 5000
    chunks = split_html(text)
    assert "".join(chunks) == text
    assert [utf16_len(c) for c in chunks] == [4096, 4096, 1808]
    mixed = ("слово 😀🇹🇯 " * 1200).strip()
    chunks = split_html(mixed)
    assert all(utf16_len(visible(c)) <= 4096 for c in chunks)
    assert " ".join(chunks).split() == mixed.split()


def test_cut_utf16_keeps_emoji_whole() -> None:
    from bot.tglimits import cut_utf16, utf16_len

    title = "#12 Дилноза · ru · " + "😀" * 200
    cut = cut_utf16(title, 128, "…")
    assert utf16_len(cut) <= 128 and cut.endswith("😀…")
    assert cut_utf16("short", 128, "…") == "short"
    assert cut_utf16("😀😀", 3) == "😀"
