"""Message models for every body in PROTOCOL.md.

The server validates requests with these models and builds its OpenAPI document from them;
the kiosk builds its requests with them. Field names are the wire contract: never rename one.
Unknown fields in a request are ignored so that newer clients keep working.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
)

from shared.clock import parse_rfc3339
from shared.names import SINGLE_LINE_PATTERN, check_single_line
from shared.opening_hours import Hours, check_hours
from shared.survey import Survey

MAX_BATCH = 500

#: One line (hostnames, versions): no control characters (`shared.names`).
ShortText = Annotated[
    str,
    StringConstraints(max_length=200),
    AfterValidator(check_single_line),
    WithJsonSchema({"type": "string", "maxLength": 200, "pattern": SINGLE_LINE_PATTERN}),
]
Id = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Comment = Annotated[str, StringConstraints(max_length=2000)]


def _parse_timestamp_text(value: Any) -> Any:
    """Parse a timestamp string with `parse_rfc3339` (offset required), in every mode.

    Strict mode alone accepts a string only from raw JSON, so a body already decoded by
    `json.loads` (Flask's `get_json()`, requests' `.json()`) would fail on every timestamp.
    """
    return parse_rfc3339(value) if isinstance(value, str) else value


#: An RFC 3339 timestamp with an explicit offset, from raw JSON or from decoded JSON.
Timestamp = Annotated[AwareDatetime, BeforeValidator(_parse_timestamp_text)]

SubmissionStatus = Literal["accepted", "duplicate", "rejected"]

#: Why a single submission in a batch was rejected (PROTOCOL.md, POST /submissions).
RejectReason = Literal[
    "unknown_survey_version",
    "value_out_of_range",
    "unknown_question",
    "unknown_reason",
    "location_mismatch",
    "unknown_staff",
    "id_conflict",
    "missing_answer",
    "duplicate_question",
    # Added by the security review (README, "Decisions"): a survey the device's location was
    # never assigned, a comment on a question without a comment box, reasons for a value
    # above the follow-up's `when_at_most`.
    "survey_not_assigned",
    "comment_not_allowed",
    "reasons_not_allowed",
    "unknown_touchpoint",
]


class Message(BaseModel):
    """Base of every wire message: strict types, unknown keys ignored."""

    model_config = ConfigDict(extra="ignore", strict=True)


# --- errors -------------------------------------------------------------------------------


class ErrorDetail(Message):
    code: str
    message: str
    field: str | None = None


class ErrorBody(Message):
    """The body of every 4xx answer."""

    error: ErrorDetail


# --- enroll -------------------------------------------------------------------------------


class DeviceInfo(Message):
    app_version: ShortText = ""
    platform: ShortText = ""
    hostname: ShortText = ""


class EnrollRequest(Message):
    code: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    device_info: DeviceInfo = Field(default_factory=DeviceInfo)


class EnrollResponse(Message):
    device_id: str
    token: str
    server_time: Timestamp


# --- config -------------------------------------------------------------------------------


class DeviceRef(Message):
    id: str
    name: str


class LocationRef(Message):
    id: str
    name: str
    timezone: str
    #: Store-local opening hours by ISO weekday "1".."7" → [opens "HH:MM", closes "HH:MM"]
    #: (a close at or before the open runs past midnight; a weekday left out is closed all
    #: day; null or absent = always open). The kiosk shows a dim "Closed" screen outside them.
    #: An addition to PROTOCOL.md's fields; older servers don't send it.
    opening_hours: Annotated[Hours | None, AfterValidator(check_hours)] = None


class StaffMember(Message):
    id: str
    display_name: str


class KioskSettings(Message):
    idle_reset_s: int = Field(default=20, ge=1)
    thank_you_s: int = Field(default=4, ge=1)
    burst_max_taps: int = Field(default=5, ge=1)
    burst_window_s: int = Field(default=10, ge=1)


TouchpointKind = Literal["entrance", "checkout", "service_desk", "fitting_room", "other"]


class TouchpointRef(Message):
    """Where in its location the device stands."""

    id: str
    name: str
    kind: TouchpointKind | None = None


class ConfigResponse(Message):
    """GET /api/v1/config. `survey` is null while no survey is assigned to the location (or
    to the device's touchpoint, whose own survey comes first)."""

    etag: str
    device: DeviceRef
    location: LocationRef
    #: The device's touchpoint; null (and absent, from servers without touchpoints): none.
    touchpoint: TouchpointRef | None = None
    survey: Survey | None
    staff: list[StaffMember]
    kiosk: KioskSettings


# --- submissions --------------------------------------------------------------------------


class Answer(Message):
    question_id: Id
    value: int
    reasons: list[Id] = Field(default_factory=list, max_length=50)
    comment: Comment | None = None


class Submission(Message):
    id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    survey_id: Id
    survey_version: int
    location_id: Id
    staff_id: Id | None = None
    #: The touchpoint of the config the kiosk showed at the tap; null: at none. Absent (older
    #: clients): the device's touchpoint when the server receives it.
    touchpoint_id: Id | None = None
    language: Annotated[str, StringConstraints(min_length=1, max_length=16)]
    tapped_at: Timestamp
    answers: list[Answer] = Field(min_length=1, max_length=50)
    flags: list[Literal["burst"]] = Field(default_factory=list, max_length=10)
    #: Seconds between the first tap and this upload by the device's monotonic clock (same
    #: boot only). Unlike `tapped_at`, it survives the wall clock being wrong or jumping
    #: between tap and upload, so the server prefers it to correct the tap time. An addition
    #: to PROTOCOL.md's fields; clients that don't send it get batch-skew correction.
    age_s: float | None = Field(default=None, ge=0, le=400 * 86400)


class SubmissionBatch(Message):
    sent_at: Timestamp
    submissions: list[Submission] = Field(max_length=MAX_BATCH)


class SubmissionResult(Message):
    id: str
    status: SubmissionStatus
    reason: RejectReason | None = None
    field: str | None = None


class SubmissionsResponse(Message):
    server_time: Timestamp
    results: list[SubmissionResult]


# --- heartbeat ----------------------------------------------------------------------------


class HeartbeatRequest(Message):
    sent_at: Timestamp
    app_version: ShortText = ""
    backlog: int = Field(default=0, ge=0)
    oldest_pending_at: Timestamp | None = None
    rejected_count: int = Field(default=0, ge=0)
    last_error: Annotated[str, StringConstraints(max_length=2000)] | None = None
    config_etag: ShortText | None = None
    #: Added field (README, "Decisions"): wrong IT PINs in a row at the kiosk's PIN pad.
    it_pin_failures: int = Field(default=0, ge=0, le=2**31 - 1)


class HeartbeatResponse(Message):
    server_time: Timestamp
    config_etag: str


# --- reports ------------------------------------------------------------------------------

GroupBy = Literal["location", "touchpoint", "staff", "day", "weekday_hour"]


class NpsScore(Message):
    score: float
    ci95: tuple[float, float]
    promoters: int
    passives: int
    detractors: int
    n: int


class CsatScore(Message):
    score: float
    ci95: tuple[float, float]
    n: int


class CesScore(Message):
    mean: float
    mean_ci95: tuple[float, float]
    easy_share: float
    n: int
    scale: int


class SmileyScore(Message):
    scale: int
    counts: list[int]
    positive_share: float
    ci95: tuple[float, float]
    n: int


class ScoreGroup(Message):
    key: dict[str, str | int | None]
    n: int
    ranked: bool
    nps: NpsScore | None = None
    csat: CsatScore | None = None
    ces: CesScore | None = None
    smiley: SmileyScore | None = None


class ScoresResponse(Message):
    from_: str = Field(alias="from")
    to: str
    group_by: GroupBy
    min_n: int
    groups: list[ScoreGroup]

    # `from` is a Python keyword: the field is `from_`, but the wire name is always `from`.
    model_config = ConfigDict(
        extra="ignore", strict=True, validate_by_name=True, serialize_by_alias=True
    )


# --- business results (KPIs) ---------------------------------------------------------------

KpiStatus = Literal["stored", "unchanged", "rejected"]
#: Beyond this a JSON number loses whole-number precision (and the body checks refuse it).
KPI_NUMBER_LIMIT = 2**53


def _flat_kpi_value(value: Any) -> Any:
    """A row's value must be plain; whether it means anything is decided per row."""
    if isinstance(value, dict | list):
        raise ValueError("must be a number, a text or null")
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if number and abs(value) > KPI_NUMBER_LIMIT:
        raise ValueError("number out of range")
    return value


KpiValue = Annotated[
    Any,
    AfterValidator(_flat_kpi_value),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string"},
                {"type": "number", "minimum": -KPI_NUMBER_LIMIT, "maximum": KPI_NUMBER_LIMIT},
                {"type": "boolean"},
                {"type": "null"},
            ]
        }
    ),
]
#: A row as sent: flat, one plain value per key; what the values mean is checked per row.
KpiRowBody = Annotated[
    dict[str, KpiValue],
    Field(json_schema_extra={"propertyNames": {"type": "string"}}),
]


