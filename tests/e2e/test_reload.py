"""Hot reload: an edit is served within 2 s, a broken edit never is, admins are told."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator import Emulator
from tests.e2e.conftest import Person, make_config, start_dono

ADMIN_ID = 4242


@pytest.fixture
async def live(emu: Emulator, tmp_path: Path, kb_copy: Path):
    agent = await emu.create_user("Admin", user_id=ADMIN_ID, language_code="ru")
    group = await emu.create_forum_group("Operators", agents=[agent])
    config = make_config(tmp_path, kb_copy)
    config.agents.group_id = group.id
    config.agents.admins = [ADMIN_ID]
    dono = await start_dono(emu, config)
    try:
        yield dono, kb_copy, group, agent
    finally:
        await dono.stop()


def edit_answer(kb: Path, old: str, new: str) -> None:
    path = kb / "balance.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


async def test_edit_is_served_without_restart(live, emu: Emulator) -> None:
    dono, kb, _, _ = live
    person = Person(emu, await emu.create_user("P", language_code="ru"))
    assert "*100#" in (await person.send("как проверить баланс"))["text"]
    before = dono.knowledge.kb.version
    edit_answer(kb, "Проверить баланс:", "Баланс теперь так:")
    result = await dono.reloader.wait(lambda r: r.version != before, timeout=2.0)
    assert result.ok and result.changed == ("balance_check",)
    assert (await person.send("как проверить баланс"))["text"].startswith("Баланс теперь так:")


async def test_broken_edit_keeps_old_answers_and_tells_admins(live, emu: Emulator) -> None:
    dono, kb, group, _ = live
    person = Person(emu, await emu.create_user("P", language_code="ru"))
    since = emu.cursor()
    (kb / "broken.yaml").write_text("topics:\n  - id: oops\n    category: balance\n")
    result = await dono.reloader.wait(lambda r: not r.ok, timeout=2.0)
    assert any("broken.yaml:2" in str(p) for p in result.problems)
    notice = await emu.wait_for_bot_message(group.id, since=since, timeout=5)
    assert "broken.yaml:2:" in notice["text"] and "прежняя версия" in notice["text"]
    assert "*100#" in (await person.send("как проверить баланс"))["text"]


async def test_reload_command_is_for_admins_only(live, emu: Emulator) -> None:
    dono, _kb, _, admin = live
    stranger = Person(emu, await emu.create_user("Stranger", language_code="ru"))
    assert "только для администраторов" in (await stranger.send("/reload"))["text"]
    boss = Person(emu, admin)
    reply = await boss.send("/reload")
    assert reply["text"].startswith("✅") and dono.knowledge.kb.version in reply["text"]


async def test_fifty_rapid_saves_end_with_the_last_version(live, emu: Emulator) -> None:
    dono, kb, _, _ = live
    path = kb / "balance.yaml"
    original = path.read_text(encoding="utf-8")
    for i in range(50):
        path.write_text(original.replace("Проверить баланс:", f"Версия {i}:", 1), encoding="utf-8")
    await dono.reloader.wait(
        lambda r: "Версия 49:" in dono.knowledge.kb.topics["balance_check"].answer.ru, timeout=10
    )
    # whatever was loaded along the way was a whole, valid version
    kb_now = dono.knowledge.kb
    assert len(kb_now.topics) == 33
    person = Person(emu, await emu.create_user("P", language_code="ru"))
    assert (await person.send("как проверить баланс"))["text"].startswith("Версия 49:")


async def test_dono_check_warns_before_use(tmp_path: Path, kb_copy: Path, capsys) -> None:
    from bot.cli import main

    edit_answer(kb_copy, "Проверить баланс:", "<b>Проверить баланс:")
    assert main(["check", str(kb_copy)]) == 1
    assert "<b> is never closed" in capsys.readouterr().err
