"""The report's numbers against plain SQL over a generated week, its JSON, and its HTML page."""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.report.format import (
    format_count,
    format_csat,
    format_duration,
    format_latency,
    format_share,
)
from bot.report.page import render_html
from handoff.reports import (
    OUTCOMES,
    Report,
    build_report,
    headline,
    percentile,
    report_json,
    today_window,
)
from handoff.storage import Store
from tests.handoff.conftest import Clock
from tests.pg import on_postgres, on_store

TZ = "Asia/Dushanbe"  # UTC+5 all year: plain SQL can shift by a constant
OFFSET = 5 * 3600
DAY0 = datetime(2025, 6, 16, tzinfo=ZoneInfo(TZ)).timestamp()  # a Monday, local midnight
DAY = 86400.0
SCRIPT = '<script>alert("dono")</script> баланс не проверяется'
HOSTILE_AGENT = '<b>Ольга</b> & "Co"'

# -- a generated scenario -----------------------------------------------------------------------

TOPICS = {
    "balance_check": 14,
    "internet_packages": 12,
    "no_internet": 8,
    "top_up": 8,
    "tariff_list": 7,
    "remaining_quota": 6,
    "apn_android": 5,
    "roaming": 4,
    "promised_payment": 3,
    "sim_lost": 3,
    "call_forwarding": 2,
    "esim": 2,
}
ASKED = {  # how subscribers ask for a topic, per language
    "balance_check": ("как проверить баланс", "Тавозуни ман чанд аст", "how do I check my balance"),
    "internet_packages": ("какие есть интернет пакеты", "бастаҳои интернет", "internet bundles"),
    "no_internet": ("не работает интернет", "интернет кор намекунад", "no internet"),
    "top_up": ("как пополнить счёт", "чӣ тавр пул гузорам", "how to top up"),
    "tariff_list": ("какие есть тарифы", "тарифҳо", "what tariffs are there"),
    "remaining_quota": ("сколько осталось гигабайт", "чанд гигабайт монд", "remaining data"),
    "apn_android": ("настройки интернета андроид", "танзимоти интернет", "apn settings"),
    "roaming": ("роуминг в россии", "роуминг", "roaming prices"),
    "promised_payment": ("обещанный платёж", "пули ваъдагӣ", "promised payment"),
    "sim_lost": ("потерял сим карту", "симкорт гум шуд", "lost my sim"),
    "call_forwarding": ("переадресация", "интиқоли занг", "call forwarding"),
    "esim": ("есть ли esim", "esim ҳаст", "do you have esim"),
    "outage_report": ("нет связи", "алоқа нест", "no signal"),
    "greeting": ("здравствуйте", "салом", "hello"),
    "thanks": ("спасибо", "ташаккур", "thanks"),
    "operator": ("позовите оператора", "Бо оператор пайваст кунед", "talk to a human"),
}
LANGS = ("ru", "tg", "en")
OTHER = {"ru": "а можно вопрос", "tg": "савол дорам", "en": "question", None: "???"}
AGENTS = [(501, "Мадина", 5), (502, "Farrukh", 4), (503, "Зарина", 3)]
DISTRICTS = {"Душанбе": 5, "Худжанд": 3, "Бохтар": 2, "Куляб": 2, "Хорог": 1, None: 1}
# local hour → how busy
HOURS = [1, 1, 0, 0, 0, 1, 2, 4, 7, 10, 12, 12, 11, 9, 8, 8, 9, 10, 12, 12, 10, 7, 4, 2]

Step = tuple[float, int, Callable[[], Awaitable[object]]]


def _pick(rng: random.Random, weights: dict) -> object:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


