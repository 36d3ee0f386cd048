"""POST /api/v1/submissions."""

from __future__ import annotations

import json
import threading
from datetime import timedelta, timezone

import pytest
from pydantic import TypeAdapter
from sqlalchemy import func, select, text

from server.db import get_engine, reading
from server.ingest import decide, store
from server.store import as_utc, devices, rollups
from server.store.schema import answers, id_conflicts, submissions
from shared.clock import utcnow
from shared.protocol import SubmissionBatch, SubmissionResult
from tests.server.conftest import Smiletap


def _results(response) -> list[dict]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json["results"]


def test_accepted_then_duplicate(smiletap: Smiletap, app) -> None:
    kiosk = smiletap.setup()
    item = kiosk.item(2)
    item["answers"][0]["reasons"] = ["wait"]
    item["answers"][0]["comment"] = "slow"
    first = kiosk.submit([item])
    assert set(first.json) == {"server_time", "results"}
    assert _results(first) == [
        {"id": item["id"], "status": "accepted", "reason": None, "field": None}
    ]
    assert _results(kiosk.submit([item]))[0]["status"] == "duplicate"
    with get_engine(app).connect() as conn:
        row = conn.execute(select(submissions)).one()
        answer = conn.execute(select(answers)).one()
    assert row.device_id == kiosk.device_id and row.location_id == kiosk.location_id
    assert row.survey_version == 1 and row.burst is False and len(row.content_hash) == 64
    assert answer.kind == "smiley" and answer.scale == 5 and answer.value == 2
    assert answer.reasons == '["wait"]' and answer.comment == "slow"


def test_duplicate_within_one_batch(smiletap: Smiletap) -> None:
    kiosk = smiletap.setup()
    item = kiosk.item()
    statuses = [r["status"] for r in _results(kiosk.submit([item, item]))]
    assert statuses == ["accepted", "duplicate"]


def test_id_conflict_keeps_stored_and_records(smiletap: Smiletap, app) -> None:
    kiosk = smiletap.setup()
    item = kiosk.item(5)
    other = {**item, "answers": [{"question_id": "q1", "value": 1, "reasons": []}]}
    results = _results(kiosk.submit([item, other]))
    assert results[1] == {
        "id": item["id"],
        "status": "rejected",
        "reason": "id_conflict",
        "field": "submissions[1].id",
    }
    with get_engine(app).connect() as conn:
        conflict = conn.execute(select(id_conflicts)).one()
        value = conn.execute(select(answers.c.value)).scalar_one()
    assert value == 5
    assert conflict.submission_id == item["id"] and conflict.device_id == kiosk.device_id
    assert '"value":5' in conflict.stored_payload and '"value":1' in conflict.new_payload


def test_same_instant_other_offset_is_duplicate(smiletap: Smiletap) -> None:
    kiosk = smiletap.setup()
    item = kiosk.item(tapped_at="2026-11-23T10:00:00+01:00")
    same = {**item, "tapped_at": "2026-11-23T09:00:00Z"}
    assert [r["status"] for r in _results(kiosk.submit([item, same]))] == [
        "accepted",
        "duplicate",
    ]


