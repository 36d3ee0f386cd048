"""Writing the JSON of many thousand objects (report groups, link points) from arrays, with no
Python object made per item.

orjson writes a whole numpy array as fast as C can (its numbers exactly as it writes Python's
ints and floats); the items' text is then one join of literal pieces and each field's text
per item (`pieced`), in as few pieces as can be: the join costs about as much per piece as
per byte. The bytes are those orjson writes of the same items as dicts with sorted keys
(`server.json_response`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np
import orjson

NUMPY = orjson.OPT_SERIALIZE_NUMPY
#: Ends each item's text in `pieced` where the texts are split apart again: orjson writes a
#: control character in a string as an escape, so a NUL byte is never part of its JSON.
END = b"\x00"


@dataclasses.dataclass
class Coded:
    """A text per item out of a few (a key part, true or false, a scale): `texts[at[g]]`.

    The literals next to it are written into its few texts (`pieced`), not once per group.
    """

    texts: list[bytes]
    at: np.ndarray


#: Pieces of one JSON text per group, in the order they are written: a literal (the same for
#: every group), a list of one text per group, or a `Coded` text.
Parts = list[bytes | list[bytes] | Coded]


def texts(values: np.ndarray) -> list[bytes]:
    """Each number of a 1-D array, or each row of a 2-D one (its numbers and commas), as JSON
    text."""
    if not len(values):
        return []
    written: bytes = orjson.dumps(np.ascontiguousarray(values), option=NUMPY)
    if values.ndim == 2:  # b'[[1,2],[3,4]]' -> b'1,2', b'3,4'
        return written[2:-2].split(b"],[")
    return written[1:-1].split(b",")


def each(found: list[Any], at: np.ndarray) -> list[Any]:
    """found[i] for each index i in `at` (the same objects: no new text for a repeated key)."""
    taken: list[Any] = object_array(found)[at].tolist()
    return taken


def object_parts(fields: Mapping[str, Parts]) -> Parts:
    """The pieces of one JSON object per group, keys sorted, from each field's pieces."""
    parts: Parts = []
    for i, name in enumerate(sorted(fields)):
        parts += [(b"," if i else b"{") + orjson.dumps(name) + b":", *fields[name]]
    parts.append(b"}")
    return parts


def pieced(parts: Parts, size: int, end: bytes) -> bytes:
    """The texts of `size` groups, each the concatenation of `parts` followed by `end`, as
    one bytes: laid out in one list and joined, with no Python-level step per group."""
    merged: Parts = []
    for part in [*parts, end]:
        last = merged[-1] if merged else None
        if isinstance(part, bytes) and isinstance(last, bytes):  # neighbouring literals as one
            merged[-1] = last + part
        elif isinstance(part, bytes) and isinstance(last, Coded):  # into the few texts
            merged[-1] = Coded([text + part for text in last.texts], last.at)
        elif isinstance(part, Coded) and isinstance(last, bytes):
            merged[-1] = Coded([last + text for text in part.texts], part.at)
        else:
            merged.append(part)
    stride = len(merged)
    flat: list[bytes] = [b""] * (stride * size)
    for j, part in enumerate(merged):
        if isinstance(part, Coded):
            part = each(part.texts, part.at)
        flat[j::stride] = [part] * size if isinstance(part, bytes) else part
    return b"".join(flat)


def object_array(items: list[Any]) -> np.ndarray:
    """A 1-D object array of `items` (numpy would make bytes a fixed-width string array)."""
    found = np.empty(len(items), object)
    found[:] = items
    return found
