"""`dono demo`: a generated week of conversations in a new database, for `dono report`,
`dono unanswered` and the playground. Questions are the KB's own phrasings (and some it has no
answer for), decided by the real matcher; agents claim, answer and close; subscribers rate."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from handoff.storage import Store
from knowledge.matcher import Matcher

DAY = 86400.0
# local hour → how busy (a mobile operator's support: mornings and evenings)
HOURS = [1, 1, 0, 0, 0, 1, 2, 4, 7, 10, 12, 12, 11, 9, 8, 8, 9, 10, 12, 12, 10, 7, 4, 2]
LANG_SHARE = {"ru": 55, "tg": 35, "en": 10}
AGENTS = [(900_001, "Мадина", 5), (900_002, "Farrukh", 4), (900_003, "Зарина", 3)]
GREETING = {"ru": "здравствуйте, ", "tg": "салом, ", "en": "hi, "}
OPERATOR = {"ru": "позовите оператора", "tg": "Бо оператор пайваст кунед", "en": "talk to a human"}
UNKNOWN = {  # what subscribers ask that the sample KB has no answer for
    "ru": [
        "когда у вас будет 5g",
        "можно ли перенести номер от другого оператора",
        "почему списали деньги за звонок который не состоялся",
        "как получить счет-фактуру для организации",
        "у вас есть вакансии",
    ],
    "tg": [
        "5G кай мешавад?",
        "рақамро аз оператори дигар гузаронидан мумкин аст?",
        "чаро шабона интернет суст аст",
    ],
    "en": ["when will you have 5g", "can I keep my number from another operator"],
}


@dataclass
class Week:
    """What was written: counts a person can check against the report."""

    conversations: int = 0
    questions: int = 0
    tickets: int = 0
    outages: int = 0
    kinds: dict[str, int] = field(default_factory=dict)


class _Script:
    """Actions at given times, run in time order with the store's clock set to each."""

    def __init__(self) -> None:
        self.steps: list[tuple[float, int, Callable[[], Awaitable[object]]]] = []

    def at(self, ts: float, action: Callable[[], Awaitable[object]]) -> None:
        self.steps.append((ts, len(self.steps), action))

    async def run(self, now: list[float]) -> None:
        for ts, _, action in sorted(self.steps, key=lambda s: (s[0], s[1])):
            now[0] = ts
            await action()


def _questions(matcher: Matcher) -> dict[str, list[tuple[str, float]]]:
    """Per language, the KB's triggers weighted by how often such a topic is asked."""
    common = {"balance_check": 6, "internet_packages": 5, "no_internet": 4, "top_up": 4}
    out: dict[str, list[tuple[str, float]]] = {lang: [] for lang in LANG_SHARE}
    for topic in matcher.kb.topics.values():
        for lang in LANG_SHARE:
            for phrase in getattr(topic.triggers, lang):
                out[lang].append((phrase, common.get(topic.id, 1)))
    return out


async def write_week(
    path: Path,
    matcher: Matcher,
    districts: list[str],
    *,
    until: float,
    days: int = 7,
    per_day: int = 60,
    seed: int = 7,
) -> Week:
    """Fill a new database at ``path`` with ``days`` days of conversations ending at ``until``."""
    rng = random.Random(seed)
    now = [until - days * DAY]
    store = await Store.open(path, clock=lambda: now[0])
    script, week = _Script(), Week()
    pool = _questions(matcher)
    try:
        start = until - days * DAY
        uid = 100_000
        for day in range(days):
            for _ in range(round(per_day * rng.uniform(0.8, 1.2))):
                uid += 1  # one subscriber per conversation: no ticket of theirs is still open
                hour = rng.choices(range(24), HOURS)[0]
                ts = start + day * DAY + hour * 3600 + rng.uniform(0, 3500)
                if ts >= until - 600:
                    continue
                lang = rng.choices(list(LANG_SHARE), list(LANG_SHARE.values()))[0]
                _conversation(script, store, matcher, rng, week, uid, ts, lang, pool, districts)
        await script.run(now)
    finally:
        await store.close()
    return week


