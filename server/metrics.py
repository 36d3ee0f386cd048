"""Prometheus metrics at GET /metrics (PROTOCOL.md, "Operations"), with prometheus_client.

Served only when `SMILETAP_METRICS` is true, and only to client addresses in
`SMILETAP_METRICS_ALLOW`; anyone else gets 404, as for a page that does not exist.

Counters and histograms are the process's; under gunicorn, `PROMETHEUS_MULTIPROC_DIR` (set by
deploy/server/gunicorn.conf.py before any worker imports this module) puts prometheus_client
in multiprocess mode, so every worker's values are summed whichever worker answers the scrape.
The fleet gauges (devices by health, backlog, oldest pending tap) are read from the database
at each scrape, so they are the same from every process.
"""

from __future__ import annotations

import collections
import ipaddress
import operator
import os
import time
from collections.abc import Iterator
from functools import cache
from typing import Any

from flask import Blueprint, Flask, Response, abort, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from server import settings as app_settings
from server.db import get_db, reading
from server.device_health import device_state  # the one health rule
from server.store import as_utc, devices, locations
from shared.clock import utcnow

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

REQUESTS = Counter(
    "smiletap_http_requests",
    "HTTP requests answered, by route, method and status",
    ["endpoint", "method", "status"],
)
LATENCY = Histogram(
    "smiletap_http_request_duration_seconds",
    "Time from the request reaching the app to its answer, by route, method and status",
    ["endpoint", "method", "status"],
)
SUBMISSIONS = Counter(
    "smiletap_submissions",
    "Submissions received on the device API, by result (accepted, duplicate, rejected) and "
    "rejection reason",
    ["result", "reason"],
)
JOB_RUNS = Counter("smiletap_job_runs", "Scheduled job runs in this process", ["job"])
JOB_FAILURES = Counter("smiletap_job_failures", "Scheduled job runs that raised an error", ["job"])
ALERTS_SENT = Counter(
    "smiletap_alerts_sent", "Alert notifications delivered, by channel", ["channel"]
)
ALERT_FAILURES = Counter(
    "smiletap_alert_delivery_failures", "Alert notifications that failed, by channel", ["channel"]
)
DIGESTS_SENT = Counter("smiletap_digests_sent", "E-mailed digests sent by the schedule")
DIGEST_FAILURES = Counter(
    "smiletap_digest_delivery_failures", "Scheduled digests that failed (tried again later)"
)

bp = Blueprint("metrics", __name__)


_STATUS_AND_REASON = operator.attrgetter("status", "reason")


def count_submissions(results: list[Any]) -> None:
    """Count one batch's results (`ingest.ItemResult`s)."""
    # (status, reason) pairs counted in C; one label look-up per kind, not per item.
    counted = collections.Counter(map(_STATUS_AND_REASON, results))
    for (status, reason), n in counted.items():
        SUBMISSIONS.labels(result=status, reason=reason or "").inc(n)


class FleetCollector(Collector):
    """Fleet gauges read from the database at scrape time."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        settings = app_settings.current()
        conn = get_db()
        with reading(conn):
            rows = devices.listing(conn, None)
            places = {p["id"]: p for p in locations.all_locations(conn)}
        now = utcnow()
        states: dict[str, int] = {
            s: 0 for s in ("ok", "warning", "critical", "not enrolled", "revoked")
        }
        backlog = 0
        oldest = None
        for row in rows:
            state = device_state(
                row,
                now,
                settings.device_warning_silent_s,
                settings.device_critical_silent_s,
                places.get(row["location_id"]),
            )
            states[state] = states.get(state, 0) + 1
            if row["revoked_at"] is None:
                backlog += row["backlog"] or 0
                pending = as_utc(row["oldest_pending_at"])
                if pending is not None and (row["backlog"] or 0) > 0:
                    oldest = pending if oldest is None else min(oldest, pending)
        by_state = GaugeMetricFamily(
            "smiletap_devices", "Devices by health state", labels=["state"]
        )
        for state, count in sorted(states.items()):
            by_state.add_metric([state], count)
        yield by_state
        yield GaugeMetricFamily(
            "smiletap_devices_backlog_taps",
            "Taps the kiosks last reported as not yet delivered, summed",
            value=backlog,
        )
        age = 0.0 if oldest is None else max(0.0, (now - oldest).total_seconds())
        yield GaugeMetricFamily(
            "smiletap_oldest_pending_tap_age_seconds",
            "Age of the oldest tap any kiosk reports as not yet delivered (0: none pending)",
            value=age,
        )


@cache
def allowed_networks(allow: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """The networks of a METRICS_ALLOW value (addresses or CIDR ranges, comma-separated)."""
    return tuple(
        ipaddress.ip_network(part.strip(), strict=False)
        for part in allow.split(",")
        if part.strip()
    )


def is_allowed(address: str | None, allow: str) -> bool:
    """Whether a client address lies in one of the allowed networks."""
    if not address:
        return False
    try:
        client = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(client, ipaddress.IPv6Address) and client.ipv4_mapped is not None:
        client = client.ipv4_mapped
    return any(client in network for network in allowed_networks(allow))


@bp.get("/metrics")
def metrics() -> Response:
    """The Prometheus text format, or 404 when metrics are off or the client not allowed."""
    settings = app_settings.current()
    if not settings.metrics or not is_allowed(request.remote_addr, settings.metrics_allow):
        abort(404)
    if os.environ.get(MULTIPROC_ENV):
        process = CollectorRegistry()
        MultiProcessCollector(process)  # type: ignore[no-untyped-call]
    else:
        process = REGISTRY
    fleet = CollectorRegistry()
    fleet.register(FleetCollector())
    body = generate_latest(process) + generate_latest(fleet)
    return Response(
        body, mimetype=CONTENT_TYPE_LATEST.split(";")[0], content_type=CONTENT_TYPE_LATEST
    )


def _start_timer() -> None:
    g.metrics_started = time.perf_counter()


#: Each (endpoint, method, status)'s counter and histogram children, as `labels()` gives
#: them: prometheus_client keeps them for good too, but finding one through `labels()` (its
#: keyword checks, a lock) cost most of a request's metrics. Bounded like the label values.
_CHILDREN: dict[tuple[str, str, str], tuple[Any, Any]] = {}
_CHILDREN_MAX = 1024


def _observe(response: Response) -> Response:
    started = g.pop("metrics_started", None)
    rule = request.url_rule
    key = (
        rule.rule if rule is not None else "unmatched",
        request.method,
        str(response.status_code),
    )
    children = _CHILDREN.get(key)
    if children is None:
        if len(_CHILDREN) >= _CHILDREN_MAX:
            _CHILDREN.clear()
        labels = {"endpoint": key[0], "method": key[1], "status": key[2]}
        children = _CHILDREN[key] = (REQUESTS.labels(**labels), LATENCY.labels(**labels))
    children[0].inc()
    if started is not None:
        children[1].observe(time.perf_counter() - started)
    return response


def init_app(app: Flask) -> None:
    """Serve /metrics; count and time every request when metrics are on."""
    # Validate the allow-list at start: a typo is a clear error now, not a 500 at a scrape.
    try:
        allowed_networks(app_settings.of(app).metrics_allow)
    except ValueError as exc:
        raise app_settings.SettingsError(f"METRICS_ALLOW: {exc}") from exc
    app.register_blueprint(bp)
    if app_settings.of(app).metrics:
        app.before_request(_start_timer)
        app.after_request(_observe)