async def fill_scenario(
    store: Store,
    clock: Clock,
    *,
    days: int = 6,
    per_day: int = 45,
    seed: int = 7,
    hostile: bool = True,
) -> None:
    """Subscribers asking, agents answering, outages reported: ``days`` days from ``DAY0``,
    about ``per_day`` conversations a day, the same every run for a seed. ``hostile`` adds a
    question and an agent name full of HTML."""
    rng = random.Random(seed)
    steps: list[Step] = []
    seq = 0

    def at(ts: float, action: Callable[[], Awaitable[object]]) -> None:
        nonlocal seq
        seq += 1
        steps.append((ts, seq, action))

    def ask(ts: float, uid: int, decision: str, topic: str | None, lang: str | None) -> None:
        if topic in ASKED:
            text = ASKED[topic][LANGS.index(lang) if lang in LANGS else 0]
        else:
            text = OTHER[lang]
        latency = rng.lognormvariate(3.0, 0.5)
        at(
            ts,
            lambda: store.log_interaction(
                uid, text, text.lower(), decision, topic, [], 0.7, lang, latency
            ),
        )

    def hand_off(ts: float, uid: int, reason: str, lang: str | None, day: int) -> None:
        ticket: dict[str, int | None] = {"id": None}
        evening = datetime.fromtimestamp(ts, ZoneInfo(TZ)).hour >= 18
        fate = rng.random()

        async def open_() -> None:
            t, created = await store.open_ticket(uid, reason, "помогите", lang)
            ticket["id"] = t.id if created else None

        def then(action: Callable[[int], Awaitable[object]]) -> Callable[[], Awaitable[None]]:
            async def run() -> None:
                if ticket["id"] is not None:
                    await action(ticket["id"])

            return run

        at(ts, open_)
        if fate < 0.05 and day == days - 1:
            return  # still waiting when the report is made
        if fate < 0.10:
            at(ts + rng.uniform(300, 900), then(lambda i: store.close_ticket(i, reason="user")))
            return
        agent_id, name, _ = rng.choices(AGENTS, weights=[a[2] for a in AGENTS])[0]
        claimed = ts + rng.lognormvariate(5.0 if not evening else 6.0, 0.6)
        replied = claimed + rng.uniform(15, 150)
        closed = replied + rng.lognormvariate(6.6, 0.6)
        at(claimed, then(lambda i: store.claim(i, agent_id, name)))
        at(claimed + 5, then(lambda i: store.record_message(i, "in")))
        at(replied, then(lambda i: store.record_message(i, "out")))
        at(replied + 30, then(lambda i: store.record_message(i, "in")))
        at(closed, then(lambda i: store.close_ticket(i, agent_id, name)))
        if rng.random() < 0.6:
            score = rng.choices([1, 2, 3, 4, 5], weights=[4, 5, 10, 30, 51])[0]
            at(closed + 60, then(lambda i: store.set_csat(i, score)))

    users = list(range(10_000, 10_000 + per_day * 3))
    for day in range(days):
        count = round(per_day * rng.uniform(0.8, 1.2))
        for uid in rng.sample(users, count):
            start = DAY0 + day * DAY + rng.choices(range(24), HOURS)[0] * 3600
            start += rng.uniform(0, 3540)
            lang = rng.choices(["ru", "tg", "en", None], weights=[55, 33, 8, 4])[0]
            at(start, lambda uid=uid: _touch(store, uid))
            t = start + 1
            kind = rng.choices(
                ["answered", "clarified", "handoff", "abandoned", "outage"],
                weights=[50, 10, 20, 14, 6],
            )[0]
            if kind == "answered":
                if rng.random() < 0.2:
                    ask(t, uid, "clarify", None, lang)
                    t += rng.uniform(20, 90)
                for _ in range(rng.choice([1, 1, 1, 2, 3])):
                    topic = str(_pick(rng, TOPICS))
                    ask(t, uid, "answer", topic, lang)
                    if rng.random() < 0.3:
                        helpful = rng.random() < 0.78
                        at(t + 20, lambda u=uid, tp=topic, h=helpful: store.add_feedback(u, tp, h))
                    t += rng.uniform(30, 240)
                if rng.random() < 0.2:
                    ask(t, uid, "none", "thanks", lang)
            elif kind == "clarified":
                ask(t, uid, "clarify", None, lang)
                if rng.random() < 0.3:
                    ask(t + 60, uid, "none", None, lang)
            elif kind == "handoff":
                path = rng.random()
                if path < 0.4:
                    ask(t, uid, "none", None, lang)
                    ask(t + 40, uid, "none", None, lang)
                    ask(t + 80, uid, "handoff", "bot_failed", lang)
                    hand_off(t + 81, uid, "bot_failed", lang, day)
                elif path < 0.7:
                    ask(t, uid, "handoff", "operator", lang)
                    hand_off(t + 1, uid, "asked", lang, day)
                elif path < 0.85:
                    hand_off(t, uid, "command", lang, day)  # /operator: no question logged
                else:
                    ask(t, uid, "answer", str(_pick(rng, TOPICS)), lang)
                    hand_off(t + 90, uid, "button", lang, day)
            elif kind == "abandoned":
                ask(t, uid, "none", rng.choice([None, "greeting"]), lang)
                if rng.random() < 0.3:
                    ask(t + 50, uid, "handoff", "operator", lang)  # gave up before the ticket
            else:
                ask(t, uid, "answer", "outage_report", lang)
                district = _pick(rng, DISTRICTS)
                at(t + 45, lambda u=uid, d=district: store.add_outage(u, d, "нет сети"))
        if day == 2:  # one bad evening in Khujand: a cluster of reports
            for uid in range(20_000, 20_000 + per_day // 4):
                t = DAY0 + day * DAY + 19 * 3600 + rng.uniform(0, 5400)
                at(t, lambda u=uid: _touch(store, u))
                ask(t + 1, uid, "answer", "outage_report", "tg")
                at(t + 40, lambda u=uid: store.add_outage(u, "Худжанд", "алоқа нест"))
        # a banned subscriber's messages are kept but are not conversations
        banned = 9_999
        ask(DAY0 + day * DAY + 12 * 3600, banned, "banned", None, "ru")
        ask(DAY0 + day * DAY + 12 * 3600 + 30, banned, "banned", None, "ru")
    if hostile:
        ts = DAY0 + 10 * 3600
        at(ts, lambda: _touch(store, 9_998))
        at(
            ts + 1,
            lambda: store.log_interaction(
                9_998, SCRIPT, "баланс", "answer", "balance_check", [], 0.6, "ru", 25.0
            ),
        )
        for i in range(5):  # enough 👎 to top the list
            at(ts + 10 + i, lambda: store.add_feedback(9_998, "balance_check", False))
        ticket = {"id": 0}

        async def open_() -> None:
            ticket["id"] = (await store.open_ticket(9_997, "command", SCRIPT))[0].id

        at(ts, open_)
        at(ts + 60, lambda: store.claim(ticket["id"], 504, HOSTILE_AGENT))
        at(ts + 90, lambda: store.record_message(ticket["id"], "out"))
        at(ts + 600, lambda: store.close_ticket(ticket["id"], 504, HOSTILE_AGENT))

    for ts, _, action in sorted(steps, key=lambda s: (s[0], s[1])):
        clock.now = ts
        await action()


async def _touch(store: Store, uid: int) -> None:
    await store.touch_subscriber(uid, uid, f"User {uid}", None, "ru")


# -- the scenario, once for the module ----------------------------------------------------------

SINCE = DAY0
UNTIL = DAY0 + 5 * DAY  # the 6th day and what spills past midnight stay out of the window


@dataclass(frozen=True)
class Scenario:
    path: Path
    report: Report
    html: str


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    path = tmp_path_factory.mktemp("report") / "db.sqlite3"

    report = asyncio.run(on_store(path, _week_report, DAY0))
    return Scenario(path, report, render_html(report, title="Dono · <week 25>"))


async def _week_report(store: Store, clock: Clock) -> Report:
    await fill_scenario(store, clock, days=6, per_day=45, seed=20250616)
    return await build_report(store, SINCE, UNTIL, TZ)


async def test_postgresql_gives_the_same_report(scenario: Scenario) -> None:
    """The week on PostgreSQL: the report (checked against SQL above) comes out the same."""
    assert await on_postgres(_week_report, DAY0) == scenario.report


def sql(path: Path, query: str, *params: object) -> list[tuple]:
    db = sqlite3.connect(path)
    try:
        return db.execute(query, params).fetchall()
    finally:
        db.close()


def outcomes_by_sql(path: Path, since: float, until: float) -> dict[str, tuple[int, ...]]:
    """day → (conversations, handed off, answered, clarified, abandoned), by the module's
    definition written again as one query."""
    rows = sql(
        path,
        """
        WITH activity AS (
            SELECT user_id, date(ts + :off, 'unixepoch') AS day, kind
            FROM interactions WHERE ts >= :since AND ts < :until AND kind <> 'banned'
            UNION ALL
            SELECT user_id, date(created_at + :off, 'unixepoch'), 'ticket'
            FROM tickets WHERE created_at >= :since AND created_at < :until
        ), conversation AS (
            SELECT day, MAX(kind = 'ticket') AS t, MAX(kind = 'answer') AS a,
                   MAX(kind = 'clarify') AS c
            FROM activity GROUP BY day, user_id
        )
        SELECT day, COUNT(*), SUM(t), SUM(a AND NOT t), SUM(c AND NOT a AND NOT t),
               SUM(NOT (t OR a OR c))
        FROM conversation GROUP BY day ORDER BY day
        """.replace(":off", str(OFFSET))
        .replace(":since", repr(since))
        .replace(":until", repr(until)),
    )
    return {r[0]: tuple(r[1:]) for r in rows}


def nearest_rank_by_sql(path: Path, expr: str, where: str, p: int, *params: object) -> float:
    (row,) = sql(
        path,
        f"""
        WITH v AS (
            SELECT {expr} AS v, ROW_NUMBER() OVER (ORDER BY {expr}) AS rn, COUNT(*) OVER () AS n
            FROM {where}
        )
        SELECT v FROM v WHERE rn = (n * {p} + 99) / 100
        """,
        *params,
    )
    return row[0]


# -- numbers ------------------------------------------------------------------------------------


def test_outcomes_per_day_match_sql(scenario: Scenario) -> None:
    expected = outcomes_by_sql(scenario.path, SINCE, UNTIL)
    days = scenario.report.days
    assert [d.date.isoformat() for d in days] == sorted(expected) and len(days) == 5
    for d in days:
        o = d.outcomes
        assert (o.conversations, o.handed_off, o.answered, o.clarified, o.abandoned) == expected[
            d.date.isoformat()
        ], d.date
        assert o.conversations == o.answered + o.clarified + o.handed_off + o.abandoned
    # every outcome happens in the scenario, so none is trivially zero
    assert all(sum(getattr(d.outcomes, name) for d in days) > 0 for name in OUTCOMES)


def test_first_line_resolution_matches_sql(scenario: Scenario) -> None:
    per_day = outcomes_by_sql(scenario.path, SINCE, UNTIL).values()
    conversations = sum(v[0] for v in per_day)
    answered = sum(v[2] for v in per_day)
    o = scenario.report.outcomes
    assert (o.conversations, o.answered) == (conversations, answered)
    assert o.first_line_resolution == answered / conversations
    assert 0.3 < o.first_line_resolution < 0.8


def test_ticket_times_and_csat_match_sql(scenario: Scenario) -> None:
    r = scenario.report
    window = "tickets WHERE claimed_at IS NOT NULL AND created_at >= ? AND created_at < ?"
    assert r.times.wait_until_claim.p50 == nearest_rank_by_sql(
        scenario.path, "claimed_at - created_at", window, 50, SINCE, UNTIL
    )
    assert r.times.wait_until_claim.p90 == nearest_rank_by_sql(
        scenario.path, "claimed_at - created_at", window, 90, SINCE, UNTIL
    )
    latency = "interactions WHERE kind <> 'banned' AND ts >= ? AND ts < ?"
    assert r.bot_latency_ms.p50 == nearest_rank_by_sql(
        scenario.path, "latency_ms", latency, 50, SINCE, UNTIL
    )
    [(average, count)] = sql(
        scenario.path,
        "SELECT AVG(csat), COUNT(csat) FROM tickets WHERE created_at >= ? AND created_at < ?",
        SINCE,
        UNTIL,
    )
    assert r.csat.count == count > 20
    assert r.csat.average == pytest.approx(average)
    assert sum(r.csat.distribution) == count
    [(created, still_open)] = sql(
        scenario.path,
        "SELECT COUNT(*), SUM(status <> 'closed') FROM tickets"
        " WHERE created_at >= ? AND created_at < ?",
        SINCE,
        UNTIL,
    )
    assert (r.tickets.created, r.tickets.open) == (created, still_open)
    assert sum(d.tickets for d in r.days) == created


def test_agents_match_sql(scenario: Scenario) -> None:
    rows = sql(
        scenario.path,
        "SELECT agent_id, COUNT(*), AVG(csat) FROM tickets"
        " WHERE agent_id IS NOT NULL AND created_at >= ? AND created_at < ? GROUP BY agent_id",
        SINCE,
        UNTIL,
    )
    agents = {a.agent_id: a for a in scenario.report.agents}
    assert {a: agents[a].tickets for a in agents} == {r[0]: r[1] for r in rows}
    for agent_id, _, average in rows:
        assert agents[agent_id].csat_average == pytest.approx(average)
    assert [a.tickets for a in scenario.report.agents] == sorted(
        (a.tickets for a in scenario.report.agents), reverse=True
    )


def test_outages_and_feedback_match_sql(scenario: Scenario) -> None:
    r = scenario.report
    rows = sql(
        scenario.path,
        "SELECT district, COUNT(*) FROM outages WHERE ts >= ? AND ts < ? GROUP BY district",
        SINCE,
        UNTIL,
    )
    assert {d.district: d.reports for d in r.outages.by_district} == dict(rows)
    assert r.outages.by_district[0].district == "Худжанд"  # the bad evening
    assert sum(r.outages.by_hour) == r.outages.total == sum(n for _, n in rows)
    [(evening,)] = sql(
        scenario.path,
        "SELECT COUNT(*) FROM outages WHERE ts >= ? AND ts < ?"
        " AND CAST(strftime('%H', ts + ?, 'unixepoch') AS INTEGER) = 19",
        SINCE,
        UNTIL,
        OFFSET,
    )
    assert r.outages.by_hour[19] == evening
    votes = sql(
        scenario.path,
        "SELECT topic, SUM(helpful), SUM(1 - helpful) FROM feedback WHERE ts >= ? AND ts < ?"
        " GROUP BY topic",
        SINCE,
        UNTIL,
    )
    assert {t.topic: (t.helpful, t.unhelpful) for t in r.topics if t.helpful + t.unhelpful} == {
        v[0]: (v[1], v[2]) for v in votes
    }
    answers = sql(
        scenario.path,
        "SELECT topic, COUNT(*) FROM interactions WHERE kind = 'answer'"
        " AND ts >= ? AND ts < ? GROUP BY topic",
        SINCE,
        UNTIL,
    )
    assert {t.topic: t.answers for t in r.topics if t.answers} == dict(answers)
    assert (r.disliked[0].question, r.disliked[0].votes) == (SCRIPT, 5)
    [(n,)] = sql(
        scenario.path,
        "SELECT COUNT(*) FROM feedback WHERE helpful = 0 AND question = ? AND ts >= ? AND ts < ?",
        r.disliked[1].question,
        SINCE,
        UNTIL,
    )
    assert n >= r.disliked[1].votes >= 1
    assert sum(x.questions for x in r.languages) == r.questions
    assert sum(x.share for x in r.languages) == pytest.approx(1.0)


def test_json_round_trips_with_stable_keys(scenario: Scenario) -> None:
    data = report_json(scenario.report)
    text = json.dumps(data, ensure_ascii=False, allow_nan=False)
    assert json.loads(text) == data
    assert list(data)[:5] == ["format", "since", "until", "tz", "days"]
    assert data["days"][0]["date"] == "2025-06-16"
    assert data["outcomes"]["conversations"] == scenario.report.outcomes.conversations
    assert data["times"]["wait_until_claim"]["p50"] == scenario.report.times.wait_until_claim.p50
    assert data["csat"]["distribution"] == list(scenario.report.csat.distribution)


def test_headline_numbers(scenario: Scenario) -> None:
    r = scenario.report
    h = headline(r)
    assert h == {
        "since": SINCE,
        "until": UNTIL,
        "conversations": r.outcomes.conversations,
        "answered_by_bot": r.outcomes.answered,
        "handed_off": r.outcomes.handed_off,
        "first_line_resolution": r.outcomes.first_line_resolution,
        "median_bot_latency_ms": r.bot_latency_ms.p50,
        "median_wait_until_claim": r.times.wait_until_claim.p50,
        "csat_average": r.csat.average,
        "csat_count": r.csat.count,
    }
    json.dumps(h, allow_nan=False)


# -- the page -----------------------------------------------------------------------------------

VOID = {"meta", "link", "br", "hr", "img", "input", "col", "area", "base", "wbr", "source"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str | None]
    children: list[Node | str]

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Node]:
        found = []
        for c in self.children:
            if isinstance(c, Node):
                if (tag is None or c.tag == tag) and all(
                    c.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items()
                ):
                    found.append(c)
                found.extend(c.find_all(tag, **attrs))
        return found

    def one(self, tag: str | None = None, **attrs: str) -> Node:
        [node] = self.find_all(tag, **attrs)
        return node


