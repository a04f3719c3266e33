"""agents.groups in config.yaml: several desks, checked at start with the key that is wrong."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.config import ConfigError, load_config
from bot.desk.routing import Desks
from knowledge.service import KnowledgeService

ROOT = Path(__file__).resolve().parent.parent.parent


def _load(tmp_path: Path, agents: str):
    path = tmp_path / "config.yaml"
    path.write_text("agents:\n" + agents, encoding="utf-8")
    return load_config(path)


DESKS = """  groups:
    - {name: ru, group_id: -1001, languages: [ru]}
    - {name: billing, group_id: -1002, categories: [balance], workspaces: true}
"""


def test_groups_are_desks_and_the_first_is_the_default(tmp_path: Path) -> None:
    agents = _load(tmp_path, DESKS).agents
    assert agents.group_id == -1001
    assert [(d.name, d.group_id, d.languages, d.categories) for d in agents.desks()] == [
        ("ru", -1001, ["ru"], []),
        ("billing", -1002, [], ["balance"]),
    ]
    assert agents.groups[1].workspaces is True
    assert Desks(agents).several


def test_one_group_id_is_one_default_desk(tmp_path: Path) -> None:
    agents = _load(tmp_path, "  group_id: -1009\n").agents
    desks = Desks(agents)
    assert [d.group_id for d in desks.all] == [-1009] and not desks.several
    assert desks.default is desks.all[0] and desks.names(desks.default) == ("", "")


@pytest.mark.parametrize(
    ("agents", "says"),
    [
        (
            "  groups:\n    - {name: ru, group_id: -1}\n    - {name: RU, group_id: -2}\n",
            "name ru used twice",
        ),
        (
            "  groups:\n    - {name: a, group_id: -1}\n    - {name: b, group_id: -1}\n",
            "group_id -1 used twice",
        ),
        ("  groups:\n    - {name: a, group_id: -1, languages: [de]}\n", "languages.0"),
        ("  groups:\n    - {name: two words, group_id: -1}\n", "one word"),
        ("  groups:\n    - {name: all, group_id: -1}\n", "not 'all'"),
        ("  group_id: -5\n  groups:\n    - {name: a, group_id: -1}\n", "agents.group_id"),
        ("  groups:\n    - {name: a, group_id: -1, wokrspaces: true}\n", "wokrspaces"),
    ],
)
def test_a_wrong_desk_stops_start_up_naming_it(tmp_path: Path, agents: str, says: str) -> None:
    with pytest.raises(ConfigError, match="agents") as error:
        _load(tmp_path, agents)
    assert says in str(error.value)


def test_an_unknown_kb_category_is_warned(tmp_path: Path, caplog) -> None:
    groups = DESKS + "    - {name: x, group_id: -1003, categories: [services, no_such]}\n"
    desks = Desks(_load(tmp_path, groups).agents)
    knowledge = KnowledgeService(ROOT / "kb")
    knowledge.reload()
    with caplog.at_level(logging.WARNING):
        assert desks.unknown_categories(knowledge) == ["x: no_such"]
    assert "no_such" in caplog.text
