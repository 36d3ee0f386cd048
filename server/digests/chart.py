"""The digest's chart: each score this period beside the period before, with its 95 %
interval, drawn as a PNG (mail clients show images, not SVG or JavaScript).

Drawn with matplotlib's Agg canvas on a `Figure` of its own (no pyplot), so it needs no
display and keeps no global state between threads. matplotlib is imported on the first
chart, not with the module: it costs ~1.5 s of CPU, and every CLI command and server process
imports this package (through the digest scheduler) while few ever draw a chart.
"""

from __future__ import annotations

import io

from server.dashboard.present import LABELS, METRICS, Metric
from server.digests.content import Content

NOW_COLOUR = "#2563eb"
BEFORE_COLOUR = "#9ca3af"
LABEL_CHARS = 24  # longer names would squeeze the plot to nothing
MAX_ROWS = 12  # locations per score kind: a chart taller than a phone screen is not read


Point = tuple[float, float, float] | None  # value, interval low, interval high


def _point(shown: Metric | None) -> Point:
    return (shown.value, shown.lo, shown.hi) if shown else None


def _short(name: str) -> str:
    """A location's name as a row label: the full name is in the text beside the chart."""
    return name if len(name) <= LABEL_CHARS else name[: LABEL_CHARS - 1] + "…"


def _rows(content: Content, name: str) -> list[tuple[str, Point, Point]]:
    rows = []
    for place in content.locations[:MAX_ROWS]:
        for score in place.scores:
            if score.name == name:
                rows.append((_short(place.name), _point(score.now), _point(score.before)))
    return rows


def png(content: Content, now_label: str, before_label: str) -> bytes:
    """The chart as PNG bytes: one panel per kind of score, one row per location."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    kinds = [name for name in METRICS if _rows(content, name)]
    heights = [max(len(_rows(content, name)), 1) for name in kinds] or [1]
    figure = Figure(figsize=(6.4, 0.9 + 0.45 * sum(heights) + 0.5 * len(heights)), dpi=100)
    FigureCanvasAgg(figure)
    if not kinds:
        axes = figure.add_subplot()
        axes.axis("off")
        axes.text(0.5, 0.5, "—", ha="center", va="center", fontsize=14, color=BEFORE_COLOUR)
    else:
        grid = figure.subplots(len(kinds), 1, squeeze=False, height_ratios=heights)
        for axes, name in zip(grid[:, 0], kinds, strict=True):
            rows = _rows(content, name)
            for y, (_, now, before) in enumerate(rows):
                for shown, offset, colour in (
                    (before, 0.15, BEFORE_COLOUR),
                    (now, -0.15, NOW_COLOUR),
                ):
                    if shown is None:
                        continue
                    value, lo, hi = shown
                    axes.plot([lo, hi], [y + offset, y + offset], color=colour, linewidth=3)
                    axes.plot([value], [y + offset], "o", color=colour, markersize=6)
            axes.set_yticks(range(len(rows)), [place for place, _, _ in rows])
            axes.set_ylim(len(rows) - 0.5, -0.5)
            axes.set_title(LABELS[name], loc="left", fontsize=10)
            axes.grid(axis="x", color="#e5e7eb")
            axes.tick_params(labelsize=9)
            for side in ("top", "right"):
                axes.spines[side].set_visible(False)
        grid[0, 0].plot([], [], color=NOW_COLOUR, linewidth=3, label=now_label)
        grid[0, 0].plot([], [], color=BEFORE_COLOUR, linewidth=3, label=before_label)
        grid[0, 0].legend(
            loc="lower right", bbox_to_anchor=(1, 1), ncols=2, fontsize=8, frameon=False
        )
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()
