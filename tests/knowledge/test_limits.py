"""A knowledge base can't cost more than it is: size, alias and nesting limits are checked
before anything is expanded, answers fit in a few messages, and the KB folder is the whole
of what is read (links out of it are refused)."""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from knowledge import loader, yamlsafe
from knowledge.loader import check

MINI = Path(__file__).parent.parent / "data" / "kb_mini"
ROOT = Path(__file__).parent.parent.parent

# "Billion laughs": 10 lines, 9**9 = 387 million strings once the aliases are expanded.
BOMB = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
topics: [*i]
"""

TOPIC = """\
topics:
  - id: extra
    category: help
    triggers: {{ru: [особый вопрос], tg: [саволи махсус], en: [special question]}}
    answer: {{ru: "{answer}", tg: Ҷавоб., en: Answer.}}
"""


@pytest.fixture
def kb_dir(tmp_path: Path) -> Path:
    target = tmp_path / "kb"
    shutil.copytree(MINI, target)
    return target


def errors(path: Path) -> list[str]:
    kb, problems = check(path)
    assert kb is None, "a refused knowledge base must not load"
    return [f"{Path(p.file).name}:{p.line}: {p.message}" for p in problems if p.severity == "error"]


def _cap_memory() -> None:
    limit = 512 * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def test_alias_bomb_is_refused_under_a_memory_cap(kb_dir: Path) -> None:
    """`dono check` in a process limited to 512 MB: a clear error, no MemoryError, no kill."""
    (kb_dir / "bomb.yaml").write_text(BOMB, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "check", str(kb_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_cap_memory,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 1, done.stderr
    assert "bomb.yaml:1: refused: the YAML expands to more than 300,000 values" in done.stderr
    assert "MemoryError" not in done.stderr and "Traceback" not in done.stderr


def test_an_alias_that_contains_itself_is_refused(kb_dir: Path) -> None:
    (kb_dir / "loop.yaml").write_text("topics: &t [*t]\n", encoding="utf-8")
    assert errors(kb_dir) == [
        "loop.yaml:1: refused: an alias (*name) refers to the entry that contains it"
    ]


def test_many_aliases_and_deep_nesting_are_refused(kb_dir: Path) -> None:
    many = "x: &x 1\ny: [" + ",".join(["*x"] * 1001) + "]\n"
    (kb_dir / "many.yaml").write_text(many, encoding="utf-8")
    deep = "topics: " + "[" * 70 + "]" * 70 + "\n"
    (kb_dir / "deep.yaml").write_text(deep, encoding="utf-8")
    block = "topics:\n" + "".join("  " * i + "- \n" for i in range(1, 80)) + "  " * 80 + "- x\n"
    (kb_dir / "block.yaml").write_text(block, encoding="utf-8")
    assert errors(kb_dir) == [
        "block.yaml:1: refused: the YAML nests deeper than 64 levels",
        "deep.yaml:1: refused: the YAML nests deeper than 64 levels",
        "many.yaml:1: refused: more than 1,000 aliases (*name) in one file",
    ]


def test_a_wide_file_is_refused_while_it_is_read(kb_dir: Path) -> None:
    """A small file of very many tiny values: counted as a stream, refused before it is
    built, in a process limited to 512 MB."""
    (kb_dir / "wide.yaml").write_text("topics: [" + ",".join(["1"] * 900_000) + "]\n")
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "check", str(kb_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_cap_memory,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 1, done.stderr
    assert "wide.yaml:1: refused: more than 300,000 values in one file; split it" in done.stderr


def test_a_file_with_many_bad_entries_lists_the_first_and_counts_the_rest(
    kb_dir: Path,
) -> None:
    (kb_dir / "bad.yaml").write_text("topics: [" + ",".join(["1"] * 5000) + "]\n")
    found = errors(kb_dir)
    assert len(found) == 101
    assert (
        found[0] == "bad.yaml:1: topic #1 input should be a valid dictionary or instance of topic"
    )
    assert found[-1] == "bad.yaml:1: … and 4,900 more errors in this file"


def test_a_few_aliases_still_work(kb_dir: Path) -> None:
    text = TOPIC.format(answer="Ответ.").replace("answer: {", "answer: &same {") + (
        "  - id: extra_two\n"
        "    category: help\n"
        "    triggers: {ru: [другой вопрос], tg: [саволи дигар], en: [another question]}\n"
        "    answer: *same\n"
    )
    (kb_dir / "extra.yaml").write_text(text, encoding="utf-8")
    kb, problems = check(kb_dir)
    assert kb is not None, problems
    assert kb.topics["extra_two"].answer == kb.topics["extra"].answer


def test_a_huge_file_is_refused_before_it_is_read(kb_dir: Path) -> None:
    big = kb_dir / "big.yaml"
    with big.open("wb") as f:
        f.truncate(50 * 1024 * 1024)  # 50 MB (sparse: the test stays fast)
    assert errors(kb_dir) == [
        "big.yaml:1: refused: 52,428,800 bytes; a knowledge-base file may have at most "
        "5,242,880 (split it into several files)"
    ]


def test_an_answer_longer_than_four_messages_is_refused(kb_dir: Path) -> None:
    (kb_dir / "extra.yaml").write_text(TOPIC.format(answer="😀" * 8193), encoding="utf-8")
    assert errors(kb_dir) == [
        'extra.yaml:5: topic "extra": answer.ru: is 16,386 characters (UTF-16 units); '
        "at most 16,384, 4 messages' worth: shorten it or split the topic"
    ]
    (kb_dir / "extra.yaml").write_text(TOPIC.format(answer="😀" * 8192), encoding="utf-8")
    assert check(kb_dir)[0] is not None


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ("<b/>", "<b/> is not allowed: Telegram has no self-closing tags"),
        ("x<y", "<y is an unfinished tag; a '<' that is not a tag must be written &lt;"),
        ("<div>x</div>", "tag <div> is not allowed in Telegram HTML"),
        ("<b><i>x</b></i>", "</b> does not close an open tag (expected </i>)"),
    ],
)
def test_answers_telegram_would_refuse(kb_dir: Path, answer: str, message: str) -> None:
    (kb_dir / "extra.yaml").write_text(TOPIC.format(answer=answer), encoding="utf-8")
    assert errors(kb_dir) == [f'extra.yaml:5: topic "extra": answer.ru: {message}']


def test_category_titles_and_icons_are_checked(kb_dir: Path) -> None:
    """They go into the menu's HTML message as they are, and into buttons as plain text."""
    (kb_dir / "cats.yaml").write_text(
        "categories:\n"
        "  - id: promo\n"
        '    icon: "<"\n'
        "    title: {ru: Акции & скидки, tg: <b>Аксия</b>, en: Promo &amp; deals}\n",
        encoding="utf-8",
    )
    assert errors(kb_dir) == [
        "cats.yaml:3: category \"promo\": icon: '<' cannot be used here "
        "(the text goes into HTML messages and button labels)",
        "cats.yaml:4: category \"promo\": title.tg: '<' cannot be used here "
        "(the text goes into HTML messages and button labels)",
        'cats.yaml:4: category "promo": title.en: HTML entities such as &amp; cannot be used '
        "here (buttons would show them as written)",
    ]


