"""The layout verdict the end-to-end walk asserts: text running out of its box and widgets
outside the window are named; a screen that fits says so."""

from __future__ import annotations

from kivy.uix.boxlayout import BoxLayout
from kivy.uix.label import Label
from kivy.uix.textinput import TextInput
from kivy.uix.widget import Widget

from kiosk.ui import layout_check
from kiosk.ui.widgets.chip import Chip

WINDOW = (800, 480)


def screen_with(*children: Widget) -> Widget:
    screen = BoxLayout(size=WINDOW, pos=(0, 0))
    for child in children:
        screen.add_widget(child)
    return screen


def label(text: str, width: float, **kwargs: object) -> Label:
    made = Label(text=text, size_hint=(None, None), size=(width, 40), font_size=20, **kwargs)
    made.texture_update()
    return made


def test_a_screen_that_fits() -> None:
    screen = screen_with(label("OK", 200), label("Very good", 200, text_size=(200, None)))
    line = layout_check.describe("question", screen, WINDOW)
    assert line.startswith("layout question 800x480 #")
    assert line.endswith(": 3 widgets, fits")


def test_a_word_wider_than_its_button_is_named() -> None:
    word = label("Синхронизировать", 60, text_size=(60, None))  # Kivy wraps at spaces only
    _, found = layout_check.problems(screen_with(word), WINDOW)
    assert len(found) == 1 and found[0].startswith("Label('Синхронизировать') text ")
    assert "px wide in 60" in found[0]


def test_wrapped_text_taller_than_its_box_is_named() -> None:
    many_lines = label("one two three four five six seven", 60, text_size=(60, None))
    _, found = layout_check.problems(screen_with(many_lines), WINDOW)
    assert len(found) == 1 and "px high in 40" in found[0]


def test_a_widget_outside_the_window_is_named_unless_hidden() -> None:
    outside = Widget(size_hint=(None, None), size=(100, 100))
    screen = screen_with(outside)
    outside.pos = (750, 0)
    assert layout_check.problems(screen, WINDOW)[1] == ["Widget outside the window"]
    outside.opacity = 0
    assert layout_check.problems(screen, WINDOW)[1] == []


def test_the_digest_follows_the_words() -> None:
    english = layout_check.describe("thanks", screen_with(label("Thank you!", 300)), WINDOW)
    polish = layout_check.describe("thanks", screen_with(label("Dziękujemy!", 300)), WINDOW)
    assert english != polish


def test_the_digest_follows_a_picked_chip_not_typed_text() -> None:
    chip = Chip(text="Staff", size_hint=(None, None), size=(200, 60))
    field = TextInput(hint_text="Comment", size_hint=(None, None), size=(300, 60))
    screen = screen_with(chip, field)
    before = layout_check.describe("followup", screen, WINDOW)
    field.text = "Nice staff"  # a line per keystroke would say nothing about the layout
    assert layout_check.describe("followup", screen, WINDOW) == before
    chip.selected = True  # drawn filled: a screenshot after it must wait for a new line
    assert layout_check.describe("followup", screen, WINDOW) != before
