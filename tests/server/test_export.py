"""GET /api/v1/reports/responses.csv."""

from __future__ import annotations

import csv
import http.client
import io
import itertools
import json
import sqlite3
import threading
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import waitress
from flask import Flask
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from server import export
from server.db import get_engine
from server.export import safe_cell
from server.store import schema, submissions
from server.store.filters import Filters
from server.store.submissions import EXPORT_COLUMNS
from tests.server.conftest import Smiletap, assert_error


def test_csv_rows_and_formula_injection(smiletap: Smiletap) -> None:
    kiosk = smiletap.setup()
    item = kiosk.item(1, tapped_at="2026-11-20T10:15:00Z")
    item["answers"][0].update(reasons=["wait", "rude"], comment='=HYPERLINK("x")')
    burst = kiosk.item(5, tapped_at="2026-11-20T10:16:00Z", flags=["burst"])
    assert {r["status"] for r in kiosk.submit([item, burst]).json["results"]} == {"accepted"}
    key = smiletap.api_key()
    response = smiletap.client.get(
        "/api/v1/reports/responses.csv",
        query_string={"from": "2026-11-20", "to": "2026-11-20"},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Cache-Control"] == "no-store"  # nothing kept by a proxy or disk
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == 1  # the burst one is left out by default
    row = rows[0]
    assert row["submission_id"] == item["id"] and row["value"] == "1"
    assert row["reasons"] == "wait;rude"
    assert row["comment"] == '\'=HYPERLINK("x")'
    assert row["local_date"] == "2026-11-20" and row["hour"] == "11"
    assert row["tapped_at"] == "2026-11-20T10:15:00Z"


def test_csv_manager_scope(smiletap: Smiletap) -> None:
    mine, theirs = smiletap.setup(), smiletap.setup()
    key = smiletap.api_key("manager", mine.location_id)
    response = smiletap.client.get(
        "/api/v1/reports/responses.csv",
        query_string={"from": "2026-11-20", "to": "2026-11-20", "location_id": theirs.location_id},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert_error(response, 403, "forbidden", "location_id")


def test_safe_cell() -> None:
    for text in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert safe_cell(text) == "'" + text
    assert safe_cell("fine") == "fine" and safe_cell(None) == "" and safe_cell(3) == "3"
    assert safe_cell(-3) == "'-3"


def _whole_file_csv(rows: list[dict[str, Any]]) -> str:
    """The export as it was built before it streamed (every row a dict, safe_cell on each
    cell, one string): the reference the streamed body must equal."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    for row in rows:
        cells = dict(row)
        cells["reasons"] = ";".join(json.loads(cells["reasons"] or "[]"))
        writer.writerow([safe_cell(cells[name]) for name in EXPORT_COLUMNS])
    return out.getvalue()


def test_csv_streams_in_chunks_and_equals_the_whole_file_export(
    smiletap: Smiletap, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    kiosk = smiletap.setup()
    items = [kiosk.item(v, tapped_at=f"2026-11-20T10:1{v}:00Z") for v in (1, 3, 5)]
    items[0]["answers"][0].update(reasons=["wait", "rude"], comment="-2 stars")
    items[1]["answers"][0].update(comment='=HYPERLINK("x")')
    items[2]["answers"][0].update(comment='@fine, "quoted"\nnext line')
    assert {r["status"] for r in kiosk.submit(items).json["results"]} == {"accepted"}
    monkeypatch.setattr(export, "CHUNK_CHARS", 1)
    monkeypatch.setattr(export, "EXPORT_BATCH_ROWS", 1)
    response = smiletap.client.get(
        "/api/v1/reports/responses.csv",
        query_string={"from": "2026-11-20", "to": "2026-11-20"},
        headers={"Authorization": f"Bearer {smiletap.api_key()}"},
        buffered=False,
    )
    assert response.status_code == 200 and response.is_streamed
    chunks = response.iter_encoded()
    first = next(chunks).decode()
    assert first == ",".join(EXPORT_COLUMNS) + "\r\n"  # at once, before any row is read
    first += next(chunks).decode()
    # The first answer arrives while the other answers are still unread.
    assert items[0]["id"] in first
    assert items[1]["id"] not in first and items[2]["id"] not in first
    body = first + b"".join(chunks).decode()
    response.close()
    with app.app_context(), get_engine().connect() as conn, conn.begin():
        rows = submissions.export_rows(conn, Filters(date(2026, 11, 20), date(2026, 11, 20)))
        reference = _whole_file_csv([dict(zip(EXPORT_COLUMNS, row, strict=True)) for row in rows])
    assert body == reference
    assert "wait;rude" in body and "'-2 stars" in body and "'@fine" in body


def _store_answers(location_id: str, device_id: str, rows: list[dict[str, Any]]) -> None:
    """Submissions with one answer each, written straight to the tables (values ingest would
    refuse, as the export must stay safe whatever is stored)."""
    base = {
        "device_id": device_id,
        "location_id": location_id,
        "survey_id": "srv",
        "survey_version": 1,
        "staff_id": None,
        "touchpoint_id": None,
        "language": "en",
        "skew_s": 0.0,
        "local_date": date(2026, 11, 20),
        "weekday": 5,
        "hour": 10,
        "burst": False,
        "content_hash": "h",
        "payload": "{}",
    }
    subs, answers = [], []
    for number, row in enumerate(rows):
        moment = row.pop("at", datetime(2026, 11, 20, 10, tzinfo=UTC) + timedelta(seconds=number))
        answer = {k: row.pop(k) for k in ("question_id", "reasons", "comment", "value") if k in row}
        sub = {**base, "tapped_at": moment, "received_at": moment, "effective_at": moment, **row}
        subs.append(sub)
        answers.append(
            {"submission_id": sub["id"], "question_id": "q1", "kind": "smiley", "scale": 5}
            | {"value": 3, "reasons": "[]", "comment": None}
            | answer
        )
    with get_engine().begin() as conn:
        conn.execute(schema.submissions.insert(), subs)
        conn.execute(schema.answers.insert(), answers)


def test_cells_written_by_the_database_equal_safe_cell_for_any_stored_value(
    smiletap: Smiletap, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    kiosk = smiletap.setup()
    odd = ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "'quoted", 'a,"b"', "é=", "😀", ""]
    rows: list[dict[str, Any]] = []
    for number, text in enumerate(odd):
        rows.append(
            {
                "id": f"{text}#{number}",
                "survey_id": text or "s",
                "staff_id": text,
                "touchpoint_id": text or None,
                "language": text or "en",
                "question_id": text or "q",
                "comment": f'{text}\r\nline, "two"\n"' if number % 2 else text,
                # as ingest writes them (no escapes: joined without parsing), and with escapes
                "reasons": json.dumps([text, "b;c"], ensure_ascii=False)
                if number % 2
                else json.dumps([text, "b;c", "ü\\"])
                if text
                else "[]",
            }
        )
    rows.append({"id": "negative", "survey_version": -2, "value": -1, "weekday": 0, "hour": 0})
    rows.append({"id": "fraction", "at": datetime(2026, 11, 20, 11, 0, 0, 5, tzinfo=UTC)})
    rows.append({"id": "half", "at": datetime(2026, 11, 20, 11, 0, 1, 500000, tzinfo=UTC)})
    rows.append({"id": "=burst", "burst": True, "reasons": '["wait","rude"]'})
    rows.append({"id": "lf", "comment": "\n", "reasons": '[""]', "staff_id": '"'})
    rows.append({"id": "cr", "comment": "a\rb", "reasons": '["a,b", "\\n"]', "language": "x y"})
    for number, listed in enumerate(['["a" , "b"]', '[ "x"]', '["=a","b"]', '["", "-b"]']):
        rows.append({"id": f"spaced{number}", "reasons": listed})  # other spacing: parsed
    # One reason: the id itself (a formula start, a comma, non-ASCII), escaped ones parsed.
    singles = ['["=a"]', '["a,b"]', '["é 😀"]', '["-"]', '["x\\"y"]', '["\\u00e9"]', '["w"]']
    for number, listed in enumerate(singles):
        rows.append({"id": f"single{number}", "reasons": listed})
    # Fractions of every length as stored (SQLite keeps six digits), a whole second at midnight.
    for number, micro in enumerate((10, 120_000, 999_999, 100)):
        moment = datetime(2026, 11, 20, 12, 0, number, micro, tzinfo=UTC)
        rows.append({"id": f"micro{number}", "at": moment, "local_date": date(2026, 11, 20)})
    rows.append({"id": "midnight", "at": datetime(2026, 11, 20, 0, 0, 0, tzinfo=UTC)})
    with app.app_context():
        _store_answers(kiosk.location_id, kiosk.device_id, rows)
    key = smiletap.api_key()
    bodies = set()
    # A chunk per line, a few lines, the whole file; SQLite's batches of lines checked for
    # cells to quote: one line alone, a few (plain and quoted lines mixed), all at once.
    for chunk_size, batch_rows in ((1, 1), (300, 3), (64 * 1024, 500)):
        monkeypatch.setattr(export, "CHUNK_CHARS", chunk_size)
        monkeypatch.setattr(export, "EXPORT_BATCH_ROWS", batch_rows)
        response = smiletap.client.get(
            "/api/v1/reports/responses.csv",
            query_string={"from": "2026-11-20", "to": "2026-11-20", "include_burst": "true"},
            headers={"Authorization": f"Bearer {key}"},
        )
        assert response.status_code == 200
        bodies.add(response.get_data(as_text=True))
    assert len(bodies) == 1
    body = bodies.pop()
    with app.app_context(), get_engine().connect() as conn, conn.begin():
        stored = submissions.export_rows(
            conn, Filters(date(2026, 11, 20), date(2026, 11, 20), None, True)
        )
        reference = _whole_file_csv([dict(zip(EXPORT_COLUMNS, row, strict=True)) for row in stored])
    assert len(reference.splitlines()) > len(rows)  # the reference read every row
    assert body == reference
    assert "'=1+1#0" in body and ",'-1,2026-11-20," in body and "T11:00:00.000005Z" in body
    assert "T11:00:01.500000Z" in body and "'=burst" in body and ",wait;rude," in body
    assert ",'=a," in body and ',"a,b",' in body and ',"x""y",' in body and ",é," in body
    assert ",é 😀," in body and ",'-," in body
    assert "2026-11-20T12:00:02.999999Z" in body and "2026-11-20T00:00:00Z" in body


def test_sqlite_reads_again_only_the_lines_with_a_cell_to_quote(
    smiletap: Smiletap, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite writes whole lines; only a line whose cells hold a comma, a quote, a CR or a LF
    has its cells read again for csv.writer, and a batch without one reads nothing again."""
    kiosk = smiletap.setup()
    rows: list[dict[str, Any]] = [{"id": f"s{n:02d}", "comment": "fine"} for n in range(12)]
    rows[7]["comment"] = "slow, but kind"
    rows[9]["staff_id"] = 'say "hi"'
    with app.app_context():
        if get_engine().dialect.name != "sqlite":
            pytest.skip("PostgreSQL's COPY quotes the cells itself")
        _store_answers(kiosk.location_id, kiosk.device_id, rows)
    read_again: list[int] = []
    real = export._quoted_lines

    def quoted_lines(conn: Any, batch: Any) -> list[bytes]:
        lines = real(conn, batch)
        read_again.extend(n for n, (line, _) in enumerate(batch) if lines[n] != line)
        return lines

    monkeypatch.setattr(export, "_quoted_lines", quoted_lines)
    monkeypatch.setattr(export, "EXPORT_BATCH_ROWS", 4)
    response = smiletap.client.get(
        "/api/v1/reports/responses.csv",
        query_string={"from": "2026-11-20", "to": "2026-11-20"},
        headers={"Authorization": f"Bearer {smiletap.api_key()}"},
    )
    body = response.get_data(as_text=True)
    assert read_again == [3, 1]  # rows 7 and 9: in the second and third batches of four
    assert ',"slow, but kind"\r\n' in body and ',"say ""hi""",' in body
    assert len(list(csv.reader(io.StringIO(body)))) == 13


def test_sqlite_sorts_with_helper_threads_during_the_export_only(
    smiletap: Smiletap, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite's export runs with SORTER_THREADS helper threads for its sort; the connection
    goes back to the pool with none."""
    kiosk = smiletap.setup()
    with app.app_context():
        if get_engine().dialect.name != "sqlite":
            pytest.skip("PostgreSQL plans its own parallel workers")
        _store_answers(kiosk.location_id, kiosk.device_id, [{"id": f"s{n}"} for n in range(3)])
    seen: list[tuple[Any, int]] = []
    real = export.cell_batches

    def batches(conn: Any, query: Any) -> Iterator[Any]:
        raw = conn.connection.dbapi_connection
        seen.append((raw, raw.execute("PRAGMA threads").fetchone()[0]))
        yield from real(conn, query)

    monkeypatch.setattr(export, "cell_batches", batches)
    response = smiletap.client.get(
        "/api/v1/reports/responses.csv",
        query_string={"from": "2026-11-20", "to": "2026-11-20"},
        headers={"Authorization": f"Bearer {smiletap.api_key()}"},
    )
    assert len(response.get_data(as_text=True).splitlines()) == 4
    [(raw, during)] = seen
    assert during == export.SORTER_THREADS > 0
    assert raw.execute("PRAGMA threads").fetchone()[0] == 0


def test_postgresql_parallel_workers_compute_the_cells(smiletap: Smiletap, app: Flask) -> None:
    """PostgreSQL: nothing in the export's cells is parallel restricted, so in a parallel plan
    the workers compute them before their sort (a subquery among them left every cell of
    every row to the leader, after the sort)."""
    kiosk = smiletap.setup()
    with app.app_context():
        if get_engine().dialect.name != "postgresql":
            pytest.skip("SQLite has no parallel workers")
        _store_answers(kiosk.location_id, kiosk.device_id, [{"id": f"s{n}"} for n in range(3)])
        with get_engine().connect() as conn, conn.begin():
            wanted = Filters(date(2026, 11, 20), date(2026, 11, 20), None, False)
            query = submissions.export_select(conn, export.cell_columns("postgresql"), wanted)
            sql = str(query.compile(conn, compile_kwargs={"literal_binds": True}))
            # A parallel plan even for three rows. Free workers alone were not enough: for a
            # table of a few rows the parallel and the plain plan cost about the same, and
            # which one won depended on the table's statistics (CI found no Gather). Forcing
            # parallel mode puts a Gather over any plan that is parallel safe, and only there;
            # the setting was renamed in PostgreSQL 16.
            forced = (
                "debug_parallel_query"
                if conn.dialect.server_version_info >= (16,)
                else "force_parallel_mode"
            )
            conn.exec_driver_sql(
                "SET LOCAL parallel_setup_cost = 0; SET LOCAL parallel_tuple_cost = 0; "
                "SET LOCAL min_parallel_table_scan_size = 0; "
                f"SET LOCAL min_parallel_index_scan_size = 0; SET LOCAL {forced} = on"
            )
            [plan] = conn.exec_driver_sql(f"EXPLAIN (VERBOSE, FORMAT JSON) {sql}").scalar_one()
    # The plan's shape above and beside the Gather depends on the table's statistics (a join
    # or a subplan may sit there): look for the cells anywhere in the workers' part.
    gathers = [n for n in _plan_nodes(plan["Plan"]) if n["Node Type"] in ("Gather", "Gather Merge")]
    assert gathers, plan
    in_workers = [
        cell
        for gather in gathers
        for child in gather["Plans"]
        for node in _plan_nodes(child)
        for cell in node.get("Output", [])
    ]
    assert any("smiletap_joined_reasons" in cell for cell in in_workers), plan


def _plan_nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """A PostgreSQL JSON plan node and every node below it."""
    yield node
    for child in node.get("Plans", []):
        yield from _plan_nodes(child)


def test_read_ahead_makes_chunks_on_its_own_thread_and_stops_when_left() -> None:
    """SQLite's chunks are made on a thread of their own, at most READ_AHEAD_CHUNKS ahead;
    leaving early closes the source (the cursor) before the caller goes on, and a failure
    in the thread is raised to the caller after the chunks made before it."""
    made: list[int] = []
    closed: list[bool] = []

    def source(fail_at: int | None = None) -> Iterator[bytes]:
        try:
            for n in range(100):
                if n == fail_at:
                    raise ValueError("the database went away")
                made.append(threading.get_ident())
                yield b"%d" % n
        finally:
            closed.append(True)

    chunks = export.read_ahead(source())
    assert next(chunks) == b"0"
    chunks.close()
    assert closed == [True]
    assert 1 <= len(made) <= export.READ_AHEAD_CHUNKS + 2
    assert threading.get_ident() not in made
    made.clear()
    chunks = export.read_ahead(source(fail_at=3))
    assert [next(chunks) for _ in range(3)] == [b"0", b"1", b"2"]
    with pytest.raises(ValueError, match="went away"):
        next(chunks)
    assert len(closed) == 2
    assert b"".join(export.read_ahead(source())) == b"".join(b"%d" % n for n in range(100))


def test_copy_lines_get_csv_writer_line_ends_wherever_the_chunks_split() -> None:
    """PostgreSQL's COPY ends lines with LF; the export turns them into csv.writer's CRLF but
    keeps a line break inside a quoted cell, also when a chunk ends inside the cell."""
    rows = [
        ["a", 'say "hi"\nthere', ""],
        ["b\r\nc", '"', "x"],
        ['""', "\n\n", "end"],
        ["plain", "row", "3"],
    ]
    written = io.StringIO()
    csv.writer(written, lineterminator="\r\n").writerows(rows)
    expected = written.getvalue().encode()
    as_copy = io.StringIO()
    csv.writer(as_copy, lineterminator="\n").writerows(rows)
    copied = as_copy.getvalue().encode()
    for size in range(1, len(copied) + 1):
        pieces = [copied[i : i + size] for i in range(0, len(copied), size)]
        for chunk_chars in (1, 7, 10_000):
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(export, "CHUNK_CHARS", chunk_chars)
                assert b"".join(export.crlf_chunks(pieces)) == expected, (size, chunk_chars)


def test_export_holds_one_batch_not_the_file(
    smiletap: Smiletap, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each chunk leaves after at most a batch more was read (PostgreSQL: a chunk's worth of
    COPY's lines; SQLite: also the READ_AHEAD_CHUNKS its reading thread may have ready), and
    the memory the export allocates stays far below the file's size: nothing builds the
    whole file."""
    kiosk = smiletap.setup()
    rows = [
        {"id": f"sub-{n:05d}", "at": datetime(2026, 11, 20, 10, tzinfo=UTC) + timedelta(seconds=n)}
        for n in range(6000)
    ]
    with app.app_context():
        _store_answers(kiosk.location_id, kiosk.device_id, rows)
        sqlite = get_engine().dialect.name == "sqlite"
    monkeypatch.setattr(export, "EXPORT_BATCH_ROWS", 20)
    monkeypatch.setattr(export, "CHUNK_CHARS", 4096)
    ahead = (export.READ_AHEAD_CHUNKS + 1) * (4096 + 20 * 170) if sqlite else 4096 + 20 * 170
    read = _count_rows_read(monkeypatch)
    key = smiletap.api_key()

    def get() -> Any:
        return smiletap.client.get(
            "/api/v1/reports/responses.csv",
            query_string={"from": "2026-11-20", "to": "2026-11-20"},
            headers={"Authorization": f"Bearer {key}"},
            buffered=False,
        )

    warm_up = get()  # modules and caches filled: not what the export holds per row
    b"".join(warm_up.iter_encoded())
    warm_up.close()
    read.clear()
    response = get()
    assert response.status_code == 200 and response.is_streamed
    chunks = response.iter_encoded()
    size = len(next(chunks))  # the header, before the statement is compiled and run
    size += len(next(chunks))
    tracemalloc.start()  # from the first rows on: the statement's compiling is no row's memory
    try:
        for chunk in chunks:
            size += len(chunk)
            assert len(read) * 150 <= size + ahead
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        response.close()
    assert len(read) == 6000 and size > 900_000
    assert peak < size / 8, (peak, size)


def _count_rows_read(monkeypatch: pytest.MonkeyPatch) -> list[None]:
    """A list that gets an item for each row the export reads from the database (SQLite:
    rows of the cursor's batches; PostgreSQL: COPY's lines)."""
    read: list[None] = []
    real_batches, real_copied = export.cell_batches, export.copied_rows

    def batches(*args: Any) -> Iterator[Any]:
        for batch in real_batches(*args):
            read.extend([None] * len(batch))
            yield batch

    def copied(*args: Any) -> Iterator[Any]:
        for line in real_copied(*args):
            read.append(None)
            yield line

    monkeypatch.setattr(export, "cell_batches", batches)
    monkeypatch.setattr(export, "copied_rows", copied)
    return read


def test_a_client_that_leaves_mid_export_ends_its_transaction(
    smiletap: Smiletap, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    kiosk = smiletap.setup()
    with app.app_context():
        _store_answers(kiosk.location_id, kiosk.device_id, [{"id": f"s{n}"} for n in range(50)])
        engine = get_engine()
    monkeypatch.setattr(export, "EXPORT_BATCH_ROWS", 5)
    monkeypatch.setattr(export, "CHUNK_CHARS", 1)
    response = smiletap.client.get(
        "/api/v1/reports/responses.csv",
        query_string={"from": "2026-11-20", "to": "2026-11-20"},
        headers={"Authorization": f"Bearer {smiletap.api_key()}"},
        buffered=False,
    )
    chunks = response.iter_encoded()
    assert next(chunks).startswith(b"submission_id,")
    assert next(chunks).startswith(b"s")  # the first answer's line
    assert engine.pool.checkedout() == 1  # the export's connection, in its transaction
    assert _open_transactions(engine) == 1
    response.close()  # what the WSGI server does when the client goes away
    assert engine.pool.checkedout() == 0 and _open_transactions(engine) == 0


def _open_transactions(engine: Engine) -> int:
    """Other sessions of this database inside a transaction (PostgreSQL: idle in one, or
    active in it, as a COPY is while it sends); on SQLite 1 when a reader holds the WAL back
    (a full checkpoint is busy), else 0."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            return int(
                conn.exec_driver_sql(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND xact_start IS NOT NULL AND pid <> pg_backend_pid()"
                ).scalar_one()
            )
    with engine.begin() as conn:
        conn.execute(schema.locations.update().values(name=schema.locations.c.name))
    # A connection of its own, outside any transaction, where a checkpoint can run; with no
    # busy wait, so a reader in the way answers "busy" at once instead of after the app's
    # busy timeout (15 s).
    raw = sqlite3.connect(engine.url.database or "", timeout=0)
    try:
        busy, _, _ = raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        raw.close()
    return int(busy)


def test_a_failure_mid_export_breaks_the_transfer_instead_of_ending_the_file(
    smiletap: Smiletap, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under the real server (waitress, as `smiletap-server run`), an error after the first
    chunk closes the connection without chunked encoding's last chunk: the client sees an
    incomplete body, not a shorter CSV that looks whole."""
    kiosk = smiletap.setup()
    with app.app_context():
        _store_answers(kiosk.location_id, kiosk.device_id, [{"id": f"s{n}"} for n in range(50)])
    key = smiletap.api_key()
    monkeypatch.setattr(export, "EXPORT_BATCH_ROWS", 5)
    monkeypatch.setattr(export, "CHUNK_CHARS", 1)
    real_batches, real_copied = export.cell_batches, export.copied_rows

    def failing(real: Any, at: int) -> Any:
        def read(*args: Any) -> Iterator[Any]:
            for number, rows in enumerate(real(*args)):
                if number == at:
                    raise OperationalError("SELECT", {}, RuntimeError("database went away"))
                yield rows

        return read

    # The 16th row: in SQLite's fourth batch, PostgreSQL's 16th line.
    monkeypatch.setattr(export, "cell_batches", failing(real_batches, 3))
    monkeypatch.setattr(export, "copied_rows", failing(real_copied, 15))
    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=1)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        connection = http.client.HTTPConnection("127.0.0.1", server.effective_port, timeout=30)
        connection.request(
            "GET",
            "/api/v1/reports/responses.csv?from=2026-11-20&to=2026-11-20",
            headers={"Authorization": f"Bearer {key}"},
        )
        answer = connection.getresponse()
        assert answer.status == 200 and answer.getheader("Transfer-Encoding") == "chunked"
        with pytest.raises(http.client.IncompleteRead) as raised:
            answer.read()
        assert raised.value.partial.startswith(b"submission_id,")
        connection.close()
    finally:
        server.close()
        thread.join(timeout=30)


def test_a_scan_and_an_index_read_export_the_same_rows(
    smiletap: Smiletap, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite reads the table whole when most of it is exported, else through the index;
    both give the same file (PostgreSQL never takes the scan hint)."""
    kiosk = smiletap.setup()
    rows: list[dict[str, Any]] = [{"id": f"s{n}", "staff_id": f"=p{n % 3}"} for n in range(40)]
    rows += [{"id": f"late{n}", "local_date": date(2026, 11, 21)} for n in range(5)]
    with app.app_context():
        _store_answers(kiosk.location_id, kiosk.device_id, rows)
        with get_engine().connect() as conn, conn.begin():
            day, other = date(2026, 11, 20), date(2026, 11, 22)
            if conn.dialect.name == "sqlite":
                assert submissions.export_scan_pays(conn, day, other, [kiosk.location_id])
                assert not submissions.export_scan_pays(conn, other, other, None)
                assert not submissions.export_scan_pays(conn, day, day, ["elsewhere"])
                # Exactly "more than the share of the highest rowid" (45 here), at every share
                # around each count (40 answers on the day, 45 in the range, 5 the day after).
                ranges = ((day, day), (day, other), (date(2026, 11, 21), other), (other, other))
                for (first, last), share in itertools.product(ranges, range(0, 50)):
                    monkeypatch.setattr(submissions, "SQLITE_SCAN_SHARE", share / 45)
                    counted = len(_days_rows(conn, first, last))
                    pays = submissions.export_scan_pays(conn, first, last, [kiosk.location_id])
                    assert pays == (counted > 45 * (share / 45)), (first, last, share)
            wanted = Filters(day, other, [kiosk.location_id], False)
            sql = {
                share: str(
                    submissions.export_select(conn, export.cell_columns(conn.dialect.name), wanted)
                )
                for share in (0.0, 2.0)
                if not monkeypatch.setattr(submissions, "SQLITE_SCAN_SHARE", share)
            }
    scanned = "+submissions.local_date" in sql[0.0]
    assert scanned == (get_engine(app).dialect.name == "sqlite")
    assert "+submissions" not in sql[2.0]
    bodies = []
    for share in (0.0, 2.0):
        monkeypatch.setattr(submissions, "SQLITE_SCAN_SHARE", share)
        response = smiletap.client.get(
            "/api/v1/reports/responses.csv",
            query_string={"from": "2026-11-20", "to": "2026-11-22"},
            headers={"Authorization": f"Bearer {smiletap.api_key()}"},
        )
        bodies.append(response.get_data(as_text=True))
    assert bodies[0] == bodies[1] and len(bodies[0].splitlines()) == 46
    assert "'=p1" in bodies[0]


def _days_rows(conn: Any, first: date, last: date) -> list[Any]:
    """The stored submissions of these days."""
    s = schema.submissions.c
    query = schema.submissions.select().where(s.local_date >= first, s.local_date <= last)
    return list(conn.execute(query))


def test_postgresql_copy_in_another_client_encoding_still_sends_utf8(
    smiletap: Smiletap, app: Flask
) -> None:
    """COPY writes in the session's client encoding (a role's or URL's setting may make it
    LATIN1), and dates and times in its DateStyle; the file is UTF-8 with ISO dates and RFC
    3339 times all the same."""
    kiosk = smiletap.setup()
    with app.app_context():
        engine = get_engine()
        if engine.dialect.name != "postgresql":
            pytest.skip("SQLite has no client encoding")
        _store_answers(
            kiosk.location_id,
            kiosk.device_id,
            [
                {"id": "é1", "comment": 'café, "crème"'},
                {"id": "frac", "at": datetime(2026, 11, 20, 11, 0, 1, 500000, tzinfo=UTC)},
            ],
        )
    response = smiletap.client.get(
        "/api/v1/reports/responses.csv",
        query_string={"from": "2026-11-20", "to": "2026-11-20"},
        headers={"Authorization": f"Bearer {smiletap.api_key()}"},
    )
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and 'café, ""crème""' in text
    assert ",2026-11-20,5,10,2026-11-20T10:00:00Z," in text and "T11:00:01.500000Z" in text
    wanted = Filters(date(2026, 11, 20), date(2026, 11, 20))
    with engine.connect() as conn, conn.begin():
        conn.exec_driver_sql("SET LOCAL client_encoding TO 'LATIN1'")
        conn.exec_driver_sql("SET LOCAL DateStyle TO 'SQL, DMY'")  # 20/11/2026 10:00:00
        query = submissions.export_select(conn, export.cell_columns("postgresql"), wanted)
        body = b"".join(export.csv_chunks(conn, query))
    assert body == response.get_data()
