"""Rollups counted on ingest — hourly, per day, month and year, and the day parts — always
equal `rebuild-rollups` recomputed from the raw answers."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from server.db import make_engine
from server.store import day_hours, pending_rollups, rollups
from server.store.schema import rollups as rollups_table
from server.store.schema import rollups_day_hours_any, rollups_day_parts
from tests.server.conftest import Kiosk, Smiletap

# Around the 2026 DST changes of Europe (29 Mar, 25 Oct) and the USA (8 Mar, 1 Nov).
DST_MOMENTS = [datetime(2026, m, d, 1, 0, tzinfo=UTC) for m, d in ((3, 29), (10, 25), (3, 8))]
DST_MOMENTS.append(datetime(2026, 11, 1, 6, 0, tzinfo=UTC))

tap_times = st.builds(
    lambda base, minutes, offset_h: (base + timedelta(minutes=minutes)).astimezone(
        timezone(timedelta(hours=offset_h))
    ),
    st.sampled_from(DST_MOMENTS),
    st.integers(-36 * 60, 36 * 60),
    st.sampled_from([-5, 0, 1, 2, 9]),
)

new_item = st.fixed_dictionaries(
    {
        "kind": st.just("new"),
        "kiosk": st.integers(0, 1),
        "q1": st.integers(0, 6),  # 0 and 6 are out of range: rejected, never counted
        "q2": st.none() | st.integers(0, 10),
        "staff": st.sampled_from(["none", "known", "unknown"]),
        # absent: the device's touchpoint; other: another location's, rejected
        "touchpoint": st.sampled_from(["absent", "none", "known", "other"]),
        "burst": st.booleans(),
        "tapped_at": tap_times,
    }
)
replay = st.fixed_dictionaries(
    {"kind": st.sampled_from(["duplicate", "conflict"]), "pick": st.integers(0, 10**6)}
)
batches = st.lists(
    st.tuples(
        st.sampled_from([0, 0, 300, -400]),  # device clock skew (s); 300 and -400 get corrected
        st.lists(new_item | replay, min_size=1, max_size=8),
    ),
    min_size=1,
    max_size=4,
)


def _snapshot(engine: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every rollup table's rows (hourly, per period, day parts), in key order, read as any
    reader reads them: once the pending uploads are folded."""
    found = {}
    with engine.connect() as conn:
        pending_rollups.caught_up(conn)
        for table in (rollups_table, *rollups.PERIOD_TABLES, rollups_day_parts, *day_hours.TABLES):
            query = select(table).order_by(*table.primary_key.columns)
            found[table.name] = [tuple(row) for row in conn.execute(query)]
    return found


def _item(
    kiosks: list[Kiosk], staff: list[str], doors: list[str], spec: dict[str, Any]
) -> dict[str, Any]:
    kiosk = kiosks[spec["kiosk"]]
    staff_id = {"none": None, "known": staff[spec["kiosk"]], "unknown": "stf_nobody"}
    touchpoint = {"none": None, "known": doors[spec["kiosk"]], "other": doors[1 - spec["kiosk"]]}
    answers = [{"question_id": "q1", "value": spec["q1"], "reasons": []}]
    if spec["q2"] is not None:
        answers.append({"question_id": "q2", "value": spec["q2"], "reasons": []})
    item = {
        "id": str(uuid.uuid4()),
        "survey_id": kiosk.survey_id,
        "survey_version": 1,
        "location_id": kiosk.location_id,
        "staff_id": staff_id[spec["staff"]],
        "language": "en",
        "tapped_at": spec["tapped_at"].isoformat(),
        "answers": answers,
        "flags": ["burst"] if spec["burst"] else [],
    }
    if spec["touchpoint"] != "absent":
        item["touchpoint_id"] = touchpoint[spec["touchpoint"]]
    return item


def test_rollups_equal_rebuild(smiletap: Smiletap, runner, database_url) -> None:
    kiosks = [smiletap.setup("Europe/Warsaw"), smiletap.setup("America/New_York")]
    staff = [runner.json("create-staff", "--location", k.location_id, "--name", "A")["id"]
             for k in kiosks]  # fmt: skip
    doors = [runner.json("create-touchpoint", "--location", k.location_id, "--name", "Door")["id"]
             for k in kiosks]  # fmt: skip
    # The first kiosk stands at its door, so taps sent without a touchpoint are filed there.
    runner.json("move-device", kiosks[0].device_id, "--touchpoint", doors[0])
    sent: list[tuple[int, dict[str, Any]]] = []  # (kiosk, item) already posted
    outcomes: Counter[str] = Counter()
    engine = make_engine(database_url)

    @settings(
        max_examples=25,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(batches)
    def ingest_then_compare(plan: list[tuple[int, list[dict[str, Any]]]]) -> None:
        for skew_s, specs in plan:
            per_kiosk: dict[int, list[dict[str, Any]]] = {0: [], 1: []}
            for spec in specs:
                if spec["kind"] == "new":
                    item = _item(kiosks, staff, doors, spec)
                    index = spec["kiosk"]
                elif sent:
                    index, earlier = sent[spec["pick"] % len(sent)]
                    item = dict(earlier)
                    if spec["kind"] == "conflict":
                        item["language"] = "pl" if earlier["language"] == "en" else "en"
                else:
                    continue
                per_kiosk[index].append(item)
            sent_at = datetime.now(UTC) + timedelta(seconds=skew_s)
            for index, items in per_kiosk.items():
                if not items:
                    continue
                response = kiosks[index].submit(items, sent_at=sent_at.isoformat())
                assert response.status_code == 200, response.get_data(as_text=True)
                outcomes.update(r["reason"] or r["status"] for r in response.json["results"])
                sent.extend((index, item) for item in items)
        counted = _snapshot(engine)
        with engine.begin() as conn:
            assert rollups.differences(conn) == 0
            rollups.rebuild(conn)
        assert _snapshot(engine) == counted

    try:
        ingest_then_compare()
        assert all(_snapshot(engine).values())  # every table was compared with rows in it
    finally:
        engine.dispose()
    # The plans reached every path that touches (or must not touch) the rollups.
    for outcome in ("accepted", "duplicate", "id_conflict", "value_out_of_range", "unknown_staff"):
        assert outcomes[outcome] > 0, outcomes


def test_check_finds_one_changed_hour_count(smiletap: Smiletap, database_url) -> None:
    """A packed day row (`day_hours`) differing in one hour's count of one value is found by
    the check, and the rebuild puts it back as ingest counted it."""
    kiosk = smiletap.setup()
    tap = datetime(2026, 3, 4, 10, 30, tzinfo=UTC).isoformat()
    assert kiosk.submit([kiosk.item(v, tapped_at=tap) for v in (2, 4, 4)]).status_code == 200
    engine = make_engine(database_url)
    try:
        counted = _snapshot(engine)
        table = rollups_day_hours_any
        with engine.begin() as conn:
            assert rollups.differences(conn) == 0
            [stored] = conn.execute(select(table.c.counts)).scalars()
            cells = day_hours.as_cells(stored)
            assert sum(cells) == 3 and cells.count(0) == len(cells) - 2  # values 2 and 4
            cells[cells.index(1)] = 0  # one answer fewer, in the hour and value it was at
            changed = day_hours.stored_counts(conn.dialect.name, cells)
            conn.execute(update(table).values(counts=changed))
            assert rollups.differences(conn) == 1
            rollups.rebuild(conn)
            assert rollups.differences(conn) == 0
        assert _snapshot(engine) == counted
    finally:
        engine.dispose()
