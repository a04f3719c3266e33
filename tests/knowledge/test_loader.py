"""Loader: every kind of broken knowledge base is reported with file:line and what to fix."""

import shutil
from pathlib import Path

import pytest

from knowledge.loader import KnowledgeBaseError, check, load
from knowledge.schema import json_schema

MINI = Path(__file__).parent.parent / "data" / "kb_mini"
ROOT = Path(__file__).parent.parent.parent

TOPIC = """\
topics:
  - id: roaming
    category: balance
    triggers:
      ru: [роуминг]
      tg: [роуминг дар хориҷа]
      en: [roaming]
    answer:
      ru: Роуминг включён.
      tg: Роуминг фаъол аст.
      en: Roaming is on.
"""


@pytest.fixture
def kb_dir(tmp_path: Path) -> Path:
    target = tmp_path / "kb"
    shutil.copytree(MINI, target)
    return target


def errors_of(path: Path) -> list[str]:
    kb, problems = check(path)
    assert kb is None, "a broken knowledge base must not load"
    return [f"{Path(p.file).name}:{p.line}: {p.message}" for p in problems if p.severity == "error"]


def test_the_mini_kb_loads() -> None:
    kb = load(MINI)
    assert set(kb.topics) == {"balance_check", "top_up", "call_center"}
    assert set(kb.intents) == {"operator", "thanks"}
    assert len(kb.version) == 12


def test_yaml_syntax_error_has_line(kb_dir: Path) -> None:
    (kb_dir / "extra.yaml").write_text("topics:\n  - id: x\n    triggers: [a, b\n")
    errs = errors_of(kb_dir)
    assert len(errs) == 1
    assert errs[0].startswith("extra.yaml:4: YAML syntax error")


def test_missing_answer_language(kb_dir: Path) -> None:
    (kb_dir / "extra.yaml").write_text(TOPIC.replace("      tg: Роуминг фаъол аст.\n", ""))
    assert errors_of(kb_dir) == ['extra.yaml:8: topic "roaming": answer.tg is missing']


def test_empty_answer(kb_dir: Path) -> None:
    (kb_dir / "extra.yaml").write_text(TOPIC.replace("Роуминг фаъол аст.", '""'))
    assert errors_of(kb_dir) == ['extra.yaml:10: topic "roaming": answer.tg is empty']


def test_duplicate_id_names_both_places(kb_dir: Path) -> None:
    (kb_dir / "extra.yaml").write_text(TOPIC.replace("id: roaming", "id: top_up"))
    (err,) = errors_of(kb_dir)
    assert err.startswith('extra.yaml:2: id "top_up" is used twice (also ')
    assert err.endswith("base.yaml:19)")


def test_same_trigger_in_two_topics(kb_dir: Path) -> None:
    (kb_dir / "extra.yaml").write_text(
        TOPIC.replace("ru: [роуминг]", "ru: [Как проверить БАЛАНС!]")
    )
    (err,) = errors_of(kb_dir)
    assert err.startswith('extra.yaml:5: "roaming": trigger "Как проверить БАЛАНС!" is also')
    assert '"balance_check"' in err


def test_unknown_key_is_an_error(kb_dir: Path) -> None:
    (kb_dir / "extra.yaml").write_text(
        TOPIC.replace("    category:", "    answr: x\n    category:")
    )
    assert errors_of(kb_dir) == [
        'extra.yaml:3: topic "roaming": answr is not a known key: did you mean "answer"? '
        "(see docs/knowledge-base.md)"
    ]


def test_unknown_category_and_related(kb_dir: Path) -> None:
    text = TOPIC.replace("category: balance", "category: travel") + "    related: [nowhere]\n"
    (kb_dir / "extra.yaml").write_text(text)
    errs = errors_of(kb_dir)
    assert errs[0].startswith('extra.yaml:3: topic "roaming": category "travel" is not defined')
    assert errs[1] == 'extra.yaml:12: topic "roaming": related topic "nowhere" does not exist'


def test_broken_html_in_answer(kb_dir: Path) -> None:
    (kb_dir / "extra.yaml").write_text(TOPIC.replace("Roaming is on.", "<b>Roaming is on."))
    assert errors_of(kb_dir) == ['extra.yaml:11: topic "roaming": answer.en: <b> is never closed']


def test_bad_id_and_duplicate_key(kb_dir: Path) -> None:
    text = TOPIC.replace("id: roaming", "id: Roaming!") + "    category: help\n"
    (kb_dir / "extra.yaml").write_text(text)
    errs = errors_of(kb_dir)
    assert any(e.startswith("extra.yaml:12: ") and "key appears twice" in e for e in errs)
    assert any(e.startswith("extra.yaml:2: ") and "must be lowercase letters" in e for e in errs)


def test_all_errors_at_once(kb_dir: Path) -> None:
    broken = TOPIC.replace("      tg: Роуминг фаъол аст.\n", "").replace(
        "category: balance", "category: x"
    )
    (kb_dir / "a.yaml").write_text(broken)
    (kb_dir / "b.yaml").write_text("topics: [1, 2\n")
    errs = errors_of(kb_dir)
    assert any(e.startswith("a.yaml:8:") for e in errs)
    assert any(e.startswith("b.yaml:2: YAML syntax error") for e in errs)


def test_load_raises_with_every_error(kb_dir: Path) -> None:
    (kb_dir / "extra.yaml").write_text(TOPIC.replace("Roaming is on.", "''"))
    with pytest.raises(KnowledgeBaseError) as info:
        load(kb_dir)
    assert "answer.en is empty" in str(info.value)


def test_missing_trigger_language_is_a_warning(kb_dir: Path) -> None:
    (kb_dir / "extra.yaml").write_text(TOPIC.replace("      en: [roaming]\n", ""))
    kb, problems = check(kb_dir)
    assert kb is not None
    assert [p.message for p in problems if "triggers" in p.message] == [
        'topic "roaming": no triggers in "en"; questions in en will not find it'
    ]
    assert all(p.severity == "warning" for p in problems)


def test_empty_directory(tmp_path: Path) -> None:
    kb, problems = check(tmp_path)
    assert kb is None
    assert "no *.yaml files" in problems[0].message


def test_committed_json_schema_is_current() -> None:
    assert (ROOT / "docs" / "kb.schema.json").read_text(encoding="utf-8") == json_schema()
