"""Single-line names: locations, staff, devices, surveys, API key labels, e-mail addresses.

A name ends up in places where a line break does harm — an e-mail header (a CR/LF there made
the alert mail raise, and the alert was lost), a CSV row, a log line — so every way in (the
dashboard's forms, the CLI, the device API, a survey's JSON) refuses control characters with
`BadNameError`, whose `code` says which rule failed.
"""

from __future__ import annotations

import unicodedata

#: Unicode categories refused in a name: controls (CR, LF, tab, NUL, NEL …) and the line and
#: paragraph separators (U+2028, U+2029), all of which some reader takes for a line break.
REFUSED_CATEGORIES = frozenset({"Cc", "Zl", "Zp"})
#: The same rule as a JSON Schema pattern, for the API description (and fuzzers) to state it.
SINGLE_LINE_PATTERN = "^[^\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029]*$"


class BadNameError(ValueError):
    """A name that is empty, too long, or holds a control character; `code` names which."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def first_control_character(text: str) -> str | None:
    """The first character of `text` that a single-line name may not hold, or None."""
    return next((c for c in text if unicodedata.category(c) in REFUSED_CATEGORIES), None)


def check_single_line(text: str) -> str:
    """`text` unchanged, or `BadNameError("control_character")` naming the offending character."""
    bad = first_control_character(text)
    if bad is not None:
        raise BadNameError(
            "control_character",
            f"must be one line without control characters (it holds U+{ord(bad):04X})",
        )
    return text


def single_line_name(raw: str, max_length: int = 200) -> str:
    """`raw` trimmed, checked to be one non-empty line of at most `max_length` characters."""
    name = check_single_line(raw.strip())
    if not name:
        raise BadNameError("empty", "must not be empty")
    if len(name) > max_length:
        raise BadNameError("too_long", f"must be at most {max_length} characters")
    return name


def as_one_line(text: str) -> str:
    """`text` with each control character made a space: for a header built from names stored
    before they were checked."""
    return "".join(" " if unicodedata.category(c) in REFUSED_CATEGORIES else c for c in text)
