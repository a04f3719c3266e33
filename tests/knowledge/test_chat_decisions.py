"""Decision rules for chat messages, each on sentences written for it: a long message's
story dilutes its score but is no evidence against its topic."""

from typing import Any

import pytest

from knowledge.decision import Decision
from knowledge.index import word_key
from knowledge.matcher import Matcher, _Read
from knowledge.reading import readings
from tests.knowledge.conftest import what


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            "Здравствуйте, мы с семьёй на следующей неделе едем отдыхать в Турцию, подскажите, "
            "будет ли там работать мой номер и сколько это стоит",
            "roaming",
        ),
    ],
)
def test_a_long_story_around_a_clear_question_is_answered(
    matcher: Matcher, message: str, expected: str
) -> None:
    d = matcher.match(message)
    assert d.score < matcher.thresholds.answer  # the story keeps it under the usual bar
    assert what(d) == ("answer", expected), d.explanation


def test_a_long_message_with_a_word_no_topic_knows_is_not_answered_so(matcher: Matcher) -> None:
    # as long, but about another company's laptop: its unknown words still count against it
    d = matcher.match(
        "Добрый вечер, я купил новый ноутбук Lenovo, а он никак не видит мой домашний Wi-Fi, "
        "хотя пароль я ввёл правильно"
    )
    assert d.kind != "answer", d.explanation


@pytest.mark.parametrize(
    "message",
    [
        "Купила Xiaomi, сим-карта ваша, а в интернет не заходит. Какую точку доступа прописать?",
        "Взял телефон Samsung, вставил симку, звонки проходят, а интернета нет. "
        "Какую точку доступа прописать?",
    ],
)
def test_a_close_rival_that_explains_less_of_the_message_is_no_choice(
    matcher: Matcher, message: str
) -> None:
    # the question names an access point (both phones' topics have it); the phone named in
    # the story is Android's: the iPhone's topic explains nothing the Android one does not
    assert what(matcher.match(message)) == ("answer", "apn_android")


def test_context_words_count_in_every_form(matcher: Matcher) -> None:
    # "муж", "автобус": the dictionary form is in the context list, the message has another
    reading = next(readings("у мужа в автобусе украли телефон"))
    words = matcher._words(reading)
    kinds = dict(zip(reading.words, words.kind, strict=True))
    assert kinds["мужа"] == "context"
    assert kinds["автобусе"] == "context"


def test_apn_in_cyrillic_letters_is_apn(matcher: Matcher) -> None:
    d = matcher.match("не могу найти где в айфоне прописать апн")
    assert what(d) == ("answer", "apn_iphone"), d.explanation


def test_apn_typed_in_cyrillic_is_the_apn_of_the_triggers(matcher: Matcher) -> None:
    reading = next(readings("апн"))
    words = matcher._words(reading)
    apn = matcher.indexes["ru"].vocab[word_key("apn", "ru")]
    assert words.found["ru"][0].get(apn) == 1.0


def test_text_that_is_no_language_as_typed_is_read_on_the_other_layout_in_full(
    matcher: Matcher,
) -> None:
    # as typed, not one word of any language: the other layout is what was meant, and it
    # scores as the Russian it is
    meant = matcher.match("каждый месяц снимают деньги за подписку, как отключить")
    typed = matcher.match("rf;lsq vtczw cybvf.n ltymub pf gjlgbcre? rfr jnrk.xbnm")
    assert typed.variant == "keyboard layout"
    assert (typed.kind, typed.topic, typed.score) == (meant.kind, meant.topic, meant.score)


def _read(matcher: Matcher, message: str) -> _Read:
    """The reading the matcher decided on."""
    captured: dict[str, _Read] = {}
    decide = matcher._decide

    def spy(read: _Read, *args: Any) -> Decision:
        captured["read"] = read
        return decide(read, *args)

    matcher._decide = spy  # type: ignore[method-assign]
    try:
        matcher.match(message)
    finally:
        del matcher._decide
    return captured["read"]


