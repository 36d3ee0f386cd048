"""`smiletap-server`: migrate, serve, and manage locations, surveys, staff, devices and keys.

Every command takes `--json` to print one JSON object instead of a plain line. Problems are
one clear line on stderr and a non-zero exit (`click.ClickException`), never a traceback.
"""

from __future__ import annotations

import getpass
import json
import smtplib
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
from flask import Flask
from pydantic import ValidationError
from sqlalchemy import Connection
from sqlalchemy.exc import OperationalError

from server import digests, kpis, logs, migrations, passwords, retention, settings
from server.app import create_app, freeze_startup_objects
from server.db import dispose_engine, get_engine, use_private_umask
from server.digests import periods as digest_periods
from server.errors import from_validation_error
from server.settings import SettingsError
from server.store import (
    api_keys,
    devices,
    locations,
    pending_rollups,
    rollups,
    staff,
    surveys,
    touchpoints,
    two_step,
    users,
)
from shared.clock import is_valid_timezone, to_rfc3339
from shared.names import BadNameError, first_control_character, single_line_name
from shared.survey import STRICT_KEYS, SurveyDefinition

json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")


@contextmanager
def _command_app() -> Iterator[Flask]:
    """The app a command works on: one made from the environment and closed afterwards, or
    the caller's own, left open (tests run commands against theirs: `invoke(..., obj=app)`)."""
    given = click.get_current_context().obj
    if isinstance(given, Flask):
        yield given
        return
    try:
        app = create_app()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        yield app
    finally:
        dispose_engine(app)


@contextmanager
def _transaction() -> Iterator[Connection]:
    """A connection in one transaction on the configured database, closed afterwards."""
    with _command_app() as app:
        try:
            with app.app_context(), get_engine(app).begin() as conn:
                yield conn
        except OperationalError as exc:
            hint = " (run `smiletap-server migrate` first?)" if "no such table" in str(exc) else ""
            raise click.ClickException(f"database error: {exc.orig}{hint}") from None


def _emit(as_json: bool, data: dict[str, Any], line: str) -> None:
    click.echo(json.dumps(data) if as_json else line)


def _read_survey(path: str) -> SurveyDefinition:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"--file: cannot read {path}: {exc}") from None
    try:
        return SurveyDefinition.model_validate_json(text, context=STRICT_KEYS)
    except ValidationError as exc:
        problem = from_validation_error(exc)
        where = problem.field or "survey"
        raise click.ClickException(f"{path}: {where}: {_first_message(exc)}") from None


def _first_message(exc: ValidationError) -> str:
    return exc.errors(include_url=False)[0]["msg"]


def _single_line_name(name: str, option: str = "--name") -> str:
    """The trimmed name, or one clear line naming the option and what is wrong."""
    try:
        return single_line_name(name)
    except BadNameError as exc:
        raise click.ClickException(f"{option}: {exc}") from None


def _need_location(conn: Connection, location_id: str) -> None:
    if locations.get(conn, location_id) is None:
        raise click.ClickException(f"--location: no location {location_id!r}")


@click.group(name="smiletap-server")
def main() -> None:
    """Smiletap server: serve the API and manage its data."""
    use_private_umask()


@main.command()
@json_option
def migrate(as_json: bool) -> None:
    """Bring the database to the newest schema (safe to repeat)."""
    with _command_app() as app:
        try:
            engine = get_engine(app)
            migrations.upgrade(engine)
            revision = migrations.current_revision(engine)
        except OperationalError as exc:
            raise click.ClickException(f"database error: {exc.orig}") from None
    _emit(as_json, {"revision": revision}, f"database at revision {revision}")


