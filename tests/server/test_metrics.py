"""GET /metrics: off unless SMILETAP_METRICS, only for SMILETAP_METRICS_ALLOW, parsed with
prometheus_client's own parser — in process, and from two gunicorn workers."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from prometheus_client.parser import text_string_to_metric_families

from server.app import create_app
from server.db import dispose_engine
from server.settings import override
from tests.server.conftest import Cli, Kiosk, Smiletap, now_rfc3339

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "deploy" / "dev"))

from harness import GunicornProcess  # noqa: E402


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape by (name, sorted labels)."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(scraped: dict[Any, float], name: str, **labels: str) -> float:
    return scraped.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def metrics_app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "INSTANCE_PATH": str(tmp_path),
            "METRICS": True,
        }
    )
    yield app
    dispose_engine(app)


def _heartbeat(kiosk: Kiosk, backlog: int, oldest: str | None) -> None:
    body = {
        "sent_at": now_rfc3339(),
        "app_version": "1.0.0",
        "backlog": backlog,
        "oldest_pending_at": oldest,
        "rejected_count": 0,
        "last_error": None,
        "config_etag": "x",
    }
    assert kiosk.post("/api/v1/heartbeat", json=body).status_code == 200


def test_metrics_are_off_by_default(client) -> None:
    assert client.get("/metrics").status_code == 404


def test_metrics_only_for_allowed_addresses(metrics_app: Flask) -> None:
    client = metrics_app.test_client()
    assert client.get("/metrics").status_code == 200  # 127.0.0.1 by default
    outside = {"REMOTE_ADDR": "10.1.2.3"}
    assert client.get("/metrics", environ_base=outside).status_code == 404
    override(metrics_app, metrics_allow="10.0.0.0/8")
    assert client.get("/metrics", environ_base=outside).status_code == 200
    assert client.get("/metrics").status_code == 404


def test_a_bad_allow_list_is_refused_at_start(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="METRICS_ALLOW"):
        create_app({"INSTANCE_PATH": str(tmp_path), "METRICS_ALLOW": "10.0.0.0/33"})


def test_requests_submissions_and_fleet_gauges(metrics_app: Flask, runner: Cli, tmp_path) -> None:
    smiletap = Smiletap(metrics_app.test_client(), runner, tmp_path)
    kiosk = smiletap.setup()
    before = samples(smiletap.client.get("/metrics").get_data(as_text=True))
    etag = kiosk.get("/api/v1/config").json["etag"]
    for _ in range(3):
        kiosk.get("/api/v1/config", headers={"If-None-Match": f'"{etag}"'})
    kiosk.submit([kiosk.item(5), kiosk.item(9), kiosk.item(4, location_id="loc_elsewhere")])
    _heartbeat(kiosk, 7, "2026-11-30T10:00:00Z")
    smiletap.device(kiosk.location_id, "Not yet enrolled")
    after = samples(smiletap.client.get("/metrics").get_data(as_text=True))

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    config = {"endpoint": "/api/v1/config", "method": "GET"}
    assert grew("smiletap_http_requests_total", **config, status="304") == 3
    assert grew("smiletap_http_requests_total", **config, status="200") == 1
    assert grew("smiletap_http_request_duration_seconds_count", **config, status="304") == 3
    assert grew("smiletap_submissions_total", result="accepted", reason="") == 1
    assert grew("smiletap_submissions_total", result="rejected", reason="value_out_of_range") == 1
    assert grew("smiletap_submissions_total", result="rejected", reason="location_mismatch") == 1
    assert value(after, "smiletap_devices", state="ok") == 1
    assert value(after, "smiletap_devices", state="not enrolled") == 1
    assert value(after, "smiletap_devices_backlog_taps") == 7
    assert value(after, "smiletap_oldest_pending_tap_age_seconds") > 3600


@pytest.mark.e2e  # real gunicorn workers
def test_two_gunicorn_workers_are_summed(tmp_path: Path, smiletap: Smiletap) -> None:
    """Whichever worker answers the scrape, it counts the requests both workers served."""
    database_url = smiletap.cli.env["SMILETAP_DATABASE_URL"]
    kiosk = smiletap.setup()
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    server = GunicornProcess(tmp_path / "gunicorn", database_url, workers=2)
    server.env.update({"SMILETAP_METRICS": "true", "GUNICORN_THREADS": "1"})
    server.start()
    try:
        url = server.url + "/api/v1/config"
        sent = 40

        def pull(count: int) -> None:
            with requests.Session() as session:
                for _ in range(count):
                    answer = session.get(url, headers=kiosk.headers, timeout=30)
                    assert answer.status_code == 200

        # One thread per worker thread and more: with one thread each, both workers must serve.
        threads = [threading.Thread(target=pull, args=(sent // 4,)) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        totals = set()
        for _ in range(6):
            scraped = samples(requests.get(server.url + "/metrics", timeout=30).text)
            totals.add(
                value(
                    scraped,
                    "smiletap_http_requests_total",
                    endpoint="/api/v1/config",
                    method="GET",
                    status="200",
                )
            )
    finally:
        server.stop()
    assert totals == {sent}


def test_grafana_example_uses_only_metrics_the_server_serves(metrics_app: Flask) -> None:
    import json
    import re

    dashboard = json.loads((ROOT / "deploy" / "grafana-dashboard.json").read_text())
    served = {
        family.name
        for family in text_string_to_metric_families(
            metrics_app.test_client().get("/metrics").get_data(as_text=True)
        )
    }
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    used = {name for e in exprs for name in re.findall(r"smiletap_[a-z_]+", e)}
    suffixes = ("_total", "_bucket", "_count", "_sum")
    bare = {next((u[: -len(s)] for s in suffixes if u.endswith(s)), u) for u in used}
    assert bare <= served, bare - served
