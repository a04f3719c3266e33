"""Loads and validates a knowledge-base directory, reporting every problem with file:line."""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from knowledge.files import MAX_FILE_BYTES as MAX_FILE_BYTES
from knowledge.files import display, kb_files, list_files, read_limited
from knowledge.hints import ids_in, syntax_hint
from knowledge.html import html_problems, plain_text_problems
from knowledge.lang import LANGS
from knowledge.problem import Problem
from knowledge.replies import reply_checks
from knowledge.schema import Category, Intent, KnowledgeFile, Reply, Topic, describe, message
from knowledge.text import normalize
from knowledge.yamlsafe import (
    Loc,
    TooBig,
    line_map,
    line_of,
    parse_yaml,
)

# Limits checked before a file is parsed or its aliases expanded: a knowledge base is text
# someone wrote, and nothing in it may cost the bot more memory or time than that.
MAX_KB_BYTES = 64 * 1024 * 1024  # all files together
MAX_FILES = 2_000
MAX_KB_NODES = 3_000_000  # all files together (the 10,000-topic benchmark: 510,000)
MAX_FILE_PROBLEMS = 100  # errors listed per file; the rest are counted
# An answer is sent as messages of at most 4,096 UTF-16 units: four messages' worth at most.
MAX_ANSWER_UTF16 = 4 * 4096


class KnowledgeBaseError(Exception):
    """The knowledge base has errors; ``problems`` lists all of them."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        errors = [p for p in problems if p.severity == "error"]
        super().__init__("\n".join(str(p) for p in errors))


@dataclass(frozen=True)
class KnowledgeBase:
    """A validated knowledge base: topics, intents, categories and the desk's canned replies
    by id."""

    topics: Mapping[str, Topic]
    intents: Mapping[str, Intent]
    categories: Mapping[str, Category]
    version: str
    sources: Mapping[str, tuple[str, int]] = field(default_factory=dict)
    # trigger text → its normalized form, computed once while validating
    normalized: Mapping[str, str] = field(default_factory=dict)
    replies: Mapping[str, Reply] = field(default_factory=dict)  # in the order files give them

    def topics_in(self, category: str) -> list[Topic]:
        return [t for t in self.topics.values() if t.category == category]


def _parse_file(raw: bytes, name: str, problems: list[Problem]) -> tuple[KnowledgeFile, dict]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.append(Problem(name, 1, f"cannot read the file: {exc}"))
        return KnowledgeFile(), {}
    try:
        node, data = parse_yaml(text)
    except TooBig as exc:
        problems.append(Problem(name, 1, f"refused: {exc}"))
        return KnowledgeFile(), {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark else 1
        what = getattr(exc, "problem", None) or str(exc)
        problems.append(Problem(name, line, f"YAML syntax error: {what}{syntax_hint(text, line)}"))
        return KnowledgeFile(), {}
    if node is None or data is None:
        return KnowledgeFile(), {}
    lines: dict[Loc, int] = {}
    dups: list[tuple[Loc, int]] = []
    line_map(node, (), lines, dups)
    for loc, line in dups:
        problems.append(Problem(name, line, f"{describe(data, loc)}: key appears twice"))
    if not isinstance(data, dict):
        problems.append(
            Problem(name, 1, "the file must be a mapping with categories/topics/intents/replies")
        )
        return KnowledgeFile(), {}
    try:
        return KnowledgeFile.model_validate(data), lines
    except ValidationError as exc:
        total = exc.error_count()
        # pydantic's full error list costs ~1 KB an error: past the ones shown, only count
        errors = (
            exc.errors(include_url=False, include_input=False)
            if total <= MAX_FILE_PROBLEMS
            else _first_errors(data)
        )
    for err in errors[:MAX_FILE_PROBLEMS]:
        loc = tuple(err["loc"])
        problems.append(
            Problem(name, line_of(lines, loc), f"{describe(data, loc)} {message(err, data)}")
        )
    shown = min(len(errors), MAX_FILE_PROBLEMS)
    if total > shown:
        problems.append(Problem(name, 1, f"… and {total - shown:,} more errors in this file"))
    if total > MAX_FILE_PROBLEMS:
        return KnowledgeFile(), lines
    # Keep whatever entries are valid so cross-file checks still report on them (an entry
    # with an error is not validated again).
    return _valid_entries(data, errors, lines)


def _valid_entries(
    data: dict, errors: list, lines: dict[Loc, int]
) -> tuple[KnowledgeFile, dict[Loc, int]]:
    """The file's entries without an error, and ``lines`` by their new positions."""
    broken: set[tuple[str | int, ...]] = {tuple(err["loc"][:2]) for err in errors}
    partial = KnowledgeFile()
    kept: dict[tuple[str, int], int] = {}  # (section, index in the file) → index in partial
    for key, model in _SECTIONS:
        items = data.get(key) if isinstance(data.get(key), list) else []
        indices = [i for i in range(len(items)) if (key, i) not in broken]
        kept |= {(key, i): j for j, i in enumerate(indices)}
        partial = partial.model_copy(
            update={key: [model.model_validate(items[i]) for i in indices]}
        )
    return partial, _renumbered(lines, kept)