class KpiBatch(Message):
    """`PUT /kpis`. Each row is checked on its own (`server.kpis`), so one bad row is a
    rejected result, not a refused request: {"location_id", "date", "visitors",
    "transactions", "revenue", "staff_hours"}, the four values optional (absent: kept; null:
    cleared)."""

    rows: list[KpiRowBody]


class KpiResult(Message):
    index: int
    status: KpiStatus
    reason: str | None = None
    field: str | None = None
    message: str | None = None


class KpiResponse(Message):
    results: list[KpiResult]


class KpiGroup(Message):
    key: dict[str, str]
    answers: int
    visitors: int | None
    response_rate: float | None
    coverage: float | None
    transactions: int | None
    revenue: float | None
    staff_hours: float | None
    conversion: float | None
    basket: float | None


class KpiReportResponse(Message):
    from_: str = Field(alias="from")
    to: str
    group_by: Literal["day", "week", "location"]
    groups: list[KpiGroup]

    model_config = ConfigDict(
        extra="ignore", strict=True, validate_by_name=True, serialize_by_alias=True
    )


class LinkPoint(Message):
    location_id: str
    period: str
    score: float
    kpi: float


class LinksResponse(Message):
    score: Literal["nps", "csat", "ces", "smiley"]
    kpi: Literal[
        "conversion", "basket", "revenue_per_visitor", "visitors", "staff_hours_per_visitor"
    ]
    grain: Literal["day", "week"]
    n: int
    r: float | None
    ci95: tuple[float, float] | None
    verdict: Literal["moves_with", "moves_against", "no_clear_link", "not_enough_data"]
    method: str
    points: list[LinkPoint]
