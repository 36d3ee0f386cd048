"""Score groups (server/scores.py) turned into what the pages draw: values, intervals, bars."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from babel.dates import format_datetime, format_timedelta

from shared import answer_scale
from shared.answer_scale import mood_hex
from shared.scoring import is_happy, is_unhappy

METRICS = ("nps", "csat", "ces", "smiley")
LABELS = {"nps": "NPS", "csat": "CSAT", "ces": "CES", "smiley": "Smiley +"}
UNITS = {"nps": "", "csat": "%", "ces": "", "smiley": "%"}


@dataclass(frozen=True)
class Metric:
    """One score with its 95 % interval, on an axis from low to high."""

    name: str
    value: float
    lo: float
    hi: float
    axis_lo: float
    axis_hi: float
    n: int

    @property
    def label(self) -> str:
        """The metric's short name."""
        return LABELS[self.name]

    @property
    def text(self) -> str:
        """The value as shown, e.g. `42.0` or `87.5%`."""
        digits = 2 if self.name == "ces" else 1
        return f"{self.value:.{digits}f}{UNITS[self.name]}"

    @property
    def interval_text(self) -> str:
        """The interval as shown, e.g. `31.2 – 50.4`."""
        digits = 2 if self.name == "ces" else 1
        return f"{self.lo:.{digits}f} – {self.hi:.{digits}f}"

    def _pos(self, x: float) -> float:
        span = self.axis_hi - self.axis_lo
        return round(100.0 * (min(max(x, self.axis_lo), self.axis_hi) - self.axis_lo) / span, 2)

    @property
    def bar(self) -> dict[str, float]:
        """SVG geometry on a 0..100 axis: where the interval starts, its width, the value."""
        start, end = self._pos(self.lo), self._pos(self.hi)
        return {"x": start, "width": max(end - start, 0.5), "value": self._pos(self.value)}

    @property
    def fraction(self) -> float:
        """Where the value sits between the axis ends, 0..1 (for heatmap colours)."""
        return self._pos(self.value) / 100.0


def metric(group: dict[str, Any], name: str) -> Metric | None:
    """The group's score of this kind, or None when it has no such answers."""
    score = group.get(name)
    if not score:
        return None
    n = int(score["n"])
    if name == "nps":
        lo, hi = score["ci95"]
        return Metric(name, score["score"], lo, hi, -100.0, 100.0, n)
    if name == "csat":
        lo, hi = score["ci95"]
        return Metric(name, score["score"], lo, hi, 0.0, 100.0, n)
    if name == "ces":
        lo, hi = score["mean_ci95"]
        return Metric(name, score["mean"], lo, hi, 1.0, float(score["scale"]), n)
    lo, hi = score["ci95"]
    return Metric(name, score["positive_share"], lo, hi, 0.0, 100.0, n)


def metrics(group: dict[str, Any]) -> dict[str, Metric | None]:
    """Every metric of a group, None where it has no answers."""
    return {name: metric(group, name) for name in METRICS}


def kinds_present(groups: list[dict[str, Any]]) -> dict[str, str]:
    """LABELS narrowed to the kinds some group has answers for: no empty CSAT/CES columns."""
    return {k: v for k, v in LABELS.items() if any(g.get(k) for g in groups)}


def face(value: int, low: int, high: int) -> dict[str, Any]:
    """How a page draws the face of a value on a low..high scale, as the kiosk does: its mood
    (0 unhappiest .. 1 happiest) and colour from `shared.answer_scale`, and the mouth's bend
    (`curve`, -1 frowning .. 1 smiling)."""
    mood = answer_scale.mood(value, low, high)
    return {"mood": round(mood, 3), "curve": round(2 * mood - 1, 2), "colour": mood_hex(mood)}


def answer_chip(kind: str, scale: int, value: int) -> dict[str, Any]:
    """How a comment's answer is shown: "NPS 9" in a tone, or a smiley's face (`face`)."""
    tone = (
        "good"
        if is_happy(kind, scale, value)
        else "bad"
        if is_unhappy(kind, scale, value)
        else "mid"
    )
    chip: dict[str, Any] = {"kind": kind, "tone": tone, "value": value, "scale": scale}
    if kind == "smiley":
        chip.update(face(value, 1, max(scale, 2)))
        chip["text"] = f"Smiley {value} of {scale}"
    else:
        label = LABELS.get(kind, kind.upper())
        chip["text"] = f"{label} {value}" if kind == "nps" else f"{label} {value}/{scale}"
    return chip


def headline(groups: list[dict[str, Any]]) -> str | None:
    """The kind with the most answers across these groups: what a single colour should show."""
    totals = {name: sum(int(g[name]["n"]) for g in groups if g.get(name)) for name in METRICS}
    best = max(totals, key=lambda k: totals[k])
    return best if totals[best] > 0 else None


def sort_rows(rows: list[dict[str, Any]], key: str, descending: bool) -> list[dict[str, Any]]:
    """Ranked rows ordered by the column; unranked rows after them, by name (never ranked)."""
    ranked = [r for r in rows if r["ranked"]]
    unranked = sorted((r for r in rows if not r["ranked"]), key=lambda r: r["name"].lower())

    def value(row: dict[str, Any]) -> Any:
        if key == "name":
            return row["name"].lower()
        if key == "n":
            return row["n"]
        found = row["metrics"].get(key)
        return found.value if found else float("-inf")

    if key == "name":
        return sorted(rows, key=value, reverse=descending)
    ordered = sorted(ranked, key=value, reverse=descending)
    return ordered + unranked


def ago(moment: datetime, now: datetime) -> str:
    """How long ago, e.g. `5 min. ago` (Babel's short English units)."""
    return format_timedelta(moment - now, add_direction=True, format="short", locale="en")


def duration(seconds: float) -> str:
    """A span of time, e.g. `2 hr` (Babel's short English units)."""
    return format_timedelta(timedelta(seconds=seconds), format="short", locale="en")


def median_time(seconds: float | None) -> str:
    """A median time to handle in two units, e.g. `3 hr 30 min` or `2 days 4 hr` (one unit
    alone would round 3.5 hours to 4), or a dash when nothing was handled."""
    if seconds is None:
        return "–"
    if seconds < 3600:
        return duration(seconds)
    minutes = round(seconds / 60)
    if minutes < 48 * 60:
        whole, rest = divmod(minutes, 60)
        return _two_units(timedelta(hours=whole), timedelta(minutes=rest), "hour", "minute")
    whole, rest = divmod(round(minutes / 60), 24)
    return _two_units(timedelta(days=whole), timedelta(hours=rest), "day", "hour")


def _two_units(
    big: timedelta,
    small: timedelta,
    big_unit: Literal["day", "hour"],
    small_unit: Literal["hour", "minute"],
) -> str:
    def text(span: timedelta, unit: Literal["day", "hour", "minute"]) -> str:
        return format_timedelta(
            span, threshold=10**6, granularity=unit, format="short", locale="en"
        )

    return text(big, big_unit) + (f" {text(small, small_unit)}" if small else "")


def store_time(moment: datetime, timezone: str) -> str:
    """The moment on the store's clock, e.g. `Wed 2 Dec 2026, 11:18 Europe/Warsaw`."""
    local = format_datetime(moment, "EEE d MMM yyyy, HH:mm", tzinfo=ZoneInfo(timezone), locale="en")
    return f"{local} {timezone}"
