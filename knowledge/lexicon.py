"""Context words: what a chat message says around its question, not what it asks.

People tell an agent who they are, where and when things happened and how they feel ("вчера",
"мама", "в Кулябе", "срочно", "телефон перезагружала"). Such words say nothing about which topic
is asked, and nothing about the question being out of scope either, so they weigh little. A
word that is neither in the knowledge base nor here ("Steam", "hotel", "Корти Милли") is
evidence that the question is about something the knowledge base does not cover.

The lists are general language, grouped by what they name; the matcher compares them by their
stems, so one form per word is enough. Places abroad are not context: they are what roaming
and international calls are about.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import TYPE_CHECKING

from knowledge.lang import stem
from knowledge.text import normalize

if TYPE_CHECKING:
    from knowledge.reading import Reading

_CONTEXT = {
    "ru": """
    сегодня вчера позавчера завтра утро утром утра вечер вечером вечера ночь ночью день днем днём
    сутки дня дней неделя неделю месяц год час часа минута сейчас теперь потом давно недавно уже
    снова опять
    всегда постоянно иногда раньше скоро сразу пока ещё еще время раз первый второй третий
    понедельник вторник среда четверг пятница суббота воскресенье лето летом зима зимой весна
    осень выходные праздник
    мама мамы маме папа мать отец сын дочь дочка брат сестра жена муж друг подруга коллега
    коллеги сосед соседи соседка родные родственники родители бабушка дедушка ребенок ребёнок
    дети семья семьей семьёй клиент клиенты начальник знакомый человек люди все всей всего
    очень вообще почему почему-то какой-то какая-то как-то кажется наверное вроде срочно тоже
    совсем почти именно прямо реально нормально вдруг никак ничего никуда нигде ни
    сам сама сами сама наш наша наше ваш ваша ваше мой моя мое моё свой
    пишу написал написала пишет говорит говорят сказал сказали спросить вопрос вопросы ответ
    пробовал пробовала пытался пыталась перезагружал перезагружала перезагрузил знаю понимаю
    помню думаю видно вижу жду ждать живу работаю учусь еду едем еду лечу приехал приехала
    уезжаю переезжаем нахожусь был была было были стало стал стала будет будут есть нет
    помогает помогло получается получилось работал работало меню
    квартира квартире улица улице район районе село селе город городе деревня
    кишлак дача даче больница больнице школа магазин базар рынок заработки
    автобус маршрутка такси метро дорога свадьба праздник гости отпуск командировка
    ситуация порядок пара
    таджикистан
    варзоб айни рудаки сино фирдавси шохмансур шахмансур исмоили сомони душанбинский
    искандеркуль бадахшан согд хатлон раштская памир ромит дангара вахш хамадони муминабад
    шахринав файзобод ляхш джиргиталь кайраккум пяндж шахритус кабодиён
    """,
    "tg": """
    имрӯз дирӯз пагоҳ субҳ саҳар шом бегоҳ шаб рӯз ҳафта моҳ сол соат дақиқа ҳоло акнун баъд
    пеш пештар боз ҳамеша доим гоҳе зуд аллакай ҳанӯз вақт бор якум дуюм сеюм оянда гузашта
    модар модарам падар писар писарам духтар бародар хоҳар зан шавҳар дӯст ҳамсоя ҳамсояҳо
    оила бача бачаҳо кӯдак ҳамкор мизоҷ одамон ҳама ҳамаи
    хеле бисёр лутфан илтимос аслан зуд ҳатман шояд гӯё
    нишон навиштам мегӯяд гуфт савол ҷавоб кӯшиш донам намедонам медонам фаҳмидам ёд фаромӯш
    меравам меравем омадам зиндагӣ кор мекунам
    кӯча деҳа деҳаи шаҳр ноҳия бемористон мактаб бозор
    тоҷикистон варзоб айнӣ рудакӣ сино рашт ромит данғара вахш ҳамадонӣ бадахшон суғд хатлон
    """,
    "en": """
    today yesterday tomorrow morning evening night day days week month year hour minute now
    then later ago already again always never sometimes soon recently first second time
    monday tuesday wednesday thursday friday saturday sunday weekend holiday summer winter
    mom mum mother dad father son daughter brother sister wife husband friend colleague
    neighbour neighbours neighbor neighbors family kids child children people everyone
    really very just still also maybe probably actually suddenly urgently urgent all
    tried trying restarted rebooted know understand remember think wait live work working
    going flying travelling traveling moving came come went wrote asked question answer
    house flat apartment street district village city town hospital school
    tajikistan
    """,
}

CONTEXT_WORDS: dict[str, frozenset[str]] = {
    lang: frozenset(text.split()) for lang, text in _CONTEXT.items()
}


# Parts of speech that tell a story rather than name the thing asked about: "кидала",
# "вытащили", "покойного", "срочно". A noun the knowledge base does not know ("кошелёк",
# "Steam") is what the message is about, so it stays evidence.
_STORY_POS = frozenset(
    {
        "VERB",
        "INFN",
        "ADVB",
        "ADJF",
        "ADJS",
        "PRTF",
        "PRTS",
        "GRND",
        "NPRO",
        "PRED",
        "PRCL",
        "CONJ",
        "PREP",
        "INTJ",
        "NUMR",
        "COMP",
    }
)
# Tajik verbs: the prefixes ме-/на-/наме-/би- and personal endings
_TG_VERB_PREFIXES = ("наме", "ме", "на", "би")
_TG_VERB_ENDINGS = ("ам", "ӣ", "и", "ад", "ем", "ед", "анд", "ан", "ид", "ам", "ем", "аст")
_EN_STORY_ENDINGS = ("ing", "ed", "ly")
_CYRILLIC_WORD = re.compile(r"[а-яё]+")


@lru_cache(maxsize=1)
def _morph():
    import pymorphy3

    return pymorphy3.MorphAnalyzer()


def load_dictionary() -> None:
    """Load the Russian dictionary now (about 0.1 s), not while a subscriber waits."""
    _morph()


@lru_cache(maxsize=50_000)
def is_story_word(word: str) -> bool:
    """A normalized word no topic knows that tells the story around a question (a verb, an
    adverb, an adjective...), not the thing asked about. Russian by its dictionary part of
    speech (pymorphy3), Tajik and English by their verb forms."""
    if word.isascii():
        return len(word) > 4 and word.endswith(_EN_STORY_ENDINGS)
    if not _CYRILLIC_WORD.fullmatch(word):
        return False  # the dictionary knows Cyrillic words only
    parse = _morph().parse(word)[0]
    if parse.is_known:
        return parse.tag.POS in _STORY_POS
    return word.startswith(_TG_VERB_PREFIXES) and word.endswith(_TG_VERB_ENDINGS) and len(word) > 5


_TG_PAST = re.compile(r"(?:т|д)(?:ам|ем|ед|анд|ӣ)$")
_RU_PAST_ENDINGS = ("л", "ла", "ло", "ли", "лся", "лась", "лось", "лись")
_TG_NOT_PAST = frozenset({"ҳастам", "хастам", "ҳастем", "хастем", "ҳастед", "хастед", "ҳастанд"})


@lru_cache(maxsize=50_000)
def is_past_verb(word: str, lang: str) -> bool:
    """A verb in the past tense: "купил", "гирифтам" (I bought, I got) tell what happened
    before the question, not what is asked."""
    if not _CYRILLIC_WORD.fullmatch(word.replace("ӣ", "и").replace("ӯ", "у")):
        return False
    if lang == "ru":
        if not word.endswith(_RU_PAST_ENDINGS):  # cheap first: a past verb ends so
            return False
        tag = _morph().parse(word)[0].tag
        return tag.POS == "VERB" and "past" in tag
    if lang == "tg":
        return (
            len(word) > 5
            and not word.startswith(_TG_VERB_PREFIXES[:2])
            and word not in _TG_NOT_PAST
            and bool(_TG_PAST.search(word))
        )
    return False


def past_clauses(reading: Reading) -> set[int]:
    """The clauses that tell what happened ("только купил симку, | не знаю какой номер"):
    a verb in the past tense, and nothing there asks. Only a clause of a sentence that asks
    is looked at: elsewhere the story weighs as context anyway."""
    asking = {
        u
        for u, asks in enumerate(reading.clause_asks)
        if not asks and reading.asks[reading.sentences[u]]
    }
    if not asking:
        return set()
    return {
        reading.units[i]
        for i, opts in enumerate(reading.options)
        if reading.units[i] in asking and any(is_past_verb(form, lang) for lang, form, _ in opts)
    }


# Other companies' products and the rest of daily life: banks and wallets, other operators,
# apps and sites, utilities, travel and shopping. A message about these is not about our
# service even when it says "баланс", "карта" or "тариф", so they weigh like unknown names.
# One word each, the one that names them ("Корти Милли" is "милли": "корти" is a SIM card
# too), and none that reads like our words (the "сити" of Душанбе Сити is the "сети" of a
# network).
_FOREIGN = """
    алиф эсхата спитамен амонатбонк ориёнбонк хумо арванд матин сбербанк сбер тинькофф
    милли банкомат кошелек кошелёк wallet alif eskhata humo sberbank
    tcell тселл мегафон megafon beeline билайн babilon бабилон zet мтс mts
    инстаграм инстаграмм instagram фейсбук facebook telegram телеграм телеграмм gmail outlook
    почтовый steam amazon
    яндекс yandex google гугл windows виндовс tp-link tplink asus ноутбук компьютер laptop
    свет газ электричество вода барк барқ киловатт kilowatt коммуналка
    отель гостиница hotel билет билеты авиабилет самолет самолёт airport аэропорт зоопарк zoo
    ресторан пицца pizza погода weather пойтахт столица capital навруз наврӯз
    машина мошин car автомобиль ипотека mortgage
