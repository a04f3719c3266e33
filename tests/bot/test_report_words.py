"""The report page in ru, tg and en: every text the page code writes has all three languages
with the same placeholders, and a page rendered in each language is in it (topics by title)."""

from __future__ import annotations

import ast
import asyncio
import re
import string
from pathlib import Path

import pytest

from bot.report import charts, insights_page, page
from bot.report.page import render_html
from bot.report.words import WORDS
from handoff.insights import AGE_BUCKETS, build_insights
from handoff.reports import build_report
from handoff.storage import Store
from knowledge.loader import load
from knowledge.search import topic_title
from tests.handoff.conftest import Clock
from tests.handoff.test_lead_figures import choose_and_comment
from tests.handoff.test_reports import DAY, DAY0, TZ, fill_scenario

ROOT = Path(__file__).resolve().parent.parent.parent
SOURCES = [ROOT / "bot" / "report" / n for n in ("page.py", "insights_page.py", "format.py")]


def _fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


def texts_the_page_uses() -> set[str]:
    """Every literal passed to ``tr`` in the page's modules, and the labels it looks up."""
    found: set[str] = set()
    for source in SOURCES:
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("tr", "_heads"):
                arg = node.args[0] if node.args else None
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    found.add(arg.value)
                elif isinstance(arg, ast.List):
                    found |= {e.value for e in arg.elts if isinstance(e, ast.Constant)}
    found |= set(insights_page.KPI_LABELS.values()) | set(insights_page.REASONS.values())
    found |= set(insights_page.KINDS.values()) | set(page._DURATION_LABELS.values())
    found |= set(charts.OUTCOME_LABELS.values()) | set(charts.LANGUAGE_NAMES.values())
    found |= {label for _, label, _ in charts._TIME_SERIES} | {label for label, _ in AGE_BUCKETS}
    found |= {page._NOBODY, page.DEFINITIONS, "minutes", "median (p50)", "90th percentile (p90)"}
    return found


def test_every_text_of_the_page_is_in_all_three_languages() -> None:
    used = texts_the_page_uses()
    assert len(used) > 100
    missing = sorted(used - set(WORDS))
    assert missing == []
    for english, (ru, tg) in WORDS.items():
        assert ru.strip() and tg.strip(), english
        assert _fields(ru) == _fields(english) == _fields(tg), english
        assert re.findall(r"</?\w+>", ru) == re.findall(r"</?\w+>", english), english


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    async def run() -> dict[str, str]:
        clock = Clock(DAY0)
        store = await Store.open(tmp_path_factory.mktemp("words") / "db.sqlite3", clock=clock)
        try:
            await fill_scenario(store, clock, days=3, per_day=50, seed=3, hostile=False)
            await choose_and_comment(store)
            report = await build_report(store, DAY0, DAY0 + 3 * DAY, TZ)
            found = await build_insights(store, DAY0, DAY0 + 3 * DAY, TZ)
        finally:
            await store.close()
        kb = load(ROOT / "kb")
        return {
            lang: render_html(
                report,
                insights=found,
                lang=lang,
                titles={i: topic_title(t, lang) for i, t in kb.topics.items()},
            )
            for lang in ("ru", "tg", "en")
        }

    return asyncio.run(run())


@pytest.mark.parametrize(
    ("lang", "headings"),
    [
        ("ru", ["Разговоры по дням", "Уровень сервиса", "Низкие оценки", "Что пошло не так"]),
        ("tg", ["Гуфтугӯҳо аз рӯи рӯз", "Сатҳи хизматрасонӣ", "Баҳоҳои паст", "Чӣ нодуруст шуд"]),
        ("en", ["Conversations per day", "Service levels", "Low ratings", "What went wrong"]),
    ],
)
def test_the_page_is_in_the_desks_language(
    pages: dict[str, str], lang: str, headings: list[str]
) -> None:
    html = pages[lang]
    assert f'<html lang="{lang}">' in html
    for heading in headings:
        assert heading in html
    kb = load(ROOT / "kb")
    assert topic_title(kb.topics["balance_check"], lang) in html  # topics by their KB title
    if lang != "en":
        for english in ("Conversations per day", "Service levels", "Low ratings", "Whole period"):
            assert english not in html
        assert " min " not in html  # durations in the language's units too


def test_dono_report_is_in_the_desks_language_unless_told(tmp_path: Path) -> None:
    from bot.cli import main

    db = tmp_path / "dono.sqlite3"

    async def fill() -> None:
        clock = Clock(DAY0)
        store = await Store.open(db, clock=clock)
        try:
            await fill_scenario(store, clock, days=2, per_day=20, seed=5, hostile=False)
        finally:
            await store.close()

    asyncio.run(fill())
    args = ["report", "--db", str(db), "--since", "2025-06-16", "--until", "2025-06-18"]
    for extra, lang, heading in (
        ([], "ru", "Разговоры по дням"),  # config.yaml's agents.language
        (["--lang", "tg"], "tg", "Гуфтугӯҳо аз рӯи рӯз"),
        (["--lang", "en"], "en", "Conversations per day"),
    ):
        out = tmp_path / f"report-{lang}.html"
        assert main([*args, *extra, "--out", str(out)]) == 0
        html = out.read_text(encoding="utf-8")
        assert f'<html lang="{lang}">' in html and heading in html
        assert "Проверить баланс" in html or lang != "ru"  # KB titles in the desk's language
