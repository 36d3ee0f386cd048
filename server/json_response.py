"""A JSON response written with orjson, for bodies of many thousand objects (report groups).

The bytes are what `flask.jsonify` sends in production, in the same order: compact, keys
sorted, a newline at the end; only non-ASCII text is written as UTF-8 instead of `\\u` escapes
(the same JSON). Floats are written as their shortest repr, as the json module does.
"""

from __future__ import annotations

from typing import Any

import orjson
from flask import Response, current_app


def json_response(body: Any, status: int = 200) -> Response:
    """`body` as an application/json response."""
    data = orjson.dumps(body, option=orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE)
    return current_app.response_class(data, status=status, mimetype="application/json")