class StrictTree(HTMLParser):
    """A tree of the page that fails on a tag closed out of order or never closed."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {}, [])
        self.stack = [self.root]
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, dict(attrs), [])
        self.stack[-1].children.append(node)
        self.tags.append(tag)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, dict(attrs), []))
        self.tags.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert tag not in VOID, f"</{tag}>"
        assert self.stack[-1].tag == tag, f"</{tag}> closes <{self.stack[-1].tag}>"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(page: str) -> StrictTree:
    tree = StrictTree()
    tree.feed(page)
    tree.close()
    assert [n.tag for n in tree.stack] == ["#document"], "unclosed tags"
    return tree


def rows_of(section: Node) -> list[list[str]]:
    return [[td.text() for td in tr.find_all("td")] for tr in section.one("tbody").find_all("tr")]


def test_page_is_well_formed_and_escapes_user_text(scenario: Scenario) -> None:
    tree = parse(scenario.html)
    assert "script" not in tree.tags and "b" not in tree.tags
    assert "<script>" not in scenario.html and "<week 25>" not in scenario.html
    text = tree.root.text()
    assert SCRIPT in text  # shown, as text
    assert HOSTILE_AGENT in text
    assert tree.root.one("title").text() == "Dono · <week 25>"
    assert "http://" not in scenario.html.replace('xmlns="http://www.w3.org/2000/svg"', "").replace(
        'xmlns:xlink="http://www.w3.org/1999/xlink"', ""
    )
    ids = [n.attrs["id"] for n in tree.root.find_all() if "id" in n.attrs]
    assert len(ids) == len(set(ids)), "ids repeat across charts"
    assert {n.attrs["data-testid"] for n in tree.root.find_all("figure")} == {
        "svg-outcomes",
        "svg-times",
    }


def test_page_shows_the_reports_numbers(scenario: Scenario) -> None:
    r, root = scenario.report, parse(scenario.html).root
    per_day = outcomes_by_sql(scenario.path, SINCE, UNTIL)
    conversations = sum(v[0] for v in per_day.values())
    answered = sum(v[2] for v in per_day.values())
    kpi = {
        n.attrs["data-testid"]: n.text()
        for n in root.one(data_testid="headline").find_all("div", **{"class": "value"})
    }
    assert kpi["kpi-conversations"] == format_count(conversations)
    assert kpi["kpi-first_line_resolution"] == format_share(answered / conversations)
    assert kpi["kpi-wait_until_claim"] == format_duration(r.times.wait_until_claim.p50)
    assert kpi["kpi-bot_latency"] == format_latency(r.bot_latency_ms.p50)
    assert kpi["kpi-csat"] == f"{format_csat(r.csat.average)} / 5"

    days = rows_of(root.one(data_testid="days"))
    assert [row[:6] for row in days] == [
        [day, *(str(n) for n in (v[0], v[2], v[3], v[1], v[4]))] for day, v in per_day.items()
    ]
    agents = {row[0]: row[1] for row in rows_of(root.one(data_testid="agents"))}
    assert agents == {a.agent_name: str(a.tickets) for a in r.agents}
    districts = {row[0]: row[1] for row in rows_of(root.one(data_testid="outages-district"))}
    assert districts == {
        (d.district or "somewhere else"): str(d.reports) for d in r.outages.by_district
    }
    totals = rows_of(root.one(data_testid="times-total"))
    assert totals[1][1:] == [
        format_duration(r.times.wait_until_claim.p50),
        format_duration(r.times.wait_until_claim.p90),
        str(r.times.wait_until_claim.count),
    ]
    hours = rows_of(root.one(data_testid="outages-hour"))[1]
    assert hours == [str(n) if n else "" for n in r.outages.by_hour]
    topics = rows_of(root.one(data_testid="topics"))
    top = r.topics[0]
    assert topics[0] == [top.topic, str(top.answers), str(top.helpful), str(top.unhelpful)]


# -- small cases, by hand -----------------------------------------------------------------------


async def say(store: Store, uid: int, decision: str, topic: str | None = None) -> None:
    await store.log_interaction(uid, "q", "q", decision, topic, [], 0.5, "ru", 10.0)


async def test_outcome_of_a_conversation(tmp_path: Path) -> None:
    clock = Clock(DAY0 + 9 * 3600)
    store = await Store.open(tmp_path / "db.sqlite3", clock=clock)
    try:
        await say(store, 1, "answer", "balance_check")  # answered
        await say(store, 2, "clarify")  # clarified
        await say(store, 3, "answer", "top_up")  # answered, then handed off: handed off
        await store.open_ticket(3, "button")
        await say(store, 4, "none", "greeting")  # smalltalk and misses: abandoned
        await say(store, 4, "none")
        await say(store, 5, "clarify")  # choices, then an answer: answered
        await say(store, 5, "answer", "roaming")
        await store.open_ticket(6, "command")  # /operator, nothing asked: handed off
        await say(store, 7, "banned")  # not a conversation
        await say(store, 8, "handoff", "operator")  # asked for a human, no ticket: abandoned
        report = await build_report(store, DAY0, DAY0 + DAY, TZ)
    finally:
        await store.close()
    o = report.outcomes
    assert (o.conversations, o.answered, o.clarified, o.handed_off, o.abandoned) == (7, 2, 1, 2, 2)
    assert o.first_line_resolution == 2 / 7
    assert report.questions == 8  # the banned message is not one
    assert [d.date for d in report.days] == [date(2025, 6, 16)]


async def test_a_conversation_across_midnight_counts_on_both_days(tmp_path: Path) -> None:
    clock = Clock(DAY0 + DAY - 600)  # 23:50 local
    store = await Store.open(tmp_path / "db.sqlite3", clock=clock)
    try:
        await say(store, 1, "none")
        clock.advance(1200)  # 00:10 the next day
        await say(store, 1, "answer", "balance_check")
        report = await build_report(store, DAY0, DAY0 + 2 * DAY, TZ)
    finally:
        await store.close()
    assert [(d.date.day, d.outcomes.abandoned, d.outcomes.answered) for d in report.days] == [
        (16, 1, 0),
        (17, 0, 1),
    ]


async def test_an_empty_database_gives_a_report_that_says_so(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "db.sqlite3", clock=Clock(DAY0))
    try:
        report = await build_report(store, SINCE, UNTIL, TZ)
        forever = await build_report(store, 0, float("inf"), TZ)
    finally:
        await store.close()
    assert report.is_empty and len(report.days) == 5
    assert report.outcomes.first_line_resolution is None
    assert report.times.wait_until_claim.p50 is None and report.csat.average is None
    assert report.outages.by_hour == (0,) * 24
    assert forever.days == () and forever.is_empty
    for r in (report, forever):
        data = report_json(r)
        assert json.loads(json.dumps(data, allow_nan=False)) == data
        page = render_html(r)
        tree = parse(page)
        assert tree.root.one(data_testid="no-data")
        assert "No data for this period" in tree.root.text()
        assert tree.root.one(data_testid="kpi-conversations").text() == "0"
        assert tree.root.one(data_testid="kpi-csat").text() == "—"
        assert not tree.root.find_all("svg")
    assert report_json(forever)["until"] is None
    assert headline(report)["median_wait_until_claim"] is None


async def test_a_long_window_lists_only_the_days_with_data(tmp_path: Path) -> None:
    clock = Clock(DAY0 + 3 * DAY + 3600)
    store = await Store.open(tmp_path / "db.sqlite3", clock=clock)
    try:
        await say(store, 1, "answer", "balance_check")
        clock.advance(2 * DAY)
        await store.add_outage(1, "Хорог")
        report = await build_report(store, 0, DAY0 + 400 * DAY, TZ)
    finally:
        await store.close()
    assert [d.date for d in report.days] == [
        date(2025, 6, 19) + timedelta(days=i) for i in range(3)
    ]
    assert report.outages.by_hour[1] == 1  # 01:00 local


def test_nearest_rank_percentiles() -> None:
    assert percentile([], 50) is None
    assert percentile([7.0], 90) == 7.0
    assert percentile([1, 2, 3, 4], 50) == 2
    assert percentile(list(range(1, 11)), 50) == 5
    assert percentile(list(range(1, 11)), 90) == 9
    assert percentile(list(range(1, 101)), 90) == 90
    assert percentile([1, 2, 3], 100) == 3
    with pytest.raises(ValueError):
        percentile([1], 0)


def test_today_is_from_local_midnight_to_the_next() -> None:
    assert today_window(DAY0 + 2 * DAY + 5 * 3600 + 17, TZ) == (DAY0 + 2 * DAY, DAY0 + 3 * DAY)
    assert today_window(DAY0 - 1, TZ) == (DAY0 - DAY, DAY0)
    assert today_window(DAY0, "UTC") == (DAY0 - 19 * 3600, DAY0 + 5 * 3600)


def test_numbers_as_the_page_writes_them() -> None:
    assert format_count(1234567) == "1\u202f234\u202f567"
    assert format_share(0.6234) == "62.3%" and format_share(None) == "—"
    assert [format_duration(s) for s in (None, 42, 245, 4000, 100000)] == [
        "—",
        "42 s",
        "4 min 05 s",
        "1 h 07 min",
        "1 d 4 h",
    ]
    assert format_latency(12.3) == "12 ms" and format_latency(1530) == "1.5 s"
