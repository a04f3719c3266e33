"""`dono report` and /stats on databases filled end to end, checked against plain SQL."""

from __future__ import annotations

import asyncio
import csv
import json
import sqlite3
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.cli import main
from handoff.storage import Store
from tests.e2e.conftest import Desk, Person, button_data
from tests.handoff.conftest import Clock
from tests.handoff.test_reports import DAY, DAY0, TZ, fill_scenario, outcomes_by_sql


def sql(db: Path, query: str) -> list[tuple]:
    con = sqlite3.connect(db)
    try:
        return con.execute(query).fetchall()
    finally:
        con.close()


def test_report_of_a_generated_week(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "dono.sqlite3"

    async def fill() -> None:
        clock = Clock(DAY0)
        store = await Store.open(db, clock=clock)
        try:
            await fill_scenario(store, clock, days=5, per_day=30, seed=7)
        finally:
            await store.close()

    asyncio.run(fill())
    since = datetime.fromtimestamp(DAY0, ZoneInfo(TZ)).isoformat()
    until = datetime.fromtimestamp(DAY0 + 4 * DAY, ZoneInfo(TZ)).isoformat()
    args = ["report", "--db", str(db), "--since", since, "--until", until, "--tz", TZ]
    out = tmp_path / "report.html"
    assert main([*args, "--out", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert main([*args, "--json"]) == 0
    capsys.readouterr()  # the "written to" line
    tables = tmp_path / "tables"
    assert main([*args, "--json", "--out", str(tmp_path / "r.json"), "--csv", str(tables)]) == 0
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    # the lead's figures ride along: in the JSON, and as CSV tables a spreadsheet opens
    reasons = sql(
        db,
        f"SELECT reason, COUNT(*) FROM tickets WHERE created_at >= {DAY0}"
        f" AND created_at < {DAY0 + 4 * DAY} GROUP BY reason",
    )
    assert {r: n for r, n in report["insights"]["handoff_reasons"]} == dict(reasons)
    assert report["insights"]["sla"]["first_response"]["target"] is None  # none configured
    with (tables / "handoff_reasons.csv").open(encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["reason", "tickets"]
    assert {r: int(n) for r, n in rows[1:]} == dict(reasons)
    written = {p.name.removesuffix(".csv") for p in tables.iterdir()}
    # every table of the report, not only the lead's (days, topics, ... were left out)
    assert written >= {
        *("sla_days", "low_ratings", "days", "agent_times", "topics", "languages", "csat"),
        *("outages_by_district", "outages_by_hour", "queue_ageing", "trends", "click_through"),
        *("heatmap_handoffs", "sla_by_priority", "sla_by_label", "shift_rates"),
    }

    def table(name: str) -> list[dict[str, str]]:
        with (tables / f"{name}.csv").open(encoding="utf-8") as f:
            return list(csv.DictReader(f))

    days = table("days")
    assert [int(d["conversations"]) for d in days] == [
        d["outcomes"]["conversations"] for d in report["days"]
    ]
    stars = {int(r["stars"]): int(r["ratings"]) for r in table("csat")}
    rated = sql(
        db,
        "SELECT csat, COUNT(*) FROM tickets WHERE csat IS NOT NULL"
        f" AND created_at >= {DAY0} AND created_at < {DAY0 + 4 * DAY} GROUP BY csat",
    )
    assert stars == {n: dict(rated).get(n, 0) for n in range(1, 6)}
    answers = {r["topic"]: int(r["answers"]) for r in table("topics")}
    assert answers == {t["topic"]: t["answers"] for t in report["topics"]}

    by_day = outcomes_by_sql(db, DAY0, DAY0 + 4 * DAY)
    total = sum(v[0] for v in by_day.values())
    assert report["outcomes"]["conversations"] == total
    assert report["outcomes"]["handed_off"] == sum(v[1] for v in by_day.values())
    assert report["outcomes"]["answered"] == sum(v[2] for v in by_day.values())
    ((csat, rated),) = sql(
        db,
        f"SELECT AVG(csat), COUNT(csat) FROM tickets WHERE created_at >= {DAY0}"
        f" AND created_at < {DAY0 + 4 * DAY}",
    )
    assert report["csat"]["count"] == rated
    assert report["csat"]["average"] == pytest.approx(csat)
    assert f"{total}" in page and "<svg" in page


async def test_report_and_stats_after_real_conversations(
    desk: Desk, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    emu, dilnoza = desk.emu, desk.agents[0]
    for i, question in enumerate(["как проверить баланс", "интернет", "кто написал войну и мир"]):
        person = Person(emu, await emu.create_user(f"R{i}", language_code="ru"))
        await person.send(question)
    person = Person(emu, await emu.create_user("Handed", language_code="ru"))
    since = emu.cursor()
    await person.send("позовите оператора")
    card = await desk.card(since=since)
    thread = card["message_thread_id"]
    await desk.say(dilnoza, "Здравствуйте!", thread)
    await person.next()
    await desk.say(dilnoza, "/close", thread)
    csat = await person.next()
    await person.press(csat, button_data(csat, "4"))
    topic = desk.topic(thread)
    await topic.next(predicate=lambda m: "⭐" in (m.get("text") or ""))

    await desk.say(dilnoza, "/stats", thread)
    stats = await topic.next(predicate=lambda m: "Сегодня" in (m.get("text") or ""))
    assert "Разговоров: 4" in stats["text"] and "Передано операторам: 1" in stats["text"]
    assert "CSAT: 4.00 (1 оценка)" in stats["text"]
    assert "Разговор — один абонент за день" in stats["text"]

    db = desk.dono.config.bot.database
    assert (
        await asyncio.to_thread(main, ["report", "--db", str(db), "--since", "1d", "--json"]) == 0
    )
    report = json.loads(capsys.readouterr().out)
    ((users,),) = sql(db, "SELECT COUNT(DISTINCT user_id) FROM interactions")
    ((tickets,),) = sql(db, "SELECT COUNT(*) FROM tickets")
    assert report["outcomes"]["conversations"] == users == 4
    assert report["outcomes"]["handed_off"] == tickets == 1
    assert report["csat"]["average"] == 4
