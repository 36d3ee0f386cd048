"""The dashboard's KPI upload: a preview with per-row errors that stores nothing, then an import
of the valid rows only; managers for their own locations; the import log names the user."""

from __future__ import annotations

import io
import random
import re
from datetime import date
from typing import Any

from flask.testing import FlaskClient
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from server.db import get_engine
from server.store import kpis as kpi_store
from server.store.schema import kpi_imports, kpis
from tests.server.dashboard.conftest import Chain, csrf_token

TOKEN = re.compile(r'name="token" value="([^"]+)"')
PAGE = "/dashboard/kpis/upload"


def _upload(client: FlaskClient, text: str | bytes, name: str = "kpis.csv") -> Any:
    data = text.encode() if isinstance(text, str) else text
    upload = FileStorage(io.BytesIO(data), name, content_type="text/csv")
    form = {"csrf_token": csrf_token(client, PAGE), "file": upload}
    # Encoded in memory: the test client would spool a big body to a file it never closes.
    boundary, body = encode_multipart(MultiDict(form))
    return client.post(PAGE, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def _import(client: FlaskClient, preview: Any) -> Any:
    found = TOKEN.search(preview.get_data(as_text=True))
    assert found, "the preview offers no import"
    form = {"csrf_token": csrf_token(client, PAGE), "token": found.group(1), "filename": "k.csv"}
    return client.post("/dashboard/kpis/import", data=form)


def _stored(chain: Chain) -> dict[tuple[str, date], dict[str, Any]]:
    with get_engine(chain.app).connect() as conn:
        rows = conn.execute(kpis.select()).mappings()
        return {
            (r["location_id"], r["date"]): {c: r[c] for c in kpi_store.VALUE_COLUMNS} for r in rows
        }


def _refused(page: Any) -> dict[int, tuple[str, str]]:
    """Line → (column, reason) of the refused-rows table."""
    html = page.get_data(as_text=True)
    found = re.findall(
        r'<tr data-line="(\d+)"><td data-label="Line">\d+</td><td data-label="Column">'
        r"<code>([^<]+)</code></td>\s*<td data-label=\"Problem\">[^<]*<small[^>]*>\((\w+)\)",
        html,
    )
    return {int(line): (column, reason) for line, column, reason in found}


def test_preview_names_each_bad_row_stores_nothing_then_import_stores_only_valid_rows(
    chain: Chain,
) -> None:
    client = chain.client("admin")
    text = (
        "location_id,date,visitors,transactions,revenue,staff_hours\n"
        f"{chain.a},2026-11-01,1200,310,15234.50,64.5\n"  # 2: fine
        f"{chain.a},2026-11-02,-5,10,,\n"  # 3: negative
        f"{chain.a},2026-13-01,100,10,,\n"  # 4: bad date
        f"{chain.a},2026-11-03,many,10,,\n"  # 5: not a number
        "loc_nowhere,2026-11-03,100,10,,\n"  # 6: unknown location
        f"{chain.a},2026-11-04,=1+2,10,,\n"  # 7: a formula
        f"{chain.a},2026-11-05,100,10,,\n"  # 8: repeated with other values on 9
        f"{chain.a},2026-11-05,120,10,,\n"  # 9
        f"{chain.b},2026-11-05,300,30,,8\n"  # 10: fine (admin may write B)
    )
    preview = _upload(client, text)
    assert preview.status_code == 200, preview.get_data(as_text=True)
    assert _refused(preview) == {
        3: ("visitors", "invalid_value"),
        4: ("date", "invalid_date"),
        5: ("visitors", "invalid_value"),
        6: ("location_id", "unknown_location"),
        7: ("visitors", "formula_cell"),
        8: ("date", "duplicate_row"),
        9: ("date", "duplicate_row"),
    }
    assert "Importing would store <strong>2</strong> rows" in preview.get_data(as_text=True)
    assert _stored(chain) == {}  # the preview stored nothing

    done = _import(client, preview)
    assert done.status_code == 200
    assert "<strong>2</strong> rows stored" in done.get_data(as_text=True)
    assert _stored(chain) == {
        (chain.a, date(2026, 11, 1)): {
            "visitors": 1200,
            "transactions": 310,
            "revenue_cents": 1523450,
            "staff_hours": 64.5,
        },
        (chain.b, date(2026, 11, 5)): {
            "visitors": 300,
            "transactions": 30,
            "revenue_cents": None,
            "staff_hours": 8.0,
        },
    }
    with get_engine(chain.app).connect() as conn:
        [logged] = [dict(r) for r in conn.execute(kpi_imports.select()).mappings()]
    assert (logged["source"], logged["actor"]) == ("dashboard", "admin@example.com")
    assert (logged["stored"], logged["rejected"]) == (2, 7)
    # Who imported what and when, on the page.
    page = client.get(PAGE).get_data(as_text=True)
    assert "admin@example.com" in page and "2026-11-01 – 2026-11-05" in page

    # The same file again: nothing to store, no import offered, nothing logged.
    again = _upload(client, text)
    assert "store <strong>0</strong> rows" in again.get_data(as_text=True)
    assert TOKEN.search(again.get_data(as_text=True)) is None
    with get_engine(chain.app).connect() as conn:
        assert len(conn.execute(kpi_imports.select()).all()) == 1


def test_manager_may_upload_only_their_own_locations(chain: Chain) -> None:
    client = chain.client("manager")
    text = (
        "location_id,date,visitors\n"
        f"{chain.a},2026-11-01,100\n"
        f"{chain.b},2026-11-01,200\n"
        "loc_nowhere,2026-11-01,300\n"
    )
    preview = _upload(client, text)
    # Another location and one that does not exist look the same to a manager.
    assert _refused(preview) == {
        3: ("location_id", "forbidden_location"),
        4: ("location_id", "forbidden_location"),
    }
    assert chain.b not in _refused_text(preview)  # B's name is not shown to A's manager
    _import(client, preview)
    assert set(_stored(chain)) == {(chain.a, date(2026, 11, 1))}
    # The manager's import list shows only imports that touched their locations.
    admin = chain.client("admin")
    _import(admin, _upload(admin, f"location_id,date,visitors\n{chain.b},2026-11-02,5\n"))
    listed = client.get(PAGE).get_data(as_text=True)
    assert "anna@example.com" in listed and "admin@example.com" not in listed


def _refused_text(page: Any) -> str:
    html: str = page.get_data(as_text=True)
    start = html.find('id="rejected-rows"')
    return html[start : html.find("</table>", start)]


def test_whole_file_problems_are_one_clear_error(chain: Chain) -> None:
    client = chain.client("admin")
    no_date = _upload(client, "location_id,visitors\nx,1\n")
    assert no_date.status_code == 400
    assert "line 1: the column &#39;date&#39; is missing" in no_date.get_data(as_text=True)
    not_text = _upload(client, b"location_id,date\n\xff\xfe\n")
    assert not_text.status_code == 400 and "not UTF-8" in not_text.get_data(as_text=True)
    rows = "".join(f"{chain.a},2026-01-01,{i}\n" for i in range(50_001))
    too_many = _upload(client, "location_id,date,visitors\n" + rows)
    assert too_many.status_code == 400
    assert "more than 50000 rows; split it" in too_many.get_data(as_text=True)
    huge = _upload(client, b"location_id,date\n" + b"x" * (6 * 1024 * 1024))
    assert huge.status_code == 413
    assert "larger than 5 MB; split it" in huge.get_data(as_text=True)
    missing = client.post(PAGE, data={"csrf_token": csrf_token(client, PAGE)})
    assert missing.status_code == 400 and "Choose a CSV file" in missing.get_data(as_text=True)
    assert _stored(chain) == {}


def test_a_token_of_another_user_or_altered_imports_nothing(chain: Chain) -> None:
    admin = chain.client("admin")
    preview = _upload(admin, f"location_id,date,visitors\n{chain.b},2026-11-01,100\n")
    token = TOKEN.search(preview.get_data(as_text=True))
    assert token
    manager = chain.client("manager")
    for forged in (token.group(1), token.group(1)[:-2] + "xx", "nonsense"):
        form = {"csrf_token": csrf_token(manager, PAGE), "token": forged}
        answer = manager.post("/dashboard/kpis/import", data=form)
        assert answer.status_code == 400
        assert "upload the file again" in answer.get_data(as_text=True)
    assert _stored(chain) == {}


def test_a_big_file_previews_and_imports_through_its_token(chain: Chain) -> None:
    # Random values that compress poorly: a token past Werkzeug's 500 kB form-field default.
    pick = random.Random(7)
    first = date(1995, 1, 1).toordinal()
    lines = [
        f"{location},{date.fromordinal(first + i)},{pick.randrange(10**7)},"
        f"{pick.randrange(10**6)},{pick.randrange(10**9) / 100:.2f},{pick.randrange(10**4) / 4}\n"
        for location in (chain.a, chain.b)
        for i in range(8500)
    ]
    text = "location_id,date,visitors,transactions,revenue,staff_hours\n" + "".join(lines)
    client = chain.client("admin")
    preview = _upload(client, text)
    assert preview.status_code == 200, preview.get_data(as_text=True)[:500]
    token = TOKEN.search(preview.get_data(as_text=True))
    assert token and len(token.group(1)) > 500_000
    done = _import(client, preview)
    assert done.status_code == 200, done.get_data(as_text=True)[:500]
    assert len(_stored(chain)) == 17000