def _ask(
    script: _Script,
    store: Store,
    matcher: Matcher,
    week: Week,
    uid: int,
    ts: float,
    text: str,
    lang: str,
    rng: random.Random,
) -> str:
    """One question, decided by the matcher now and logged at ``ts``; the decision's kind."""
    d = matcher.match(text, lang)
    week.questions += 1
    week.kinds[d.kind] = week.kinds.get(d.kind, 0) + 1
    latency = rng.lognormvariate(3.2, 0.5)
    script.at(
        ts,
        lambda: store.log_interaction(
            uid,
            text,
            d.normalized,
            d.kind,
            d.topic,
            d.candidate_ids,
            d.score,
            d.lang,
            latency,
            intent=d.intent,
        ),
    )
    return d.topic if d.kind == "answer" and d.topic else d.kind


def _conversation(
    script: _Script,
    store: Store,
    matcher: Matcher,
    rng: random.Random,
    week: Week,
    uid: int,
    ts: float,
    lang: str,
    pool: dict[str, list[tuple[str, float]]],
    districts: list[str],
) -> None:
    week.conversations += 1
    script.at(ts, lambda: store.touch_subscriber(uid, uid, f"Абонент {uid % 1000}", None, lang))
    phrases = pool[lang]
    kind = rng.choices(["asks", "unknown", "operator", "outage"], [70, 14, 10, 6])[0]
    ts += 1
    if kind == "outage" and districts:
        _ask(
            script,
            store,
            matcher,
            week,
            uid,
            ts,
            "нет связи" if lang == "ru" else "алоқа нест",
            "ru" if lang == "ru" else "tg",
            rng,
        )
        district = rng.choice(districts)
        week.outages += 1
        script.at(ts + 40, lambda: store.add_outage(uid, district, "нет сети с утра"))
        return
    if kind == "operator":
        _ask(script, store, matcher, week, uid, ts, OPERATOR[lang], lang, rng)
        _ticket(script, store, rng, week, uid, ts + 1, "asked", OPERATOR[lang], lang)
        return
    misses = 0
    for _ in range(rng.choice([1, 1, 2, 3])):
        if kind == "unknown":
            text = rng.choice(UNKNOWN[lang])
        else:
            text = rng.choices([p for p, _ in phrases], [w for _, w in phrases])[0]
        if rng.random() < 0.25:
            text = GREETING[lang] + text[:1].lower() + text[1:]
        got = _ask(script, store, matcher, week, uid, ts, text, lang, rng)
        if got in matcher.kb.topics and rng.random() < 0.3:
            helpful = rng.random() < 0.8
            script.at(ts + 25, lambda t=got, h=helpful: store.add_feedback(uid, t, h))
        misses = misses + 1 if got == "none" else 0
        if misses >= 2:
            _ticket(script, store, rng, week, uid, ts + 1, "bot_failed", text, lang)
            return
        ts += rng.uniform(40, 300)


def _ticket(
    script: _Script,
    store: Store,
    rng: random.Random,
    week: Week,
    uid: int,
    ts: float,
    reason: str,
    question: str,
    lang: str,
) -> None:
    """A hand-off: taken by an agent within minutes (slower in the evening), answered, closed,
    often rated; a few are given up by the subscriber before anyone takes them."""
    week.tickets += 1
    ticket: dict[str, int] = {}

    async def open_() -> None:
        t, _ = await store.open_ticket(uid, reason, question, lang)
        ticket["id"] = t.id

    script.at(ts, open_)
    if rng.random() < 0.08:
        script.at(
            ts + rng.uniform(300, 900), lambda: store.close_ticket(ticket["id"], reason="user")
        )
        return
    agent_id, name, _ = rng.choices(AGENTS, [a[2] for a in AGENTS])[0]
    claimed = ts + rng.lognormvariate(5.0, 0.7)
    replied = claimed + rng.uniform(15, 150)
    closed = replied + rng.lognormvariate(6.3, 0.6)
    script.at(claimed, lambda: store.claim(ticket["id"], agent_id, name))
    script.at(replied, lambda: store.record_message(ticket["id"], "out"))
    script.at(replied + 40, lambda: store.record_message(ticket["id"], "in"))
    script.at(closed, lambda: store.close_ticket(ticket["id"], agent_id, name))
    if rng.random() < 0.6:
        score = rng.choices([1, 2, 3, 4, 5], [4, 5, 10, 30, 51])[0]
        script.at(closed + 60, lambda: store.set_csat(ticket["id"], score))
