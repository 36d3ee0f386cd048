"""Single-line names: control characters, line breaks of every kind, empty and long names."""

from __future__ import annotations

import pytest

from shared.names import BadNameError, as_one_line, single_line_name


@pytest.mark.parametrize(
    "bad", ["A\nB", "A\r\nB", "A\tB", "A\x00B", "A\x85B", "A\u2028B", "\x1b[2J"]
)
def test_a_control_character_is_refused_by_its_code(bad: str) -> None:
    with pytest.raises(BadNameError, match="one line without control characters") as refused:
        single_line_name(bad)
    assert refused.value.code == "control_character"


def test_names_are_trimmed_and_must_be_there_and_short() -> None:
    assert single_line_name("  Warszawa Centrum  ") == "Warszawa Centrum"
    assert single_line_name("店 · Łódź") == "店 · Łódź"
    with pytest.raises(BadNameError) as empty:
        single_line_name(" \n ")  # only whitespace: empty, not a control character
    assert empty.value.code == "empty"
    with pytest.raises(BadNameError) as long:
        single_line_name("x" * 201)
    assert long.value.code == "too_long"


def test_as_one_line_blanks_what_a_header_cannot_hold() -> None:
    assert as_one_line("Centrum\r\nBcc: x@example.com") == "Centrum  Bcc: x@example.com"
