"""The KPI upload: a CSV file (the `import-kpis` format) checked and previewed row by row, then
imported on a second click; managers for their own locations, admins for all.

Between the two requests the file travels in the preview form itself, as a token signed with
the app's secret key (itsdangerous; zlib-compressed), bound to the user and at most an hour
old. "Import" reads exactly the previewed file again through the same code (`server.kpis`),
so no staging table or file on disk is needed, any worker can take the second request, and a
token cannot be forged, altered or replayed by another user. The rows are checked again at
import: a value stored by someone else meanwhile is seen then, not at the preview.
"""

from __future__ import annotations

import base64
from typing import Any

from flask import current_app, g, render_template, request
from itsdangerous import BadData, URLSafeTimedSerializer
from werkzeug.exceptions import RequestEntityTooLarge

from server import kpis, settings
from server.dashboard.access import load_user, make_blueprint, require_user, scope
from server.db import get_db
from server.store import kpis as kpi_store
from server.store import locations
from server.store.users import User

bp = make_blueprint("kpi_upload", __name__, "/dashboard/kpis")


def _large_form_fields() -> None:
    # The import's token carries the whole file: a form field may be as large as a request
    # (Werkzeug's default is 500 kB). Before the CSRF check, which reads the form first.
    limit = settings.current().max_content_length
    request.max_form_memory_size = limit
    if (request.content_length or 0) > limit:
        raise RequestEntityTooLarge()  # said from the header, before any of it is spooled


bp.before_request_funcs.setdefault(None, []).insert(0, _large_form_fields)

TOKEN_MAX_AGE_S = 3600
#: The preview lists every rejected line up to this many, and this many of the rows to store.
SHOWN_REJECTED = 500
SHOWN_ROWS = 100
STATUS_WORDS = {"stored": "will be stored", "unchanged": "no change", "rejected": "refused"}
DONE_WORDS = {"stored": "stored", "unchanged": "no change", "rejected": "refused"}


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(str(current_app.secret_key), salt="kpi-upload")


def _token(user: User, data: bytes) -> str:
    return _serializer().dumps({"user": user.id, "file": base64.b64encode(data).decode()})


def _file_of(user: User, token: str) -> bytes | None:
    """The previewed file the token carries, or None (forged, expired, another user's)."""
    try:
        payload = _serializer().loads(token, max_age=TOKEN_MAX_AGE_S)
        if not isinstance(payload, dict) or payload.get("user") != user.id:
            return None
        return base64.b64decode(payload["file"], validate=True)
    except (BadData, KeyError, TypeError, ValueError):
        return None


def _check(user: User, data: bytes, *, dry_run: bool) -> dict[str, Any]:
    """Read the file and apply it (or only say what applying would do): the page's rows."""
    lines = kpis.read_csv(data)
    conn = get_db()
    with conn.begin():
        summary = kpis.apply_rows(
            conn,
            (item.row for item in lines),
            user.may_see,
            "dashboard",
            user.email,
            dry_run=dry_run,
        )
        names = {p["id"]: p["name"] for p in locations.visible(conn, scope(user))}
    rejected, accepted = [], []
    for item, outcome in zip(lines, summary.outcomes, strict=True):
        if outcome.status == "rejected":
            rejected.append(
                {
                    "line": item.line,
                    "column": outcome.field or "(whole row)",
                    "reason": outcome.reason,
                    "message": outcome.message,
                }
            )
            continue
        assert isinstance(item.row, kpis.KpiRow)
        accepted.append(
            {
                "line": item.line,
                "location": names.get(item.row.location_id, item.row.location_id),
                "date": item.row.day.isoformat(),
                "values": _shown_values(item.row.values),
                "status": outcome.status,
            }
        )
    return {
        "stored": summary.count("stored"),
        "unchanged": summary.count("unchanged"),
        "rejected_count": len(rejected),
        "rejected": rejected[:SHOWN_REJECTED],
        "accepted": [r for r in accepted if r["status"] == "stored"][:SHOWN_ROWS],
    }


def _shown_values(values: dict[str, int | float | None]) -> dict[str, str]:
    shown = {}
    for wire_name in kpis.FIELDS:
        column = kpis.COLUMNS[wire_name]
        if column not in values:
            shown[wire_name] = "(kept)"
        elif values[column] is None:
            shown[wire_name] = "(cleared)"
        elif wire_name == "revenue":
            shown[wire_name] = f"{int(values[column] or 0) / 100:.2f}"
        else:
            shown[wire_name] = f"{values[column]:g}"
    return shown


def _recent(user: User) -> list[dict[str, Any]]:
    conn = get_db()
    with conn.begin():
        return kpi_store.recent_imports(conn, scope(user))


def _page(user: User, status: int = 200, **context: Any) -> tuple[str, int]:
    html = render_template(
        "dashboard/kpi_upload.html",
        columns=kpis.CSV_COLUMNS,
        max_mb=kpis.MAX_FILE_BYTES // (1024 * 1024),
        max_rows=kpis.MAX_FILE_ROWS,
        currency=settings.current().currency,
        imports=_recent(user),
        words=STATUS_WORDS,
        **context,
    )
    return html, status


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_exc: RequestEntityTooLarge) -> tuple[str, int]:
    # Raised while the form is read (the CSRF check reads it first): the whole upload is refused.
    error = f"The file is larger than {kpis.MAX_FILE_BYTES // (1024 * 1024)} MB; split it."
    if "user" not in g:
        load_user()  # refused before the sign-in check ran
    return _page(require_user(), 413, error=error)


@bp.get("/upload")
def form() -> tuple[str, int]:
    """The upload form, the file format, and the latest imports of the user's locations."""
    return _page(require_user())


@bp.post("/upload")
def preview() -> tuple[str, int]:
    """Check the chosen file and show what importing it would do; nothing is stored."""
    user = require_user()
    chosen = request.files.get("file")
    if chosen is None or not chosen.filename:
        return _page(user, 400, error="Choose a CSV file to upload.")
    with chosen.stream:  # a big upload is a temporary file: let go of it now
        data = chosen.stream.read(kpis.MAX_FILE_BYTES + 1)
    try:
        checked = _check(user, data, dry_run=True)
    except kpis.BadFileError as exc:
        return _page(user, 400, error=f"{chosen.filename}: {exc}")
    token = _token(user, data) if checked["stored"] else None
    return _page(user, filename=chosen.filename, result=checked, token=token)


@bp.post("/import")
def import_file() -> tuple[str, int]:
    """Store the previewed file's valid rows (checked again now); rejected rows store nothing."""
    user = require_user()
    token = request.form.get("token", "")
    data = _file_of(user, token)
    if data is None:
        return _page(user, 400, error="The preview expired or is not yours; upload the file again.")
    try:
        checked = _check(user, data, dry_run=False)
    except kpis.BadFileError as exc:  # cannot happen to a previewed file; said plainly if it does
        return _page(user, 400, error=str(exc))
    filename = request.form.get("filename", "")[:200]
    return _page(user, filename=filename, result=checked, done=True)
