"""The direction of imports is the architecture: bot → handoff, knowledge; never back."""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def imported(package: str) -> set[str]:
    """Top-level names a package imports (``handoff.storage`` counts as ``handoff.storage``,
    the pure domain ``handoff`` without it as ``handoff``)."""
    names: set[str] = set()
    base = ROOT / package.replace(".", "/")
    for path in base.rglob("*.py"):
        if package == "handoff" and STORAGE in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(_top(alias.name) for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(_top(node.module))
    return names


STORAGE = ROOT / "handoff" / "storage"


def _top(module: str) -> str:
    return "handoff.storage" if module.startswith("handoff.storage") else module.split(".")[0]


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


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        # the pure domain: handoff/ without its storage package
        ("handoff", {"handoff.storage", "aiosqlite", "sqlite3", "matplotlib"}),
        ("handoff.storage", {"aiogram", "bot", "emulator", "knowledge"}),
    ],
)
def test_the_domain_does_no_io_and_storage_knows_no_telegram(
    package: str, forbidden: set[str]
) -> None:
    assert imported(package) & forbidden == set()


_SQL = re.compile(
    r"\b(SELECT\b.+\bFROM|INSERT (OR \w+ )?INTO|UPDATE \w+ SET|DELETE FROM|CREATE (TABLE|INDEX)"
    r"|ALTER TABLE|PRAGMA \w+)\b",
    re.S,
)


def sql_strings(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and _SQL.search(node.value)
    ]


def test_sql_lives_only_in_storage_and_the_journal() -> None:
    allowed = set((ROOT / "bot" / "journal").glob("*.py"))  # the update journal's backends
    offenders = {
        str(path.relative_to(ROOT)): found
        for package in ("bot", "handoff", "knowledge")
        for path in (ROOT / package).rglob("*.py")
        if path not in allowed and STORAGE not in path.parents and (found := sql_strings(path))
    }
    assert offenders == {}


def test_no_module_over_500_lines() -> None:
    long = {
        str(path.relative_to(ROOT)): n
        for package in ("bot", "handoff", "knowledge")
        for path in (ROOT / package).rglob("*.py")
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > 500
    }
    assert long == {}


def test_no_function_over_60_lines_without_a_reason() -> None:
    """A long function says why in its docstring (the word "long")."""
    long = {}
    for package in ("bot", "handoff", "knowledge"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    lines = node.end_lineno - node.lineno + 1  # type: ignore[operator]
                    if lines > 60 and "long" not in (ast.get_docstring(node) or "").lower():
                        long[f"{path.relative_to(ROOT)}:{node.name}"] = lines
    assert long == {}
