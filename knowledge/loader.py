"""Loads and validates a knowledge-base directory, reporting every problem with file:line."""

from __future__ import annotations

import gc
import hashlib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import ValidationError

from knowledge.html import html_problems, plain_text_problems
from knowledge.lang import LANGS
from knowledge.schema import Category, Intent, KnowledgeFile, Topic
from knowledge.text import normalize

Severity = Literal["error", "warning"]
Loc = tuple[str | int, ...]

# Limits checked before a file is parsed or its aliases expanded: a knowledge base is text
# someone wrote, and nothing in it may cost the bot more memory or time than that.
MAX_FILE_BYTES = 5 * 1024 * 1024  # one YAML file (the 10,000-topic benchmark's are ~0.5 MB)
MAX_KB_BYTES = 64 * 1024 * 1024  # all files together
MAX_FILES = 2_000
MAX_NODES = 300_000  # YAML nodes of one file, and with every alias expanded (bench: 30,000)
MAX_KB_NODES = 3_000_000  # all files together (the 10,000-topic benchmark: 510,000)
MAX_ALIASES = 1_000  # *references to &anchors in one file
MAX_DEPTH = 64  # nesting of mappings and lists (a KB needs 5)
MAX_FILE_PROBLEMS = 100  # errors listed per file; the rest are counted
# An answer is sent as messages of at most 4,096 UTF-16 units: four messages' worth at most.
MAX_ANSWER_UTF16 = 4 * 4096


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


class _TooBig(Exception):
    """The YAML would expand past a limit; the message says which."""


class _TooBig(Exception):
    """The YAML would cost more than a limit allows; the message says which."""


def _parse_yaml(text: str) -> tuple[yaml.Node | None, Any]:
    """Parse once: the node tree (for line numbers) and the data built from it. A streaming
    pass first counts nodes, aliases and nesting without keeping anything (so composing is
    bounded too); composing keeps each alias as one shared node, and the expansion limit is
    checked on that graph before anything (the constructor, the line map, validation) walks
    it expanded."""
    aliases = _scan(text)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is not None and aliases:  # without aliases the scan's count is the size
            _check_expansion(node)
        data = loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()
    return node, data


_NODE_EVENTS = (yaml.ScalarEvent, yaml.SequenceStartEvent, yaml.MappingStartEvent)
_OPEN = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
_CLOSE = (yaml.SequenceEndEvent, yaml.MappingEndEvent)


def _scan(text: str) -> int:
    """Raise _TooBig past MAX_NODES nodes, MAX_ALIASES aliases or MAX_DEPTH levels, reading
    the YAML as a stream of events (constant memory; syntax errors raise YAMLError).
    Returns how many aliases there are."""
    nodes = aliases = depth = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, _NODE_EVENTS):
            nodes += 1
            if nodes > MAX_NODES:
                raise _TooBig(f"more than {MAX_NODES:,} values in one file; split it")
            if isinstance(event, _OPEN):
                depth += 1
                if depth > MAX_DEPTH:
                    raise _TooBig(f"the YAML nests deeper than {MAX_DEPTH} levels")
        elif isinstance(event, _CLOSE):
            depth -= 1
        elif isinstance(event, yaml.AliasEvent):
            aliases += 1
            if aliases > MAX_ALIASES:
                raise _TooBig(f"more than {MAX_ALIASES:,} aliases (*name) in one file")
    return aliases


def _check_expansion(root: yaml.Node) -> None:
    """Raise _TooBig when the document, aliases expanded, would have more than MAX_NODES
    nodes, nest deeper than MAX_DEPTH or refer to itself. Linear in the composed graph:
    each distinct collection is sized once (memoized); a scalar is 1."""
    size: dict[int, int] = {}
    height: dict[int, int] = {}
    entered: set[int] = set()  # entered, not finished: the path from the root
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            kids = _collections(node)
            scalars = _width(node) - len(kids)
            size[key] = 1 + scalars + sum(size[id(k)] for k in kids)
            height[key] = 1 + max((height[id(k)] for k in kids), default=1 if scalars else 0)
            entered.discard(key)
            if size[key] > MAX_NODES:
                raise _TooBig(
                    f"the YAML expands to more than {MAX_NODES:,} values (aliases like *name "
                    "repeat what &name holds); write the entries out instead"
                )
            if height[key] > MAX_DEPTH:
                raise _TooBig(f"the YAML nests deeper than {MAX_DEPTH} levels")
            continue
        if key in size:
            continue
        if key in entered:
            raise _TooBig("an alias (*name) refers to the entry that contains it")
        entered.add(key)
        stack.append((node, True))
        stack.extend((k, False) for k in _collections(node))


def _width(node: yaml.Node) -> int:
    """How many child nodes a collection has (keys and values both count)."""
    if isinstance(node, yaml.MappingNode):
        return 2 * len(node.value)
    return len(node.value) if isinstance(node, yaml.SequenceNode) else 0


def _collections(node: yaml.Node) -> list[yaml.Node]:
    """The child nodes of a collection that are collections themselves."""
    if isinstance(node, yaml.MappingNode):
        kids = [n for pair in node.value for n in pair]
    elif isinstance(node, yaml.SequenceNode):
        kids = node.value
    else:
        return []
    return [k for k in kids if not isinstance(k, yaml.ScalarNode)]


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


