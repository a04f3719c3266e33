"""Matcher on a small knowledge base: every kind of decision, every way of typing."""

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from knowledge.loader import load
from knowledge.matcher import Decision, Matcher, Thresholds

MINI = Path(__file__).parent.parent / "data" / "kb_mini"


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(load(MINI))


@pytest.mark.parametrize(
    ("question", "topic", "lang"),
    [
        ("Как проверить баланс?", "balance_check", "ru"),
        ("как праверить баланс", "balance_check", "ru"),  # typo
        ("kak proverit balans", "balance_check", "ru"),  # translit
        ("rfr ghjdthbnm ,fkfyc", "balance_check", "ru"),  # wrong layout
        ("Тавозуни ман чанд аст?", "balance_check", "tg"),
        ("тавозуни ман чанд аст", "balance_check", "tg"),  # Tajik letters as Russian ones
        ("how can I check my balance", "balance_check", "en"),
        ("add money to phone", "top_up", "en"),
        ("номер поддержки", "call_center", "ru"),
    ],
)
def test_answers(matcher: Matcher, question: str, topic: str, lang: str) -> None:
    d = matcher.match(question)
    assert (d.kind, d.topic, d.lang) == ("answer", topic, lang), d.explanation


@pytest.mark.parametrize("question", ["позовите оператора", "talk to a human please"])
def test_handoff(matcher: Matcher, question: str) -> None:
    d = matcher.match(question)
    assert d.kind == "handoff"
    assert d.intent == "operator"


@pytest.mark.parametrize(
    "question", ["", "   ", "👍", "ok", "какая погода в Душанбе", "qwertyuiop", "12345"]
)
def test_out_of_scope_is_none(matcher: Matcher, question: str) -> None:
    d = matcher.match(question)
    assert d.kind == "none", d.explanation
    assert d.topic is None


def test_smalltalk_says_so_with_its_intent(matcher: Matcher) -> None:
    d = matcher.match("спасибо!")
    assert (d.kind, d.intent, d.topic) == ("smalltalk", "thanks", None)


def test_ambiguous_question_offers_choices(matcher: Matcher) -> None:
    d = matcher.match("баланс")
    assert d.kind == "clarify"
    assert set(d.candidate_ids) == {"balance_check", "top_up"}
    assert 2 <= len(d.candidates) <= 4


def test_thresholds_decide(matcher: Matcher) -> None:
    strict = Matcher(matcher.kb, Thresholds(answer=0.99, confident=0.99, clarify=0.98))
    assert strict.match("how can I check my balance").kind == "none"


def test_language_hint_breaks_ties(matcher: Matcher) -> None:
    # "баланс" is a word of both Russian and Tajik: the subscriber's language decides.
    assert matcher.match("баланс", lang_hint="tg").lang == "tg"
    assert matcher.match("баланс", lang_hint="ru").lang == "ru"


def test_explanation_names_the_trigger(matcher: Matcher) -> None:
    d = matcher.match("kak proverit balans")
    assert any("как проверить баланс" in line for line in d.explanation)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.text(),
        st.text(alphabet=st.characters(categories=["Cc", "Cf", "Zs", "So"])),
        st.binary().map(lambda b: b.decode("utf-8", "replace")),
        st.text(alphabet="אבגדהوبتث\u202e\u200fабвгдӣқ", max_size=200),
    )
)
def test_any_string_gets_a_decision(text: str) -> None:
    d = MATCHER.match(text)
    assert isinstance(d, Decision)
    assert d.kind in ("answer", "clarify", "handoff", "none")


MATCHER = Matcher(load(MINI))


@pytest.mark.parametrize(
    "text",
    ["а" * 10_000, "баланс " * 2000, "\x00\x01\x02" * 100, "😀" * 5000, "\u202e" + "x" * 500],
)
def test_huge_and_odd_inputs(matcher: Matcher, text: str) -> None:
    assert matcher.match(text).kind in ("answer", "clarify", "handoff", "none")
