"""Hot reload that can't be broken: an alias bomb, a huge report, a reload that raises or
hangs, the KB folder replaced or switched by symlink, a file linked from outside. Every
time an outcome is reported and the last good knowledge base keeps serving."""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
from pathlib import Path

import pytest

from bot.tglimits import utf16_len
from emulator import Emulator
from tests.e2e.conftest import ROOT, Person, make_config, start_dono
from tests.forkserver import spawn_dono
from tests.knowledge.test_limits import BOMB

ADMIN_ID = 4343


async def _live(emu: Emulator, tmp_path: Path, kb: Path):
    admin = await emu.create_user("Admin", user_id=ADMIN_ID, language_code="ru")
    group = await emu.create_forum_group("Operators", agents=[admin])
    config = make_config(tmp_path, kb)
    config.agents.group_id = group.id
    config.agents.admins = [ADMIN_ID]
    dono = await start_dono(emu, config)
    return dono, group, admin


@pytest.fixture
async def live(emu: Emulator, tmp_path: Path, kb_copy: Path):
    dono, group, admin = await _live(emu, tmp_path, kb_copy)
    try:
        yield dono, kb_copy, group, admin
    finally:
        await dono.stop()


def edit(kb: Path, new: str) -> None:
    path = kb / "balance.yaml"
    text = path.read_text(encoding="utf-8")
    assert "Проверить баланс:" in text
    path.write_text(text.replace("Проверить баланс:", new, 1), encoding="utf-8")


async def balance_answer(emu: Emulator) -> str:
    person = Person(emu, await emu.create_user("P", language_code="ru"))
    return (await person.send("как проверить баланс"))["text"]


async def test_alias_bomb_in_hot_reload_is_refused_and_reported(live, emu: Emulator) -> None:
    dono, kb, group, admin = live
    since = emu.cursor()
    (kb / "bomb.yaml").write_text(BOMB, encoding="utf-8")
    result = await dono.reloader.wait(lambda r: not r.ok, timeout=5)
    assert any("refused: the YAML expands" in p.message for p in result.problems)
    notice = await emu.wait_for_bot_message(group.id, since=since, timeout=5)
    assert "bomb.yaml:1: refused" in notice["text"]
    assert "*100#" in await balance_answer(emu)
    reply = await Person(emu, admin).send("/reload")  # the lock is free, the outcome told
    assert reply["text"].startswith("❌") and "bomb.yaml:1" in reply["text"]


async def test_a_report_of_many_long_errors_reaches_the_admins(live, emu: Emulator) -> None:
    dono, kb, group, _ = live
    topics = ["topics:"]
    for i in range(40):
        topics += [
            f"  - id: noisy_{i}",
            "    category: help",
            f"    triggers: {{ru: ['{'!' * 290} {i}', '{'?' * 290}']}}",
            "    answer: {ru: a, tg: b, en: c}",
        ]
    since = emu.cursor()
    (kb / "noisy.yaml").write_text("\n".join(topics) + "\n", encoding="utf-8")
    result = await dono.reloader.wait(lambda r: not r.ok, timeout=5)
    assert sum(p.severity == "error" for p in result.problems) >= 40
    notice = await emu.wait_for_bot_message(group.id, since=since, timeout=5)
    assert utf16_len(notice["text"]) <= 4096
    assert (
        "noisy.yaml:" in notice["text"]
        and "ещё" in notice["text"]
        and "все покажет dono check" in notice["text"]
    )