def waitress_options(app: Flask) -> dict[str, Any]:
    """waitress's body limit and proxy trust, from the app's settings."""
    config = settings.of(app)
    # waitress refuses a body of max_request_body_size bytes and more, at once from the
    # Content-Length; Flask's limit admits MAX_CONTENT_LENGTH itself, hence the + 1.
    options: dict[str, Any] = {"max_request_body_size": config.max_content_length + 1}
    proxy = config.trusted_proxy.strip()
    if proxy:
        # X-Forwarded-* only from the proxy's own address; from anyone else waitress drops
        # them, so a client cannot pose as another address to the per-address limits.
        options.update(
            trusted_proxy=proxy,
            trusted_proxy_count=max(1, config.proxy_fix_x_for),
            trusted_proxy_headers={"x-forwarded-for", "x-forwarded-proto"},
            clear_untrusted_proxy_headers=True,
        )
    return options


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 256))
@json_option
def run(host: str, port: int, threads: int, as_json: bool) -> None:
    """Migrate, then serve the app with waitress."""
    import waitress

    with _command_app() as app:
        logs.configure_for(app)
        try:
            migrations.upgrade(get_engine(app))
        except OperationalError as exc:
            raise click.ClickException(f"database error: {exc.orig}") from None
        _emit(as_json, {"host": host, "port": port}, f"serving on http://{host}:{port}")
        freeze_startup_objects()
        waitress.serve(app, host=host, port=port, threads=threads, **waitress_options(app))


@main.command("create-location")
@click.option("--name", required=True)
@click.option("--timezone", required=True, help="IANA time zone, e.g. Europe/Warsaw.")
@json_option
def create_location(name: str, timezone: str, as_json: bool) -> None:
    """Create a location."""
    if not is_valid_timezone(timezone):
        raise click.ClickException(f"--timezone: {timezone!r} is not an IANA time zone")
    name = _single_line_name(name)
    with _transaction() as conn:
        location_id = locations.create(conn, name, timezone)
    _emit(as_json, {"id": location_id}, location_id)


@main.command("create-survey")
@click.option("--file", "path", required=True, type=click.Path(dir_okay=False))
@json_option
def create_survey(path: str, as_json: bool) -> None:
    """Create a survey from a JSON file (the /config survey without id and version)."""
    definition = _read_survey(path)
    with _transaction() as conn:
        survey_id, version = surveys.create(conn, definition)
    _emit(as_json, {"id": survey_id, "version": version}, f"{survey_id} version {version}")


@main.command("update-survey")
@click.argument("survey_id")
@click.option("--file", "path", required=True, type=click.Path(dir_okay=False))
@json_option
def update_survey(survey_id: str, path: str, as_json: bool) -> None:
    """Store the next version of a survey."""
    definition = _read_survey(path)
    with _transaction() as conn:
        version = surveys.add_version(conn, survey_id, definition)
        if version is None:
            raise click.ClickException(f"SURVEY_ID: no survey {survey_id!r}")
    _emit(as_json, {"id": survey_id, "version": version}, f"{survey_id} version {version}")


@main.command("assign-survey")
@click.option("--location", "location_id", required=True)
@click.option("--survey", "survey_id", required=True)
@json_option
def assign_survey(location_id: str, survey_id: str, as_json: bool) -> None:
    """Show a survey's newest version on the location's kiosks."""
    with _transaction() as conn:
        if not surveys.exists(conn, survey_id):
            raise click.ClickException(f"--survey: no survey {survey_id!r}")
        if not locations.assign_survey(conn, location_id, survey_id):
            raise click.ClickException(f"--location: no location {location_id!r}")
    data = {"location_id": location_id, "survey_id": survey_id}
    _emit(as_json, data, f"{location_id} shows {survey_id}")


@main.command("create-staff")
@click.option("--location", "location_id", required=True)
@click.option("--name", required=True)
@json_option
def create_staff(location_id: str, name: str, as_json: bool) -> None:
    """Add a staff member to a location."""
    name = _single_line_name(name)
    with _transaction() as conn:
        _need_location(conn, location_id)
        staff_id = staff.create(conn, location_id, name)
    _emit(as_json, {"id": staff_id}, staff_id)


def _code_answer(conn: Connection, device_id: str, as_json: bool) -> None:
    ttl = settings.current().enroll_code_ttl_h
    code, expires_at = devices.issue_code(conn, device_id, ttl)
    data = {"device_id": device_id, "code": code, "expires_at": to_rfc3339(expires_at)}
    _emit(as_json, data, f"{device_id} code {code} (expires {data['expires_at']})")


