"""How each word of a reading counts: looked up in every language it may be, then weighed by
what it is — a KB word (a typo of one counting partly), a function word, context ("вчера",
"мама"), the story around the question, another company's product, or unknown. A mixin of
``Matcher``; what a word option finds in this KB is kept (bounded) on the matcher, which is
built anew for each KB version."""

from __future__ import annotations

from knowledge import lexicon
from knowledge.index import STOPWORD_WEIGHT, Index, key_of
from knowledge.lang import LANGS, stem
from knowledge.reading import Option, Reading
from knowledge.readout import _Words

_NOT = frozenset({"не", "ни"})
UNKNOWN_WEIGHT = 1.2
NAME_WEIGHT = 2.0
STORY_WEIGHT = 0.6  # a verb or adjective no topic knows ("кидала", "вытащили")
STORY_MIN_WORDS = 4
CONTEXT_WEIGHT = 0.15
TALK_CONTEXT_WEIGHT = 0.5  # a context word small talk has ("утро"), at most this
CONTEXT_OVER_FUZZY = 0.85  # a context word is not taken for a KB word it only resembles
OPTION_CACHE = 50_000  # word options kept: subscribers' words repeat

# what a word found in no trigger weighs (times the heaviest word), and how far it is unknown
_KIND_WEIGHT = {
    "foreign": NAME_WEIGHT,
    "stop": STOPWORD_WEIGHT,
    "context": CONTEXT_WEIGHT,
    "story": STORY_WEIGHT,
    "unknown": UNKNOWN_WEIGHT,
}
_KIND_UNKNOWN = {"foreign": 1.0, "stop": 0.0, "context": 0.0, "story": 0.0, "unknown": 1.0}


# a KB key a word option found: (key id, similarity, (similarity, key weight, is a function word))
_Found = tuple[int, float, tuple[float, float, bool]]
# what a word option is in this KB: a function word, a context word, another company's, and
# the keys it finds
_Seen = tuple[bool, bool, bool, tuple[_Found, ...]]


