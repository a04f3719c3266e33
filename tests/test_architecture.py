"""The direction of imports is the architecture: bot → handoff, knowledge; never back."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def imported(package: str) -> set[str]:
    names: set[str] = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("knowledge", {"aiogram", "bot", "handoff", "emulator", "aiohttp", "asyncio"}),
        ("handoff", {"aiogram", "bot", "emulator"}),
        ("emulator", {"bot", "knowledge", "handoff"}),
    ],
)
def test_layers_do_not_import_upwards(package: str, forbidden: set[str]) -> None:
    assert imported(package) & forbidden == set()
