"""Topics found by words, for the people who run the desk: ``/kb подписки`` lists the topics
about subscriptions by title, whichever of the three languages the words are in.

Unlike ``Matcher`` (which decides what a subscriber asked, and may refuse), this ranks every
topic by how many of the query's words it has — in its title, triggers and keywords first, in
its category and answer less — with the matcher's word keys (stems, loose spelling), so
"подписки", "подписка" and "obuna" find their topics. ``/r рестарт`` finds the desk's canned
replies the same way (``search_replies``), forgiving a typo too. Pure functions over a
KnowledgeBase.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from knowledge.index import key_of
from knowledge.lang import LANGS
from knowledge.loader import KnowledgeBase
from knowledge.replies import NAME
from knowledge.schema import Reply, Topic
from knowledge.text import normalize

TITLE_WEIGHT = 1.0
CATEGORY_WEIGHT = 0.6
ANSWER_WEIGHT = 0.4
ROOT_SHARE = 0.8  # a word sharing its root with the topic's, not the same key
ROOT_MIN = 4  # letters a shared root has at least
ROOT_ENDING = 3  # letters more the longer stem of one root may have
MIN_SCORE = 0.2
SPREAD_SHARE = 0.6  # of a topic's score: the query's words anywhere in it
PHRASE_SHARE = 0.25  # ... together in one trigger or keyword
TITLE_SHARE = 0.15  # ... in its title
REPLY_TEXT_WEIGHT = 0.5  # a reply's text says what it is about more than a long answer does
TYPO_SHARE = 0.7  # a word a letter or two away from the reply's ("пирезагрузка")
TYPO_MIN = 5  # letters a word has at least for a near spelling to count
TYPO_CUTOFF = 80.0  # rapidfuzz ratio of a near spelling
_TAG = re.compile(r"<[^>]*>")


@dataclass(frozen=True, slots=True)
class Found:
    topic: str
    title: str
    score: float


def topic_title(topic: Topic, lang: str) -> str:
    """A topic's name for people: its title in ``lang``, else its first trigger."""
    if topic.title is not None and getattr(topic.title, lang):
        return getattr(topic.title, lang)
    first = getattr(topic.triggers, lang) or topic.triggers.ru or topic.triggers.en
    text = first[0] if first else topic.id
    return text[:1].upper() + text[1:]


def search(kb: KnowledgeBase, query: str, lang: str, limit: int = 5) -> list[Found]:
    """The topics that best fit the words of ``query`` (any language), best first, titled in
    ``lang``; none when no topic has any of the words."""
    found: list[Found] = []
    for topic in kb.topics.values():
        score = max(_score(kb, topic, query, qlang) for qlang in LANGS)
        if score >= MIN_SCORE:
            found.append(Found(topic.id, topic_title(topic, lang), round(score, 3)))
    found.sort(key=lambda f: (-f.score, f.title))
    return found[:limit]


def _keys(text: str, lang: str) -> set[str]:
    keys = set()
    for word in normalize(text).split():
        key, stop, _ = key_of(word, lang)
        if not stop:
            keys.add(key)
    return keys


def _fields(kb: KnowledgeBase, topic: Topic, lang: str) -> list[tuple[float, set[str]]]:
    """The topic's words in ``lang``, by how much a hit there says about the topic."""
    named = [*getattr(topic.triggers, lang), *getattr(topic.keywords, lang)]
    if topic.title is not None:
        named.append(getattr(topic.title, lang))
    category = kb.categories.get(topic.category)
    return [
        (TITLE_WEIGHT, set().union(*(_keys(p, lang) for p in named))),
        (CATEGORY_WEIGHT, _keys(getattr(category.title, lang), lang) if category else set()),
        (ANSWER_WEIGHT, _keys(getattr(topic.answer, lang), lang)),
    ]


def _score(kb: KnowledgeBase, topic: Topic, query: str, lang: str) -> float:
    """The share of the query's words (read as ``lang``) the topic has, each weighed by
    where the topic has it; then, to rank topics that have them all, how many of them one
    phrase of it has (its title counting most): "интернет не работает" is about the topic
    "Не работает мобильный интернет" more than about one that says "интернет" somewhere."""
    wanted = _keys(query, lang)
    if not wanted:
        return 0.0
    fields = _fields(kb, topic, lang)
    spread = sum(max(w * _hit(k, keys) for w, keys in fields) for k in wanted) / len(wanted)
    phrases = [*getattr(topic.triggers, lang), *getattr(topic.keywords, lang)]
    title = getattr(topic.title, lang) if topic.title is not None else ""
    best = max((_share(wanted, _keys(p, lang)) for p in phrases), default=0.0)
    return (
        SPREAD_SHARE * spread
        + PHRASE_SHARE * best
        + TITLE_SHARE * _share(wanted, _keys(title, lang))
    )


def _share(wanted: set[str], keys: set[str], typos: bool = False) -> float:
    return sum(_hit(k, keys, typos) for k in wanted) / len(wanted)


def _hit(key: str, keys: set[str], typos: bool = False) -> float:
    if key in keys:
        return 1.0
    if len(key) >= ROOT_MIN and any(_same_root(key, other) for other in keys):
        return ROOT_SHARE
    if typos and len(key) >= TYPO_MIN and keys:
        near = process.extractOne(key, keys, scorer=fuzz.ratio, score_cutoff=TYPO_CUTOFF)
        if near is not None:
            return TYPO_SHARE
    return 0.0


def _same_root(a: str, b: str) -> bool:
    """One stem a prefix of the other, differing by an ending at most ("подпис", "подписк")."""
    short, long = sorted((a, b), key=len)
    return (
        len(short) >= ROOT_MIN and len(long) - len(short) <= ROOT_ENDING and long.startswith(short)
    )


# -- the desk's canned replies ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FoundReply:
    reply: str
    title: str
    score: float


def search_replies(kb: KnowledgeBase, query: str, lang: str, limit: int = 5) -> list[FoundReply]:
    """The canned replies that best fit the words of ``query`` (any language; a typo in a
    longer word forgiven), best first, titled in ``lang``; none when no reply has the words."""
    found: list[FoundReply] = []
    for reply in kb.replies.values():
        score = max(_reply_score(reply, query, qlang) for qlang in LANGS)
        if score >= MIN_SCORE:
            found.append(FoundReply(reply.id, getattr(reply.title, lang), round(score, 3)))
    found.sort(key=lambda f: (-f.score, f.title))
    return found[:limit]


def _reply_score(reply: Reply, query: str, lang: str) -> float:
    """As a topic's score: the share of the query's words the reply has (its title and
    keywords counting most), then how many of them its title or one keyword has together."""
    wanted = _keys(query, lang)
    if not wanted:
        return 0.0
    title = getattr(reply.title, lang)
    phrases = [title, *getattr(reply.keywords, lang)]
    named = set().union(*(_keys(p, lang) for p in phrases))
    body = _TAG.sub(" ", getattr(reply.text, lang).replace(NAME, " "))
    fields = [(TITLE_WEIGHT, named), (REPLY_TEXT_WEIGHT, _keys(body, lang))]
    spread = sum(max(w * _hit(k, keys, typos=True) for w, keys in fields) for k in wanted)
    best = max(_share(wanted, _keys(p, lang), typos=True) for p in phrases)
    return (
        SPREAD_SHARE * spread / len(wanted)
        + PHRASE_SHARE * best
        + TITLE_SHARE * _share(wanted, _keys(title, lang), typos=True)
    )
