"""Answer targets: a face (or a numbered key) drawn on the canvas, with a word under it.

`FaceDrawing` draws; `AnswerTarget` is one pressable face with its caption; `AnswerRow` lays
out one target per value and fires `on_answer(value)` when one is pressed. A face's word sits
centred under it; a numbered scale has words only under its two ends (`align` left and right),
each free to run on under the neighbouring keys.
"""

from __future__ import annotations

from kivy.clock import Clock
from kivy.properties import (
    BooleanProperty,
    ListProperty,
    NumericProperty,
    ObjectProperty,
    OptionProperty,
    StringProperty,
)
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.widget import Widget

from shared.answer_scale import mood_colour

KINDS = ("smiley", "nps", "ces", "csat")


def mouth_points(cx: float, cy: float, radius: float, mood: float, steps: int = 16) -> list[float]:
    """A parabola below the eyes: frowning at mood 0, flat at 0.5, smiling at 1."""
    curve = (mood * 2 - 1) * radius * 0.22
    half_width = radius * 0.42
    base = cy - radius * 0.35
    points: list[float] = []
    for i in range(steps + 1):
        t = -1 + 2 * i / steps
        points += [cx + t * half_width, base + curve * (t * t - 0.5)]
    return points


KEY_SHARE = 0.98


class FaceDrawing(Widget):
    """A round face whose colour and mouth follow `mood` (0 unhappiest … 1 happiest)."""

    mood = NumericProperty(0.5)
    show_face = BooleanProperty(True)
    number = StringProperty("")
    pressed = BooleanProperty(False)
    radius = NumericProperty(0)
    key_height = NumericProperty(0)
    #: A numbered key's width: nearly the whole column (the row's spacing is the gap between
    #: keys), so 11 NPS keys stay 12 mm wide on the 800 px wide 7" display.
    key_width = NumericProperty(0)
    face_colour = ListProperty([1, 1, 1, 1])
    mouth = ListProperty([])

    def on_kv_post(self, base_widget: Widget) -> None:
        self.bind(pos=self._redraw, size=self._redraw, mood=self._redraw, pressed=self._redraw)
        self._redraw()

    def _redraw(self, *args: object) -> None:
        self.radius = max(0.0, min(self.width, self.height) / 2 * 0.94)
        self.key_width = self.width * KEY_SHARE
        self.key_height = max(0.0, min(self.height, self.width * 2.2))
        r, g, b, a = mood_colour(self.mood)
        shade = 0.8 if self.pressed else 1.0
        self.face_colour = [r * shade, g * shade, b * shade, a]
        self.mouth = mouth_points(self.center_x, self.center_y, self.radius, self.mood)


class AnswerTarget(ButtonBehavior, BoxLayout):
    """One pressable answer: the drawing and its caption."""

    value = NumericProperty(0)
    mood = NumericProperty(0.5)
    kind = OptionProperty("smiley", options=KINDS)
    word = StringProperty("")
    #: `center` under a face; `left` / `right` under the lowest / highest key of a scale.
    align = OptionProperty("center", options=("center", "left", "right"))
    #: Set by the row: the tallest caption of the row, and the row's width.
    caption_height = NumericProperty(0)
    row_width = NumericProperty(0)
    drawing = ObjectProperty(None, allownone=True)


class AnswerRow(BoxLayout):
    """One target per entry of `options` (dicts with `value`, `mood`, `word` and optionally
    `align`)."""

    kind = OptionProperty("smiley", options=KINDS)
    options = ListProperty([])
    targets = ListProperty([])

    __events__ = ("on_answer",)

    def __init__(self, **kwargs: object) -> None:
        self._fit_trigger = Clock.create_trigger(self._fit_captions, -1)
        super().__init__(**kwargs)
        self.bind(width=self._fit_trigger)

    def on_options(self, instance: AnswerRow, options: list[dict[str, object]]) -> None:
        self.clear_widgets()
        targets = []
        for option in options:
            target = AnswerTarget(
                value=option["value"],
                mood=option["mood"],
                word=option["word"],
                align=option.get("align", "center"),
                kind=self.kind,
                row_width=self.width,
            )
            target.bind(on_release=self._released)
            target.ids.caption.bind(texture_size=self._fit_trigger)
            self.add_widget(target)
            targets.append(target)
        self.targets = targets
        self._fit_captions()

    def _fit_captions(self, *_args: object) -> None:
        """Give every target the row's width and its tallest caption's height."""
        height = max((t.ids.caption.texture_size[1] for t in self.targets if t.word), default=0)
        for target in self.targets:
            target.row_width = self.width
            target.caption_height = height

    def _released(self, target: AnswerTarget) -> None:
        self.dispatch("on_answer", int(target.value))

    def on_answer(self, value: int) -> None:
        """Fired with the value of the target pressed."""