async def test_a_reload_that_raises_is_reported_and_frees_the_lock(
    live, emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    dono, _, _, admin = live

    def exhausted() -> None:
        raise MemoryError("no memory left")

    boss = Person(emu, admin)
    with monkeypatch.context() as patch:
        patch.setattr(dono.knowledge, "reload", exhausted)
        reply = await boss.send("/reload")
        assert reply["text"].startswith("❌ Перезагрузка базы знаний сорвалась")
        assert "MemoryError: no memory left" in reply["text"]
    assert (await boss.send("/reload"))["text"].startswith("✅")
    assert "*100#" in await balance_answer(emu)


async def test_a_reload_that_hangs_is_reported_and_does_not_wedge(
    live, emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    dono, kb, group, admin = live
    release = threading.Event()
    real_reload = dono.knowledge.reload

    def slow():
        release.wait(20)
        return real_reload()

    monkeypatch.setattr(dono.knowledge, "reload", slow)
    dono.reloader.timeout = 0.5
    boss = Person(emu, admin)
    loop = asyncio.get_running_loop()
    started = loop.time()
    reply = await boss.send("/reload")
    assert "не уложилась в 0,5 с" in reply["text"]
    second = await boss.send("/reload")  # not stuck behind the first: reported again
    assert "не уложилась в 0,5 с" in second["text"]
    assert loop.time() - started < 5
    assert "*100#" in await balance_answer(emu)  # the old KB serves meanwhile
    edit(kb, "Баланс после долгой проверки:")
    since = emu.cursor()
    release.set()
    await dono.reloader.wait(
        lambda r: r.ok and "долгой" in dono.knowledge.kb.topics["balance_check"].answer.ru,
        timeout=10,
    )
    notice = await emu.wait_for_bot_message(
        group.id, since=since, timeout=5, predicate=lambda m: m["text"].startswith("✅")
    )
    assert "balance_check" in notice["text"]


async def test_the_folder_replaced_by_mv_is_watched_and_served(live, emu: Emulator) -> None:
    dono, kb, _, _ = live
    staged = kb.with_name("kb.new")
    shutil.copytree(kb, staged)
    edit(staged, "Баланс из новой папки:")
    before = dono.knowledge.kb.version
    kb.rename(kb.with_name("kb.old"))
    staged.rename(kb)
    await dono.reloader.wait(lambda r: r.version != before, timeout=5)
    assert (await balance_answer(emu)).startswith("Баланс из новой папки:")
    # and edits in the new folder are noticed too
    swapped = dono.knowledge.kb.version
    path = kb / "balance.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("Баланс из новой папки:", "Снова новый:"),
        encoding="utf-8",
    )
    await dono.reloader.wait(lambda r: r.version != swapped, timeout=5)
    assert (await balance_answer(emu)).startswith("Снова новый:")


async def test_a_symlink_switch_is_followed(emu: Emulator, tmp_path: Path, kb_copy: Path) -> None:
    releases = tmp_path / "releases"
    releases.mkdir()
    v1 = releases / "v1"
    kb_copy.rename(v1)
    live_link = tmp_path / "current"
    live_link.symlink_to(v1, target_is_directory=True)
    dono, _, _ = await _live(emu, tmp_path, live_link)
    try:
        v2 = releases / "v2"
        shutil.copytree(v1, v2)
        edit(v2, "Баланс второй версии:")
        before = dono.knowledge.kb.version
        tmp_link = tmp_path / "current.tmp"
        tmp_link.symlink_to(v2, target_is_directory=True)
        os.replace(tmp_link, live_link)  # atomic switch, as deploy tools do it
        await dono.reloader.wait(lambda r: r.version != before, timeout=5)
        assert (await balance_answer(emu)).startswith("Баланс второй версии:")
    finally:
        await dono.stop()


async def test_a_file_linked_from_outside_is_never_served(
    live, emu: Emulator, tmp_path: Path
) -> None:
    dono, kb, group, _ = live
    outside = tmp_path / "outside.yaml"
    balance = (kb / "balance.yaml").read_text(encoding="utf-8")
    outside.write_text(balance.replace("Проверить баланс:", "Чужой ответ:"), encoding="utf-8")
    since = emu.cursor()
    (kb / "balance.yaml").unlink()
    (kb / "balance.yaml").symlink_to(outside)
    result = await dono.reloader.wait(lambda r: not r.ok, timeout=5)
    assert any("outside the knowledge-base folder" in p.message for p in result.problems)
    notice = await emu.wait_for_bot_message(group.id, since=since, timeout=5)
    assert "outside the knowledge-base folder" in notice["text"]
    assert "Чужой ответ" not in await balance_answer(emu)


async def test_the_bot_refuses_to_start_on_a_bomb_with_a_clear_error(
    emu: Emulator, tmp_path: Path, kb_copy: Path
) -> None:
    """`dono run` as its own process, memory capped at 1 GB: exit 2 naming the file."""
    (kb_copy / "bomb.yaml").write_text(BOMB, encoding="utf-8")
    config = (ROOT / "config.yaml").read_text(encoding="utf-8")
    config = config.replace("path: kb ", f"path: {kb_copy} ").replace(
        "database: var/dono.sqlite3", f"database: {tmp_path / 'dono.sqlite3'}"
    )
    assert str(kb_copy) in config
    (tmp_path / "config.yaml").write_text(config, encoding="utf-8")

    env = {
        **os.environ,
        "DONO_BOT_TOKEN": emu.token,
        "DONO_API_BASE": emu.base_url,
        "DONO_CONFIG": str(tmp_path / "config.yaml"),
        "PYTHONPATH": str(ROOT),
    }
    log = tmp_path / "bot.log"  # its stdout and stderr
    proc = spawn_dono(["run"], env, log, memory_cap=1 << 30)
    try:
        code = await asyncio.to_thread(proc.wait, 60)
    finally:
        proc.kill()  # if still running
    assert code == 2, log.read_text()[-2000:]
    output = log.read_text()
    assert "bomb.yaml:1: refused: the YAML expands to more than 300,000 values" in output
    assert "MemoryError" not in output


async def test_rsync_style_and_checkout_style_replacements(live, emu: Emulator) -> None:
    """rsync writes a temporary file and renames it into place; a checkout may delete the
    folder and create it again. Both end with the new answers served."""
    dono, kb, _, _ = live
    path = kb / "balance.yaml"
    temp = kb / ".balance.yaml.Xa81Qz"  # rsync's temporary name: not a *.yaml
    temp.write_text(
        path.read_text(encoding="utf-8").replace("Проверить баланс:", "Баланс после rsync:"),
        encoding="utf-8",
    )
    os.replace(temp, path)
    await dono.reloader.wait(
        lambda r: "Баланс после rsync:" in dono.knowledge.kb.topics["balance_check"].answer.ru,
        timeout=5,
    )
    staged = kb.with_name("checkout")
    shutil.copytree(kb, staged)
    path = staged / "balance.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("Баланс после rsync:", "Баланс из ветки:"),
        encoding="utf-8",
    )
    shutil.rmtree(kb)
    await asyncio.sleep(0.3)  # the folder is missing for a moment, as in a checkout
    shutil.copytree(staged, kb)
    await dono.reloader.wait(
        lambda r: "Баланс из ветки:" in dono.knowledge.kb.topics["balance_check"].answer.ru,
        timeout=5,
    )
    assert len(dono.knowledge.kb.topics) == 33
    assert (await balance_answer(emu)).startswith("Баланс из ветки:")