def _renumbered(lines: dict[Loc, int], kept: Mapping[tuple[str, int], int]) -> dict[Loc, int]:
    """``lines`` by the kept entries' positions (the later checks number the entries that
    survived): a broken entry before them must not shift their line numbers."""
    out: dict[Loc, int] = {}
    for loc, line in lines.items():
        if len(loc) >= 2 and isinstance(loc[0], str) and isinstance(loc[1], int):
            j = kept.get((loc[0], loc[1]))
            if j is None:
                continue
            loc = (loc[0], j, *loc[2:])
        out[loc] = line
    return out


_SECTIONS = (
    ("categories", Category),
    ("topics", Topic),
    ("intents", Intent),
    ("replies", Reply),
)


def _first_errors(data: dict) -> list[Mapping[str, Any]]:
    """The first MAX_FILE_PROBLEMS validation errors, entry by entry (a file with a million
    bad entries stays cheap: validation stops once enough is known)."""
    found: list[Mapping[str, Any]] = []
    for key, model in _SECTIONS:
        items = data.get(key)
        if not isinstance(items, list):
            continue
        for i, item in enumerate(items):
            try:
                model.model_validate(item)
            except ValidationError as exc:
                for err in exc.errors(include_url=False, include_input=False):
                    found.append({**err, "loc": (key, i, *err["loc"])})
                if len(found) >= MAX_FILE_PROBLEMS:
                    return found
    return found


def check(path: str | Path) -> tuple[KnowledgeBase | None, list[Problem]]:
    """Validate a knowledge base; the KB is None when there are errors. All problems at once."""
    gc_was_enabled = gc.isenabled()
    gc.disable()  # parsing makes many acyclic objects; the collector would rescan them in vain
    try:
        return _check(path)
    finally:
        if gc_was_enabled:
            gc.enable()


@dataclass
class _Collected:
    """Entries of every file read so far, with where each came from."""

    topics: dict[str, Topic] = field(default_factory=dict)
    intents: dict[str, Intent] = field(default_factory=dict)
    categories: dict[str, Category] = field(default_factory=dict)
    replies: dict[str, Reply] = field(default_factory=dict)
    sources: dict[str, tuple[str, int]] = field(default_factory=dict)
    triggers_seen: dict[str, tuple[str, str, int]] = field(default_factory=dict)
    normalized: dict[str, str] = field(default_factory=dict)
    unsure: set[str] = field(default_factory=set)  # ids in files that could not be read

    def add(self, name: str, lines: dict[Loc, int], parsed: KnowledgeFile) -> list[Problem]:
        """Take one file's entries; what clashes with earlier files is a problem."""
        problems = []
        for i, cat in enumerate(parsed.categories):
            line = lines.get(("categories", i), 1)
            if cat.id in self.categories:
                where = self.sources[f"category:{cat.id}"]
                problems.append(
                    Problem(
                        name,
                        line,
                        f'category "{cat.id}" is defined twice (also {where[0]}:{where[1]})',
                    )
                )
            self.categories[cat.id] = cat
            self.sources[f"category:{cat.id}"] = (name, line)
        for i, reply in enumerate(parsed.replies):
            line = lines.get(("replies", i), 1)
            if (where := self.sources.get(f"reply:{reply.id}")) is not None:
                problems.append(
                    Problem(
                        name,
                        line,
                        f'reply "{reply.id}" is defined twice (also {where[0]}:{where[1]})',
                    )
                )
            self.replies[reply.id] = reply
            self.sources[f"reply:{reply.id}"] = (name, line)
        for kind, items in (("topics", parsed.topics), ("intents", parsed.intents)):
            for i, entry in enumerate(items):
                line = lines.get((kind, i), 1)
                if entry.id in self.sources:
                    where = self.sources[entry.id]
                    problems.append(
                        Problem(
                            name,
                            line,
                            f'id "{entry.id}" is used twice (also {where[0]}:{where[1]})',
                        )
                    )
                self.sources[entry.id] = (name, line)
                if isinstance(entry, Topic):
                    self.topics[entry.id] = entry
                else:
                    self.intents[entry.id] = entry
                problems.extend(self._triggers(name, lines, (kind, i), entry, line))
        return problems

    def _triggers(
        self, name: str, lines: dict[Loc, int], at: Loc, entry: Topic | Intent, line: int
    ) -> list[Problem]:
        problems = []
        for lang in LANGS:
            for j, phrase in enumerate(getattr(entry.triggers, lang)):
                key = self.normalized.get(phrase)
                if key is None:
                    key = self.normalized[phrase] = normalize(phrase)
                pline = lines.get((*at, "triggers", lang, j), line)
                if not key:
                    problems.append(
                        Problem(name, pline, f'"{entry.id}": trigger "{phrase}" has no words')
                    )
                    continue
                prev = self.triggers_seen.get(key)
                if prev and prev[0] != entry.id:
                    problems.append(
                        Problem(
                            name,
                            pline,
                            f'"{entry.id}": trigger "{phrase}" is also a trigger of '
                            f'"{prev[0]}" ({prev[1]}:{prev[2]}); keep it in one topic',
                        )
                    )
                elif prev:
                    problems.append(
                        Problem(
                            name, pline, f'"{entry.id}": trigger "{phrase}" is repeated', "warning"
                        )
                    )
                else:
                    self.triggers_seen[key] = (entry.id, name, pline)
        return problems