def _need_touchpoint_at(conn: Connection, touchpoint_id: str, location_id: str) -> None:
    touchpoint = touchpoints.get(conn, touchpoint_id)
    if touchpoint is None:
        raise click.ClickException(f"--touchpoint: no touchpoint {touchpoint_id!r}")
    if touchpoint["location_id"] != location_id:
        raise click.ClickException(
            f"--touchpoint: {touchpoint_id!r} is a touchpoint of another location"
            f" ({touchpoint['location_id']}), not of {location_id}"
        )


@main.command("create-touchpoint")
@click.option("--location", "location_id", required=True)
@click.option("--name", required=True)
@click.option("--kind", type=click.Choice(touchpoints.KINDS), help="What kind of place it is.")
@click.option("--survey", "survey_id", help="Its own survey (else the location's is shown).")
@json_option
def create_touchpoint(
    location_id: str, name: str, kind: str | None, survey_id: str | None, as_json: bool
) -> None:
    """Create a touchpoint (entrance, checkout …) of a location."""
    name = _single_line_name(name)
    with _transaction() as conn:
        _need_location(conn, location_id)
        if survey_id is not None and not surveys.exists(conn, survey_id):
            raise click.ClickException(f"--survey: no survey {survey_id!r}")
        touchpoint_id = touchpoints.create(conn, location_id, name, kind, survey_id)
    _emit(as_json, {"id": touchpoint_id}, touchpoint_id)


@main.command("create-device")
@click.option("--location", "location_id", required=True)
@click.option("--name", required=True)
@click.option("--touchpoint", "touchpoint_id", help="A touchpoint of the location.")
@json_option
def create_device(location_id: str, name: str, touchpoint_id: str | None, as_json: bool) -> None:
    """Create a device and a one-time enrollment code for it."""
    name = _single_line_name(name)
    with _transaction() as conn:
        _need_location(conn, location_id)
        if touchpoint_id is not None:
            _need_touchpoint_at(conn, touchpoint_id, location_id)
        device_id = devices.create(conn, location_id, name, touchpoint_id)
        _code_answer(conn, device_id, as_json)


@main.command("new-enroll-code")
@click.argument("device_id")
@json_option
def new_enroll_code(device_id: str, as_json: bool) -> None:
    """Make a fresh one-time code for an existing device (e.g. after revoking it)."""
    with _transaction() as conn:
        if devices.get(conn, device_id) is None:
            raise click.ClickException(f"DEVICE_ID: no device {device_id!r}")
        _code_answer(conn, device_id, as_json)


@main.command("create-api-key")
@click.option("--role", required=True, type=click.Choice(api_keys.ROLES))
@click.option("--location", "location_ids", multiple=True, help="Repeat for each location.")
@json_option
def create_api_key(role: str, location_ids: tuple[str, ...], as_json: bool) -> None:
    """Create a reports API key; a manager key needs at least one --location."""
    if role == "manager" and not location_ids:
        raise click.ClickException("--location: a manager key needs at least one location")
    with _transaction() as conn:
        for location_id in location_ids:
            _need_location(conn, location_id)
        key_id, key = api_keys.create(conn, role, list(location_ids))
    _emit(as_json, {"id": key_id, "key": key, "role": role}, key)


@main.command("revoke-device")
@click.argument("device_id")
@json_option
def revoke_device(device_id: str, as_json: bool) -> None:
    """Revoke a device's token (effective on its next request) and its unused codes."""
    with _transaction() as conn:
        if not devices.revoke(conn, device_id):
            raise click.ClickException(f"DEVICE_ID: no device {device_id!r}")
    _emit(as_json, {"device_id": device_id, "revoked": True}, f"{device_id} revoked")


