"""How a message may have been meant: its readings, each a list of words split into clauses.

A reading is the text as typed, or what it means on the other keyboard layout. Within a
reading every word keeps its own options: a Cyrillic word is looked up as Russian and as Tajik,
a Latin word as English and, transliterated, as Russian and Tajik. So "Салом, интернет кор
намекунад, что мне делать?" is one reading in which Tajik and Russian words both count, and
"balansma chi xel fahmam" is Tajik in Latin letters.

Words are grouped into clauses (split at punctuation and at conjunctions such as "и", "ва",
"and"), and clauses into sentences, so the matcher can read the part of a message that asks.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from knowledge.lang import FOLDED_STOPWORDS
from knowledge.text import (
    layout_en_to_ru,
    layout_ru_to_en,
    normalize,
    script,
    translit_to_cyrillic,
)

# (language, the word as that language's index should see it, confidence)
Option = tuple[str, str, float]

MAX_UNITS = 24  # clauses beyond this join the last one: a wall of text is read as a whole
MAX_WORDS = 80  # a subscriber's question fits; past this a wall of text costs more than it tells

_RU_SHORT_I = re.compile(r"(?<=[аеёиоуэюя])(?:ы|и$)")
_CLAUSE_END = re.compile(r"[,:;.!?…)(\]\[«»\"]+$|^[-—–]+$")
_SENTENCE_END = re.compile(r"[.!?…;]+[)\"»]*$")
# words that start a new clause: "как проверить баланс | и пополнить его с карты"
_CONJUNCTIONS = frozenset(
    "и а но или ещё еще заодно также плюс потом ва ё вале аммо инчунин боз "
    "and but also plus then".split()
)
# words that make a sentence a question even without "?"
QUESTION_WORDS = frozenset(
    "как сколько где почему что какой какая какое какие каким каком какую когда куда откуда "
    "зачем можно ли разве чем чё чо че "
    "чи чӣ чанд куҷо кучо кай чаро кадом оё мумкин чихел чӣхел "
    "how what where why when which can could is are do does will should whats".split()
)
# an English auxiliary with its negation ("can't", "don't", "cannot"): a statement, not a question
_NEGATED = re.compile(r"(?i)(?:n['’`]t|^cannot)$")
# words that make a clause a request: "хочу перейти на Смарт", "пул гузорам мехоҳам"
REQUEST_WORDS = frozenset(
    "хочу хотел хотела нужно надо нужен нужна помогите подскажите скажите объясните можно "
    "посоветуй посоветуйте порекомендуй "
    "мехоҳам мехохам лозим кӯмак кумак гӯед гуед бигӯед бигуед "
    "want need help please tell".split()
)
ASK_WORDS = QUESTION_WORDS | REQUEST_WORDS
# what a question says when it names nothing: "что делать?", "что ещё проверить?",
# "чӣ кор кунам?", "what should I do?"
_NAMING_NOTHING = """
    делать сделать проверить посмотреть быть поступить предпринять можно ещё еще теперь дальше
    тогда тут такое такой делаете это задать спросить уточнить вопрос
    кор кунам кунем кунад тавр хел акнун
    do check try now should then
