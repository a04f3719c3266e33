"""How the report writes numbers: counts, shares, durations, latencies, CSAT (the page, JSON's
readers and /stats use the same)."""

from __future__ import annotations

from bot.report.words import tr

# -- how the page writes numbers ---------------------------------------------------------------

DASH = "—"


def format_count(n: int) -> str:
    """1234567 → "1 234 567" (narrow no-break spaces)."""
    return f"{n:,}".replace(",", "\u202f")


def format_share(x: float | None) -> str:
    """0.6234 → "62.3%"."""
    return DASH if x is None else f"{x * 100:.1f}%"


def format_duration(seconds: float | None) -> str:
    """42 → "42 s", 245 → "4 min 05 s", 4000 → "1 h 07 min", 100000 → "1 d 4 h" (the units
    in the report page's language, ``bot.report.words``)."""
    if seconds is None:
        return DASH
    s = round(seconds)
    if s < 60:
        return tr("{n} s", n=s)
    if s < 3600:
        return tr("{m} min {s} s", m=s // 60, s=f"{s % 60:02d}")
    if s < 86400:
        m = round(s / 60)
        return tr("{h} h {m} min", h=m // 60, m=f"{m % 60:02d}")
    h = round(s / 3600)
    return tr("{d} d {h} h", d=h // 24, h=h % 24)


def format_latency(ms: float | None) -> str:
    """12.3 → "12 ms", 1530 → "1.5 s"."""
    if ms is None:
        return DASH
    return tr("{n} ms", n=f"{ms:.0f}") if ms < 999.5 else tr("{n} s", n=f"{ms / 1000:.1f}")


def topic_link(group_id: int | None, thread_id: int | None) -> str | None:
    """The t.me link of a forum topic of a supergroup (its id without the "-100")."""
    if group_id is None or thread_id is None or not str(group_id).startswith("-100"):
        return None
    return f"https://t.me/c/{str(group_id)[4:]}/{thread_id}"


def format_csat(x: float | None) -> str:
    return DASH if x is None else f"{x:.2f}"
