"""Canned replies in the knowledge base: loaded and validated like topics (each mistake with its
file and line), found by words in ru/tg/en with a typo forgiven, ``{name}`` filled escaped."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.cli import main
from knowledge.files import display
from knowledge.loader import check, load
from knowledge.replies import fill
from knowledge.search import search_replies

ROOT = Path(__file__).resolve().parents[2]
KB = load(ROOT / "kb")

GOOD = """\
replies:
  - id: wait_please
    title: {ru: Подождите, tg: Интизор шавед, en: Please wait}
    text:
      ru: "{name}, подождите, пожалуйста."
      tg: "{name}, лутфан интизор шавед."
      en: "{name}, please wait."
"""


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    target = tmp_path / "kb"
    shutil.copytree(ROOT / "kb", target)
    return target


def problems_of(kb: Path, text: str, name: str = "extra.yaml") -> list[str]:
    (kb / name).write_text(text, encoding="utf-8")
    loaded, problems = check(kb)
    errors = [str(p) for p in problems if p.severity == "error"]
    assert (loaded is None) == bool(errors)
    return errors


def test_the_sample_replies_load_in_every_language() -> None:
    assert len(KB.replies) >= 12
    assert list(KB.replies)[:2] == ["greeting", "restart_phone"]  # the order they are written
    restart = KB.replies["restart_phone"]
    assert restart.title.tg == "Телефонро аз нав фаъол кунед"
    assert all(getattr(r.text, lang) for r in KB.replies.values() for lang in ("ru", "tg", "en"))


def test_a_good_reply_in_another_file_is_served(kb: Path) -> None:
    assert problems_of(kb, GOOD) == []
    assert load(kb).replies["wait_please"].text.en == "{name}, please wait."


BAD = [  # (what is changed in GOOD, into what; the error's line; what the error says)
    ('      tg: "{name}, лутфан интизор шавед."\n', "", 4, '"wait_please": text.tg is missing'),
    ("wait_please", "x", 2, 'reply "x": id must be lowercase letters, digits and _ (2-32'),
    ("wait_please", "w" * 33, 2, "(2-32 chars, starting with a letter)"),
    ("    text:", "    txt:", 4, 'txt is not a known key: did you mean "text"?'),
    ("подождите, пожалуйста.", "<b>подождите", 5, '"wait_please": text.ru: <b> is never closed'),
    ("please wait.", "please wait, {nmae}.", 7, 'text.en: "{nmae}" is not a placeholder'),
    ("en: Please wait}", "en: Please <wait>}", 3, "title.en: '<' cannot be used here"),
    ('"{name}, please wait."', "x" * 16_385, 7, "text.en: is 16,385 characters"),
]


@pytest.mark.parametrize(("old", "new", "line", "expected"), BAD)
def test_a_bad_reply_is_refused_with_its_file_and_line(
    kb: Path, old: str, new: str, line: int, expected: str
) -> None:
    assert old in GOOD
    errors = problems_of(kb, GOOD.replace(old, new, 1))
    assert any(f"extra.yaml:{line}: " in e and expected in e for e in errors), errors


def test_a_reply_id_twice_names_both_places(kb: Path) -> None:
    errors = problems_of(kb, GOOD.replace("wait_please", "greeting"))
    assert len(errors) == 1, errors
    assert errors[0].endswith(
        f'replies.yaml:5: reply "greeting" is defined twice (also {display(kb / "extra.yaml")}:2)'
    )


def test_a_reply_id_may_be_a_topic_id_too(kb: Path) -> None:
    # replies are their own list: /r balance_check and /kb balance_check are not confused
    assert problems_of(kb, GOOD.replace("wait_please", "balance_check")) == []


def test_dono_check_refuses_a_reply_missing_a_language(
    kb: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (kb / "extra.yaml").write_text(
        GOOD.replace('      en: "{name}, please wait."\n', ""), encoding="utf-8"
    )
    assert main(["check", str(kb), "--quick"]) == 1
    err = capsys.readouterr().err
    assert 'extra.yaml:4: reply "wait_please": text.en is missing' in err


@pytest.mark.parametrize(
    ("words", "reply"),
    [
        ("рестарт", "restart_phone"),
        ("перезагрузка телефона", "restart_phone"),
        ("перезагрущка", "restart_phone"),  # a typo
        ("фаъол", "restart_phone"),
        ("хомуш", "restart_phone"),  # Tajik ӯ typed as у
        ("интизорӣ", "thanks_waiting"),
        ("интизрӣ", "thanks_waiting"),  # a typo
        ("шиноснома", "visit_office"),
        ("restart", "restart_phone"),
        ("restrat", "restart_phone"),  # a typo
        ("thank you for waiting", "thanks_waiting"),
        ("15 минут", "checking"),
    ],
)
def test_words_in_any_language_find_the_reply(words: str, reply: str) -> None:
    found = search_replies(KB, words, "ru")
    assert found and found[0].reply == reply, found


def test_titles_come_in_the_asked_language_and_nonsense_finds_nothing() -> None:
    (first, *_) = search_replies(KB, "рестарт", "tg")
    assert first.title == "Телефонро аз нав фаъол кунед"
    assert search_replies(KB, "кракозябра", "ru") == []
    assert search_replies(KB, "и в", "ru") == []  # function words only
    assert search_replies(KB, "name", "en") == []  # the placeholder is no word of the text
    assert len(search_replies(KB, "телефон номер спасибо", "ru", limit=2)) == 2


def test_the_name_is_filled_escaped_and_nothing_else_is_read() -> None:
    text = "{name}, {name}! {0} {other} {{name}}"
    assert (
        fill(text, "Ali <b>&")
        == "Ali &lt;b&gt;&amp;, Ali &lt;b&gt;&amp;! {0} {other} {Ali &lt;b&gt;&amp;}"
    )
    # inside an attribute a quote in the name must not end it (Telegram refused the message)
    link = fill('<a href="https://x.tj/?n={name}">x</a>', "Bo\"b'")
    assert link == '<a href="https://x.tj/?n=Bo&quot;b&#x27;">x</a>'


def test_an_entry_after_a_broken_one_keeps_its_line(kb: Path) -> None:
    """The checks after parsing number the entries that survived it: a broken reply before a
    good one with a too-long text named the broken one's line (trial: :107 for :119)."""
    broken = GOOD.replace("Интизор шавед", '""', 1)  # title.tg empty: this one is dropped
    second = GOOD.split("\n", 1)[1].replace("wait_please", "second", 1)
    text = broken + second.replace('"{name}, please wait."', '"' + "x" * 16_385 + '"')
    errors = problems_of(kb, text)
    assert any(e.startswith(f"{kb / 'extra.yaml'}:3: ") and "title.tg" in e for e in errors), errors
    assert any("extra.yaml:13: " in e and 'reply "second": text.en' in e for e in errors), errors
