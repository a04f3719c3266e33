"""Per-language word handling: stemming (Snowball for ru/en, suffix rules for tg) and stopwords."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

import snowballstemmer

from knowledge.text import has_tajik_letters, normalize, script

LANGS: tuple[str, ...] = ("ru", "tg", "en")

# Function words weigh little in a match but still tell "какой у меня тариф" from "какие тарифы".
_STOPWORDS_TEXT = {
    "ru": """
    а без бы был была были было в вам вас весь во вот все всё вы где да даже для до его
    ее её ей если есть еще ещё же за здесь и из или им их к как какая какие каким какой
    какую когда кто ли либо мне мной мое моё мои мой моя мы на над нам нас него нее
    неё ни них но ну о об однако он она они оно от по под пожалуйста при про с сам
    со так также там тебе то того тоже той только том ты у уже хочу хотел хотела чем что
    чтобы эта эти это этот я меня можно могу нужно надо моего моем моём моему скажите
    подскажите плиз please какое чей свой свою своя свои своего своем своём своим своей своими
    нужен нужна
    узнать посмотреть сказать скажи подскажи сделать помогите помочь вообще просто
    глянуть глянь гляну смотреть чекнуть тока токо щас ща
    """,
    "tg": """
    ва ё дар ба аз бо то барои ки чи чӣ хел тавр чаро кай куҷо кадом ман ту вай мо шумо
    онҳо он ин аст ҳаст буд мешавад мекунад шуд мумкин лутфан илтимос ҳам низ агар
    чанд чандто бояд мехоҳам хоҳиш дорам дорад ҳастам як худ худро кардан кунам кунед
    мекунам фаҳмидан фаҳмам донистан гуфтан бигӯед бигӯ гӯед
    фақат танҳо ҳоло акнун боз хеле бисёр не ҳа ҳамин ҳамон онро инро вале аммо лекин
    """,
    "en": """
    a an the i me my mine you your we our is are am was were be been do does did to of
    in on at for with from by and or not no it its this that these those there here how
    what which who whom why when where can could would should will shall may might
    please pls want need have has had get got any some so just about tell know find show
    see use using give make let
    """,
}
# Places are what a question is about, not which question it is: "coverage in Khujand" is a
# coverage question, "what to see in Khujand" is not ours. They weigh like stopwords.
PLACES = """
    душанбе худжанд хуҷанд ходжент бохтар курган тюбе куляб кӯлоб кулоб истаравшан пенджикент
    панҷакент хорог хоруғ турсунзаде вахдат ваҳдат гиссар ҳисор канибадам конибодом исфара нурек
    норак рогун яван дангара гафуров ғафуров рашт файзабад бустон чкаловск левакант
    dushanbe khujand khodjent khudzhand bokhtar bokhtar kulob kulyab istaravshan panjakent
    penjikent khorog tursunzade vahdat hisor gissar konibodom kanibadam isfara nurek norak rogun