"""
BARE_WORDS = (
    ASK_WORDS
    | frozenset(normalize(w) for w in _NAMING_NOTHING.split())
    | FOLDED_STOPWORDS["ru"]
    | FOLDED_STOPWORDS["tg"]
    | FOLDED_STOPWORDS["en"]
)
# a clause that points back ("как её заблокировать") is about the clause before it
REFERRING = frozenset(
    "его её ее их него нее неё ним ней это этот эту эта этого этим этой там туда "
    "онро инро ин он вайро онҳоро онро it them this that there".split()
)


@dataclass(frozen=True, slots=True)
class Reading:
    """One way the whole message may have been meant."""

    label: str  # "as typed" | "keyboard layout"
    weight: float
    words: tuple[str, ...]  # normalized words as read
    options: tuple[tuple[Option, ...], ...]  # per word: where to look it up
    units: tuple[int, ...]  # clause number of each word
    sentences: tuple[int, ...]  # sentence number of each clause
    asks: tuple[bool, ...]  # per sentence: is it a question ("?" or a question word)
    clause_asks: tuple[bool, ...] = ()  # per clause: it holds the question or request
    names: tuple[bool, ...] = ()  # per word: capitalized inside a sentence (a name: "Steam")
    bare: frozenset[int] = frozenset()  # clauses that ask but name nothing ("что делать?")

    def focus(
        self, context: float, clause: float, past: set[int] | None = None, story: float = 0.0
    ) -> list[float]:
        """Per word: 1 in a clause that asks or requests, ``clause`` in the other clauses of a
        sentence that asks (at most ``story`` in ``past`` ones, which tell what happened),
        ``context`` elsewhere (the story around the question); 1 everywhere when nothing
        asks."""
        if not any(self.asks):
            return [1.0] * len(self.words)
        out = []
        for u in self.units:
            if self.clause_asks[u]:
                out.append(1.0)
            elif self.asks[self.sentences[u]]:
                out.append(min(clause, story) if past and u in past else clause)
            else:
                out.append(context)
        return out


@lru_cache(maxsize=100_000)
def _word_options(word: str, mode: str, typed: str | None = None) -> tuple[Option, ...]:
    """Where to look a word up. ``mode``: "cyr" (Cyrillic text), "latin" (Latin text: English or
    translit), "en" (English typed on a Russian layout). ``typed``: the word as typed when the
    reading converted it (a Latin term such as "apn" may have been meant as typed)."""
    if mode == "en":
        return (("en", word, 1.0),)
    if word.isascii():
        if mode == "cyr":
            # a Latin word inside Cyrillic text: English, or a brand/term the KB keeps in Latin
            return (("en", word, 1.0), ("ru", word, 1.0), ("tg", word, 1.0))
        cyr = normalize(translit_to_cyrillic(word))
        if not cyr or " " in cyr:
            return (("en", word, 1.0),)
        # Russian has no vowel before "ы" and ends words in a vowel and "й": "kakoi",
        # "kakoy", "moy" are "какой", "мой" (in Tajik "-и" after a vowel is the izofat)
        ru = _RU_SHORT_I.sub("й", cyr)
        opts: tuple[Option, ...] = (("en", word, 1.0), ("ru", ru, 0.97), ("tg", cyr, 0.95))
        if "gh" in word:  # ғ, or г then ҳ: "zanghoro" is "зангҳоро"
            split = normalize(translit_to_cyrillic(word.replace("gh", "g'h"))).replace("ь", "")
            if split and split != cyr and " " not in split:
                opts += (("tg", split, 0.95),)
        return opts
    opts = (("ru", word, 1.0), ("tg", word, 1.0))
    if typed:
        opts += (("en", typed, 0.9),)
    return opts


@lru_cache(maxsize=100_000)
def _words_of(token: str) -> tuple[str, ...]:
    return tuple(normalize(token).split())


@lru_cache(maxsize=100_000)
def _asks(word: str, mode: str) -> bool:
    """A question or request word (or one of its readings). A negated auxiliary ("can't top
    up", "I don't know") tells, it doesn't ask: the caller skips those."""
    return word in ASK_WORDS or any(f in ASK_WORDS for _, f, _ in _word_options(word, mode, None))


def _split(tokens: list[tuple[str, str, str]], label: str, weight: float, mode: str) -> Reading:
    """``tokens``: (token as read, its punctuation as meant, token as typed) → a Reading."""
    words: list[str] = []
    options: list[tuple[Option, ...]] = []
    units: list[int] = []
    sentences: list[int] = [0]
    asks: list[bool] = [False]
    clause_asks: list[bool] = [False]
    names: list[bool] = []
    sentence_start = True
    unit = 0
    open_unit = False  # the current clause has words
    for raw, marks, original in tokens:
        if len(words) >= MAX_WORDS:
            break
        normed = _words_of(raw)
        typed = None
        if raw != original:
            as_typed = _words_of(original)
            if len(as_typed) == 1 == len(normed):
                typed = as_typed[0]
        if normed and open_unit and normed[0] in _CONJUNCTIONS and unit + 1 < MAX_UNITS:
            unit += 1
            sentences.append(sentences[-1])
            clause_asks.append(False)
            open_unit = False
        capital = raw[:1].isupper() and not raw.isupper() and not sentence_start
        for w in normed:
            if _asks(w, mode) and not _NEGATED.search(raw):
                asks[-1] = clause_asks[-1] = True
            names.append(capital)
            sentence_start = False
            words.append(w)
            options.append(_word_options(w, mode, typed))
            units.append(unit)
            open_unit = True
        if "?" in marks:
            asks[-1] = clause_asks[-1] = True
        if open_unit and _CLAUSE_END.search(marks) and unit + 1 < MAX_UNITS:
            unit += 1
            ends = bool(_SENTENCE_END.search(marks))
            sentence_start = ends
            sentences.append(sentences[-1] + ends)
            if ends:
                asks.append(False)
            clause_asks.append(False)
            open_unit = False
    bare = _lend_bare_asks(words, units, sentences, asks, clause_asks)
    return Reading(
        label,
        weight,
        tuple(words),
        tuple(options),
        tuple(units),
        tuple(sentences),
        tuple(asks),
        tuple(clause_asks),
        tuple(names),
        bare,
    )


def _lend_bare_asks(
    words: list[str],
    units: list[int],
    sentences: list[int],
    asks: list[bool],
    clause_asks: list[bool],
) -> frozenset[int]:
    """A clause that asks but names nothing ("интернет не работает с утра, что делать?",
    "... не помогает. Что ещё проверить?") asks about what was said just before it: that
    clause asks too. Returns the bare clauses."""
    by_unit: dict[int, list[str]] = {}
    for w, u in zip(words, units, strict=True):
        by_unit.setdefault(u, []).append(w)
    bare = {
        u for u, mine in by_unit.items() if clause_asks[u] and all(w in BARE_WORDS for w in mine)
    }
    for u in bare:
        # "как узнать, | сколько осталось?" introduces the clause after it
        after = any(v > u and sentences[v] == sentences[u] for v in by_unit)
        prev = max((v for v in by_unit if v < u), default=None)
        if not after and prev is not None and not clause_asks[prev]:
            clause_asks[prev] = True
            asks[sentences[prev]] = True
            # the problem told before it in the same sentence is what it asks about
            for v in by_unit:
                if v < prev and sentences[v] == sentences[u] and not clause_asks[v]:
                    clause_asks[v] = True
    return frozenset(bare)


def readings(text: str) -> Iterator[Reading]:
    """The ways a message may have been meant, the likeliest first; each is made only when
    asked for, since the other layout is rarely needed."""
    kind = script(text)
    raw = text.replace("\n", " . ").split()
    if kind == "latin":
        yield _split([(t, t, t) for t in raw], "as typed", 1.0, "latin")
        # Russian typed on an English layout: "?" is where "," is, "&" where "?" is
        lay = [(layout_en_to_ru(t), t.replace("?", ",").replace("&", "?"), t) for t in raw]
        yield _split(lay, "keyboard layout", 0.97, "cyr")
    elif kind == "cyrillic":
        yield _split([(t, t, t) for t in raw], "as typed", 1.0, "cyr")
        meant = [layout_ru_to_en(t) for t in raw]
        lay = [(m, t, m) for m, t in zip(meant, raw, strict=True)]
        yield _split(lay, "keyboard layout", 0.95, "en")