@pytest.mark.parametrize(
    ("change", "reason", "field"),
    [
        ({"survey_version": 9}, "unknown_survey_version", "submissions[1].survey_version"),
        ({"survey_version": 10**20}, "unknown_survey_version", "submissions[1].survey_version"),
        ({"survey_id": "srv_nope"}, "unknown_survey_version", "submissions[1].survey_version"),
        ({"location_id": "loc_other"}, "location_mismatch", "submissions[1].location_id"),
        ({"staff_id": "stf_nope"}, "unknown_staff", "submissions[1].staff_id"),
        (
            {"answers": [{"question_id": "q1", "value": 6}]},
            "value_out_of_range",
            "submissions[1].answers[0].value",
        ),
        (
            {"answers": [{"question_id": "q1", "value": 10**40}]},
            "value_out_of_range",
            "submissions[1].answers[0].value",
        ),
        (
            {"answers": [{"question_id": "q2", "value": 10}, {"question_id": "q2", "value": 0}]},
            "duplicate_question",
            "submissions[1].answers[1].question_id",
        ),
        (
            {"answers": [{"question_id": "q9", "value": 1}]},
            "unknown_question",
            "submissions[1].answers[0].question_id",
        ),
        (
            {"answers": [{"question_id": "q1", "value": 1, "reasons": ["wait", "cold"]}]},
            "unknown_reason",
            "submissions[1].answers[0].reasons[1]",
        ),
        (  # q1's follow-up asks for reasons at values up to 2 only
            {"answers": [{"question_id": "q1", "value": 3, "reasons": ["wait"]}]},
            "reasons_not_allowed",
            "submissions[1].answers[0].reasons",
        ),
        (  # q2 has no comment box
            {"answers": [{"question_id": "q2", "value": 9, "comment": "great"}]},
            "comment_not_allowed",
            "submissions[1].answers[0].comment",
        ),
    ],
)
def test_reject_reasons(smiletap: Smiletap, change, reason, field) -> None:
    kiosk = smiletap.setup()
    good, bad, last = kiosk.item(), kiosk.item(**change), kiosk.item()
    results = _results(kiosk.submit([good, bad, last]))
    assert [r["status"] for r in results] == ["accepted", "rejected", "accepted"]
    assert results[1] == {"id": bad["id"], "status": "rejected", "reason": reason, "field": field}


def test_known_staff_accepted(smiletap: Smiletap, runner) -> None:
    kiosk = smiletap.setup()
    staff_id = runner.json("create-staff", "--location", kiosk.location_id, "--name", "Anna")["id"]
    assert _results(kiosk.submit([kiosk.item(staff_id=staff_id)]))[0]["status"] == "accepted"


def test_staff_of_other_location_rejected(smiletap: Smiletap, runner) -> None:
    kiosk = smiletap.setup()
    elsewhere = smiletap.location(name="Other")
    staff_id = runner.json("create-staff", "--location", elsewhere, "--name", "Anna")["id"]
    result = _results(kiosk.submit([kiosk.item(staff_id=staff_id)]))[0]
    assert result["reason"] == "unknown_staff"


def test_old_survey_version_still_accepted(smiletap: Smiletap, runner) -> None:
    kiosk = smiletap.setup()
    runner.json("update-survey", kiosk.survey_id, "--file", smiletap.survey_file())
    items = [kiosk.item(survey_version=1), kiosk.item(survey_version=2)]
    assert [r["status"] for r in _results(kiosk.submit(items))] == ["accepted", "accepted"]


def test_a_survey_never_assigned_to_the_location_is_rejected(smiletap: Smiletap, runner) -> None:
    kiosk = smiletap.setup()
    other = smiletap.survey()  # a real survey with a real version, shown somewhere else
    elsewhere = smiletap.location(name="Other")
    runner.json("assign-survey", "--location", elsewhere, "--survey", other)
    result = _results(kiosk.submit([kiosk.item(survey_id=other)]))[0]
    assert (result["reason"], result["field"]) == (
        "survey_not_assigned",
        "submissions[0].survey_id",
    )


def test_the_first_items_survey_is_judged_like_the_others(smiletap: Smiletap, runner) -> None:
    """The first item's survey version and assignment come with the stored ids in one
    statement (`batch_lookups`), the others' as met: both give the same answers, whichever
    item comes first."""
    kiosk = smiletap.setup()
    other = smiletap.survey()
    runner.json("assign-survey", "--location", smiletap.location(name="Other"), "--survey", other)
    unassigned, unknown = kiosk.item(survey_id=other), kiosk.item(survey_version=7)
    too_big, good = kiosk.item(survey_version=2**40), kiosk.item()
    expected = {
        unassigned["id"]: ("rejected", "survey_not_assigned", "survey_id"),
        unknown["id"]: ("rejected", "unknown_survey_version", "survey_version"),
        too_big["id"]: ("rejected", "unknown_survey_version", "survey_version"),
    }
    batches = [[unassigned, unknown, good, too_big], [too_big, good, unassigned, unknown]]
    for n, items in enumerate(batches):
        items = [{**item, "id": f"{item['id']}-{n}"} for item in items]
        for i, result in enumerate(_results(kiosk.submit(items))):
            status, reason, field = expected.get(result["id"][:-2], ("accepted", None, None))
            assert (result["status"], result["reason"]) == (status, reason)
            assert result["field"] == (field and f"submissions[{i}].{field}")


