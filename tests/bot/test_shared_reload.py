"""KB reloads fanned out over Redis: a reload on one instance makes the others reload from
their own disks (and only them: a failed one there keeps that instance's KB)."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from bot.config import RedisConfig
from bot.reload import Reloader, ReloadResult
from bot.shared import open_link
from bot.shared_reload import ReloadFanOut
from knowledge.service import KnowledgeService
from tests.redis import fresh_prefix, redis_url

ROOT = Path(__file__).resolve().parent.parent.parent


@asynccontextmanager
async def instance(
    folder: Path, url: str, prefix: str, name: str, told: list[ReloadResult]
) -> AsyncIterator[Reloader]:
    """One instance's KB (a copy of the repository's in ``folder``) and its reloader, following
    the others' reloads; what it tells its admins goes to ``told``."""
    shutil.copytree(ROOT / "kb", folder)
    knowledge = KnowledgeService(folder)
    assert knowledge.reload()[0]

    async def tell(result: ReloadResult) -> None:
        told.append(result)

    reloader = Reloader(knowledge, tell)
    link = await open_link(RedisConfig(url=url, prefix=prefix), name)
    assert link is not None
    fanout = ReloadFanOut(link, reloader)
    fanout.start()
    try:
        yield reloader
    finally:
        await fanout.stop()
        await link.close()


def edit(folder: Path, text: str) -> None:
    with (folder / "balance.yaml").open("a", encoding="utf-8") as f:
        f.write(text)


async def test_a_reload_reaches_the_other_instance_from_its_own_disk(tmp_path: Path) -> None:
    url, prefix = await redis_url(), fresh_prefix()
    told_a: list[ReloadResult] = []
    told_b: list[ReloadResult] = []
    async with (
        instance(tmp_path / "a", url, prefix, "a", told_a) as a,
        instance(tmp_path / "b", url, prefix, "b", told_b) as b,
    ):
        before = b.knowledge.kb.version
        edit(tmp_path / "a", "\n# a new version\n")
        edit(tmp_path / "b", "\n# a new version\n")  # the same files, deployed to both
        result = await a.reload()
        assert result.ok and result.version != before
        # (a KB's version covers its files' names too: these two folders differ, so their
        # versions do, as on two hosts deployed to different paths)
        followed = await b.wait(lambda r: r.version != before, timeout=5)
        assert followed.ok and "a new version" in (tmp_path / "b" / "balance.yaml").read_text()
        assert [r.version for r in told_a] == [result.version]
        assert told_b == []  # the admins heard of it once, from the instance it began on


async def test_a_reload_that_fails_on_another_instance_keeps_its_kb(tmp_path: Path) -> None:
    url, prefix = await redis_url(), fresh_prefix()
    told_b: list[ReloadResult] = []
    async with (
        instance(tmp_path / "a", url, prefix, "a", []) as a,
        instance(tmp_path / "b", url, prefix, "b", told_b) as b,
    ):
        before = b.knowledge.kb.version
        edit(tmp_path / "a", "\n# a new version\n")
        edit(tmp_path / "b", "\n\tbroken: [\n")  # this instance's disk has a broken file
        assert (await a.reload()).ok
        failed = await b.wait(lambda r: not r.ok, timeout=5)
        assert failed.version == before and b.knowledge.kb.version == before
        assert told_b == [failed]  # its admins hear what failed there
