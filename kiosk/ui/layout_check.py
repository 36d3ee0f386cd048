"""What a laid-out screen shows, checked as a person checks a screenshot: every visible widget
inside the window and every label's text inside its own box.

`TargetLog` logs the verdict as `layout <screen> <w>x<h> #<digest>: <n> widgets, fits` (or the
problems found) each time a screen has settled with new content (the digest is of the words it
shows and which chips are picked; not of what is typed into a field), so the end-to-end walk
asserts it for every screen, in every language, at every display size, waits for it before a
screenshot, and keeps only the screenshots people review.
"""

from __future__ import annotations

import re
import zlib

from kivy.uix.label import Label
from kivy.uix.textinput import TextInput
from kivy.uix.widget import Widget

#: Rounding slack, in pixels.
SLACK = 1.0


def _visible(widget: Widget, screen: Widget) -> bool:
    node: Widget | None = widget
    while node is not None:
        if node.opacity == 0:
            return False
        if node is screen:
            return True
        node = node.parent
    return True


def _shown(widget: Widget) -> str:
    """What a widget shows for the digest: its words, marked when it is a picked chip; a
    field's typed text is left out (a line per keystroke would say nothing about layout)."""
    if isinstance(widget, TextInput):
        return str(widget.hint_text)
    text = str(getattr(widget, "text", ""))
    return f"{text}\x1e" if getattr(widget, "selected", False) is True else text


def _name(widget: Widget) -> str:
    text = getattr(widget, "text", "")
    label = f"{type(widget).__name__}"
    return f"{label}({text[:24]!r})" if text else label


def _text_overflow(label: Label) -> str:
    """How the label's text runs out of its box, or ''.

    Kivy wraps only at spaces (and not at all without a `text_size` width), so the widest piece
    it cannot break must fit the box's width; the wrapped text's height must fit its height.
    """
    text = re.sub(r"\[/?\w+[^\]]*\]", "", label.text) if label.markup else label.text
    wraps = label.text_size[0] is not None
    pieces = text.split() if wraps else text.split("\n")
    widest = max((label._label.get_extents(piece)[0] for piece in pieces), default=0)
    if widest > label.width + SLACK:
        return f"text {widest:.0f} px wide in {label.width:.0f}"
    if label.text_size[1] is None and label.texture_size[1] > label.height + SLACK:
        return f"text {label.texture_size[1]:.0f} px high in {label.height:.0f}"
    return ""


def problems(screen: Widget, window_size: tuple[float, float]) -> tuple[list[str], list[str]]:
    """The words `screen` shows, and what of it a person would see as broken."""
    width, height = window_size
    found: list[str] = []
    words: list[str] = []
    for widget in screen.walk(restrict=True):
        if widget.width <= 0 or widget.height <= 0 or not _visible(widget, screen):
            continue
        words.append(_shown(widget))
        left, bottom = widget.to_window(widget.x, widget.y)
        right, top = widget.to_window(widget.right, widget.top)
        if left < -SLACK or bottom < -SLACK or right > width + SLACK or top > height + SLACK:
            found.append(f"{_name(widget)} outside the window")
        if isinstance(widget, Label) and widget.text:
            overflow = _text_overflow(widget)
            if overflow:
                found.append(f"{_name(widget)} {overflow}")
    return words, found


def describe(name: str, screen: Widget, window_size: tuple[float, float]) -> str:
    """The log line for one settled screen."""
    words, found = problems(screen, window_size)
    digest = zlib.crc32("\x1f".join(words).encode()) & 0xFFFFFF
    verdict = "; ".join(found) if found else "fits"
    size = "{:.0f}x{:.0f}".format(*window_size)
    return f"layout {name} {size} #{digest:06x}: {len(words)} widgets, {verdict}"