def test_a_kiosk_with_a_stale_config_still_delivers(smiletap: Smiletap, runner) -> None:
    """The location moved on to another survey; taps made under the old one still count."""
    kiosk = smiletap.setup()
    runner.json("update-survey", kiosk.survey_id, "--file", smiletap.survey_file())
    newer = smiletap.survey()
    runner.json("assign-survey", "--location", kiosk.location_id, "--survey", newer)
    items = [
        kiosk.item(survey_version=1),
        kiosk.item(survey_version=2),
        kiosk.item(survey_id=newer),
    ]
    assert [r["status"] for r in _results(kiosk.submit(items))] == ["accepted"] * 3


def test_results_in_request_order(smiletap: Smiletap) -> None:
    kiosk = smiletap.setup()
    items = [kiosk.item(v % 5 + 1) if v % 3 else kiosk.item(9) for v in range(30)]
    results = _results(kiosk.submit(items))
    assert [r["id"] for r in results] == [i["id"] for i in items]
    assert [r["status"] for r in results] == [
        "rejected" if v % 3 == 0 else "accepted" for v in range(30)
    ]


def test_results_are_the_protocol_models_bytes(smiletap: Smiletap) -> None:
    """Results are made without a `SubmissionResult` each: the body is byte for byte what the
    models dumped give, for every status."""
    kiosk = smiletap.setup()
    stored = kiosk.item()
    kiosk.submit([stored])
    changed = {**stored, "answers": [{"question_id": "q1", "value": 1}]}
    items = [stored, kiosk.item(9), kiosk.item(), changed]
    response = kiosk.submit(items)
    body = json.loads(response.data)
    models = TypeAdapter(list[SubmissionResult]).validate_python(body["results"])
    assert [(m.status, m.reason) for m in models] == [
        ("duplicate", None),
        ("rejected", "value_out_of_range"),
        ("accepted", None),
        ("rejected", "id_conflict"),
    ]
    expected = {
        "server_time": body["server_time"],
        "results": TypeAdapter(list[SubmissionResult]).dump_python(models, mode="json"),
    }
    assert (
        response.data
        == json.dumps(expected, sort_keys=True, separators=(",", ":")).encode() + b"\n"
    )


def test_batch_of_500_ok_and_501_refused(smiletap: Smiletap, app) -> None:
    kiosk = smiletap.setup()
    items = [kiosk.item() for _ in range(501)]
    response = kiosk.submit(items)
    assert response.status_code in (413, 422)
    assert response.json["error"]["field"] == "submissions"
    assert len(_results(kiosk.submit(items[:500]))) == 500
    with get_engine(app).connect() as conn:
        assert conn.execute(select(func.count()).select_from(submissions)).scalar_one() == 500


def test_skew_corrects_effective_time(smiletap: Smiletap, app) -> None:
    kiosk = smiletap.setup()
    # The device clock is one hour ahead, so its tap times are corrected by an hour.
    now = utcnow()
    ahead = now + timedelta(hours=1)
    item = kiosk.item(tapped_at=ahead.isoformat())
    kiosk.submit([item], sent_at=ahead.isoformat())
    with get_engine(app).connect() as conn:
        row = conn.execute(select(submissions)).one()
    assert 3590 < row.skew_s < 3610
    effective = row.effective_at.replace(tzinfo=None) - now.replace(tzinfo=None)
    assert abs(effective.total_seconds()) < 10


def test_age_dates_a_tap_whose_clock_jumped_before_upload(smiletap: Smiletap, app) -> None:
    kiosk = smiletap.setup()
    # Tapped 10 minutes ago by a right clock; the clock then jumped 5 days ahead, so the
    # batch skew says +5 days. The tap's own age (600 s) dates it right.
    now = utcnow()
    tapped = now - timedelta(minutes=10)
    item = kiosk.item(tapped_at=tapped.isoformat(), age_s=600.0)
    kiosk.submit([item], sent_at=(now + timedelta(days=5)).isoformat())
    with get_engine(app).connect() as conn:
        row = conn.execute(select(submissions)).one()
    assert abs(row.skew_s) < 10  # this tap's clock was right
    effective = row.effective_at.replace(tzinfo=None) - tapped.replace(tzinfo=None)
    assert abs(effective.total_seconds()) < 10