@main.command("reset-two-step")
@click.option("--email", required=True)
@json_option
def reset_two_step(email: str, as_json: bool) -> None:
    """Turn a user's two-step sign-in off (phone and recovery codes lost); sessions end."""
    with _transaction() as conn:
        found = users.credentials(conn, email)
        if found is None:
            raise click.ClickException(f"--email: no user {email!r}")
        two_step.turn_off(conn, found[0].id)
        users.end_sessions(conn, found[0].id)
    _emit(as_json, {"email": found[0].email, "two_step": False}, f"{found[0].email}: two-step off")


@main.command("move-device")
@click.argument("device_id")
@click.option("--location", "location_id", help="Another location (it leaves its touchpoint).")
@click.option("--touchpoint", "touchpoint_id", help="A touchpoint of its location, or none.")
@json_option
def move_device(
    device_id: str, location_id: str | None, touchpoint_id: str | None, as_json: bool
) -> None:
    """Move a device to another location or touchpoint (its kiosk follows at its next config
    fetch)."""
    if location_id is None and touchpoint_id is None:
        raise click.ClickException("--location or --touchpoint: say where the device goes")
    place = None if touchpoint_id in (None, "none") else touchpoint_id
    with _transaction() as conn:
        device = devices.get(conn, device_id)
        if device is None:
            raise click.ClickException(f"DEVICE_ID: no device {device_id!r}")
        if location_id is not None:
            _need_location(conn, location_id)
            devices.move(conn, device_id, location_id)
        target = location_id or device["location_id"]
        if place is not None:
            _need_touchpoint_at(conn, place, target)
        if touchpoint_id is not None:
            touchpoints.place_device(conn, device_id, place)
    data = {"device_id": device_id, "location_id": location_id or device["location_id"]}
    if touchpoint_id is not None:
        data["touchpoint_id"] = place
    where = location_id or device["location_id"]
    _emit(as_json, data, f"{device_id} moved to {where}" + (f" at {place}" if place else ""))


@main.command("rebuild-rollups")
@json_option
def rebuild_rollups(as_json: bool) -> None:
    """Recompute every rollup, hourly and per period, from the stored answers in one transaction."""
    with _transaction() as conn:
        count = rollups.rebuild(conn)
    _emit(as_json, {"rows": count}, f"{count} rollup rows")


@main.command("fold-rollups")
@json_option
def fold_rollups(as_json: bool) -> None:
    """Count the uploads still pending in the rollups (readers and uploads fold on their own;
    before a downgrade past migration 0023 nothing may be pending)."""
    with _transaction() as conn:
        count = pending_rollups.fold(conn)
    _emit(as_json, {"answers": count}, f"{count} answers counted")


@main.command()
@click.option("--dry-run", is_flag=True, help="Count what would go; change nothing.")
@json_option
def purge(dry_run: bool, as_json: bool) -> None:
    """Purge comments and raw answers past their retention (what the scheduled job does)."""
    with _command_app() as app:
        try:
            report = retention.purge(get_engine(app), settings.of(app), dry_run=dry_run)
        except OperationalError as exc:
            raise click.ClickException(f"database error: {exc.orig}") from None
    verb = "would purge" if dry_run else "purged"
    line = (
        f"{verb} {report.submissions} submissions ({report.answers} answers) before"
        f" {report.answers_kept_from or 'never'}, {report.comments} comments before"
        f" {report.comments_kept_from or 'never'}, {report.id_conflicts} id conflicts"
    )
    _emit(as_json, report.as_json(), line)


@main.command("erase-location")
@click.argument("location_id")
@click.option("--yes", is_flag=True, help="Really erase (without it: list what would go).")
@json_option
def erase_location(location_id: str, yes: bool, as_json: bool) -> None:
    """Erase everything stored of one location: answers, comments, rollups, devices, staff,
    touchpoints, alerts, KPIs and the location itself. Without --yes, only count it."""
    with _command_app() as app:
        try:
            rows = retention.erase_location(get_engine(app), location_id, dry_run=not yes)
        except retention.CannotEraseError as exc:
            raise click.ClickException(f"LOCATION_ID: {exc}") from None
        except OperationalError as exc:
            raise click.ClickException(f"database error: {exc.orig}") from None
    listed = ", ".join(f"{n} {table}" for table, n in sorted(rows.items()))
    line = (
        f"erased {location_id}: {listed}"
        if yes
        else (f"would erase {location_id}: {listed} (add --yes to erase)")
    )
    _emit(as_json, {"location_id": location_id, "erased": yes, "rows": rows}, line)