def _parse_file(raw: bytes, name: str, problems: list[Problem]) -> tuple[KnowledgeFile, dict]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.append(Problem(name, 1, f"cannot read the file: {exc}"))
        return KnowledgeFile(), {}
    try:
        node, data = _parse_yaml(text)
    except _TooBig as exc:
        problems.append(Problem(name, 1, f"refused: {exc}"))
        return KnowledgeFile(), {}
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
            Problem(name, _line_of(lines, loc), f"{_describe(data, loc)} {_message(err)}")
        )
    shown = min(len(errors), MAX_FILE_PROBLEMS)
    if total > shown:
        problems.append(Problem(name, 1, f"… and {total - shown:,} more errors in this file"))
    if total > MAX_FILE_PROBLEMS:
        return KnowledgeFile(), lines
    # Keep whatever entries are valid so cross-file checks still report on them (an entry
    # with an error is not validated again).
    broken: set[tuple[str | int, ...]] = {tuple(err["loc"][:2]) for err in errors}
    partial = KnowledgeFile()
    for key, model in _SECTIONS:
        items = data.get(key) if isinstance(data.get(key), list) else []
        good = [
            model.model_validate(item) for i, item in enumerate(items) if (key, i) not in broken
        ]
        partial = partial.model_copy(update={key: good})
    return partial, lines


_SECTIONS = (("categories", Category), ("topics", Topic), ("intents", Intent))


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


def kb_files(path: Path) -> list[Path]:
    """The YAML files of a knowledge base: a directory's *.yaml/*.yml, or a single file.
    Only files inside the directory (symbolic links resolved) are listed."""
    return _kb_files(path)[0]


def _kb_files(path: Path) -> tuple[list[Path], list[Problem]]:
    """The KB's YAML files, and a problem for every link that leads out of the KB folder
    (such a file is never read: the folder is the whole of what the bot may serve)."""
    if path.is_file():
        return [path], []
    root = path.resolve()
    files: list[Path] = []
    problems: list[Problem] = []
    for folder, dirs, names in os.walk(root):
        here = Path(folder)
        for entry in sorted([*dirs, *names]):
            candidate = here / entry
            if not candidate.is_symlink():
                if entry in names and candidate.suffix in (".yaml", ".yml"):
                    files.append(candidate)
                continue
            target = candidate.resolve()
            inside = target == root or root in target.parents
            if not inside:
                problems.append(
                    Problem(
                        _display(candidate),
                        1,
                        f"refused: a link to {target}, outside the knowledge-base folder "
                        f"{root}; copy the file into the folder instead",
                    )
                )
            elif candidate.suffix in (".yaml", ".yml") and target.is_file():
                files.append(candidate)  # a link within the folder: read like its target
        dirs.sort()
    return sorted(files), problems


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _read(file: Path, name: str, problems: list[Problem]) -> bytes | None:
    """The file's bytes, or None (with a problem) when it can't be read or is too big; the
    size is checked before reading, so a huge file costs nothing."""
    try:
        with open(file, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > MAX_FILE_BYTES:
                problems.append(
                    Problem(
                        name,
                        1,
                        f"refused: {size:,} bytes; a knowledge-base file may have at most "
                        f"{MAX_FILE_BYTES:,} (split it into several files)",
                    )
                )
                return None
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        problems.append(Problem(name, 1, f"cannot read the file: {exc}"))
        return None
    if len(raw) > MAX_FILE_BYTES:  # it grew while being read
        problems.append(Problem(name, 1, f"refused: over {MAX_FILE_BYTES:,} bytes"))
        return None
    return raw


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
    if not root.exists():
        return None, [Problem(str(root), 1, "no such file or directory")]
    files, problems = _kb_files(root)
    if not files and not problems:
        return None, [Problem(str(root), 1, "no *.yaml files in the knowledge base directory")]
    if len(files) > MAX_FILES:
        return None, [Problem(str(root), 1, f"refused: {len(files)} files; at most {MAX_FILES}")]

    digest = hashlib.sha256()
    topics: dict[str, Topic] = {}
    intents: dict[str, Intent] = {}
    categories: dict[str, Category] = {}
    sources: dict[str, tuple[str, int]] = {}
    triggers_seen: dict[str, tuple[str, str, int]] = {}
    normalized: dict[str, str] = {}
    checks: list[tuple[str, dict, KnowledgeFile]] = []

    total = values = 0
    for file in files:
        name = _display(file)
        raw = _read(file, name, problems)
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
            for issue in _answer_problems(text):
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


def _answer_problems(text: str) -> list[str]:
    """An answer must be HTML Telegram takes, and short enough to be sent in a few messages."""
    units = len(text.encode("utf-16-le")) // 2  # Telegram counts UTF-16 code units
    if units > MAX_ANSWER_UTF16:
        return [
            f"is {units:,} characters (UTF-16 units); at most {MAX_ANSWER_UTF16:,}, "
            f"{MAX_ANSWER_UTF16 // 4096} messages' worth: shorten it or split the topic"
        ]
    return html_problems(text)


def load(path: str | Path) -> KnowledgeBase:
    """Load a knowledge base or raise KnowledgeBaseError with every problem found."""
    kb, problems = check(path)
    if kb is None:
        raise KnowledgeBaseError(problems)
    return kb
