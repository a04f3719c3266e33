"""`dono check` and `dono ask --explain` as a KB admin uses them: one mistake gives one error
that says how to fix it, a single file is checked as part of its folder, the sample KB is clean."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.cli import explanation_lines, main
from knowledge.decision import Decision

ROOT = Path(__file__).resolve().parent.parent.parent


def check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str], list[str]]:
    """Exit code, error lines and warning lines of `dono check`."""
    code = main(["check", *args])
    out = capsys.readouterr()
    lines = (out.out + out.err).splitlines()
    errors = [line for line in lines if ": " in line and " error(s)" not in line]
    errors = [line for line in errors if "warning:" not in line and ": OK" not in line]
    warnings = [line for line in lines if "warning:" in line]
    return code, errors, warnings


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    target = tmp_path / "kb"
    shutil.copytree(ROOT / "kb", target)
    return target


def test_the_sample_kb_passes_its_own_check_with_no_warnings(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, errors, warnings = check(capsys, str(ROOT / "kb"))
    assert (code, errors, warnings) == (0, [], [])


def test_a_tab_in_one_file_is_one_error_in_that_file(
    kb: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = kb / "categories.yaml"
    text = path.read_text(encoding="utf-8").replace("\n  - id: tariffs", "\n\t- id: tariffs")
    path.write_text(text, encoding="utf-8")
    code, errors, _ = check(capsys, str(kb), "--quick")
    assert code == 1
    assert len(errors) == 1, errors  # no "category is not defined" in every other file
    assert "categories.yaml:" in errors[0] and "tab" in errors[0]


def test_a_broken_file_does_not_make_its_topics_missing_elsewhere(
    kb: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = kb / "sim.yaml"  # other files' related: lists name its topics
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[4] = "\t" + lines[4].lstrip(" ")
    path.write_text("".join(lines), encoding="utf-8")
    code, errors, _ = check(capsys, str(kb), "--quick")
    assert code == 1 and len(errors) == 1 and "sim.yaml:5:" in errors[0], errors


def test_one_file_is_checked_with_the_rest_of_its_folder(
    kb: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, errors, _ = check(capsys, str(kb / "balance.yaml"), "--quick")
    assert (code, errors) == (0, [])  # its categories and related topics live elsewhere
    # a real mistake in it is still found, and only its own problems are listed
    path = kb / "balance.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("related: [top_up", "related: [top_upp", 1),
        encoding="utf-8",
    )
    (kb / "sim.yaml").write_text("topics: [oops\n", encoding="utf-8")
    code, errors, _ = check(capsys, str(path), "--quick")
    assert code == 1
    assert len(errors) == 1 and 'related topic "top_upp" does not exist' in errors[0], errors


def write(kb: Path, text: str) -> Path:
    kb.mkdir(exist_ok=True)
    (kb / "categories.yaml").write_text(
        "categories:\n  - {id: cat, title: {ru: Кат, tg: Кат, en: Cat}}\n", encoding="utf-8"
    )
    path = kb / "a.yaml"
    path.write_text(text, encoding="utf-8")
    return path


TOPIC = """topics:
  - id: one
    category: cat
    title: {ru: Баланс, tg: Тавозун, en: Balance}
    triggers:
      ru: [как проверить баланс]
      tg: [тавозун]
      en:
        - %s
    answer: {ru: a, tg: b, en: c}
"""


def test_an_unquoted_colon_gets_a_hint_to_quote(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "kb", TOPIC % "balance: how much is left")
    code, errors, _ = check(capsys, str(tmp_path / "kb"), "--quick")
    assert code == 1 and len(errors) == 1
    assert "a.yaml:9:" in errors[0] and "put it in quotes" in errors[0], errors
    # a colon that breaks the YAML itself
    write(tmp_path / "kb", "topics:\n  - id: one\n    answer:\n      en: Note: dial *100#\n")
    code, errors, _ = check(capsys, str(tmp_path / "kb"), "--quick")
    assert code == 1 and "put the text in quotes" in errors[0], errors


@pytest.mark.parametrize(
    ("wrong", "right"),
    [("titel", "title"), ("relatd", "related"), ("trigers", "triggers")],
)
def test_a_misspelled_key_gets_a_did_you_mean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], wrong: str, right: str
) -> None:
    text = TOPIC % "how much" + f"    {wrong}: []\n"
    write(tmp_path / "kb", text)
    code, errors, _ = check(capsys, str(tmp_path / "kb"), "--quick")
    assert code == 1
    assert any(f'{wrong} is not a known key: did you mean "{right}"?' in e for e in errors), errors


def test_a_misspelled_language_gets_a_did_you_mean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "kb", (TOPIC % "how much").replace("{ru: a, tg: b", "{ru: a, tgg: b"))
    code, errors, _ = check(capsys, str(tmp_path / "kb"), "--quick")
    assert code == 1
    assert any('answer.tgg is not a known key: did you mean "tg"?' in e for e in errors), errors


def test_a_topic_without_a_title_is_warned_about(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(
        tmp_path / "kb",
        "\n".join(line for line in (TOPIC % "how much").splitlines() if "title" not in line),
    )
    code, errors, warnings = check(capsys, str(tmp_path / "kb"), "--quick")
    assert (code, errors) == (0, [])
    assert any('topic "one": no title' in w and "a.yaml:2:" in w for w in warnings), warnings


def test_explain_prints_word_details_under_the_reading_the_decision_used() -> None:
    d = Decision(
        "answer",
        "ru",
        topic="roaming",
        variant="as typed",
        explanation=(
            "as typed: 'roaming jgthfnjh' top=0.625",
            "keyboard layout: 'кщфьштп оператор' top=0.623",
            "read: 'roaming jgthfnjh' (clauses 0-0 of 1)",
            "  word roaming [in] kb w=3.66 → en:roam:1.00",
            "chosen: roaming 0.625 via 'roaming' (words roam)",
        ),
    )
    lines = explanation_lines(d)
    used = lines.index("reading used: as typed")
    word = next(i for i, line in enumerate(lines) if "word roaming" in line)
    layout = next(i for i, line in enumerate(lines) if line.strip().startswith("keyboard layout"))
    assert layout < used < word  # not listed after the layout reading as if they were its
    assert all(line.startswith("  ") for line in lines[used + 1 :])


def test_explain_of_a_real_question_names_the_reading(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "kak popolnit balans", "--explain", "--lang", "ru"]) == 0
    out = capsys.readouterr().out
    assert "readings tried:" in out and "reading used: as typed" in out
    assert out.index("reading used:") < out.index("word popolnit")