def test_resend_with_a_later_age_is_duplicate(smiletap: Smiletap) -> None:
    kiosk = smiletap.setup()
    item = kiosk.item(age_s=5.0)
    assert _results(kiosk.submit([item]))[0]["status"] == "accepted"
    assert _results(kiosk.submit([{**item, "age_s": 65.5}]))[0]["status"] == "duplicate"


def test_concurrent_same_id_never_fails(smiletap: Smiletap, app) -> None:
    kiosk = smiletap.setup()
    item = kiosk.item()
    statuses: list[str] = []
    errors: list[BaseException] = []

    def send() -> None:
        try:
            response = app.test_client().post(
                "/api/v1/submissions",
                json={"sent_at": item["tapped_at"], "submissions": [item]},
                headers=kiosk.headers,
            )
            statuses.append(response.json["results"][0]["status"])
        except Exception as exc:  # kept for the assert below: a thread cannot fail the test
            errors.append(exc)

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sorted(statuses) == ["accepted", "duplicate", "duplicate", "duplicate"]


def test_a_tap_time_with_an_offset_is_stored_as_the_same_moment(smiletap: Smiletap, app) -> None:
    """+02:00 on the wire: stored as UTC on every backend, not as the local clock reading."""
    kiosk = smiletap.setup()
    moment = (utcnow() - timedelta(minutes=5)).replace(microsecond=0)
    local = moment.astimezone(timezone(timedelta(hours=2))).isoformat()
    item = kiosk.item(4, tapped_at=local, age_s=300.0)
    assert _results(kiosk.submit([item]))[0]["status"] == "accepted"
    with get_engine(app).connect() as conn:
        row = conn.execute(select(submissions)).one()
    assert as_utc(row.tapped_at) == moment
    assert abs((as_utc(row.effective_at) - moment).total_seconds()) < 60


def test_an_id_stored_between_judging_and_storing_at_the_highest_rowid(
    smiletap: Smiletap, app
) -> None:
    """SQLite tells the rows an insert added by their rowids past the highest before it; at
    the highest rowid there is, new rows get random ones, so the stored ids are found first
    instead: the id stored in between is a duplicate and the other tap still accepted."""
    if get_engine(app).dialect.name != "sqlite":
        pytest.skip("rowids are SQLite's")
    kiosk = smiletap.setup()
    item, fresh = kiosk.item(2), kiosk.item(3)
    body = {"sent_at": item["tapped_at"], "submissions": [item, fresh]}
    batch = SubmissionBatch.model_validate_json(json.dumps(body))
    with get_engine(app).connect() as conn:
        with reading(conn):
            device = devices.by_token(conn, kiosk.token)
            assert device is not None
            decided = decide(conn, device, batch, utcnow(), 120.0)
        assert _results(kiosk.submit([item]))[0]["status"] == "accepted"
        with conn.begin():
            conn.execute(text("UPDATE submissions SET rowid = 9223372036854775807"))
        with conn.begin():
            results = store(conn, decided)
        with conn.begin():
            assert rollups.differences(conn) == 0
    assert [r.status for r in results] == ["duplicate", "accepted"]
    with get_engine(app).connect() as conn:
        assert conn.execute(select(func.count()).select_from(answers)).scalar_one() == 2


