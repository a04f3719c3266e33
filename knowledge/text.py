"""Text normalization for matching: case, letters, punctuation, translit and keyboard layout."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Tajik letters and their Russian look-alikes: a subscriber on a Russian keyboard types
# "Тарифхо" for "Тарифҳо", so both sides of a match are folded the same way.
TAJIK_FOLD = str.maketrans(
    {
        "ӣ": "и",
        "ӯ": "у",
        "қ": "к",
        "ғ": "г",
        "ҳ": "х",
        "ҷ": "ч",
        "Ӣ": "и",
        "Ӯ": "у",
        "Қ": "к",
        "Ғ": "г",
        "Ҳ": "х",
        "Ҷ": "ч",
        "ё": "е",
        "Ё": "е",
    }
)
TAJIK_LETTERS = frozenset("ӣӯқғҳҷӢӮҚҒҲҶ")
# the same folding as one replace per letter present: str.translate with a mapping is slow on
# Cyrillic text, and no letter folds into another that folds again
_TAJIK_FOLD_PAIRS = tuple((chr(a), b) for a, b in TAJIK_FOLD.items())

# Latin letters that look like Cyrillic ones; folded inside words that are mostly Cyrillic.
_LATIN_HOMOGLYPHS = str.maketrans("aceopxyktmbh", "асеорхукттвн")

_EN_KEYS = "`qwertyuiop[]asdfghjkl;'zxcvbnm,./"
_RU_KEYS = "ёйцукенгшщзхъфывапролджэячсмитьбю."


def _keymap(src: str, dst: str) -> dict[int, str]:
    table = {}
    for a, b in zip(src, dst, strict=True):
        table[ord(a)] = b
        if a.upper() != a:  # punctuation keys have no upper case of their own
            table[ord(a.upper())] = b.upper()
    return table


_EN_TO_RU = _keymap(_EN_KEYS, _RU_KEYS)
_RU_TO_EN = _keymap(_RU_KEYS[:-1], _EN_KEYS[:-1])  # "." is on both layouts

# Latin transliteration of Russian (and plain-Latin Tajik), longest sequences first.
_TRANSLIT = [
    ("shch", "щ"),
    ("o'", "у"),
    ("u'", "у"),
    ("oʻ", "у"),
    ("sch", "щ"),
    ("zh", "ж"),
    ("kh", "х"),
    ("ch", "ч"),
    ("sh", "ш"),
    ("ts", "ц"),
    ("tc", "ц"),
    ("yu", "ю"),
    ("ju", "ю"),
    ("iu", "ю"),
    ("ya", "я"),
    ("ja", "я"),
    ("ia", "я"),
    ("yo", "е"),
    ("jo", "е"),
    ("ye", "е"),
    ("je", "е"),
    ("iy", "ий"),
    ("yi", "ый"),
    ("gh", "г"),
    ("ph", "ф"),
    ("w", "в"),
    ("x", "х"),
    ("q", "к"),
    ("a", "а"),
    ("b", "б"),
    ("c", "ц"),
    ("d", "д"),
    ("e", "е"),
    ("f", "ф"),
    ("g", "г"),
    ("h", "х"),
    ("i", "и"),
    ("j", "ч"),
    ("k", "к"),
    ("l", "л"),
    ("m", "м"),
    ("n", "н"),
    ("o", "о"),
    ("p", "п"),
    ("r", "р"),
    ("s", "с"),
    ("t", "т"),
    ("u", "у"),
    ("v", "в"),
    ("y", "ы"),
    ("z", "з"),
    ("'", "ь"),
]
_TRANSLIT_RE = re.compile("|".join(re.escape(k) for k, _ in _TRANSLIT))
_TRANSLIT_MAP = dict(_TRANSLIT)

_GENERATION_RE = re.compile(r"(?<!\w)([2-5]) ?[гgж](?!\w)")
_WORD_RE = re.compile(r"[^\W_]+", re.UNICODE)
_REPEAT_RE = re.compile(r"(\w)\1{2,}", re.UNICODE)
_LATIN_RE = re.compile(r"[a-z]")
_CYR_LETTERS = "а-яё\u04e2\u04e3\u04ee\u04ef\u049a\u049b\u0492\u0493\u04b2\u04b3\u04b6\u04b7"
_CYR_RE = re.compile(f"[{_CYR_LETTERS}]")
# the letters of _LATIN_RE and _CYR_RE one by one: counting each with str.count is several
# times faster than findall
_LATIN_COUNTED = "abcdefghijklmnopqrstuvwxyz"
_CYR_COUNTED = "".join(map(chr, range(ord("а"), ord("я") + 1))) + "ё" + _CYR_LETTERS[4:]

MAX_QUERY_CHARS = 1000


def fold_homoglyphs(word: str) -> str:
    """Latin look-alike letters inside a mostly-Cyrillic word become Cyrillic ("тapиф")."""
    if word.isascii() or not _LATIN_RE.search(word):
        return word
    cyr = len(_CYR_RE.findall(word))
    lat = len(_LATIN_RE.findall(word))
    if cyr and cyr >= lat:
        return word.translate(_LATIN_HOMOGLYPHS)
    return word


def normalize(text: str) -> str:
    """Lowercase words only: ё→е, Tajik letters folded, no punctuation or emoji, runs of 3+ letters
    squeezed, single spaces. Idempotent."""
    # NFC so that "и" + a combining macron from some keyboards becomes "ӣ"; control and
    # format characters are not word characters, so they only separate words.
    text = unicodedata.normalize("NFC", text[: MAX_QUERY_CHARS * 4]).lower()
    for letter, folded in _TAJIK_FOLD_PAIRS:
        if letter in text:
            text = text.replace(letter, folded)
    text = _REPEAT_RE.sub(r"\1", text)
    words = _WORD_RE.findall(text)
    if _LATIN_RE.search(text) and _CYR_RE.search(text):  # mixed scripts: look word by word
        words = [fold_homoglyphs(w) for w in words]
    joined = " ".join(words)
    if not any(digit in joined for digit in "2345"):
        return joined  # no generation to spell as 4G
    return _GENERATION_RE.sub(r"\1g", joined)  # "4г", "4ж", "4 G" are all 4G


def tokens(text: str) -> list[str]:
    """The words of a normalized text."""
    return normalize(text).split()


def script(text: str) -> str:
    """ "latin", "cyrillic" or "other" by which letters dominate the text."""
    low = text.lower()
    lat = _count(low, _LATIN_COUNTED)
    cyr = 0 if low.isascii() else _count(low, _CYR_COUNTED)
    if lat == 0 and cyr == 0:
        return "other"
    return "latin" if lat > cyr else "cyrillic"


def _count(text: str, letters: str) -> int:
    return sum(map(text.count, letters))


def has_tajik_letters(text: str) -> bool:
    return any(ch in TAJIK_LETTERS for ch in text)


def layout_en_to_ru(text: str) -> str:
    """What the subscriber meant when typing Russian on an English layout: "ghbdtn" → "привет"."""
    return text.translate(_EN_TO_RU)


def layout_ru_to_en(text: str) -> str:
    """What the subscriber meant when typing English on a Russian layout: "руддщ" → "hello"."""
    return text.translate(_RU_TO_EN)


def translit_to_cyrillic(text: str) -> str:
    """Latin transliteration of Russian or Tajik back to Cyrillic: "kak dela" → "как дела"."""
    return _TRANSLIT_RE.sub(lambda m: _TRANSLIT_MAP[m.group(0)], text.lower())


# The phonetic key forgives what people mistype or transliterate loosely: е/и, щ/ш/сч, й/и/ы,
# soft and hard signs, doubled letters, a devoiced final consonant. Russian also reduces an
# unstressed о to а, so the Russian key folds о/а; in Tajik о and а are different vowels
# ("гузорам" top up, "гузарам" pass), so the Tajik key keeps them apart.
_PHONETIC = str.maketrans({"щ": "ш", "ы": "и", "й": "и", "э": "и", "е": "и", "ъ": None, "ь": None})
_DOUBLE_RE = re.compile(r"(\w)\1+", re.UNICODE)
# Russian devoices a final consonant: "тарив" is heard and typed for "тариф".
_DEVOICE = {"б": "п", "в": "ф", "г": "к", "д": "т", "ж": "ш", "з": "с"}


@lru_cache(maxsize=100_000)
def phonetic(word: str, lang: str = "ru") -> str:
    """A loose spelling key for one normalized word by ``lang``'s rules; idempotent, same for
    "щет" and "счет"."""
    word = word.replace("сч", "ш").replace("зч", "ш").translate(_PHONETIC)
    if lang != "tg":
        word = word.replace("о", "а")
    word = word.replace("тс", "ц").replace("ph", "f").replace("ck", "k")
    if word and word[-1] in _DEVOICE:
        word = word[:-1] + _DEVOICE[word[-1]]
    return _DOUBLE_RE.sub(r"\1", word)