class WordReader:
    """Looks a reading's words up in the indexes and weighs them."""

    indexes: dict[str, Index]
    max_weight: float
    context: dict[str, frozenset[str]]
    context_lemmas: frozenset[str]
    context_prefixes: set[str]
    foreign: dict[str, frozenset[str]]
    talk_keys: dict[str, frozenset[int]]
    seen: dict[Option, _Seen]

    # -- words -----------------------------------------------------------------------------

    def _words(self, reading: Reading) -> _Words:
        """Each word of a reading looked up in its languages' indexes, then weighed by what
        it is: a KB word, a function word, context, the story, another company's, unknown."""
        n = len(reading.words)
        found: dict[str, list[dict[int, float]]] = {lang: [{} for _ in range(n)] for lang in LANGS}
        out = _Words(reading, found, [], [], [], [], {})
        known = dict.fromkeys(LANGS, 0)
        for i, word in enumerate(reading.words):
            best, is_stop, is_context, is_foreign = self._look_up(reading, i, found)
            is_stop = is_stop or reading.units[i] in reading.bare  # "что делать?" names nothing
            denied = (
                i > 0
                and reading.words[i - 1] in _NOT
                and reading.units[i - 1] == reading.units[i]
                and lexicon.is_denied_after_not(word)
            )
            if best is not None and (
                ((is_context or is_foreign) and best[0] < CONTEXT_OVER_FUZZY)
                or (is_foreign and (best[2] or best[0] < 1.0))  # "zoo" is not the Russian "за"
                or denied  # "Мне не деньги перевести, а звонки": not about money
            ):
                best = None  # "мама" is family, not the "мало" it resembles
                for lang in LANGS:
                    found[lang][i] = {}
            for lang in LANGS:
                known[lang] += bool(found[lang][i])
            # the story a word tells counts only where it is not a KB word as such (the
            # dictionary is slow to ask)
            story = (best is None or best[0] < 1.0) and _tells_story(reading, i, n)
            out.context.append(is_context)
            if best is not None:
                self._weigh_known(out, best, is_stop, "story" if story else "unknown")
                if is_context and self._talk_only(found, i):
                    # "утра" is "доброе утро" to the KB; in "нет сети с утра" it is the story
                    out.weight[-1] = min(out.weight[-1], self.max_weight * TALK_CONTEXT_WEIGHT)
                continue
            if is_foreign:
                kind = "foreign"
            elif denied:
                kind = "story"
            elif is_stop:
                kind = "stop"
            elif is_context:
                kind = "context"
            elif story:  # in a short question every word is the question
                kind = "story"
            else:
                kind = "unknown"
            # a name the knowledge base has never seen ("Steam", "Алиф") says most clearly that
            # the message is about something else
            name = kind == "unknown" and reading.names[i]
            out.weight.append(self.max_weight * (NAME_WEIGHT if name else _KIND_WEIGHT[kind]))
            out.kind.append(kind)
            out.unknown.append(_KIND_UNKNOWN[kind])
        out.coverage = {lang: (known[lang] / n if n else 0.0) for lang in LANGS}
        return out

    def _talk_only(self, found: dict[str, list[dict[int, float]]], i: int) -> bool:
        """Word ``i`` is known only from small talk's triggers."""
        return all(kid in self.talk_keys[lang] for lang in LANGS for kid in found[lang][i])

    def _look_up(
        self, reading: Reading, i: int, found: dict[str, list[dict[int, float]]]
    ) -> tuple[tuple[float, float, bool] | None, bool, bool, bool]:
        """Word ``i`` in every language it may be: the best match (similarity, key weight, key
        is a function word), and whether it is a function, context or another company's word."""
        is_stop = is_foreign = False
        is_context = reading.words[i].isdigit()
        best: tuple[float, float, bool] | None = None
        for option in reading.options[i]:
            stop, context, foreign, hits = self._seen(option)
            is_stop = is_stop or stop
            is_context = is_context or context
            is_foreign = is_foreign or foreign
            slot = found[option[0]][i]
            for kid, sim, cand in hits:
                if sim > slot.get(kid, 0.0):
                    slot[kid] = sim
                if best is None or cand[:2] > best[:2]:
                    best = cand
        return best, is_stop, is_context, is_foreign

    def _seen(self, option: Option) -> _Seen:
        """What one word option (a form in a language, with the reading's confidence in it) is
        in this KB; the same for every message, so kept."""
        seen = self.seen.get(option)
        if seen is not None:
            return seen
        lang, form, conf = option
        key, stop, surface = key_of(form, lang)
        root = stem(form, lang)
        context = root in self.context[lang] or (
            lang == "ru"
            and form[:3] in self.context_prefixes  # a dictionary look-up costs
            and lexicon.lemma(form) in self.context_lemmas
        )
        idx = self.indexes[lang]
        hits: list[_Found] = []
        for kid, sim in idx.lookup(key, surface).items():
            if sim < 1.0 and idx.stop[kid]:
                continue  # a function word is the word itself or nothing
            sim *= conf
            hits.append((kid, sim, (sim, idx.weight[kid], idx.stop[kid])))
        seen = (stop, context, root in self.foreign[lang], tuple(hits))
        if len(self.seen) >= OPTION_CACHE:
            self.seen.clear()  # as the index's look-ups: a full reset keeps it simple
        self.seen[option] = seen
        return seen

    def _weigh_known(
        self, out: _Words, best: tuple[float, float, bool], stop: bool, rest: str
    ) -> None:
        """A KB word's weight: a far fuzzy match is partly the word it resembles, partly the
        word itself (``rest``: "story", "unknown"); "избавиться" is a verb of the story."""
        sim, w, key_stop = best
        top = self.max_weight
        if stop or key_stop:
            w = min(w, top * STOPWORD_WEIGHT)
        else:
            w = sim * w + (1 - sim) * top * _KIND_WEIGHT[rest]
        out.weight.append(w)
        out.kind.append("kb")
        out.unknown.append((1 - sim) * _KIND_UNKNOWN[rest])


def _tells_story(reading: Reading, i: int, n: int) -> bool:
    """Word ``i`` tells the story around the question: not a name, in a message long enough
    to have one."""
    return n >= STORY_MIN_WORDS and not reading.names[i] and lexicon.is_story_word(reading.words[i])