def _check(path: str | Path) -> tuple[KnowledgeBase | None, list[Problem]]:
    root = Path(path)
    if not root.exists():
        return None, [Problem(str(root), 1, "no such file or directory")]
    files, problems = list_files(root)
    if not files and not problems:
        return None, [Problem(str(root), 1, "no *.yaml files in the knowledge base directory")]
    if len(files) > MAX_FILES:
        return None, [Problem(str(root), 1, f"refused: {len(files)} files; at most {MAX_FILES}")]
    digest = hashlib.sha256()
    seen = _Collected()
    checks: list[tuple[str, dict, KnowledgeFile]] = []
    total = values = 0
    for file in files:
        name = display(file)
        raw = read_limited(file, name, problems)
        if raw is None:
            continue
        total += len(raw)
        if total > MAX_KB_BYTES:
            problems.append(
                Problem(name, 1, f"refused: the knowledge base is over {MAX_KB_BYTES:,} bytes")
            )
            break
        digest.update(name.encode() + b"\0" + raw + b"\0")
        parsed, lines = _parse_file(raw, name, problems)
        values += len(lines)  # one line-map entry per value, aliases expanded
        if values > MAX_KB_NODES:
            problems.append(
                Problem(name, 1, f"refused: the knowledge base is over {MAX_KB_NODES:,} values")
            )
            break
        if any(p.file == name and p.severity == "error" for p in problems):
            seen.unsure.update(ids_in(raw))
        checks.append((name, lines, parsed))
        problems.extend(seen.add(name, lines, parsed))
    # An id a broken file may define is not reported missing elsewhere: one tab in one file
    # is one error, not one in every file that refers to what it defines.
    topics = {**dict.fromkeys(seen.unsure), **seen.topics}
    categories = {**dict.fromkeys(seen.unsure), **seen.categories}
    for name, lines, parsed in checks:
        problems.extend(_entry_checks(name, lines, parsed, topics, categories))
    if not seen.topics and not any(p.severity == "error" for p in problems):
        problems.append(Problem(display(root), 1, "the knowledge base has no topics"))
    problems.sort(key=lambda p: (p.severity != "error", p.file, p.line))
    if any(p.severity == "error" for p in problems):
        return None, problems
    kb = KnowledgeBase(
        topics=seen.topics,
        intents=seen.intents,
        categories=seen.categories,
        version=digest.hexdigest()[:12],
        sources=seen.sources,
        normalized=seen.normalized,
        replies=seen.replies,
    )
    return kb, problems