@pytest.mark.parametrize(
    ("message", "switched"),
    [
        ("Салом, телефонам дар ҳаммом афтид, теперь симка не читается, нав кардан мумкин?", True),
        ("Телефон упал в воду, теперь симка не читается", False),
        ("Телефонам ба об афтид, ҳоло сим-корт кор намекунад", False),
    ],
)
def test_a_message_in_russian_and_tajik_at_once_is_told_apart(
    matcher: Matcher, message: str, switched: bool
) -> None:
    assert matcher._code_switched(_read(matcher, message)) is switched


def test_a_clear_leader_of_a_code_switched_message_is_answered(matcher: Matcher) -> None:
    # no trigger has both languages' words: the score is split, not evidence against it
    d = matcher.match(
        "Салом, телефонам дар ҳаммом афтид, теперь симка не читается, нав кардан мумкин?"
    )
    assert what(d) == ("answer", "sim_replace"), d.explanation


@pytest.mark.parametrize(
    ("message", "first", "second"),
    [
        ("How do I turn on 4G and where can I see if 4G works in Khujand?", "lte_4g", "coverage"),
        ("Где посмотреть, есть ли 4G в Худжанде, и как его включить?", "coverage", "lte_4g"),
    ],
)
def test_two_asks_that_share_a_word_are_two_questions(
    matcher: Matcher, message: str, first: str, second: str
) -> None:
    # "4G" is in both asks; what else each says is in its own clause: the one asked first is
    # answered, the other offered under it
    d = matcher.match(message)
    assert what(d) == ("answer", first), d.explanation
    assert d.also is not None and d.also.id == second


@pytest.mark.parametrize("word", ["симкартам", "симкартаамро", "simkartam"])
def test_the_colloquial_tajik_simkarta_is_a_sim_card(matcher: Matcher, word: str) -> None:
    words = matcher._words(next(readings(word)))
    sim = matcher.indexes["tg"].vocab[word_key("сим", "tg")]
    assert words.found["tg"][0].get(sim, 0.0) >= 0.95


@pytest.mark.parametrize(
    ("message", "intent"),
    [
        ("Салом, хубед? Саломатед?", "greeting"),  # asks how we are: small talk
        ("Hello! How are you?", "greeting"),
        ("Всё понятно, хорошего дня", "bye"),
    ],
)
def test_how_are_you_and_have_a_nice_day_are_small_talk(
    matcher: Matcher, message: str, intent: str
) -> None:
    assert what(matcher.match(message)) == ("smalltalk", intent)


def test_how_are_you_before_a_question_does_not_keep_it_unanswered(matcher: Matcher) -> None:
    d = matcher.match("Привет, как дела? Как проверить баланс?")
    assert what(d) == ("answer", "balance_check"), d.explanation


def test_a_question_that_names_nothing_asks_about_its_whole_sentence() -> None:
    # "что делать?" after a problem told in two clauses asks about both
    reading = next(readings("связь пропала с вечера, телефон перезагрузил, что делать?"))
    assert reading.clause_asks[:3] == (True, True, True)
    # a sentence before it is still the story
    reading = next(readings("Вчера был в Худжанде. Связь пропала с вечера, что делать?"))
    assert reading.clause_asks[:3] == (False, True, True)


def test_one_word_of_a_topic_in_a_later_sentence_does_not_overrule_the_first_ask(
    matcher: Matcher,
) -> None:
    # "Пулаш чанд мешавад?" (how much is it) finds only "пул" of "where did my money go"
    d = matcher.match("Ба Макси гузаштан мехоҳам, чӣ тавр? Пулаш чанд мешавад?")
    assert d.topic != "charges_detail", d.explanation
    # the first sentence, clear on its own, is still answered
    d = matcher.match("Ба Смарт гузаштан мехоҳам. Пулаш чӣ қадар мешавад?")
    assert what(d) == ("answer", "tariff_change"), d.explanation