@pytest.mark.parametrize("same_content", [True, False])
def test_an_id_stored_between_judging_and_storing(
    smiletap: Smiletap, app, same_content: bool
) -> None:
    """Another request stores an id after this batch was judged (on SQLite, in its read
    transaction) and before it is stored: the item is then judged against what that request
    stored, and nothing is stored or counted twice."""
    kiosk = smiletap.setup()
    item, fresh = kiosk.item(2), kiosk.item(3)
    body = {"sent_at": item["tapped_at"], "submissions": [item, fresh]}
    batch = SubmissionBatch.model_validate_json(json.dumps(body))
    # A connection of its own: the request below takes another one from the pool.
    with get_engine(app).connect() as conn:
        with reading(conn):
            device = devices.by_token(conn, kiosk.token)
            assert device is not None
            decided = decide(conn, device, batch, utcnow(), 120.0)
        other = item if same_content else {**item, "answers": [{"question_id": "q1", "value": 5}]}
        assert _results(kiosk.submit([other]))[0]["status"] == "accepted"
        with conn.begin():
            results = store(conn, decided)
        with conn.begin():
            assert rollups.differences(conn) == 0
    expected = ("duplicate", None) if same_content else ("rejected", "id_conflict")
    assert [(r.status, r.reason) for r in results] == [expected, ("accepted", None)]
    with get_engine(app).connect() as conn:
        assert conn.execute(select(func.count()).select_from(submissions)).scalar_one() == 2
        assert conn.execute(select(func.count()).select_from(answers)).scalar_one() == 2
        conflicts = conn.execute(select(func.count()).select_from(id_conflicts)).scalar_one()
    assert conflicts == (0 if same_content else 1)


def test_a_few_new_taps_are_stored_outside_a_transaction_on_postgresql(
    smiletap: Smiletap, app
) -> None:
    """PostgreSQL: a batch of a few new taps is judged and stored with no transaction begun
    (its store is one statement, `Decided.stored_alone`), and every tap, answer and pending
    mark is there after it; an id conflict is stored in a transaction, as before."""
    from sqlalchemy import event

    from server import settings
    from server.store.schema import pending_rollups

    if get_engine(app).dialect.name != "postgresql":
        pytest.skip("SQLite's uploads take the write lock in a transaction")
    settings.override(app, rollup_fold_every=10**9)  # no fold in the requests below
    kiosk = smiletap.setup()
    first = kiosk.item(3)
    assert _results(kiosk.submit([first]))[0]["status"] == "accepted"  # skew news: written
    begun: list[object] = []

    def note(conn: object) -> None:
        begun.append(conn)

    event.listen(get_engine(app), "begin", note)
    try:
        items = [kiosk.item(4), kiosk.item(5)]
        statuses = [r["status"] for r in _results(kiosk.submit([*items, first]))]
        assert statuses == ["accepted", "accepted", "duplicate"]
        assert begun == []
        changed = {**first, "answers": [{"question_id": "q1", "value": 1}]}
        assert _results(kiosk.submit([changed]))[0]["reason"] == "id_conflict"
        assert len(begun) == 1
    finally:
        event.remove(get_engine(app), "begin", note)
    with get_engine(app).connect() as conn:
        for table, expected in ((submissions, 3), (answers, 3), (pending_rollups, 3)):
            assert conn.execute(select(func.count()).select_from(table)).scalar_one() == expected
        assert conn.execute(select(func.count()).select_from(id_conflicts)).scalar_one() == 1


def test_postgresql_looks_each_id_of_a_batch_up_in_the_primary_key(smiletap: Smiletap, app) -> None:
    """The batch's look-up of stored ids uses the primary key even where PostgreSQL, which
    guesses 100 ids for any JSON array, would rather scan a table of a few hundred rows
    whole (it did on every upload, its cost growing with the table)."""
    from server.store import batch_lookups

    if get_engine(app).dialect.name != "postgresql":
        pytest.skip("SQLite looks each id up in the primary key by itself")
    kiosk = smiletap.setup()
    items = [kiosk.item() for _ in range(300)]
    assert {r["status"] for r in _results(kiosk.submit(items))} == {"accepted"}
    params = {
        "ids": json.dumps([items[0]["id"], "not-stored"]),
        "survey_id": kiosk.survey_id,
        "version": 1,
        "location_id": kiosk.location_id,
    }
    with get_engine(app).connect() as conn:
        conn.exec_driver_sql("ANALYZE submissions")
        plan = batch_lookups._LOOK_UP["postgresql"]._plan(conn.dialect)
        lines = conn.exec_driver_sql("EXPLAIN " + plan.sql, plan.arguments(params)).scalars()
        explained = "\n".join(lines)
        wanted = [items[0]["id"], "not-stored"]
        found = batch_lookups.look_up(conn, wanted, kiosk.location_id, kiosk.survey_id, 1)
    assert "Index Scan using submissions_pkey" in explained, explained
    assert "Seq Scan on submissions" not in explained, explained
    assert list(found.stored) == [items[0]["id"]] and found.assigned and found.body
