"""The digest's charts as PNG images, drawn with matplotlib's Agg canvas.

The object API (``Figure`` + ``FigureCanvasAgg``) instead of ``pyplot``: pyplot keeps global state
that is not safe across the threads the job runner renders in, and needs no display either way.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from formatters.digest import CHART_TITLES

SIZE = (6.0, 2.6)  # inches; at DPI this is 600 × 260 px, the width the email shows them at
DPI = 100
THIS, LAST = "#2b6cb0", "#a0aec0"


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=DPI)
    return out.getvalue()


def _figure(name: str) -> tuple[Figure, Any]:
    fig = Figure(figsize=SIZE, layout="constrained")
    ax = fig.add_subplot()
    ax.set_title(CHART_TITLES[name], fontsize=10)
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=8)
    return fig, ax


def _week_labels(weeks: Sequence[Mapping[str, Any]]) -> list[str]:
    return [w["end"][5:10] for w in weeks]  # MM-DD the week ended


def _week_axis(ax: Any, weeks: Sequence[Mapping[str, Any]]) -> list[int]:
    """Every week keeps its place on the axis, also a week without data (a gap in the line, not a missing label)."""
    xs = list(range(len(weeks)))
    ax.set_xticks(xs, _week_labels(weeks))
    ax.set_xlim(-0.5, len(weeks) - 0.5)
    return xs


def volume(weeks: Sequence[Mapping[str, Any]]) -> bytes:
    fig, ax = _figure("volume")
    counts = [w["conversations"] for w in weeks]
    bars = ax.bar(_week_labels(weeks), counts, color=[LAST] * (len(counts) - 1) + [THIS])
    ax.bar_label(bars, fontsize=8)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("conversations", fontsize=8)
    return _png(fig)


def categories(rows: Sequence[Mapping[str, Any]]) -> bytes:
    fig, ax = _figure("categories")
    names = [r["category"] for r in rows]
    xs = range(len(names))
    ax.bar([x - 0.2 for x in xs], [r["last_week"] for r in rows], width=0.4, color=LAST, label="last week")
    ax.bar([x + 0.2 for x in xs], [r["this_week"] for r in rows], width=0.4, color=THIS, label="this week")
    ax.set_xticks(list(xs), names, rotation=20, ha="right")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize=8, frameon=False)
    return _png(fig)


def rates(weeks: Sequence[Mapping[str, Any]]) -> bytes:
    fig, ax = _figure("rates")
    xs = _week_axis(ax, weeks)
    for key, label, color in (("auto_resolution", "auto-resolved", THIS), ("adoption", "suggestions adopted", "#dd6b20")):
        ys = [None if w[key] is None else w[key] * 100 for w in weeks]
        ax.plot(xs, [float("nan") if y is None else y for y in ys], marker="o", color=color, label=label)
    ax.set_ylim(0, 100)
    ax.set_ylabel("%", fontsize=8)
    ax.legend(fontsize=8, frameon=False)
    return _png(fig)


def csat(weeks: Sequence[Mapping[str, Any]]) -> bytes:
    fig, ax = _figure("csat")
    ys = [float("nan") if w["csat_average"] is None else w["csat_average"] for w in weeks]
    ax.plot(_week_axis(ax, weeks), ys, marker="o", color=THIS)
    ax.set_ylim(1, 5)
    ax.set_ylabel("score (1–5)", fontsize=8)
    return _png(fig)


def render_all(figures: Mapping[str, Any]) -> dict[str, bytes]:
    """Chart name → PNG; CPU-bound (a few hundred ms), so callers run it in a thread."""
    charts = {"volume": volume(figures["weeks"]), "rates": rates(figures["weeks"]), "csat": csat(figures["weeks"])}
    if figures["categories"]:
        charts["categories"] = categories(figures["categories"])
    return charts
