"""Rules of reading a chat message, each on sentences written for it: what happened is not
what is asked, Russian in Latin letters, a greeting that opens a question, a close rival the
answer links to."""

import pytest

from knowledge.index import STOPWORD_WEIGHT
from knowledge.lang import stem
from knowledge.matcher import Matcher
from knowledge.reading import readings
from tests.knowledge.conftest import what


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        # topped up (the story), asks about the tariff: not the top-up answer
        ("Пополнил баланс через терминал, а как узнать какой у меня тариф?", "tariff_current"),
        # bought a SIM (the story), asks for its number: not where to buy one
        ("kupil novuyu simku, nomer kakoy ne znayu, kak uznat", "own_number"),
    ],
)
def test_what_happened_is_not_what_is_asked(matcher: Matcher, message: str, expected: str) -> None:
    assert what(matcher.match(message)) == ("answer", expected)


@pytest.mark.parametrize("message", ["nomer kakoy u menya", "a tarif u menya kakoi"])
def test_russian_in_latin_letters_asks_with_kakoy(message: str) -> None:
    # "kakoy"/"kakoi" is "какой": a question word, though the message has no "?"
    reading = next(readings(message))
    assert reading.clause_asks == (True,)
    assert any(opt[:2] == ("ru", "какой") for opts in reading.options for opt in opts)


def test_a_greeting_that_opens_a_question_is_not_the_reply(matcher: Matcher) -> None:
    # the question scores too low to be answered, but it is a question: no "Hello!" back
    d = matcher.match("Здравствуйте! Я в Турции, как мне звонить домой подешевле?")
    assert d.kind != "smalltalk", d.explanation
    # asking to ask is still a greeting
    assert what(matcher.match("Добрый вечер! Можно вопрос?")) == ("smalltalk", "greeting")


def test_a_close_rival_the_answer_links_to_needs_no_choice(matcher: Matcher) -> None:
    # no internet on Android and the Android APN are close; the first answer links to the APN
    d = matcher.match("мобильный интернет не работает на андроиде")
    assert what(d) == ("answer", "no_internet"), d.explanation
    assert d.runner_up is not None and d.runner_up.id in matcher.kb.topics["no_internet"].related
    # one word both share is still a choice
    assert matcher.match("интернет").kind == "clarify"
    # a rival that asks "where" where the best does not is another question: still a choice
    d = matcher.match("где есть lte")
    assert d.kind == "clarify" and {"lte_4g", "coverage"} <= set(d.candidate_ids)


@pytest.mark.parametrize(
    ("perfect", "root"),
    [("мондааст", "монд"), ("гирифтааст", "гирифт"), ("рафтаанд", "рафт"), ("мондаам", "монд")],
)
def test_tajik_perfect_is_its_verb(perfect: str, root: str) -> None:
    # the perfect is the participle (-а) and a personal ending: "мондааст" has remained
    assert stem(perfect, "tg") == stem(root, "tg")


def test_tajik_perfect_finds_the_past_trigger(matcher: Matcher) -> None:
    perfect = matcher.match("Пулам куҷо рафтааст?")
    past = matcher.match("Пулам куҷо рафт?")
    assert what(perfect) == what(past) == ("answer", "charges_detail")
    assert perfect.score == pytest.approx(past.score)


def test_a_question_that_names_nothing_asks_about_the_clause_before_it() -> None:
    # "что делать?" asks about the internet that stopped working
    reading = next(readings("у меня с обеда пропал интернет, что делать?"))
    assert reading.bare == frozenset({1})
    assert reading.clause_asks[:2] == (True, True)
    # "как узнать," introduces the clause after it; the one before is not asked
    reading = next(readings("Деньги вижу, а как узнать, сколько минут осталось?"))
    assert reading.bare == frozenset({1})
    assert reading.clause_asks[:3] == (False, True, True)
    # a greeting before "Подскажите, ..." is not what it asks about
    reading = next(readings("Добрый вечер! Подскажите, как проверить баланс?"))
    assert reading.clause_asks[0] is False


def test_the_words_of_a_question_that_names_nothing_name_no_topic(matcher: Matcher) -> None:
    # "делать" is a word of "потерял телефон, что делать с номером": not here
    reading = next(readings("у меня с обеда пропал интернет, что делать?"))
    words = matcher._words(reading)
    assert words.weight[reading.words.index("делать")] <= matcher.max_weight * STOPWORD_WEIGHT


def test_a_verb_like_a_kb_word_weighs_as_a_verb_for_the_part_it_is_not(matcher: Matcher) -> None:
    # "избавиться" only resembles a KB word; the rest of it is a verb of the story, not a
    # word no topic knows (which would count against every topic)
    reading = next(readings("каждый день снимают деньги за подписки, как от них избавиться"))
    words = matcher._words(reading)
    i = reading.words.index("избавиться")
    assert words.kind[i] == "kb" and words.unknown[i] == 0.0
    assert words.weight[i] < matcher.max_weight


def test_a_negated_auxiliary_tells_and_does_not_ask() -> None:
    # "can't"/"don't"/"cannot" hold a question word ("can", "do") but state a problem; the
    # clause that asks is the other one
    reading = next(readings("I can't call home. How do I turn on roaming?"))
    assert reading.clause_asks[:2] == (False, True)
    reading = next(readings("I cannot send SMS abroad and I don't know why"))
    assert reading.clause_asks[:2] == (False, True)  # "why" asks; "don't" does not
    reading = next(readings("I cannot send SMS abroad. Is roaming on for my number?"))
    assert reading.clause_asks[:2] == (False, True)
    # without the negation the same words ask
    reading = next(readings("can I call home from Turkey"))
    assert reading.clause_asks == (True,)
