"""Telegram's lengths through the emulator: counted in UTF-16 units, as Telegram counts."""

from __future__ import annotations

from pathlib import Path

from bot.tglimits import utf16_len
from emulator import Emulator
from tests.e2e.conftest import Person, make_config, start_dono

EMOJI_TOPIC = """\
topics:
  - id: emoji_wall
    category: help
    triggers:
      ru: [покажи стену смайликов]
      tg: [девори смайликҳоро нишон деҳ]
      en: [show me the emoji wall]
    answer:
      ru: "{wall}"
      tg: "{wall}"
      en: "{wall}"
"""


async def test_a_5000_emoji_answer_arrives_whole(
    emu: Emulator, tmp_path: Path, kb_copy: Path
) -> None:
    wall = "😀" * 5000  # 5,000 characters, 10,000 UTF-16 units
    (kb_copy / "emoji.yaml").write_text(EMOJI_TOPIC.format(wall=wall), encoding="utf-8")
    dono = await start_dono(emu, make_config(tmp_path, kb_copy))
    try:
        person = Person(emu, await emu.create_user("Emoji", language_code="ru"))
        parts = [await person.send("покажи стену смайликов")]
        while sum(utf16_len(p["text"]) for p in parts) < 10_000:
            parts.append(await person.next())
        assert [utf16_len(p["text"]) for p in parts] == [4096, 4096, 1808]
        assert "".join(p["text"] for p in parts) == wall
        assert all(c["ok"] for c in emu.calls("sendMessage"))
    finally:
        await dono.stop()
