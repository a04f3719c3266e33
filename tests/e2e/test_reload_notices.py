"""What the operators' group is told about a KB reload: one language throughout, and a
"fixed" notice once a broken knowledge base loads again."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from emulator import Emulator
from tests.e2e.conftest import make_config, settled, start_dono

ENGLISH_FRAMING = ("knowledge base", "NOT reloaded", "error(s)", "still serving", "more:")


@pytest.fixture
async def live(emu: Emulator, tmp_path: Path, kb_copy: Path):
    admin = await emu.create_user("Admin", user_id=4242, language_code="ru")
    group = await emu.create_forum_group("Operators", agents=[admin])
    config = make_config(tmp_path, kb_copy)
    config.agents.group_id = group.id
    config.agents.admins = [admin.id]
    dono = await start_dono(emu, config)
    try:
        yield dono, kb_copy, group
    finally:
        await dono.stop()


def texts(emu: Emulator, group_id: int, since: int) -> list[str]:
    return [m.get("text") or "" for m in emu.bot_messages(group_id)[since:]]


async def test_a_broken_then_fixed_kb_is_told_in_russian_and_fixed_once(
    live, emu: Emulator
) -> None:
    dono, kb, group = live
    before = dono.knowledge.kb.version
    since = emu.cursor()
    (kb / "broken.yaml").write_text("topics:\n  - id: oops\n    category: balance\n")
    failed = await emu.wait_for_bot_message(group.id, since=since, timeout=5)
    assert re.match(r"❌ База знаний не обновлена: \d+ ошиб", failed["text"])
    assert f"Работает прежняя версия {before}" in failed["text"]
    assert "broken.yaml:2:" in failed["text"]  # the loader's own words stay as they are
    assert not [w for w in ENGLISH_FRAMING if w in failed["text"]]

    shown = len(emu.bot_messages(group.id))
    since = emu.cursor()
    (kb / "broken.yaml").unlink()  # back to the version served all along
    fixed = await emu.wait_for_bot_message(group.id, since=since, timeout=5)
    assert fixed["text"].startswith("✅ Исправлено: база знаний снова загружается без ошибок")
    assert dono.knowledge.kb.version == before

    since = emu.cursor()
    path = kb / "balance.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("Проверить баланс:", "Баланс:", 1))
    changed = await emu.wait_for_bot_message(group.id, since=since, timeout=5)
    assert changed["text"].startswith("✅ База знаний обновлена:")
    assert "изменены: balance_check" in changed["text"]
    await settled(emu)
    fixed_notices = [x for x in texts(emu, group.id, shown) if "Исправлено" in x]
    assert fixed_notices == [fixed["text"]]  # told once, not on every good reload after
