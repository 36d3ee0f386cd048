"""Ingest of a submission batch: one decision per item, all in the caller's transaction.

An id already stored with the same content is `duplicate`; with other content it is rejected
as `id_conflict` (the stored one stands, both are kept in id_conflicts). Otherwise the item is
checked against its survey version, location and staff, then stored with its answers and
counted in the rollups: a small upload marks its submissions pending for a fold to count
(`server.store.pending_rollups`), a batch of `ROLLUP_INLINE_FROM` or more counts them itself.

The survey must be one the device's location was assigned at some time (`survey_assignments`):
a kiosk still showing last week's survey delivers, a made-up survey id does not
(`survey_not_assigned`). Each answer must fit its question in that version: a comment only
where the question asks for one (`comment_not_allowed`), reasons only for a value at most the
follow-up's `when_at_most` (`reasons_not_allowed`). The look-ups behind these checks run once
per batch, not per item.

E-mail addresses and phone numbers in comments are masked before anything is hashed or stored
(`server/masking.py`, phone numbers for the country of the location's time zone): the payload,
its hash and the answer rows hold the masked text only. A tap stored before masking existed
with its unmasked hash is still a `duplicate` when resent.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import orjson
from pydantic import TypeAdapter
from sqlalchemy import Connection

from server.db import pipelined
from server.masking import country_of_timezone, mask_contacts
from server.store import (
    batch_lookups,
    bulk,
    locations,
    rollups,
    staff,
    submissions,
    surveys,
    touchpoints,
)
from shared.clock import corrected_tap_time, measured_skew, to_rfc3339
from shared.protocol import (
    RejectReason,
    Submission,
    SubmissionBatch,
    SubmissionResult,
    SubmissionStatus,
)
from shared.survey import Question, Survey

MAX_DB_INT = 2**31 - 1
_UNKNOWN: Any = object()

_SUBMISSIONS = TypeAdapter(list[Submission])
#: `tapped_at` is content in UTC: pydantic's serializer writes a UTC moment as `to_rfc3339`
#: does (`...T12:00:00.5Z`, microseconds as six digits or none; tests/server/test_ingest.py),
#: in Rust, ~0.4 µs a tap against ~2.5 µs for `isoformat()`; a tap time sent with another
#: offset is written by `to_rfc3339` instead (`canonical_contents`).
#: The canonical form: sorted keys, no spaces, text as it is (not \u-escaped). orjson writes
#: the same text as this encoder for what a payload holds (strings, integers, booleans, null;
#: tests/server/test_ingest.py) ten times faster; this one is kept for what orjson refuses.
_CANONICAL_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class ItemResult(NamedTuple):
    """One item's result: `SubmissionResult`'s fields in its order (`_asdict()` is its wire
    form), without a model per item: a 500-tap batch's models cost ~2 µs each to make and
    dump, about a tenth of storing a tap."""

    id: str
    status: SubmissionStatus
    reason: RejectReason | None = None
    field: str | None = None


assert ItemResult._fields == tuple(SubmissionResult.model_fields)


def wire_results(results: list[ItemResult]) -> list[dict[str, Any]]:
    """The results in their wire form (each `_asdict()`), made by one comprehension rather
    than a `_asdict` call per item."""
    return [
        {"id": sid, "status": status, "reason": reason, "field": field}
        for sid, status, reason, field in results
    ]


assert list(wire_results([ItemResult("i", "accepted")])[0]) == list(ItemResult._fields)


class ItemRejectedError(Exception):
    """Why one submission cannot be stored, and the field at fault within it."""

    def __init__(self, reason: RejectReason, field: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field


def canonical_payloads(items: list[Submission]) -> list[str]:
    """Each submission as canonical JSON: sorted keys, UTC tap time, no transport details."""
    return [payload for payload, _digest in canonical_contents(items)]


def canonical_contents(items: list[Submission]) -> list[tuple[str, str]]:
    """Each submission's canonical payload (`canonical_payloads`) and its `content_hash`, the
    hash taken of the bytes orjson wrote rather than of the text encoded again."""
    return _contents_and_tap_texts(items)[0]


def _contents_and_tap_texts(items: list[Submission]) -> tuple[list[tuple[str, str]], list[str]]:
    """`canonical_contents`, and each tap time as its payload holds it (RFC 3339 in UTC, the
    text `_SqliteTexts` cuts SQLite's from).

    One serializer call for the whole list: per-item calls cost more than the work itself.
    """
    dumped = _SUBMISSIONS.dump_python(items, mode="json")
    found, taps = [], []
    for item, data in zip(items, dumped, strict=True):
        # `age_s` is a transport detail (popped here: cheaper than the serializer's exclude).
        del data["age_s"]
        if item.tapped_at.tzinfo is not UTC:  # pydantic wrote it with its own offset
            data["tapped_at"] = to_rfc3339(item.tapped_at)
        taps.append(data["tapped_at"])
        if data.get("touchpoint_id") is None:
            # Absent and null hash alike, and like payloads stored before touchpoints: a
            # kiosk resending after an upgrade is a duplicate, not an id conflict.
            data.pop("touchpoint_id", None)
        raw = _canonical_json(data)
        found.append((raw.decode(), hashlib.sha256(raw).hexdigest()))
    return found, taps


def _canonical_json(data: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:  # e.g. an integer beyond 64 bits: the same text, slower
        return _CANONICAL_JSON.encode(data).encode()


def canonical_payload(item: Submission) -> str:
    """The submission as canonical JSON: sorted keys, UTC tap time."""
    return canonical_payloads([item])[0]


def content_hash(payload: str) -> str:
    """SHA-256 of the canonical payload."""
    return hashlib.sha256(payload.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class _Rules:
    """What an answer to one question may hold, worked out once per batch."""

    question: Question
    values: range
    reasons: frozenset[str]


class _Lookups:
    """Survey versions, their questions, staff memberships and touchpoints' locations, each
    looked up once per batch."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.surveys: dict[tuple[str, int], dict[str, _Rules] | None] = {}
        self.staff: dict[tuple[str, str], bool] = {}
        self.touchpoints: dict[str, str | None] = {}
        self.assigned: dict[str, set[str]] = {}
        #: (location, survey) pairs known ever assigned or not (`first_look_up`).
        self.assigned_pairs: dict[tuple[str, str], bool] = {}

    def first_look_up(self, items: list[Submission], location_id: str) -> dict[str, dict[str, Any]]:
        """The stored ids of the batch, with the first item's survey version and its
        assignment to the device's location, in one statement (`batch_lookups`); a batch of
        one tap needs no other look-up."""
        if not items:
            return {}
        first = items[0]
        fits = 1 <= first.survey_version <= MAX_DB_INT  # else `_check` asks no version
        version = first.survey_version if fits else 0
        found = batch_lookups.look_up(
            self.conn, [item.id for item in items], location_id, first.survey_id, version
        )
        if fits:
            body = found.body
            rules = None if body is None else _rules_of(body, first.survey_id, version)
            self.surveys[(first.survey_id, version)] = rules
        self.assigned_pairs[(location_id, first.survey_id)] = found.assigned
        return found.stored

    def ever_assigned(self, location_id: str, survey_id: str) -> bool:
        """Whether the location was ever assigned this survey (one query per location)."""
        known = self.assigned_pairs.get((location_id, survey_id))
        if known is not None:
            return known
        if location_id not in self.assigned:
            self.assigned[location_id] = locations.surveys_ever_assigned(self.conn, location_id)
        return survey_id in self.assigned[location_id]

    def questions(self, survey_id: str, version: int) -> dict[str, _Rules] | None:
        """The rules of each question of this survey version by id, or None if unknown."""
        key = (survey_id, version)
        if key not in self.surveys:
            body = surveys.version_body(self.conn, survey_id, version)
            self.surveys[key] = None if body is None else _rules_of(body, survey_id, version)
        return self.surveys[key]

    def staff_at(self, location_id: str, staff_id: str) -> bool:
        key = (location_id, staff_id)
        if key not in self.staff:
            self.staff[key] = staff.exists_at(self.conn, location_id, staff_id)
        return self.staff[key]

    def touchpoint_location(self, touchpoint_id: str) -> str | None:
        """The location of the touchpoint, or None when there is no such touchpoint."""
        if touchpoint_id not in self.touchpoints:
            found = touchpoints.locations_of(self.conn, [touchpoint_id])
            self.touchpoints[touchpoint_id] = found.get(touchpoint_id)
        return self.touchpoints[touchpoint_id]


@functools.lru_cache(maxsize=256)
def _rules_of(body: str, survey_id: str, version: int) -> dict[str, _Rules]:
    """The rules of a stored survey version, parsed and validated once per process.

    Keyed by the stored definition itself, which is read on every batch: whatever any process
    stores is what the next batch is checked against, and only the parsing is saved.
    """
    return _rules(surveys.parsed_version(body, survey_id, version))


def _rules(survey: Survey) -> dict[str, _Rules]:
    found: dict[str, _Rules] = {}
    for q in survey.questions:
        found.setdefault(q.id, _Rules(q, q.values, q.reason_ids()))  # the first of an id
    return found


def _touchpoint(device: dict[str, Any], item: Submission, lookups: _Lookups) -> str | None:
    """The touchpoint the tap was taken at: the one sent (null: none), else the device's."""
    if "touchpoint_id" not in item.__pydantic_fields_set__:  # `model_fields_set`, no property
        return device.get("touchpoint_id")
    if item.touchpoint_id is None:
        return None
    if lookups.touchpoint_location(item.touchpoint_id) != item.location_id:
        raise ItemRejectedError("unknown_touchpoint", "touchpoint_id")
    return item.touchpoint_id


def _check(
    device: dict[str, Any], item: Submission, lookups: _Lookups
) -> tuple[list[Question], str | None]:
    """The question of each answer, in order, and the touchpoint; a ItemRejectedError when the item
    cannot be stored, its field named within the item (`decide` puts the item's place before
    it: the text is made only for a rejection).

    Run for every tap of a batch, so what was looked up for an earlier tap (the survey
    version's rules, its assignment) is read from the batch's look-ups without a call."""
    location_id, survey_id, version = item.location_id, item.survey_id, item.survey_version
    if location_id != device["location_id"]:
        raise ItemRejectedError("location_mismatch", "location_id")
    touchpoint_id = _touchpoint(device, item, lookups)
    rules = None
    if 1 <= version <= MAX_DB_INT:
        rules = lookups.surveys.get((survey_id, version), _UNKNOWN)
        if rules is _UNKNOWN:
            rules = lookups.questions(survey_id, version)
    if rules is None:
        raise ItemRejectedError("unknown_survey_version", "survey_version")
    assigned = lookups.assigned_pairs.get((location_id, survey_id))
    if assigned is None:
        assigned = lookups.ever_assigned(location_id, survey_id)
    if not assigned:
        raise ItemRejectedError("survey_not_assigned", "survey_id")
    if item.staff_id is not None and not lookups.staff_at(location_id, item.staff_id):
        raise ItemRejectedError("unknown_staff", "staff_id")
    asked: list[Question] = []
    answers = item.answers
    seen: set[str] | None = set() if len(answers) > 1 else None  # one answer: no duplicate
    for j, answer in enumerate(answers):
        question_id = answer.question_id
        rule = rules.get(question_id)
        if rule is None:
            raise ItemRejectedError("unknown_question", f"answers[{j}].question_id")
        if seen is not None:
            if question_id in seen:
                raise ItemRejectedError("duplicate_question", f"answers[{j}].question_id")
            seen.add(question_id)
        if answer.value not in rule.values:
            raise ItemRejectedError("value_out_of_range", f"answers[{j}].value")
        question = rule.question
        if answer.reasons:
            for k, reason in enumerate(answer.reasons):
                if reason not in rule.reasons:
                    raise ItemRejectedError("unknown_reason", f"answers[{j}].reasons[{k}]")
            follow_up = question.follow_up
            if follow_up is not None and answer.value > follow_up.when_at_most:
                raise ItemRejectedError("reasons_not_allowed", f"answers[{j}].reasons")
        if answer.comment is not None and not question.comment:
            raise ItemRejectedError("comment_not_allowed", f"answers[{j}].comment")
        asked.append(question)
    return asked, touchpoint_id


#: The order `_rows` writes a submission's and an answer's values in: the tables' own
#: (`submissions.insert_many` takes them so, with no dict per row).
_SUBMISSION_ROW = (
    "id", "device_id", "location_id", "survey_id", "survey_version", "staff_id",
    "touchpoint_id", "language", "tapped_at", "received_at", "skew_s", "effective_at",
    "local_date", "weekday", "hour", "burst", "content_hash", "payload",
)  # fmt: skip
_ANSWER_ROW = ("submission_id", "question_id", "kind", "scale", "value", "reasons", "comment")
assert _SUBMISSION_ROW == submissions.SUBMISSION_COLUMNS
assert _ANSWER_ROW == submissions.ANSWER_COLUMNS


class _SqliteTexts:
    """A batch's moments and days as SQLite stores them (`bulk.sqlite_values`' text), made
    while its rows are built: the tap times cut from their payloads' text, which the
    serializer wrote already (no second call for the batch's moments), the time received
    once, each day once. The rows then go to sqlite3 as they are (`submissions.insert_many`,
    `converted`)."""

    __slots__ = ("days", "received", "taps")

    def __init__(self, received_at: datetime, tap_texts: list[str]) -> None:
        self.received = bulk.utc_text(received_at)
        self.taps = bulk.sqlite_moments(tap_texts)
        self.days: dict[date, str] = {}

    def day(self, day: date) -> str:
        text = self.days.get(day)
        if text is None:
            text = self.days[day] = day.isoformat()
        return text


def _rows(
    device: dict[str, Any],
    item: Submission,
    questions: list[Question],
    touchpoint_id: str | None,
    timing: tuple[datetime, float, datetime, ZoneInfo],
    content: tuple[str, str],
    sqlite: tuple[_SqliteTexts, str] | None = None,
) -> tuple[tuple[Any, ...], list[tuple[Any, ...]], list[rollups.RollupKey]]:
    """The submission's row and its answers' rows (values in `_SUBMISSION_ROW` and
    `_ANSWER_ROW` order), and the hourly rollup key of each answer. `timing`: the time
    received, the tap's skew, its effective time and the location's time zone. `sqlite`: the
    batch's texts and the tap time's (`_SqliteTexts`), to write the row's moments and day as
    SQLite stores them; without it they are objects."""
    received_at, skew_s, effective_at, zone = timing
    local = effective_at.astimezone(zone)  # `shared.clock.local_parts`, without its object
    local_date, weekday, hour = local.date(), local.isoweekday(), local.hour
    burst = "burst" in item.flags
    payload, digest = content
    sid, location_id, survey_id, version, tapped_at = (
        item.id, item.location_id, item.survey_id, item.survey_version, item.tapped_at
    )  # fmt: skip
    row: tuple[Any, ...]
    if sqlite is None:
        row = (
            sid, device["id"], location_id, survey_id, version, item.staff_id, touchpoint_id,
            item.language, tapped_at, received_at, skew_s, effective_at,
            local_date, weekday, hour, burst, digest, payload,
        )  # fmt: skip
    else:
        texts, tapped = sqlite
        effective = tapped if effective_at is tapped_at else bulk.utc_text(effective_at)
        day = texts.days.get(local_date) or texts.day(local_date)
        row = (
            sid, device["id"], location_id, survey_id, version, item.staff_id, touchpoint_id,
            item.language, tapped, texts.received, skew_s, effective,
            day, weekday, hour, burst, digest, payload,
        )  # fmt: skip
    answer_rows, keys = [], []
    touchpoint_key, staff_key = touchpoint_id or "", item.staff_id or ""
    for answer, question in zip(item.answers, questions, strict=True):
        reasons = json.dumps(answer.reasons) if answer.reasons else "[]"
        kind, scale, value = question.kind, question.scale, answer.value
        answer_rows.append((sid, answer.question_id, kind, scale, value, reasons, answer.comment))
        keys.append(
            (location_id, touchpoint_key, staff_key, survey_id, version, answer.question_id,
             kind, scale, local_date, weekday, hour, burst, value)
        )  # fmt: skip
    return row, answer_rows, keys


def _masked(items: list[Submission], region: str | None) -> tuple[list[Submission], set[int]]:
    """The submissions with contact details in comments masked, and which of them changed."""
    if not any([answer.comment for item in items for answer in item.answers]):
        return list(items), set()  # most batches: no comment at all, one pass to know it
    masked, changed = [], set()
    for i, item in enumerate(items):
        if not any(answer.comment for answer in item.answers):  # most taps: nothing to mask
            masked.append(item)
            continue
        answers = [
            answer.model_copy(update={"comment": mask_contacts(answer.comment, region)})
            if answer.comment
            else answer
            for answer in item.answers
        ]
        if [a.comment for a in answers] != [a.comment for a in item.answers]:
            item = item.model_copy(update={"answers": answers})
            changed.add(i)
        masked.append(item)
    return masked, changed


def _known(
    conflicts: list[tuple[str, str, str]],
    item: Submission,
    content: tuple[str, str],
    at: str,
    stored: dict[str, Any] | None,
    unmasked_digest: str | None = None,
) -> ItemResult | None:
    """`duplicate` or `id_conflict` when the id is already stored, else None; a conflict's
    (id, stored payload, new payload) is added to `conflicts`, for the write phase."""
    if stored is None:
        return None
    payload, digest = content
    if stored["content_hash"] in (digest, unmasked_digest):
        return ItemResult(id=item.id, status="duplicate")
    conflicts.append((item.id, stored["payload"], payload))
    return ItemResult(id=item.id, status="rejected", reason="id_conflict", field=f"{at}.id")


#: `ROLLUP_INLINE_FROM`'s default (`server.settings`).
INLINE_FROM = 32


@dataclass(slots=True)
class Decided:
    """A batch judged by `decide`, to be stored by `store`: the results known so far, the new
    submissions (request index, row, answer rows, rollup keys) by id and the id conflicts."""

    device: dict[str, Any]
    items: list[Submission]
    contents: list[tuple[str, str]]
    results: dict[int, ItemResult]
    new: dict[str, tuple[int, tuple[Any, ...], list[tuple[Any, ...]], list[Any]]]
    conflicts: list[tuple[str, str, str]]
    #: Whether the rows hold SQLite's texts of their moments and days (`_SqliteTexts`).
    converted: bool = False

    @property
    def writes_nothing(self) -> bool:
        """Whether storing it changes nothing: every item a duplicate or a rejection."""
        return not self.new and not self.conflicts

    def stored_alone(self, inline_from: int = INLINE_FROM) -> bool:
        """Whether `store` writes it in one statement on PostgreSQL, which may then run
        outside a transaction: no id conflict to record and too few new submissions to count
        them in the rollups now. (An id another request stores meanwhile may still turn out
        a conflict: `store` records it in a transaction of its own.)"""
        return not self.conflicts and len(self.new) < inline_from


def ingest_batch(
    conn: Connection,
    device: dict[str, Any],
    batch: SubmissionBatch,
    received_at: datetime,
    skew_threshold_s: float,
) -> list[ItemResult]:
    """Decide and store every submission of the batch in the caller's transaction; one result
    each, in request order."""
    return store(conn, decide(conn, device, batch, received_at, skew_threshold_s))


def decide(
    conn: Connection,
    device: dict[str, Any],
    batch: SubmissionBatch,
    received_at: datetime,
    skew_threshold_s: float,
) -> Decided:
    """Judge every submission of the batch; this only reads, so on SQLite it can run before
    the write lock is taken (`store` copes with what changes in between).

    The batch costs a handful of statements, not a few per item: one for the ids already
    stored with the first item's survey version and assignment (`batch_lookups`; a one-tap
    upload needs no other), then one per other survey version, location, staff member and
    touchpoint met.
    """
    skew = measured_skew(batch.sent_at, received_at)
    lookups = _Lookups(conn)
    timezone = device.get("location_timezone")
    if timezone is None:
        location = locations.get(conn, device["location_id"])
        assert location is not None  # a device's location is a foreign key
        timezone = location["timezone"]
    zone: ZoneInfo | None = None  # made for the first tap stored, as `local_parts` did
    items, changed = _masked(batch.submissions, country_of_timezone(timezone))
    contents, tap_texts = _contents_and_tap_texts(items)
    texts = _SqliteTexts(received_at, tap_texts) if conn.dialect.name == "sqlite" else None
    # Hashes of the text as typed, for taps stored before masking and resent after it.
    unmasked = {i: content_hash(canonical_payload(batch.submissions[i])) for i in changed}
    # An id another connection stores after this look-up is found by the insert
    # (`submissions.insert_many`) and judged again in `store`.
    stored = lookups.first_look_up(items, device["location_id"])
    decided = Decided(device, items, contents, {}, {}, [], texts is not None)
    results, new = decided.results, decided.new
    # Rows are locked in one global order (submissions by id, then rollups by key) so that
    # concurrent batches on PostgreSQL wait for each other instead of deadlocking.
    ids = [item.id for item in items]
    # With no age sent, a tap's skew is the batch's, its time corrected only if that is
    # beyond the threshold (`corrected_tap_time`): known once for the batch.
    batch_corrects = abs(skew) > skew_threshold_s
    for i in sorted(range(len(ids)), key=ids.__getitem__):
        item, sid = items[i], ids[i]
        earlier = new.get(sid)
        if earlier is not None:  # the same id twice in this batch: judged as a resend
            first_payload, first_digest = contents[earlier[0]]
            first = {"content_hash": first_digest, "payload": first_payload}
            known = _known(decided.conflicts, item, contents[i], f"submissions[{i}]", first)
            assert known is not None  # given a stored row, `_known` always decides
            results[i] = known
            continue
        found = stored.get(sid)
        if found is not None:
            at = f"submissions[{i}]"
            known = _known(decided.conflicts, item, contents[i], at, found, unmasked.get(i))
            assert known is not None  # given a stored row, `_known` always decides
            results[i] = known
            continue
        try:
            questions, touchpoint_id = _check(device, item, lookups)
        except ItemRejectedError as rejection:
            results[i] = ItemResult(
                id=item.id,
                status="rejected",
                reason=rejection.reason,
                field=f"submissions[{i}].{rejection.field}",
            )
            continue
        if item.age_s is None and not batch_corrects:
            tap_skew, effective_at = skew, item.tapped_at
        else:
            tap_skew, effective_at = corrected_tap_time(
                item.tapped_at, received_at, skew, item.age_s, skew_threshold_s
            )
        zone = zone or ZoneInfo(timezone)
        timing = (received_at, tap_skew, effective_at, zone)
        sqlite = None if texts is None else (texts, texts.taps[i])
        new[sid] = (i, *_rows(device, item, questions, touchpoint_id, timing, contents[i], sqlite))
    return decided


def store(conn: Connection, decided: Decided, inline_from: int = INLINE_FROM) -> list[ItemResult]:
    """Write a decided batch: one multi-row insert of the new submissions and one of their
    answers, the id conflicts; the results in request order.

    The rollups: a batch of at least `inline_from` new submissions adds to them in this
    transaction (one upsert per rollup table, as a fold does); a smaller one inserts a pending
    mark per submission (`server.store.pending_rollups`) and a fold counts them later. A fold
    reads the submissions and answers back (~14 µs a submission on SQLite), which costs a big
    batch more than its own upserts (~4 µs: its taps share few hourly keys), and a single tap
    far less than its own (~200–400 µs for 18 row upserts over ten tables).

    An id stored by another request since `decide` looked (its insert skipped by ON CONFLICT)
    is judged again against what that request stored. On PostgreSQL the submissions, their
    answers and marks are one statement (`submissions.insert_many`), which may run outside a
    transaction (`Decided.stored_alone`), and a big batch's rollup upserts go in one round
    trip (`db.pipelined`).
    """
    device, items, contents = decided.device, decided.items, decided.contents
    results, new, conflicts = dict(decided.results), decided.new, list(decided.conflicts)
    count_now = len(new) >= inline_from
    with pipelined(conn):
        inserted = submissions.insert_many(
            conn,
            [entry[1] for entry in new.values()],
            [answer for entry in new.values() for answer in entry[2]],
            pending=not count_now,
            converted=decided.converted,
        )
        raced = [sid for sid in new if sid not in inserted]
        stored_by_others = submissions.find_many(conn, raced) if raced else {}
        counted: list[rollups.RollupKey] = []
        for sid, (i, _row, _answers, keys) in new.items():
            if sid in inserted:
                counted.extend(keys)
                results[i] = ItemResult(sid, "accepted")  # positional: cheaper, 500 a batch
            else:
                at = f"submissions[{i}]"
                results[i] = _known(
                    conflicts, items[i], contents[i], at, stored_by_others.get(sid)
                ) or ItemResult(id=sid, status="duplicate")
        if count_now:
            rollups.add(conn, counted)
    if conflicts:
        # Outside a transaction (`Decided.stored_alone`) the submissions are committed already
        # and only an id stored by another request meanwhile can be a conflict here.
        with contextlib.nullcontext() if conn.in_transaction() else conn.begin():
            for submission_id, stored_payload, new_payload in conflicts:
                submissions.record_conflict(
                    conn, device["id"], submission_id, stored_payload, new_payload
                )
    return [results[i] for i in range(len(items))]
