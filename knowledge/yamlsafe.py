"""YAML that cannot cost more than it says: limits on values, aliases and nesting checked
while streaming and on the composed graph, before anything expands an alias; and the line of
every key and item, so a validation error points at file:line."""

from __future__ import annotations

from typing import Any

import yaml

Loc = tuple[str | int, ...]

MAX_NODES = 300_000  # YAML nodes of one file, and with every alias expanded (bench: 30,000)
MAX_ALIASES = 1_000  # *references to &anchors in one file
MAX_DEPTH = 64  # nesting of mappings and lists (a KB needs 5)

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml is ~10x faster when present


class TooBig(Exception):
    """The YAML would cost more than a limit allows; the message says which."""


def parse_yaml(text: str) -> tuple[yaml.Node | None, Any]:
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
    """Raise TooBig past MAX_NODES nodes, MAX_ALIASES aliases or MAX_DEPTH levels, reading
    the YAML as a stream of events (constant memory; syntax errors raise YAMLError).
    Returns how many aliases there are."""
    nodes = aliases = depth = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, _NODE_EVENTS):
            nodes += 1
            if nodes > MAX_NODES:
                raise TooBig(f"more than {MAX_NODES:,} values in one file; split it")
            if isinstance(event, _OPEN):
                depth += 1
                if depth > MAX_DEPTH:
                    raise TooBig(f"the YAML nests deeper than {MAX_DEPTH} levels")
        elif isinstance(event, _CLOSE):
            depth -= 1
        elif isinstance(event, yaml.AliasEvent):
            aliases += 1
            if aliases > MAX_ALIASES:
                raise TooBig(f"more than {MAX_ALIASES:,} aliases (*name) in one file")
    return aliases


def _check_expansion(root: yaml.Node) -> None:
    """Raise TooBig when the document, aliases expanded, would have more than MAX_NODES
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
                raise TooBig(
                    f"the YAML expands to more than {MAX_NODES:,} values (aliases like *name "
                    "repeat what &name holds); write the entries out instead"
                )
            if height[key] > MAX_DEPTH:
                raise TooBig(f"the YAML nests deeper than {MAX_DEPTH} levels")
            continue
        if key in size:
            continue
        if key in entered:
            raise TooBig("an alias (*name) refers to the entry that contains it")
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


def line_map(node: yaml.Node, path: Loc, out: dict[Loc, int], dups: list[tuple[Loc, int]]) -> None:
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
            line_map(value, child, out, dups)
            out[child] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            line_map(item, (*path, i), out, dups)


def line_of(lines: dict[Loc, int], loc: Loc) -> int:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return 1
