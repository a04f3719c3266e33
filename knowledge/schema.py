"""The knowledge-base file format as pydantic models; the editors' JSON Schema comes from here."""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

# Ids go into callback data (64 bytes at most), so they stay short.
Id = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,47}$")]
# A reply's button carries its id next to a ticket's (19 digits at most): shorter still.
ReplyId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,31}$")]
NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Phrase = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class I18nText(_Strict):
    """A text in every language the bot speaks."""

    ru: NonEmpty
    tg: NonEmpty
    en: NonEmpty


class Phrases(_Strict):
    """Phrases per language; a language may be left out (``dono check`` warns)."""

    ru: list[Phrase] = Field(default_factory=list)
    tg: list[Phrase] = Field(default_factory=list)
    en: list[Phrase] = Field(default_factory=list)

    @field_validator("ru", "tg", "en", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v


class Button(_Strict):
    text: I18nText
    url: Annotated[str, StringConstraints(pattern=r"^(https?|tg)://\S+$")]


class Category(_Strict):
    id: Id
    title: I18nText
    icon: str = ""


class Topic(_Strict):
    """A question the bot answers."""

    id: Id
    category: Id
    title: I18nText | None = None
    triggers: Phrases
    keywords: Phrases = Field(default_factory=Phrases)
    answer: I18nText
    buttons: list[Button] = Field(default_factory=list)
    related: list[Id] = Field(default_factory=list)


class Intent(_Strict):
    """Something a subscriber says that is not a question: ask for a human, say thanks."""

    id: Id
    action: Literal["handoff", "smalltalk"]
    triggers: Phrases
    answer: I18nText | None = None


class Reply(_Strict):
    """A canned reply: what agents send often, found with ``/r <words>`` at the desk and sent
    in the subscriber's language; ``{name}`` in its text is the subscriber's first name."""

    id: ReplyId
    title: I18nText
    keywords: Phrases = Field(default_factory=Phrases)
    text: I18nText


class KnowledgeFile(_Strict):
    """One YAML file of the knowledge base; files in a directory are merged."""

    categories: list[Category] = Field(default_factory=list)
    topics: list[Topic] = Field(default_factory=list)
    intents: list[Intent] = Field(default_factory=list)
    replies: list[Reply] = Field(default_factory=list)


def json_schema() -> str:
    """The JSON Schema of one knowledge-base file, as committed in docs/kb.schema.json."""
    schema = KnowledgeFile.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Dono knowledge base file"
    return json.dumps(schema, ensure_ascii=False, indent=2) + "\n"


# -- what a validation error says to an admin ---------------------------------------------


_KINDS = {"topics": "topic", "intents": "intent", "categories": "category", "replies": "reply"}


def describe(data: Any, loc: tuple[str | int, ...]) -> str:
    """'topic "roaming": answer.tg' for ('topics', 3, 'answer', 'tg')."""
    if len(loc) >= 2 and loc[0] in _KINDS and isinstance(loc[1], int):
        kind = _KINDS[str(loc[0])]
        try:
            ident = data[loc[0]][loc[1]].get("id")
        except (KeyError, IndexError, TypeError, AttributeError):
            ident = None
        who = f'{kind} "{ident}"' if ident else f"{kind} #{int(loc[1]) + 1}"
        rest = ".".join(str(p) for p in loc[2:])
        return f"{who}: {rest}" if rest else who
    return ".".join(str(p) for p in loc) or "file"


def _value_at(data: Any, loc: tuple[str | int, ...]) -> Any:
    for part in loc:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _model_at(loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    """The model whose keys are valid at ``loc`` (a mapping's location in a file)."""
    model: Any = KnowledgeFile
    for part in loc:
        if isinstance(part, int):
            continue  # an item of a list: the list's own item model
        field = model.model_fields.get(part) if model is not None else None
        if field is None:
            return None
        model = next(
            (
                t
                for t in _models_in(field.annotation)
                if isinstance(t, type) and issubclass(t, BaseModel)
            ),
            None,
        )
    return model


def _models_in(annotation: Any) -> list[Any]:
    """The classes in ``list[Topic]``, ``I18nText | None`` and the like."""
    args = getattr(annotation, "__args__", None)
    if not args:
        return [annotation]
    return [t for a in args for t in _models_in(a)]


def _did_you_mean(loc: tuple[str | int, ...]) -> str:
    model = _model_at(loc[:-1])
    if model is None or not isinstance(loc[-1], str):
        return "check the spelling"
    known = list(model.model_fields)
    close = difflib.get_close_matches(loc[-1].lower(), known, n=1, cutoff=0.6)
    if close:
        return f'did you mean "{close[0]}"?'
    return "known keys here: " + ", ".join(known)


def message(err: Mapping[str, Any], data: Any = None) -> str:
    """A pydantic error said the way a KB admin can act on it (``data``: the file's content,
    for hints that depend on the value)."""
    kind = err["type"]
    loc = tuple(err["loc"])
    if kind == "missing":
        return "is missing"
    if kind == "extra_forbidden":
        return f"is not a known key: {_did_you_mean(loc)} (see docs/knowledge-base.md)"
    if kind == "string_type" and isinstance(_value_at(data, loc), dict):
        return (
            'should be text, but YAML read a "key: value" pair: the text has ": " in it; '
            "put it in quotes"
        )
    if kind == "string_too_short":
        return "is empty"
    if kind == "string_pattern_mismatch":
        pattern = err.get("ctx", {}).get("pattern", "")
        if "https" in pattern:
            return "must be an http(s):// or tg:// URL"
        longest = 32 if "{1,31}" in pattern else 48
        return (
            f"must be lowercase letters, digits and _ (2-{longest} chars, starting with a letter)"
        )
    if kind == "literal_error":
        return f"must be one of {err.get('ctx', {}).get('expected', '')}"
    return str(err["msg"]).lower()