def _entry_checks(
    name: str,
    lines: dict[Loc, int],
    parsed: KnowledgeFile,
    topics: Mapping[str, Topic],
    categories: Mapping[str, Category],
) -> Iterable[Problem]:
    """What one file's entries get wrong once every file is read: unknown categories and
    related topics, HTML Telegram would refuse (in replies too), missing languages."""
    for i, topic in enumerate(parsed.topics):
        yield from _topic_checks(name, lines, ("topics", i), topic, topics, categories)
    yield from reply_checks(name, lines, parsed.replies, _answer_problems)
    for i, cat in enumerate(parsed.categories):
        at = ("categories", i)
        fields = [
            (f"title.{lang}", (*at, "title", lang), getattr(cat.title, lang)) for lang in LANGS
        ]
        for label, loc, text in [*fields, ("icon", (*at, "icon"), cat.icon)]:
            for issue in plain_text_problems(text):
                yield Problem(
                    name, lines.get(loc, lines.get(at, 1)), f'category "{cat.id}": {label}: {issue}'
                )
    for i, intent in enumerate(parsed.intents):
        at = ("intents", i)
        if intent.action == "smalltalk" and intent.answer is None:
            yield Problem(
                name, lines.get(at, 1), f'intent "{intent.id}": a smalltalk intent needs an answer'
            )
        if intent.answer is not None:
            for lang in LANGS:
                for issue in _answer_problems(getattr(intent.answer, lang)):
                    yield Problem(
                        name,
                        lines.get((*at, "answer", lang), 1),
                        f'intent "{intent.id}": answer.{lang}: {issue}',
                    )


def _topic_checks(
    name: str,
    lines: dict[Loc, int],
    at: Loc,
    topic: Topic,
    topics: Mapping[str, Topic],
    categories: Mapping[str, Category],
) -> Iterable[Problem]:
    if topic.category not in categories:
        known = ", ".join(sorted(categories)) or "none defined"
        yield Problem(
            name,
            lines.get((*at, "category"), 1),
            f'topic "{topic.id}": category "{topic.category}" is not defined (known: {known})',
        )
    if topic.title is None:
        yield Problem(
            name,
            lines.get(at, 1),
            f'topic "{topic.id}": no title; its buttons will show a trigger instead '
            "(add title: {ru: …, tg: …, en: …})",
            "warning",
        )
    for j, rel in enumerate(topic.related):
        if rel not in topics:
            yield Problem(
                name,
                lines.get((*at, "related", j), 1),
                f'topic "{topic.id}": related topic "{rel}" does not exist',
            )
    for lang in LANGS:
        for issue in _answer_problems(getattr(topic.answer, lang)):
            yield Problem(
                name,
                lines.get((*at, "answer", lang), 1),
                f'topic "{topic.id}": answer.{lang}: {issue}',
            )
        if topic.title is not None:
            for issue in plain_text_problems(getattr(topic.title, lang)):
                yield Problem(
                    name,
                    lines.get((*at, "title", lang), 1),
                    f'topic "{topic.id}": title.{lang}: {issue}',
                )
        if not getattr(topic.triggers, lang):
            yield Problem(
                name,
                lines.get((*at, "triggers"), 1),
                f'topic "{topic.id}": no triggers in "{lang}"; '
                f"questions in {lang} will not find it",
                "warning",
            )


def _answer_problems(text: str) -> list[str]:
    """An answer must be HTML Telegram takes, and short enough to be sent in a few messages."""
    units = len(text.encode("utf-16-le")) // 2  # Telegram counts UTF-16 code units
    if units > MAX_ANSWER_UTF16:
        return [
            f"is {units:,} characters (UTF-16 units); at most {MAX_ANSWER_UTF16:,}, "
            f"{MAX_ANSWER_UTF16 // 4096} messages' worth: shorten it or split the topic"
        ]
    return html_problems(text)


def check_file(path: str | Path) -> tuple[KnowledgeBase | None, list[Problem]]:
    """One file, checked as the part of its folder's knowledge base it is: its categories and
    related topics may be defined in the other files; only its own problems are listed. The
    KB is None when the folder as a whole has errors."""
    file = Path(path)
    if not file.is_file() or file.resolve() not in {f.resolve() for f in kb_files(file.parent)}:
        return check(file)
    kb, problems = check(file.parent)
    name = display(file)
    return kb, [p for p in problems if p.file == name]


def load(path: str | Path) -> KnowledgeBase:
    """Load a knowledge base or raise KnowledgeBaseError with every problem found."""
    kb, problems = check(path)
    if kb is None:
        raise KnowledgeBaseError(problems)
    return kb
