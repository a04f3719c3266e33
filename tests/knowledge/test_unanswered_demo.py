"""`dono unanswered` on the generated week: groups of one question each, no small talk."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.cli import main
from handoff.storage import Store
from knowledge.service import KnowledgeService
from knowledge.unanswered import Cluster, cluster

ROOT = Path(__file__).parent.parent.parent


@pytest.fixture(scope="module")
def week(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Cluster], KnowledgeService]:
    db = tmp_path_factory.mktemp("demo") / "week.sqlite3"
    assert main(["demo", "--db", str(db)]) == 0

    async def unanswered() -> list[dict]:
        store = await Store.open(db)
        try:
            return await store.unanswered(0)
        finally:
            await store.close()

    knowledge = KnowledgeService(ROOT / "kb")
    knowledge.reload()
    return cluster(asyncio.run(unanswered()), knowledge.matcher, examples=1000), knowledge


def together(clusters: list[Cluster], a: str, b: str) -> bool:
    return any(a in c.examples and b in c.examples for c in clusters)


def test_the_top_group_is_one_question(week: tuple[list[Cluster], KnowledgeService]) -> None:
    clusters, _ = week
    top = clusters[0]
    assert top.count > clusters[1].count
    assert all("5g" in text.lower() for text in top.examples), top.examples


def test_a_greeting_or_one_shared_word_does_not_make_questions_alike(
    week: tuple[list[Cluster], KnowledgeService],
) -> None:
    clusters, _ = week
    for a, b in (
        ("здравствуйте, можно ли перенести номер от другого оператора",
         "здравствуйте, где можно оплатить номер"),
        ("сим карта не читается", "салом, сим-кортро зуд баста кунед"),
        ("низкая скорость интернета", "интернет то есть то нет"),
        ("салом, 5G кай мешавад?", "салом, тавозуни ман чанд аст"),
    ):  # fmt: skip
        seen = {t for c in clusters for t in c.examples}
        assert a in seen and b in seen
        assert not together(clusters, a, b), (a, b)


def test_small_talk_is_not_unanswered(week: tuple[list[Cluster], KnowledgeService]) -> None:
    clusters, knowledge = week
    said = [t for c in clusters for t in c.examples]
    assert [t for t in said if knowledge.matcher.match(t).kind == "smalltalk"] == []
    greeted = [{"text": "привет", "ts": 1.0, "kind": "none"},
               {"text": "здравствуйте!", "ts": 2.0, "kind": "none"}]  # fmt: skip
    assert cluster(greeted, knowledge.matcher) == []
