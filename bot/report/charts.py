"""The report's charts: matplotlib figures as inline SVG (no pyplot: no global figure state,
safe in a server). The only module that imports matplotlib, and only when it draws."""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from bot.report.format import format_count
from bot.report.words import day_month, weekday
from handoff.reports import OUTCOMES, Report

COLORS = {
    "answered": "#2a9d8f",
    "clarified": "#8ecae6",
    "handed_off": "#f4a261",
    "abandoned": "#c3c8d1",
}
OUTCOME_LABELS = {
    "answered": "Answered by the bot",
    "clarified": "Clarified",
    "handed_off": "Handed off",
    "abandoned": "Abandoned",
}
LANGUAGE_NAMES = {"ru": "Russian", "tg": "Tajik", "en": "English"}
_TIME_SERIES = (
    ("wait_until_claim", "Wait until claim", "#457b9d"),
    ("first_response_time", "First response", "#e76f51"),
    ("handling_time", "Handling", "#2a9d8f"),
)


# -- charts (matplotlib, SVG, no pyplot: no global figure state, safe in a server) -------------


def has_times(report: Report) -> bool:
    return any(getattr(report.times, name).count for name, _, _ in _TIME_SERIES)


def _day_labels(days: Sequence[date]) -> list[str]:
    if len(days) <= 14:
        return [f"{weekday(d)}\n{day_month(d)}" for d in days]
    return [d.strftime("%d.%m") for d in days]


def _style_axes(ax: Any) -> None:
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.spines["bottom"].set_color("#9aa3af")
    ax.tick_params(colors="#4b5563", labelsize=9, length=0)
    ax.yaxis.grid(True, color="#e5e7eb", linewidth=0.8)
    ax.set_axisbelow(True)


def _thin_ticks(ax: Any, labels: list[str], most: int = 16) -> None:
    step = max(1, math.ceil(len(labels) / most))
    ticks = list(range(0, len(labels), step))
    ax.set_xticks(ticks, [labels[i] for i in ticks])
    ax.set_xlim(-0.6, len(labels) - 0.4)


def outcome_chart(report: Report, tr: Callable[[str], str] = str) -> str:
    """Outcomes per day, stacked; ``tr`` puts the legend in the page's language."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    days = report.days
    fig = Figure(figsize=(10, 3.4))
    ax = fig.add_subplot()
    x = list(range(len(days)))
    bottom = [0] * len(days)
    for name in OUTCOMES:
        values = [getattr(d.outcomes, name) for d in days]
        ax.bar(x, values, 0.66, bottom=bottom, color=COLORS[name], label=tr(OUTCOME_LABELS[name]))
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    if len(days) <= 31:
        for i, d in enumerate(days):
            if d.outcomes.conversations:
                ax.annotate(
                    format_count(d.outcomes.conversations),
                    (i, d.outcomes.conversations),
                    xytext=(0, 3),
                    textcoords="offset points",
                    ha="center",
                    va="bottom",
                    fontsize=8.5,
                    color="#374151",
                )
    _style_axes(ax)
    _thin_ticks(ax, _day_labels([d.date for d in days]))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=5))
    ax.margins(y=0.12)
    ax.legend(
        loc="lower left",
        bbox_to_anchor=(0, 1.0),
        ncols=4,
        frameon=False,
        fontsize=9,
        handlelength=1,
        handleheight=1,
    )
    return _svg(fig, "outcomes")


def times_chart(report: Report, tr: Callable[[str], str] = str) -> str:
    """Hand-off times per day, p50 and p90; ``tr`` as for ``outcome_chart``."""
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    days = report.days
    fig = Figure(figsize=(10, 2.9))
    axes = fig.subplots(1, len(_TIME_SERIES), sharex=True)
    x = list(range(len(days)))
    labels = [f"{weekday(d)}\n{d.day}" for d in (day.date for day in days)]

    def minutes(v: float | None) -> float:
        return math.nan if v is None else v / 60

    for ax, (name, label, color) in zip(axes, _TIME_SERIES, strict=True):
        p50 = [minutes(getattr(d.times, name).p50) for d in days]
        p90 = [minutes(getattr(d.times, name).p90) for d in days]
        ax.plot(x, p90, color=color, linewidth=1.3, linestyle="--", alpha=0.85)
        ax.plot(x, p50, color=color, linewidth=2.2, marker="o", markersize=4)
        ax.set_title(tr(label), loc="left", fontsize=10, color="#1f2937", fontweight="bold")
        _style_axes(ax)
        _thin_ticks(ax, labels, most=8)
        # all zero (every ticket claimed at once) is still a drawable axis
        top = max([v for v in p90 + p50 if not math.isnan(v)], default=0.0) or 1.0
        ax.set_ylim(0, top * 1.15)
    axes[0].set_ylabel(tr("minutes"), color="#4b5563", fontsize=9)
    fig.legend(
        [
            Line2D([], [], color="#4b5563", linewidth=2.2, marker="o", markersize=4),
            Line2D([], [], color="#4b5563", linewidth=1.3, linestyle="--"),
        ],
        [tr("median (p50)"), tr("90th percentile (p90)")],
        loc="outside upper right",
        ncols=2,
        frameon=False,
        fontsize=9,
    )
    return _svg(fig, "times")


_SVG_ID = re.compile(r'\bid="([^"]+)"')


def _svg(fig: Any, name: str) -> str:
    """The figure as an inline ``<svg>``: text as text (small, selectable), ids made unique to
    the chart so several charts can share a page, and sized by the page's CSS."""
    import matplotlib

    fig.set_layout_engine("constrained")
    buf = io.StringIO()
    with matplotlib.rc_context(
        {
            "svg.fonttype": "none",
            "svg.hashsalt": name,
            "font.family": "sans-serif",
            "font.sans-serif": ["DejaVu Sans", "Helvetica", "Arial", "sans-serif"],
        }
    ):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    svg = re.sub(r'<style type="text/css">.*?</style>\s*', "", svg, flags=re.S)
    for old in set(_SVG_ID.findall(svg)):
        new = f"{name}-{old}"
        svg = svg.replace(f'id="{old}"', f'id="{new}"')
        svg = svg.replace(f"url(#{old})", f"url(#{new})")
        svg = svg.replace(f'href="#{old}"', f'href="#{new}"')
    svg = re.sub(r'\swidth="[^"]*pt"\s+height="[^"]*pt"', "", svg, count=1)
    return f'<figure class="chart" data-testid="svg-{name}" role="img">{svg}</figure>'
