"""Loads and validates a knowledge-base directory, reporting every problem with file:line."""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import ValidationError

from knowledge.html import html_problems
from knowledge.lang import LANGS
from knowledge.schema import Category, Intent, KnowledgeFile, Topic
from knowledge.text import normalize

Severity = Literal["error", "warning"]
Loc = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the knowledge base, where it is and what to fix."""

    file: str
    line: int
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        tag = "" if self.severity == "error" else "warning: "
        return f"{self.file}:{self.line}: {tag}{self.message}"


class KnowledgeBaseError(Exception):
    """The knowledge base has errors; ``problems`` lists all of them."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        errors = [p for p in problems if p.severity == "error"]
        super().__init__("\n".join(str(p) for p in errors))


@dataclass(frozen=True)
class KnowledgeBase:
    """A validated knowledge base: topics, intents and categories by id."""

    topics: Mapping[str, Topic]
    intents: Mapping[str, Intent]
    categories: Mapping[str, Category]
    version: str
    sources: Mapping[str, tuple[str, int]] = field(default_factory=dict)
    # trigger text → its normalized form, computed once while validating
    normalized: Mapping[str, str] = field(default_factory=dict)

    def topics_in(self, category: str) -> list[Topic]:
        return [t for t in self.topics.values() if t.category == category]


_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml is ~10x faster when present


def _parse_yaml(text: str) -> tuple[yaml.Node | None, Any]:
    """Parse once: the node tree (for line numbers) and the data built from it."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()
    return node, data


def _line_map(node: yaml.Node, path: Loc, out: dict[Loc, int], dups: list[tuple[Loc, int]]) -> None:
    """Record the 1-based line of every key and item, so a pydantic loc becomes file:line."""
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            name = str(key.value)
            child = (*path, name)
            if name in seen:
                dups.append((child, key.start_mark.line + 1))
            seen.add(name)
            _line_map(value, child, out, dups)
            out[child] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _line_map(item, (*path, i), out, dups)


def _line_of(lines: dict[Loc, int], loc: Loc) -> int:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return 1


def _describe(data: Any, loc: Loc) -> str:
    """'topic "roaming": answer.tg' for ('topics', 3, 'answer', 'tg')."""
    if len(loc) >= 2 and loc[0] in ("topics", "intents", "categories") and isinstance(loc[1], int):
        kind = str(loc[0])[:-1] if loc[0] != "categories" else "category"
        try:
            ident = data[loc[0]][loc[1]].get("id")
        except (KeyError, IndexError, TypeError, AttributeError):
            ident = None
        who = f'{kind} "{ident}"' if ident else f"{kind} #{int(loc[1]) + 1}"
        rest = ".".join(str(p) for p in loc[2:])
        return f"{who}: {rest}" if rest else who
    return ".".join(str(p) for p in loc) or "file"


def _message(err: Mapping[str, Any]) -> str:
    kind = err["type"]
    if kind == "missing":
        return "is missing"
    if kind == "extra_forbidden":
        return "is not a known key (check the spelling; see docs/knowledge-base.md)"
    if kind == "string_too_short":
        return "is empty"
    if kind == "string_pattern_mismatch":
        pattern = err.get("ctx", {}).get("pattern", "")
        if "https" in pattern:
            return "must be an http(s):// or tg:// URL"
        return "must be lowercase letters, digits and _ (2-48 chars, starting with a letter)"
    if kind == "literal_error":
        return f"must be one of {err.get('ctx', {}).get('expected', '')}"
    return str(err["msg"]).lower()


def _parse_file(path: Path, name: str, problems: list[Problem]) -> tuple[KnowledgeFile, dict]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(name, 1, f"cannot read the file: {exc}"))
        return KnowledgeFile(), {}
    try:
        node, data = _parse_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark else 1
        what = getattr(exc, "problem", None) or str(exc)
        problems.append(Problem(name, line, f"YAML syntax error: {what}"))
        return KnowledgeFile(), {}
    if node is None or data is None:
        return KnowledgeFile(), {}
    lines: dict[Loc, int] = {}
    dups: list[tuple[Loc, int]] = []
    _line_map(node, (), lines, dups)
    for loc, line in dups:
        problems.append(Problem(name, line, f"{_describe(data, loc)}: key appears twice"))
    if not isinstance(data, dict):
        problems.append(
            Problem(name, 1, "the file must be a mapping with categories/topics/intents")
        )
        return KnowledgeFile(), {}
    try:
        return KnowledgeFile.model_validate(data), lines
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(err["loc"])
            problems.append(
                Problem(name, _line_of(lines, loc), f"{_describe(data, loc)} {_message(err)}")
            )
    # Keep whatever entries are valid so cross-file checks still report on them.
    partial = KnowledgeFile()
    for key, model in (("categories", Category), ("topics", Topic), ("intents", Intent)):
        items = data.get(key) if isinstance(data.get(key), list) else []
        good = []
        for item in items:
            try:
                good.append(model.model_validate(item))
            except ValidationError:
                continue
        partial = partial.model_copy(update={key: good})
    return partial, lines


def kb_files(path: Path) -> list[Path]:
    """The YAML files of a knowledge base: a directory's *.yaml/*.yml, or a single file."""
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def check(path: str | Path) -> tuple[KnowledgeBase | None, list[Problem]]:
    """Validate a knowledge base; the KB is None when there are errors. All problems at once."""
    gc_was_enabled = gc.isenabled()
    gc.disable()  # parsing makes many acyclic objects; the collector would rescan them in vain
    try:
        return _check(path)
    finally:
        if gc_was_enabled:
            gc.enable()


