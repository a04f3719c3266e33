"""The daily digest end to end: the bot's own timer posts yesterday's figures, with the KB's
topic titles, in the operators' group at the configured local hour."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.periodic import Periodic
from tests.e2e.conftest import Desk, Person
from tests.e2e.test_desk import handed_off, press


def just_before(hour: int, tz: str) -> float:
    """How far to move the clock so that it reads tomorrow's ``hour``:00 local in 1.5 s."""
    now = time.time()
    tomorrow = datetime.fromtimestamp(now, ZoneInfo(tz)) + timedelta(days=1)
    at = tomorrow.replace(hour=hour, minute=0, second=0, microsecond=0).timestamp()
    return at - 1.5 - now


async def test_digest_posted_at_its_hour_with_titles(desk: Desk) -> None:
    emu, dono = desk.emu, desk.dono
    asker = Person(emu, await emu.create_user("Zarina", language_code="ru"))
    assert "*100#" in (await asker.send("как проверить баланс"))["text"]
    _, card = await handed_off(desk, "Farrukh")  # asked about the balance, then for a human
    await press(desk, desk.agents[0], card, "Взять")
    dono.config.reports.digest_hour = 9
    desk_service = dono.dp["desk"]
    offset = just_before(9, desk_service.hours.timezone)
    started = dono.timers  # the bot's own timers, as it started them, on a clock set to 08:59
    await started.stop()
    dono.timers = Periodic(
        dono.config, dono.store, desk_service, started.knowledge, clock=lambda: time.time() + offset
    )
    dono.timers.start()
    since = emu.cursor()
    digest = await emu.wait_for_bot_message(
        desk.group.id,
        since=since,
        timeout=15,
        predicate=lambda m: "Итоги дня" in (m.get("text") or ""),
    )
    text = digest["text"]
    assert "message_thread_id" not in digest  # General, not a ticket's topic
    assert "2 разговора" in text and "Передан операторам: 1" in text
    assert "Открыто на конец дня: 1 обращение" in text  # claimed, not closed
    # the topic asked before the hand-off, by its title in the desk's language, not its id
    assert "Проверить баланс (1)" in text and "balance_check" not in text