def test_files_linked_from_outside_are_refused(kb_dir: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "secret.yaml").write_text(TOPIC.format(answer="из чужой папки"), encoding="utf-8")
    (kb_dir / "secret.yaml").symlink_to(outside / "secret.yaml")
    (kb_dir / "more").symlink_to(outside, target_is_directory=True)
    (kb_dir / "up.yaml").symlink_to(Path("..") / "elsewhere" / "secret.yaml")
    kb, problems = check(kb_dir)
    assert kb is None
    refused = sorted(
        Path(p.file).name for p in problems if "outside the knowledge-base" in p.message
    )
    assert refused == ["more", "secret.yaml", "up.yaml"]
    assert all(
        "copy the file into the folder" in p.message for p in problems if p.severity == "error"
    )


def test_links_inside_the_folder_and_a_linked_folder_work(kb_dir: Path, tmp_path: Path) -> None:
    (kb_dir / "drafts").mkdir()
    (kb_dir / "drafts" / "extra.yaml").write_text(TOPIC.format(answer="Ответ."), encoding="utf-8")
    (kb_dir / "extra-link.yml").symlink_to(Path("drafts") / "extra.yaml")
    live = tmp_path / "live"
    live.symlink_to(kb_dir, target_is_directory=True)  # a release folder behind a symlink
    kb, problems = check(live)
    assert kb is None  # the linked copy defines "extra" twice: it was read, like its target
    assert next(p.message for p in problems if p.severity == "error").startswith('id "extra"')
    (kb_dir / "extra-link.yml").unlink()
    assert check(live)[0] is not None


def test_limits_are_sane_for_the_benchmarks() -> None:
    # the 10,000-topic benchmark writes files of 500 topics: 0.9 MB, 25,503 values each
    assert loader.MAX_FILE_BYTES >= 2 * 1024 * 1024 and yamlsafe.MAX_NODES >= 10 * 25_503


def test_the_whole_kb_has_a_value_budget(kb_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loader, "MAX_KB_NODES", 100)  # base.yaml has 91 values, this 16
    (kb_dir / "more.yaml").write_text(TOPIC.format(answer="Ответ."), encoding="utf-8")
    assert errors(kb_dir) == ["more.yaml:1: refused: the knowledge base is over 100 values"]
