"""How the pages show answers: the comment chips, and only the kinds that have answers."""

from __future__ import annotations

import pytest

from server.dashboard.present import answer_chip, kinds_present
from shared.answer_scale import mood_hex


@pytest.mark.parametrize(
    ("kind", "scale", "value", "text", "tone"),
    [
        ("nps", 11, 9, "NPS 9", "good"),
        ("nps", 11, 7, "NPS 7", "mid"),
        ("nps", 11, 3, "NPS 3", "bad"),
        ("csat", 5, 4, "CSAT 4/5", "good"),
        ("ces", 7, 2, "CES 2/7", "bad"),
        ("smiley", 5, 5, "Smiley 5 of 5", "good"),
        ("smiley", 3, 2, "Smiley 2 of 3", "mid"),
    ],
)
def test_answer_chip(kind: str, scale: int, value: int, text: str, tone: str) -> None:
    chip = answer_chip(kind, scale, value)
    assert (chip["text"], chip["tone"]) == (text, tone)


def test_smiley_chip_draws_a_face_from_sad_to_happy() -> None:
    # The kiosk's mood scale (0..1) and colours (shared.answer_scale); the mouth bends -1..1.
    saddest, happiest = answer_chip("smiley", 5, 1), answer_chip("smiley", 5, 5)
    assert saddest["mood"] == 0 and saddest["curve"] == -1 and saddest["colour"] == mood_hex(0)
    assert happiest["mood"] == 1 and happiest["curve"] == 1 and happiest["colour"] == mood_hex(1)


def test_kinds_present() -> None:
    groups = [{"nps": {"n": 3}, "csat": None}, {"nps": None, "smiley": {"n": 1}, "ces": None}]
    assert kinds_present(groups) == {"nps": "NPS", "smiley": "Smiley +"}
    assert kinds_present([]) == {}


def test_median_time_shows_two_units() -> None:
    from server.dashboard.present import median_time

    assert median_time(None) == "–"
    assert median_time(45) == "45 sec"
    assert median_time(3.5 * 3600) == "3 hr 30 min"  # one unit would say 4 hr
    assert median_time(5 * 3600) == "5 hr"
    assert median_time(50 * 3600) == "2 days 2 hr"
