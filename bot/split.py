"""Splits a long Telegram HTML text into messages under the length limit, at paragraph bounds."""

from __future__ import annotations

import re

from bot.tglimits import MESSAGE_TEXT, prefix_fitting, utf16_len

TELEGRAM_LIMIT = MESSAGE_TEXT
_TOKEN = re.compile(r"<[^>]*>|&[#a-zA-Z0-9]+;|[^<&]+|[<&]", re.S)
_TAG = re.compile(r"<\s*(/?)\s*([a-zA-Z][\w-]*)")


def _visible_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return utf16_len(text)


def _hard_cut(word: str, limit: int) -> list[str]:
    """A word longer than a message, in parts of at most ``limit`` UTF-16 units each."""
    parts = []
    while word:
        n = max(1, prefix_fitting(word, limit))
        parts.append(word[:n])
        word = word[n:]
    return parts


def _pieces(text: str) -> list[str]:
    """Tags, entities, and text cut at paragraph, line and word ends (kept at piece ends)."""
    out: list[str] = []
    for tok in _TOKEN.findall(text):
        if (tok.startswith("<") and len(tok) > 1) or (tok.startswith("&") and len(tok) > 1):
            out.append(tok)
        else:
            out.extend(p for p in re.split(r"(?<=\n\n)|(?<=\n)|(?<= )", tok) if p)
    return out


def split_html(text: str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Chunks of at most ``limit`` visible UTF-16 units (Telegram's measure: an emoji
    outside the BMP counts 2); tags open at a cut are closed, then reopened."""
    if _visible_len(re.sub(r"<[^>]*>", "", text)) <= limit:
        return [text]
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    # where a cut may go, by rank (3 paragraph, 2 line, 1 word): (index in current, size there)
    breaks: dict[int, tuple[int, int]] = {}

    def best_cut() -> int:
        for rank in (3, 2, 1):
            if rank in breaks and breaks[rank][1] >= limit // 3:
                return breaks[rank][0]
        return max((i for i, _ in breaks.values()), default=len(current))

    def flush(upto: int) -> None:
        nonlocal current, size
        head, tail = current[:upto], current[upto:]
        stack: list[tuple[str, str]] = list(reopen)
        for piece in head:
            _track(piece, stack)
        body = "".join(head)
        closing = "".join(f"</{name}>" for name, _ in reversed(stack))
        chunks.append(_opening(reopen) + body.strip("\n") + closing)
        reopen[:] = stack
        current = tail
        old_size = size
        size = sum(_visible_len(p) for p in tail if not (p.startswith("<") and len(p) > 1))
        cut = old_size - size
        shifted = {r: (i - upto, sz - cut) for r, (i, sz) in breaks.items() if i > upto}
        breaks.clear()
        breaks.update(shifted)

    reopen: list[tuple[str, str]] = []
    for piece in _pieces(text):
        visible = 0 if piece.startswith("<") and len(piece) > 1 else _visible_len(piece)
        if visible > limit:  # one word longer than a message: cut it hard
            for part in _hard_cut(piece, limit):
                if current:
                    flush(len(current))
                current.append(part)
                size = _visible_len(part)
            continue
        if size + visible > limit and current:
            flush(best_cut())
        current.append(piece)
        size += visible
        if piece.endswith((" ", "\n")):
            rank = 3 if piece.endswith("\n\n") else 2 if piece.endswith("\n") else 1
            breaks[rank] = (len(current), size)
    if current:
        flush(len(current))
    return [c for c in chunks if c]


def _track(piece: str, stack: list[tuple[str, str]]) -> None:
    m = _TAG.match(piece)
    if not m:
        return
    closing, name = m.group(1), m.group(2).lower()
    if closing:
        for i in range(len(stack) - 1, -1, -1):
            if stack[i][0] == name:
                del stack[i:]
                break
    else:
        stack.append((name, piece))


def _opening(stack: list[tuple[str, str]]) -> str:
    return "".join(tag for _, tag in stack)