""".split()

STOPWORDS: dict[str, frozenset[str]] = {
    lang: frozenset(text.split()) | frozenset(PLACES) for lang, text in _STOPWORDS_TEXT.items()
}


FOLDED_STOPWORDS: dict[str, frozenset[str]] = {
    lang: frozenset(normalize(w) for w in words) for lang, words in STOPWORDS.items()
}

# Tajik is agglutinative at the end of the word: plural -ҳо, object -ро, izofat -и, possessive
# -ам/-ат/-аш/-амон/-атон/-ашон, indefinite -е. Folded spellings (х for ҳ) are what we see.
_TG_SUFFIXES = sorted(
    {
        "хоямон",
        "хоятон",
        "хояшон",
        "хоям",
        "хоят",
        "хояш",
        "хоро",
        "хои",
        "хо",
        "ямон",
        "ятон",
        "яшон",
        "амон",
        "атон",
        "ашон",
        "ям",
        "ят",
        "яш",
        "ам",
        "ат",
        "аш",
        "ро",
        "и",
        "е",
        "ед",
        "ем",
        "анд",
        "ад",
        "дан",
        "тан",
        "ида",
        "шуда",
    },
    key=len,
    reverse=True,
)

_SNOWBALL = {
    "ru": snowballstemmer.stemmer("russian"),
    "en": snowballstemmer.stemmer("english"),
}


# Tajik verbs have a present and a past stem ("гузорам" I put, "гузоштан" to put); both fold to
# one key, so a question in any tense finds the trigger in another. Folded spellings (х for ҳ).
# The light verb кардан/кунам ("to do", in every compound verb) stays as it is.
_TG_VERBS = {
    "гир": "гир",
    "гириф": "гир",
    "гирифт": "гир",
    "гузор": "гузор",
    "гузош": "гузор",
    "гузошт": "гузор",
    "рав": "рав",
    "раф": "рав",
    "рафт": "рав",
    "дон": "дон",
    "донис": "дон",
    "донист": "дон",
    "бин": "бин",
    "ди": "бин",
    "дид": "бин",
    "фирист": "фирист",
    "фиристо": "фирист",
    "фиристод": "фирист",
    "хох": "хох",
    "хос": "хох",
    "хост": "хох",
    "мон": "мон",
    "монд": "мон",
    "партоф": "партоф",
    "парто": "партоф",
    "партофт": "партоф",
    "пурс": "пурс",
    "пурсид": "пурс",
    "дих": "дих",
    "до": "дих",
    "дод": "дих",
}
_TG_VERB_PREFIXES = ("наме", "ме", "на", "би")
_TG_VERB_KEYS = frozenset(_TG_VERBS.values()) | {"на" + v for v in _TG_VERBS.values()}


def _stem_tg(word: str) -> str:
    if word.endswith("ааст") and len(word) > 6:
        word = word[:-3]  # the perfect: "мондааст" (has remained) is the participle "монда"
    for _ in range(2):  # e.g. "бастаҳоямро" → "бастаҳоям" → "баста"
        for suf in _TG_SUFFIXES:
            if word.endswith(suf) and len(word) - len(suf) >= 3:
                word = word[: -len(suf)]
                break
        else:
            break
    if word in _TG_VERBS:
        return _TG_VERBS[word]
    if word.endswith("а") and word[:-1] in _TG_VERBS:
        return _TG_VERBS[word[:-1]]  # the participle: "монда", "гирифта", "рафта"
    for prefix in _TG_VERB_PREFIXES:  # "мегузорам"; "намекунад" keeps its "not"
        if word.startswith(prefix) and word[len(prefix) :] in _TG_VERBS:
            negated = prefix.startswith("на")
            return ("на" if negated else "") + _TG_VERBS[word[len(prefix) :]]
    return word


@lru_cache(maxsize=200_000)
def stem(word: str, lang: str) -> str:
    """The stem of one normalized word in a language; words with digits or short ones stay."""
    if len(word) <= 3 or any(ch.isdigit() for ch in word):
        return word
    if lang == "tg":
        out = _stem_tg(word)
    elif lang == "ru" and not word.isascii():
        out = _SNOWBALL["ru"].stemWord(word)
    else:
        out = _SNOWBALL["en"].stemWord(word)
    if lang == "tg" and out in _TG_VERB_KEYS:
        return out  # a verb's root is short: гир, рав, дон
    # Snowball sometimes cuts a short word to almost nothing ("есим" → "ес"); keep 4 letters.
    return out if len(out) >= 4 else word[: max(4, len(out))]


def is_stopword(word: str, lang: str) -> bool:
    return word in FOLDED_STOPWORDS[lang]


def detect_language(
    text: str, coverage: Mapping[str, float], hint: str | None, matched: str | None
) -> str | None:
    """The message's language: Tajik letters say Tajik; otherwise the language whose index
    knows more of its words, the matched trigger's, or the subscriber's ``hint``."""
    if has_tajik_letters(text):
        return "tg"
    kind = script(text)
    if kind == "latin":
        if matched in ("ru", "tg"):
            # Russian and Tajik in Latin letters share words: the one that knows more wins
            ru, tg = coverage.get("ru", 0.0), coverage.get("tg", 0.0)
            return "tg" if tg > ru else "ru" if ru > tg else matched
        return "en" if coverage.get("en", 0) >= 0.5 or hint is None else hint
    if kind == "cyrillic":
        ru, tg = coverage.get("ru", 0.0), coverage.get("tg", 0.0)
        if matched == "en":
            return "en"
        if tg > ru:
            return "tg"
        if ru > tg:
            return "ru"
        if hint in ("ru", "tg"):
            return hint
        return matched or "ru"
    return hint