def _check(path: str | Path) -> tuple[KnowledgeBase | None, list[Problem]]:
    root = Path(path)
    problems: list[Problem] = []
    if not root.exists():
        return None, [Problem(str(root), 1, "no such file or directory")]
    files = kb_files(root)
    if not files:
        return None, [Problem(str(root), 1, "no *.yaml files in the knowledge base directory")]

    digest = hashlib.sha256()
    topics: dict[str, Topic] = {}
    intents: dict[str, Intent] = {}
    categories: dict[str, Category] = {}
    sources: dict[str, tuple[str, int]] = {}
    triggers_seen: dict[str, tuple[str, str, int]] = {}
    normalized: dict[str, str] = {}
    checks: list[tuple[str, dict, KnowledgeFile]] = []

    for file in files:
        name = _display(file)
        digest.update(name.encode() + b"\0" + file.read_bytes() + b"\0")
        parsed, lines = _parse_file(file, name, problems)
        checks.append((name, lines, parsed))
        for i, cat in enumerate(parsed.categories):
            line = lines.get(("categories", i), 1)
            if cat.id in categories:
                where = sources[f"category:{cat.id}"]
                problems.append(
                    Problem(
                        name,
                        line,
                        f'category "{cat.id}" is defined twice (also {where[0]}:{where[1]})',
                    )
                )
            categories[cat.id] = cat
            sources[f"category:{cat.id}"] = (name, line)
        for kind, items in (("topics", parsed.topics), ("intents", parsed.intents)):
            for i, entry in enumerate(items):
                line = lines.get((kind, i), 1)
                if entry.id in sources:
                    where = sources[entry.id]
                    problems.append(
                        Problem(
                            name,
                            line,
                            f'id "{entry.id}" is used twice (also {where[0]}:{where[1]})',
                        )
                    )
                sources[entry.id] = (name, line)
                if isinstance(entry, Topic):
                    topics[entry.id] = entry
                else:
                    intents[entry.id] = entry
                for lang in LANGS:
                    for j, phrase in enumerate(getattr(entry.triggers, lang)):
                        key = normalized.get(phrase)
                        if key is None:
                            key = normalized[phrase] = normalize(phrase)
                        pline = lines.get((kind, i, "triggers", lang, j), line)
                        if not key:
                            problems.append(
                                Problem(
                                    name, pline, f'"{entry.id}": trigger "{phrase}" has no words'
                                )
                            )
                            continue
                        prev = triggers_seen.get(key)
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
                                    name,
                                    pline,
                                    f'"{entry.id}": trigger "{phrase}" is repeated',
                                    "warning",
                                )
                            )
                        else:
                            triggers_seen[key] = (entry.id, name, pline)

    for name, lines, parsed in checks:
        problems.extend(_entry_checks(name, lines, parsed, topics, categories))

    if not topics and not any(p.severity == "error" for p in problems):
        problems.append(Problem(_display(root), 1, "the knowledge base has no topics"))
    problems.sort(key=lambda p: (p.severity != "error", p.file, p.line))
    if any(p.severity == "error" for p in problems):
        return None, problems
    kb = KnowledgeBase(
        topics=topics,
        intents=intents,
        categories=categories,
        version=digest.hexdigest()[:12],
        sources=sources,
        normalized=normalized,
    )
    return kb, problems


def _entry_checks(
    name: str,
    lines: dict[Loc, int],
    parsed: KnowledgeFile,
    topics: Mapping[str, Topic],
    categories: Mapping[str, Category],
) -> Iterable[Problem]:
    for i, topic in enumerate(parsed.topics):
        at = ("topics", i)
        if topic.category not in categories:
            known = ", ".join(sorted(categories)) or "none defined"
            yield Problem(
                name,
                lines.get((*at, "category"), 1),
                f'topic "{topic.id}": category "{topic.category}" is not defined (known: {known})',
            )
        for j, rel in enumerate(topic.related):
            if rel not in topics:
                yield Problem(
                    name,
                    lines.get((*at, "related", j), 1),
                    f'topic "{topic.id}": related topic "{rel}" does not exist',
                )
        for lang in LANGS:
            text = getattr(topic.answer, lang)
            for issue in html_problems(text):
                yield Problem(
                    name,
                    lines.get((*at, "answer", lang), 1),
                    f'topic "{topic.id}": answer.{lang}: {issue}',
                )
            if not getattr(topic.triggers, lang):
                yield Problem(
                    name,
                    lines.get((*at, "triggers"), 1),
                    f'topic "{topic.id}": no triggers in "{lang}"; '
                    f"questions in {lang} will not find it",
                    "warning",
                )
    for i, intent in enumerate(parsed.intents):
        at = ("intents", i)
        if intent.action == "smalltalk" and intent.answer is None:
            yield Problem(
                name, lines.get(at, 1), f'intent "{intent.id}": a smalltalk intent needs an answer'
            )
        if intent.answer is not None:
            for lang in LANGS:
                for issue in html_problems(getattr(intent.answer, lang)):
                    yield Problem(
                        name,
                        lines.get((*at, "answer", lang), 1),
                        f'intent "{intent.id}": answer.{lang}: {issue}',
                    )


def load(path: str | Path) -> KnowledgeBase:
    """Load a knowledge base or raise KnowledgeBaseError with every problem found."""
    kb, problems = check(path)
    if kb is None:
        raise KnowledgeBaseError(problems)
    return kb