@main.command("import-kpis")
@click.option("--file", "path", required=True, type=click.Path(dir_okay=False))
@json_option
def import_kpis(path: str, as_json: bool) -> None:
    """Import daily KPIs from a CSV file (location_id, date, visitors, transactions, revenue,
    staff_hours); the same file again changes nothing."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(kpis.MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise click.ClickException(f"--file: cannot read {path}: {exc}") from None
    try:
        lines = kpis.read_csv(data)
    except kpis.BadFileError as exc:
        raise click.ClickException(f"{path}: {exc}") from None
    with _transaction() as conn:
        summary = kpis.apply_rows(
            conn, (item.row for item in lines), lambda _: True, "cli", f"cli:{getpass.getuser()}"
        )
    rejected = [
        {"line": item.line, "reason": o.reason, "field": o.field, "message": o.message}
        for item, o in zip(lines, summary.outcomes, strict=True)
        if o.status == "rejected"
    ]
    stored, unchanged = summary.count("stored"), summary.count("unchanged")
    data_out = {"stored": stored, "unchanged": unchanged, "rejected": rejected}
    text = [f"{stored} stored, {unchanged} unchanged, {len(rejected)} rejected"]
    text += [f"line {r['line']}: {r['field'] or 'row'}: {r['message']}" for r in rejected]
    _emit(as_json, data_out, "\n".join(text))


def _new_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        passwords.check_new_password(password)
    except passwords.WeakPasswordError as exc:
        raise click.ClickException(f"password: {exc}") from None
    return password


@main.command("create-user")
@click.option("--email", required=True)
@click.option("--role", required=True, type=click.Choice(users.ROLES))
@click.option("--location", "location_ids", multiple=True, help="Repeat for each location.")
@click.option("--password-stdin", is_flag=True, help="Read the password from one stdin line.")
@json_option
def create_user(
    email: str, role: str, location_ids: tuple[str, ...], password_stdin: bool, as_json: bool
) -> None:
    """Create a dashboard user; a manager needs at least one --location."""
    if "@" not in email or len(email) > 254 or first_control_character(email):
        raise click.ClickException("--email: not an e-mail address")
    if role == "manager" and not location_ids:
        raise click.ClickException("--location: a manager needs at least one location")
    password = _new_password(password_stdin)
    with _transaction() as conn:
        memory_kib = settings.current().password_hash_memory_kib
        password_hash = passwords.hash_password(password, memory_kib)
        for location_id in location_ids:
            _need_location(conn, location_id)
        try:
            user_id = users.create(conn, email, password_hash, role, list(location_ids))
        except users.DuplicateEmailError:
            raise click.ClickException(f"--email: a user {email!r} exists already") from None
    _emit(as_json, {"id": user_id}, user_id)


@main.command("send-digest")
@click.option("--email", required=True, help="The dashboard user to mail.")
@click.option("--period", "kind", type=click.Choice(digest_periods.KINDS), default=None)
@json_option
def send_digest(email: str, kind: str | None, as_json: bool) -> None:
    """Mail a user's digest now, whatever its schedule (default: the period they chose)."""
    with _command_app() as app, app.app_context():
        engine = get_engine(app)
        with engine.begin() as conn:
            found = users.credentials(conn, email)
        if found is None:
            raise click.ClickException(f"--email: no dashboard user {email!r}")
        user = found[0]
        try:
            digest = digests.send_now(engine, settings.of(app), user, kind)
        except (OSError, smtplib.SMTPException, RuntimeError) as exc:
            raise click.ClickException(f"digest not sent: {exc}") from None
    subject = digest.written.subject
    data = {"sent": True, "to": user.email, "subject": subject}
    _emit(as_json, data, f"sent {subject!r} to {user.email}")
