"""Every table, on one MetaData. Timestamps are stored in UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    TypeDecorator,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect

metadata = MetaData()


class UtcTimestamp(TypeDecorator[datetime]):
    """A moment stored in UTC. SQLite keeps no offset: an aware time bound as it is would be
    stored as its local clock reading, so every bound value is turned to UTC first."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            return value.astimezone(UTC)
        return value


Ts = UtcTimestamp()

surveys = Table(
    "surveys",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("latest_version", Integer, nullable=False),
    Column("created_at", Ts, nullable=False),
)

survey_versions = Table(
    "survey_versions",
    metadata,
    Column("survey_id", String(64), ForeignKey("surveys.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", Ts, nullable=False),
    PrimaryKeyConstraint("survey_id", "version"),
)

locations = Table(
    "locations",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("survey_id", String(64), ForeignKey("surveys.id"), nullable=True),
    Column("created_at", Ts, nullable=False),
    # Migration 0004: {"1": ["08:00", "20:00"], ...} by ISO weekday, store-local; None = always.
    Column("opening_hours", Text, nullable=True),
    Column("alert_rules", Text, nullable=True),  # JSON overrides of the alert defaults
    Column("webhook_url", String(500), nullable=True),  # None: the global ALERT_WEBHOOK_URL
    # Migration 0007: a random value replaced by every change to what /config sends for this
    # location (locations.touch_config), so an unchanged config check is one read.
    Column("config_stamp", String(32), nullable=False, server_default="initial"),
)

#: Migration 0009: every survey a location was ever assigned (ingest accepts those only).
survey_assignments = Table(
    "survey_assignments",
    metadata,
    Column("location_id", String(64), ForeignKey("locations.id"), nullable=False),
    Column("survey_id", String(64), ForeignKey("surveys.id"), nullable=False),
    Column("first_assigned_at", Ts, nullable=False),
    PrimaryKeyConstraint("location_id", "survey_id"),
)

# Touchpoints (migration 0012): named places in a location (entrance, checkout …) where
# kiosks stand; one may show its own survey instead of the location's.

touchpoints = Table(
    "touchpoints",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("location_id", String(64), ForeignKey("locations.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(16), nullable=True),  # shared.protocol.TouchpointKind, or none given
    Column("survey_id", String(64), ForeignKey("surveys.id"), nullable=True),
    Column("archived", Boolean, nullable=False, default=False),
    Column("created_at", Ts, nullable=False),
)

staff = Table(
    "staff",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("location_id", String(64), ForeignKey("locations.id"), nullable=False, index=True),
    Column("display_name", String(200), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", Ts, nullable=False),
)

devices = Table(
    "devices",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("location_id", String(64), ForeignKey("locations.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("token_hash", String(64), nullable=True, unique=True),
    Column("created_at", Ts, nullable=False),
    Column("enrolled_at", Ts, nullable=True),
    Column("revoked_at", Ts, nullable=True),
    Column("app_version", String(200), nullable=True),
    Column("platform", String(200), nullable=True),
    Column("hostname", String(200), nullable=True),
    Column("last_contact_at", Ts, nullable=True),
    Column("clock_skew_s", Float, nullable=True),
    Column("backlog", BigInteger, nullable=True),
    Column("oldest_pending_at", Ts, nullable=True),
    Column("rejected_count", BigInteger, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("config_etag", String(200), nullable=True),
    Column("last_heartbeat_at", Ts, nullable=True),
    # Migration 0010: wrong IT PINs in a row at the kiosk (its heartbeat; None: not reported).
    Column("it_pin_failures", Integer, nullable=True),
    # Migration 0012: where in its location the device stands; None: at no touchpoint.
    Column("touchpoint_id", String(64), ForeignKey("touchpoints.id"), nullable=True),
)

enroll_codes = Table(
    "enroll_codes",
    metadata,
    Column("code_hash", String(64), primary_key=True),
    Column("device_id", String(64), ForeignKey("devices.id"), nullable=False, index=True),
    Column("created_at", Ts, nullable=False),
    Column("expires_at", Ts, nullable=False),
    Column("used_at", Ts, nullable=True),
)

enroll_failures = Table(
    "enroll_failures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("address", String(64), nullable=False),
    Column("at", Ts, nullable=False),
    Index("ix_enroll_failures_at", "at"),
    Index("ix_enroll_failures_address_at", "address", "at"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("created_at", Ts, nullable=False),
    Column("revoked_at", Ts, nullable=True),
    Column("label", String(200), nullable=True),  # migration 0004
)

api_key_locations = Table(
    "api_key_locations",
    metadata,
    Column("api_key_id", String(64), ForeignKey("api_keys.id"), nullable=False),
    Column("location_id", String(64), ForeignKey("locations.id"), nullable=False),
    PrimaryKeyConstraint("api_key_id", "location_id"),
)

submissions = Table(
    "submissions",
    metadata,
    Column("id", String(64), primary_key=True),  # the kiosk's UUID: the idempotency key
    Column("device_id", String(64), ForeignKey("devices.id"), nullable=False),
    Column("location_id", String(64), ForeignKey("locations.id"), nullable=False),
    Column("survey_id", String(64), nullable=False),
    Column("survey_version", Integer, nullable=False),
    Column("staff_id", String(64), nullable=True),
    # Migration 0012: the touchpoint the tap was taken at (the kiosk's config then); None: none.
    Column("touchpoint_id", String(64), nullable=True),
    Column("language", String(16), nullable=False),
    Column("tapped_at", Ts, nullable=False),
    Column("received_at", Ts, nullable=False),
    Column("skew_s", Float, nullable=False),
    Column("effective_at", Ts, nullable=False),
    Column("local_date", Date, nullable=False),
    Column("weekday", Integer, nullable=False),
    Column("hour", Integer, nullable=False),
    Column("burst", Boolean, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("payload", Text, nullable=False),
    Index("ix_submissions_location_date", "location_id", "local_date"),
    # Migration 0006: the newest answers of a location first (latest comments, recent reasons),
    # so ORDER BY effective_at DESC LIMIT n reads n rows, not the whole period.
    Index("ix_submissions_location_burst_effective", "location_id", "burst", "effective_at"),
)

answers = Table(
    "answers",
    metadata,
    Column("submission_id", String(64), ForeignKey("submissions.id"), nullable=False),
    Column("question_id", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("scale", Integer, nullable=False),
    Column("value", Integer, nullable=False),
    Column("reasons", Text, nullable=False),  # JSON list of reason ids
    Column("comment", Text, nullable=True),
    PrimaryKeyConstraint("submission_id", "question_id"),
)

id_conflicts = Table(
    "id_conflicts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("device_id", String(64), nullable=False),
    Column("submission_id", String(64), nullable=False),
    Column("stored_payload", Text, nullable=False),
    Column("new_payload", Text, nullable=False),
    Column("at", Ts, nullable=False),
)

ROLLUP_KEY = (
    "location_id",
    "touchpoint_id",
    "staff_id",
    "survey_id",
    "survey_version",
    "question_id",
    "kind",
    "scale",
    "local_date",
    "weekday",
    "hour",
    "burst",
    "value",
)

rollups = Table(
    "rollups",
    metadata,
    Column("location_id", String(64), nullable=False),
    Column("touchpoint_id", String(64), nullable=False),  # '' when taken at no touchpoint
    Column("staff_id", String(64), nullable=False),  # '' when no staff member was named
    Column("survey_id", String(64), nullable=False),
    Column("survey_version", Integer, nullable=False),
    Column("question_id", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("scale", Integer, nullable=False),
    Column("local_date", Date, nullable=False),
    Column("weekday", Integer, nullable=False),
    Column("hour", Integer, nullable=False),
    Column("burst", Boolean, nullable=False),
    Column("value", Integer, nullable=False),
    Column("count", BigInteger, nullable=False),
    PrimaryKeyConstraint(*ROLLUP_KEY, name="pk_rollups"),
    Index("ix_rollups_date_location", "local_date", "location_id"),
)

# Migration 0023: submissions stored but not yet counted in the rollup tables, one row each,
# written by the upload in its own transaction and taken away by the fold that counts them
# (server/store/pending_rollups.py). Usually empty or nearly: every reader of the rollups folds
# first, and uploads fold every `ROLLUP_FOLD_EVERY` submissions.
pending_rollups = Table(
    "pending_rollups",
    metadata,
    Column("submission_id", String(64), ForeignKey("submissions.id"), nullable=False),
    PrimaryKeyConstraint("submission_id", name="pk_pending_rollups"),
    sqlite_with_rowid=False,
)

# Coarser rollups (migration 0005): the same counts summed over whole store-local days, months
# and years, without the survey and question, so a report over a period reads one row per
# group and period piece instead of one per hour (server/store/rollups.py).

ROLLUP_PERIODS = ("day", "month", "year")

#: A period rollup row's count of each answer value 0..10 (migration 0019), one column each.
VALUE_COLUMNS = tuple(f"c{value}" for value in range(11))


def _period_rollup(name: str, *group: Column[Any], touchpoint: bool = True) -> Table:
    # Every table with `touchpoint` carries it (migration 0012), so any grouping can be
    # narrowed to touchpoints and `group_by=touchpoint` reads rollups_location; its twin
    # `…_any` (migration 0019) sums the location's touchpoints, for reports not narrowed to
    # them: a third of the rows here (three touchpoints), and its day rows fill up with far
    # fewer answers, so a range's partial months cost about the same at 100k and at 10M.
    place = [Column("touchpoint_id", String(64), nullable=False)] if touchpoint else []
    key = ["period", "starts_on", "location_id", *(c.name for c in place), *(c.name for c in group)]
    return Table(
        name,
        metadata,
        Column("period", String(8), nullable=False),  # day | month | year
        Column("starts_on", Date, nullable=False),  # the period's first store-local day
        Column("location_id", String(64), nullable=False),
        *place,  # '' when at no touchpoint
        *group,
        Column("burst", Boolean, nullable=False),
        Column("kind", String(16), nullable=False),
        Column("scale", Integer, nullable=False),
        # One row per group, kind and scale with a count per value (migration 0019), not one
        # row per value: a fifth of the rows for a 5-face smiley, and a row is there as soon
        # as any value was answered, so the rows a range reads stop growing much sooner.
        *(Column(name, BigInteger, nullable=False) for name in VALUE_COLUMNS),
        # Period first: every report asks for a few period ranges over any set of locations.
        PrimaryKeyConstraint(*key, "burst", "kind", "scale", name=f"pk_{name}"),
        # A report narrowed to touchpoints reads its pieces through this index (migration
        # 0018): by the key it would scan every location's rows of each piece, which grow
        # with the answers. Without the counts, so an upsert that only adds to them does not
        # write it; SQLite is told to use it (`rollups._by_touchpoint`), as without
        # statistics it prefers the key, which needs no look-up per row.
        *(
            [Index(f"ix_{name}_touchpoint", "period", "touchpoint_id", "starts_on")]
            if place
            else []
        ),
        sqlite_with_rowid=False,  # the key is the table: range reads need no row look-ups
    )


def _staff() -> Column[Any]:
    return Column("staff_id", String(64), nullable=False)  # '' when no staff member was named


def _weekday_hour() -> tuple[Column[Any], Column[Any]]:
    return Column("weekday", Integer, nullable=False), Column("hour", Integer, nullable=False)


rollups_location = _period_rollup("rollups_location")
rollups_staff = _period_rollup("rollups_staff", _staff())
rollups_weekday_hour = _period_rollup("rollups_weekday_hour", *_weekday_hour())
rollups_location_any = _period_rollup("rollups_location_any", touchpoint=False)
rollups_staff_any = _period_rollup("rollups_staff_any", _staff(), touchpoint=False)
rollups_weekday_hour_any = _period_rollup(
    "rollups_weekday_hour_any", *_weekday_hour(), touchpoint=False
)

# The count of each answer value 0..10 per store-local day (migration 0019), one row per
# location, day, touchpoint, burst flag, kind and scale: `rollups_location`'s days
# (server/store/day_parts.py). Migration 0021 dropped the headline parts it also held (n,
# happy, unhappy, value total): readers take them from the counts.
DAY_PARTS_KEY = ("local_date", "location_id", "touchpoint_id", "burst", "kind", "scale")
DAY_PARTS_VALUES = tuple(range(11))  # answer values are 0..10 (the API rejects others)
DAY_PARTS_SUMS = tuple(f"c{v}" for v in DAY_PARTS_VALUES)

rollups_day_parts = Table(
    "rollups_day_parts",
    metadata,
    Column("local_date", Date, nullable=False),
    Column("location_id", String(64), nullable=False),
    Column("touchpoint_id", String(64), nullable=False),  # '' when at no touchpoint
    Column("burst", Boolean, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("scale", Integer, nullable=False),
    *(Column(name, BigInteger, nullable=False) for name in DAY_PARTS_SUMS),
    # Day first, then location: a read of a range grouped per location-day takes the rows in
    # the key's order, with no sort.
    PrimaryKeyConstraint(*DAY_PARTS_KEY, name="pk_rollups_day_parts"),
    # The day pieces of a report narrowed to touchpoints (`rollups_location` keeps no days:
    # they are these rows) go through this index, as the period tables' do (migration 0020).
    Index("ix_rollups_day_parts_touchpoint", "touchpoint_id", "local_date"),
    sqlite_with_rowid=False,
)

# The count of each answer value 0..10 at each store-local hour of a day (migration 0022), one
# row per day, location, touchpoint, burst flag, kind and scale: `rollups_weekday_hour`'s days
# (server/store/day_hours.py), and `…_any` the same summed over the touchpoints. A row holds
# every hour's counts, so a range's partial months read one row per location and day however
# many of its hours were answered: as hour rows they grew with the answers until every hour
# of every day was filled (~11,000 rows at 100k answers a year, 25,200 at 10M).
DAY_HOURS_KEY = ("local_date", "location_id", "touchpoint_id", "burst", "kind", "scale")
#: Hours × answer values, packed hour by hour: the count of value v at hour h is cell
#: 11 h + v, a 32-bit integer (SQLite: little-endian in a blob; PostgreSQL: an integer[]).
DAY_HOURS_CELLS = 24 * 11
DayHourCounts = LargeBinary().with_variant(postgresql.ARRAY(Integer), "postgresql")


def _day_hours(name: str, touchpoint: bool = True) -> Table:
    place = [Column("touchpoint_id", String(64), nullable=False)] if touchpoint else []
    key = [name for name in DAY_HOURS_KEY if touchpoint or name != "touchpoint_id"]
    return Table(
        name,
        metadata,
        Column("local_date", Date, nullable=False),
        Column("location_id", String(64), nullable=False),
        *place,  # '' when at no touchpoint
        Column("burst", Boolean, nullable=False),
        Column("kind", String(16), nullable=False),
        Column("scale", Integer, nullable=False),
        Column("counts", DayHourCounts, nullable=False),
        PrimaryKeyConstraint(*key, name=f"pk_{name}"),
        # Narrowed to touchpoints, a report reads its days through this index, as the period
        # tables' (`rollups._by_touchpoint`).
        *([Index(f"ix_{name}_touchpoint", "touchpoint_id", "local_date")] if touchpoint else []),
        # With a rowid (unlike the other rollups): a row is ~1.1 kB, more than a WITHOUT ROWID
        # table keeps on its b-tree page (~1 kB), which would give each row an overflow page.
    )


rollups_day_hours = _day_hours("rollups_day_hours")
rollups_day_hours_any = _day_hours("rollups_day_hours_any", touchpoint=False)

# Dashboard users (migration 0003_dashboard_users).

users = Table(
    "users",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("email", String(254), nullable=False, unique=True),  # stored lower-case
    Column("password_hash", String(200), nullable=False),  # argon2id
    Column("role", String(16), nullable=False),
    Column("session_version", Integer, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", Ts, nullable=False),
    Column("password_changed_at", Ts, nullable=False),
    # Two-step sign-in (migration 0016): the confirmed TOTP secret (NULL: off) and the last
    # time step a code was accepted for, so one code cannot be used twice.
    Column("totp_secret", String(64), nullable=True),
    Column("totp_last_step", BigInteger, nullable=True),
    # The e-mailed digest (migration 0017): daily, weekly, monthly or none; delivered at
    # digest_time (HH:MM) on the clock of the user's first location; numbers and dates
    # formatted for digest_locale (a Babel locale such as en_GB or de_DE).
    Column("digest_period", String(8), nullable=False, server_default="weekly"),
    Column("digest_time", String(5), nullable=False, server_default="07:00"),
    Column("digest_locale", String(16), nullable=False, server_default="en"),
)

recovery_codes = Table(
    "recovery_codes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", String(64), ForeignKey("users.id"), nullable=False),
    Column("code_hash", String(200), nullable=False),  # argon2id, like passwords
    Column("used_at", Ts, nullable=True),
    Index("ix_recovery_codes_user_id", "user_id"),
)

# One row per digest sent by the schedule (migration 0017): the key names the period
# (weekly:2026-11-30), so a restart or a second process never sends it again.
digests_sent = Table(
    "digests_sent",
    metadata,
    Column("user_id", String(64), ForeignKey("users.id"), nullable=False),
    Column("period_key", String(32), nullable=False),
    Column("sent_at", Ts, nullable=False),
    PrimaryKeyConstraint("user_id", "period_key"),
)

user_locations = Table(
    "user_locations",
    metadata,
    Column("user_id", String(64), ForeignKey("users.id"), nullable=False),
    Column("location_id", String(64), ForeignKey("locations.id"), nullable=False),
    PrimaryKeyConstraint("user_id", "location_id"),
)

login_failures = Table(
    "login_failures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("email", String(254), nullable=False),
    Column("address", String(64), nullable=False),
    Column("at", Ts, nullable=False),
    Index("ix_login_failures_email_at", "email", "at"),
    Index("ix_login_failures_address_at", "address", "at"),
)

job_leases = Table(
    "job_leases",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("holder", String(200), nullable=False),
    Column("expires_at", Ts, nullable=False),
)

# Alert mutes (migration 0006): while one holds, episodes of its location (and rule, or every
# rule when `rule` is NULL) are recorded and shown but not mailed or posted to the webhook.

alert_mutes = Table(
    "alert_mutes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("location_id", String(64), ForeignKey("locations.id"), nullable=False),
    Column("rule", String(32), nullable=True),  # surge | drop | silent; NULL: every rule
    Column("muted_at", Ts, nullable=False),
    Column("muted_until", Ts, nullable=False),
    Column("muted_by", String(64), ForeignKey("users.id"), nullable=False),
    Column("lifted_at", Ts, nullable=True),  # lifted early by hand
    Column("lifted_by", String(64), ForeignKey("users.id"), nullable=True),
    Index("ix_alert_mutes_location_until", "location_id", "muted_until"),
)

# Alert episodes (migration 0004): one row per episode; at most one open per (location, rule,
# subject), so a condition that holds for hours notifies once.

alerts = Table(
    "alerts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("location_id", String(64), ForeignKey("locations.id"), nullable=False),
    Column("rule", String(32), nullable=False),  # surge | drop | silent
    Column("subject", String(64), nullable=False),  # question id, device id or ''
    Column("severity", String(16), nullable=False),  # warning | critical
    Column("state", String(16), nullable=False),  # open | closed
    Column("message", Text, nullable=False),
    Column("opened_at", Ts, nullable=False),
    Column("closed_at", Ts, nullable=True),
    Column("notified_at", Ts, nullable=True),
    # Migration 0006: who acknowledged the episode, and the mute that held its notice back.
    Column("acknowledged_at", Ts, nullable=True),
    Column("acknowledged_by", String(64), ForeignKey("users.id"), nullable=True),
    Column("muted_by", Integer, ForeignKey("alert_mutes.id"), nullable=True),
    # Migration 0008: channels ("mail,webhook") whose delivery failed and is retried at
    # `retry_at`, and how many tries the notification has had.
    Column("pending_channels", String(32), nullable=True),
    Column("delivery_attempts", Integer, nullable=False, server_default="0"),
    Column("retry_at", Ts, nullable=True),
    # Migration 0015: closed by hand (with a note) rather than by its rule ending.
    Column("closed_by", String(64), ForeignKey("users.id"), nullable=True),
    Column("close_note", Text, nullable=True),
    Index("ix_alerts_state_location", "state", "location_id"),
    Index("ix_alerts_opened_at", "opened_at"),
    Index("ix_alerts_retry_at", "retry_at"),
)

# Alert destinations (migration 0013): where alerts are posted besides mail and the location's
# webhook — a signed generic webhook, Slack or Microsoft Teams — for every location or the
# chosen ones. The delivery log has one row per try (test messages have no alert); a failed
# try's row holds `retry_at` until the next try is made, so the log is also the retry queue.

alert_destinations = Table(
    "alert_destinations",
    metadata,
    Column("id", String(64), primary_key=True),  # dst_…
    Column("name", String(200), nullable=False),
    Column("kind", String(16), nullable=False),  # webhook | slack | teams
    Column("url", String(1000), nullable=False),
    # The generic webhook's HMAC key, in clear: signing needs the key itself (docs/admin-guide.md
    # "Integrations"). NULL for Slack and Teams, whose URL is the secret.
    Column("secret", String(128), nullable=True),
    Column("all_locations", Boolean, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("created_at", Ts, nullable=False),
    Column("created_by", String(254), nullable=False),  # the admin's e-mail
)

alert_destination_locations = Table(
    "alert_destination_locations",
    metadata,
    Column(
        "destination_id",
        String(64),
        ForeignKey("alert_destinations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("location_id", String(64), ForeignKey("locations.id"), nullable=False),
    PrimaryKeyConstraint("destination_id", "location_id", name="pk_alert_destination_locations"),
)

alert_deliveries = Table(
    "alert_deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "destination_id",
        String(64),
        ForeignKey("alert_destinations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("alert_id", Integer, ForeignKey("alerts.id"), nullable=True),  # NULL: a test message
    Column("attempt", Integer, nullable=False),  # 1 for the first try of an alert
    Column("sent_at", Ts, nullable=False),
    Column("status_code", Integer, nullable=True),  # NULL: no HTTP answer (refused, timeout …)
    Column("error", String(500), nullable=True),  # NULL: delivered
    Column("retry_at", Ts, nullable=True),  # the next try is due then; NULL: none (any more)
    Index("ix_alert_deliveries_destination_sent", "destination_id", "sent_at"),
    Index("ix_alert_deliveries_retry_at", "retry_at"),
)

# Business results (migration 0011): daily KPIs per location, every import that changed
# them (who, when, how) with each row's values before and after, and a compact contact history
# for coverage.

kpis = Table(
    "kpis",
    metadata,
    Column("location_id", String(64), ForeignKey("locations.id"), nullable=False),
    Column("date", Date, nullable=False),  # the store-local business day
    Column("visitors", BigInteger, nullable=True),
    Column("transactions", BigInteger, nullable=True),
    # Hundredths of the chain's currency (SMILETAP_CURRENCY): exact sums, no float drift.
    Column("revenue_cents", BigInteger, nullable=True),
    Column("staff_hours", Float, nullable=True),
    Column("import_id", Integer, ForeignKey("kpi_imports.id"), nullable=False),
    Column("updated_at", Ts, nullable=False),
    PrimaryKeyConstraint("location_id", "date", name="pk_kpis"),
)

kpi_imports = Table(
    "kpi_imports",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(16), nullable=False),  # api | cli | dashboard
    Column("actor", String(254), nullable=False),  # API key id, user e-mail or cli:<os user>
    Column("at", Ts, nullable=False),
    Column("stored", Integer, nullable=False),
    Column("unchanged", Integer, nullable=False),
    Column("rejected", Integer, nullable=False),
    Index("ix_kpi_imports_at", "at"),
)

kpi_changes = Table(
    "kpi_changes",
    metadata,
    Column("import_id", Integer, ForeignKey("kpi_imports.id"), nullable=False),
    Column("location_id", String(64), nullable=False),
    Column("date", Date, nullable=False),
    Column("before", Text, nullable=True),  # JSON of the four values; NULL: no row before
    Column("after", Text, nullable=False),
    PrimaryKeyConstraint("import_id", "location_id", "date", name="pk_kpi_changes"),
    Index("ix_kpi_changes_location_date", "location_id", "date"),
)

# One row per device and UTC hour it was in contact: bit m of `minutes` is set when it called
# in minute m of that hour. The location (and touchpoint) are those of the call, so a device
# moved later leaves its history where it was. Location first: coverage reads a location's
# hours over a period.
contact_minutes = Table(
    "contact_minutes",
    metadata,
    Column("location_id", String(64), nullable=False),
    Column("hour", Ts, nullable=False),  # the UTC hour's start
    Column("device_id", String(64), nullable=False),
    Column("touchpoint_id", String(64), nullable=True),
    Column("minutes", BigInteger, nullable=False),  # a 60-bit set
    PrimaryKeyConstraint("location_id", "hour", "device_id", name="pk_contact_minutes"),
)

# Retention (migration 0014): how far each purge has reached. `kept_from` only moves forward;
# for "answers" it is the first store-local day whose raw answers are still stored, so the
# rollup check compares rollups with the answers from that day on and keeps the rest.
retention_marks = Table(
    "retention_marks",
    metadata,
    Column("name", String(32), primary_key=True),  # answers | comments
    Column("kept_from", Date, nullable=False),
    Column("purged_at", Ts, nullable=False),
)

# Migration 0014: how many submissions the purge deleted per location, touchpoint ('' for
# none), store-local day and burst flag, so "answers" per day (the KPI report's response rate)
# stays what it was once the raw rows are gone.
purged_submission_counts = Table(
    "purged_submission_counts",
    metadata,
    Column("location_id", String(64), nullable=False),
    Column("local_date", Date, nullable=False),
    Column("touchpoint_id", String(64), nullable=False),
    Column("burst", Boolean, nullable=False),
    Column("count", BigInteger, nullable=False),
    PrimaryKeyConstraint(
        "location_id", "local_date", "touchpoint_id", "burst", name="pk_purged_submission_counts"
    ),
)

# Following up what customers said (migration 0015). A submission qualifies when an answer
# has a comment or reasons (reasons come only with a low answer); with no row here it is open.
# The first action (assign, mark handled) makes its row, so ingest writes nothing more.
followups = Table(
    "followups",
    metadata,
    Column("submission_id", String(64), ForeignKey("submissions.id"), nullable=False),
    Column("location_id", String(64), ForeignKey("locations.id"), nullable=False),
    Column("status", String(16), nullable=False),  # assigned | handled (open: no row)
    Column("assignee_id", String(64), ForeignKey("users.id"), nullable=True),
    Column("assigned_by", String(64), ForeignKey("users.id"), nullable=True),
    Column("assigned_at", Ts, nullable=True),
    Column("note", Text, nullable=True),  # the handler's note
    Column("handled_by", String(64), ForeignKey("users.id"), nullable=True),
    Column("handled_at", Ts, nullable=True),
    Column("said_at", Ts, nullable=False),  # the submission's effective_at: time to handle
    Column("created_at", Ts, nullable=False),
    PrimaryKeyConstraint("submission_id", name="pk_followups"),
    Index("ix_followups_location_handled", "location_id", "handled_at"),
    Index("ix_followups_assignee", "assignee_id"),
)

#: Tables in an order that deletes children before parents.
DELETE_ORDER = list(reversed(metadata.sorted_tables))