"""
FOREIGN_WORDS: frozenset[str] = frozenset(_FOREIGN.split())


_DENIED_POS = frozenset({"NOUN", "ADJS", "PRTS"})


@lru_cache(maxsize=50_000)
def is_denied_after_not(word: str) -> bool:
    """After "не": a thing or a state the message says it is *not* about ("не деньги",
    "не поломка", "не сломана"). A verb after "не" is the problem itself ("не работает")."""
    if not _CYRILLIC_WORD.fullmatch(word):
        return False
    return _morph().parse(word)[0].tag.POS in _DENIED_POS


@lru_cache(maxsize=50_000)
def lemma(word: str) -> str:
    """A Russian word's dictionary form ("мужа" → "муж", "автобусе" → "автобус"), so one form
    per context word covers them all; a word the dictionary lacks is itself."""
    if not _CYRILLIC_WORD.fullmatch(word):
        return word
    parse = _morph().parse(word)[0]
    return parse.normal_form if parse.is_known else word


def context_lemmas() -> frozenset[str]:
    """The Russian context words' dictionary forms."""
    return frozenset(lemma(w) for w in normalize(" ".join(CONTEXT_WORDS["ru"])).split())


def roots(words: Iterable[str], lang: str) -> frozenset[str]:
    """The words, normalized, and their stems in ``lang``: a Tajik suffix rule cuts a bare
    "инстаграм" to "инстагр", while "Инстаграмамро" comes down to "инстаграм"."""
    normalized = normalize(" ".join(words)).split()
    return frozenset(normalized) | {stem(w, lang) for w in normalized}
