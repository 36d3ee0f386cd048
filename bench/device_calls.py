"""CPU per device call in-process: the fleet mix's request kinds through the WSGI app.

    .venv/bin/python bench/device_calls.py [--rounds 2000] [--backend sqlite]
                                           [--backend postgresql] [--floor] [--profile KIND]
                                           [--code DIR]

No HTTP and no gunicorn: each request is a WSGI environ handed to the app (the way gunicorn
hands it), so what is measured is the app's own work per request, by this thread's CPU time
(`time.thread_time`, which the machine's other load moves least). Kinds: a config pull
answered 304, a steady heartbeat, a single-tap upload (bench/fleet_mix.lua's bodies), a dozen
enrolled kiosks taken in turn. Each kind runs `--rounds` times after a warm-up, in turns
with the others, and the median and the minimum of blocks of 50 are printed (µs per
request). `--floor` runs bench/floor_app.py's bare Flask app on the same requests beside it.
`--profile KIND` prints cProfile's top functions for that kind instead. `--code DIR` runs the
server code of another checkout (an older commit unpacked with `git archive`), for
before/after figures in one run of this bench.

PostgreSQL is a throwaway database on the local server (`SMILETAP_TEST_PG_URL`); PostgreSQL's
own CPU is printed apart: its backends' for that database (/proc/PID/schedstat) per request
of each kind, all blocks together. Prints figures; never passes or fails on time.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import os
import pstats
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from tests.pgdb import fresh_pg_database  # noqa: E402

SURVEY = ROOT / "deploy" / "examples" / "demo-survey.json"
DEVICES = 12
BLOCK = 50
KINDS = ("304", "heartbeat", "upload")

App = Callable[[dict[str, Any], Callable[..., Any]], Any]


def _start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
    _start_response.status = status  # type: ignore[attr-defined]


def call(app: App, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> str:
    """One request through the WSGI app, its body read to the end as a server would."""
    environ = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": "50000",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "HTTP_HOST": "127.0.0.1:8000",
    }
    if body:
        environ["CONTENT_LENGTH"] = str(len(body))
        environ["CONTENT_TYPE"] = "application/json"
    for name, value in headers.items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    answer = app(environ, _start_response)
    try:
        for _chunk in answer:
            pass
    finally:
        close = getattr(answer, "close", None)
        if close is not None:
            close()
    return _start_response.status  # type: ignore[attr-defined,no-any-return]


class Device:
    def __init__(self, token: str, etag: str, location: str, survey: str, version: int) -> None:
        self.token, self.etag = token, etag
        self.location, self.survey, self.version = location, survey, version


def requests_for(device: Device) -> dict[str, tuple[str, str, dict[str, str], Callable[[], bytes]]]:
    auth = {"Authorization": f"Bearer {device.token}"}

    def heartbeat() -> bytes:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return json.dumps(
            {
                "sent_at": now,
                "app_version": "1.0.0",
                "backlog": 0,
                "oldest_pending_at": None,
                "rejected_count": 0,
                "last_error": None,
                "config_etag": device.etag,
            }
        ).encode()

    def upload() -> bytes:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        item = {
            "id": str(uuid.uuid4()),
            "survey_id": device.survey,
            "survey_version": device.version,
            "location_id": device.location,
            "staff_id": None,
            "language": "en",
            "tapped_at": now,
            "answers": [{"question_id": "q1", "value": 4, "reasons": [], "comment": None}],
            "flags": [],
        }
        return json.dumps({"sent_at": now, "submissions": [item]}).encode()

    return {
        "304": (
            "GET",
            "/api/v1/config",
            {**auth, "If-None-Match": f'"{device.etag}"'},
            lambda: b"",
        ),
        "heartbeat": ("POST", "/api/v1/heartbeat", auth, heartbeat),
        "upload": ("POST", "/api/v1/submissions", auth, upload),
    }


EXPECTED = {"304": "304 NOT MODIFIED", "heartbeat": "200 OK", "upload": "200 OK"}


@contextlib.contextmanager
def smiletap_app(backend: str) -> Iterator[tuple[App, list[Device], Backends]]:
    """A migrated server app with a location, the demo survey and a dozen enrolled kiosks."""
    with contextlib.ExitStack() as stack:
        folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="smiletap-calls-"))
        os.environ["SMILETAP_INSTANCE_PATH"] = folder
        os.environ.pop("SMILETAP_DATABASE_URL", None)
        if backend == "postgresql":
            os.environ["SMILETAP_DATABASE_URL"] = stack.enter_context(fresh_pg_database())
        os.environ["SMILETAP_SCHEDULER"] = "false"
        database_url = os.environ.get("SMILETAP_DATABASE_URL")
        from click.testing import CliRunner

        from server.cli import main as cli

        def run(*args: str) -> dict[str, Any]:
            done = CliRunner().invoke(cli, [*args, "--json"])
            if done.exit_code != 0:
                raise SystemExit(f"{args}: {done.output}")
            return json.loads(done.stdout)  # type: ignore[no-any-return]

        run("migrate")
        location = run("create-location", "--name", "Bench", "--timezone", "Europe/Warsaw")
        survey = run("create-survey", "--file", str(SURVEY))
        run("assign-survey", "--location", location["id"], "--survey", survey["id"])
        codes = [
            run("create-device", "--location", location["id"], "--name", f"k{n}")["code"]
            for n in range(DEVICES)
        ]
        from server.app import create_app, freeze_startup_objects

        app = create_app()
        client = app.test_client()
        found = []
        for code in codes:
            token = client.post("/api/v1/enroll", json={"code": code}).get_json()["token"]
            config = client.get("/api/v1/config", headers={"Authorization": f"Bearer {token}"})
            etag = config.get_json()["etag"]
            found.append(Device(token, etag, location["id"], survey["id"], survey["version"]))
        freeze_startup_objects()
        yield app, found, Backends(database_url)
        from server.db import dispose_engine

        dispose_engine(app)


@contextlib.contextmanager
def floor_app() -> Iterator[tuple[App, list[Device], Backends]]:
    from floor_app import app

    devices = [Device(f"t{n}", "floor", "loc_floor", "srv_floor", 1) for n in range(DEVICES)]
    yield app, devices, Backends(None)


class Backends:
    """PostgreSQL's backend processes serving one database, and their CPU time so far (ns,
    from /proc/PID/schedstat: the ticks of /proc/PID/stat are too coarse for a block)."""

    def __init__(self, database_url: str | None) -> None:
        self.database = None
        self.admin: Any = None
        if database_url is not None:
            import psycopg
            from sqlalchemy.engine import make_url

            url = make_url(database_url)
            self.database = url.database
            self.admin = psycopg.connect(
                host=url.host, port=url.port, user=url.username, password=url.password,
                dbname="postgres", autocommit=True,
            )  # fmt: skip

    def cpu_ns(self) -> int:
        """The CPU time of the database's backends now (0 for SQLite)."""
        if self.admin is None:
            return 0
        rows = self.admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s", (self.database,)
        ).fetchall()
        total = 0
        for (pid,) in rows:
            try:
                total += int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])
            except (FileNotFoundError, ProcessLookupError):
                continue
        return total


def measure(
    app: App, found: list[Device], rounds: int, check: bool, backends: Backends
) -> tuple[dict[str, list[float]], dict[str, float]]:
    """µs of thread CPU per request, per block of BLOCK requests of one kind, kinds in turn;
    and PostgreSQL's backends' CPU per request of each kind over all blocks (0 on SQLite)."""
    plans = [requests_for(device) for device in found]
    per_kind: dict[str, list[float]] = {kind: [] for kind in KINDS}
    database_ns = dict.fromkeys(KINDS, 0)
    done = 0
    warm = True
    while done < rounds:
        for kind in KINDS:
            bodies = [plans[i % len(plans)][kind][3]() for i in range(BLOCK)]
            database_before = backends.cpu_ns()
            started = time.thread_time()
            for i in range(BLOCK):
                method, path, headers, _make = plans[i % len(plans)][kind]
                status = call(app, method, path, headers, bodies[i])
                if check and status != EXPECTED[kind]:
                    raise SystemExit(f"{kind} answered {status}")
            spent = (time.thread_time() - started) / BLOCK * 1e6
            database_spent = backends.cpu_ns() - database_before
            if not warm:
                per_kind[kind].append(spent)
                database_ns[kind] += database_spent
        if warm:
            warm = False
            continue
        done += BLOCK
    return per_kind, {kind: database_ns[kind] / done / 1000 for kind in KINDS}


def profile(app: App, found: list[Device], kind: str, rounds: int) -> None:
    plans = [requests_for(device) for device in found]
    bodies = [plans[i % len(plans)][kind][3]() for i in range(rounds)]
    for i in range(BLOCK):  # warm-up
        method, path, headers, _make = plans[i % len(plans)][kind]
        call(app, method, path, headers, plans[i % len(plans)][kind][3]())
    profiler = cProfile.Profile(time.thread_time)
    profiler.enable()
    for i in range(rounds):
        method, path, headers, _make = plans[i % len(plans)][kind]
        call(app, method, path, headers, bodies[i])
    profiler.disable()
    stats = pstats.Stats(profiler)
    stats.sort_stats("cumulative").print_stats(60)
    stats.sort_stats("tottime").print_stats(40)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=2000, help="requests measured per kind")
    parser.add_argument(
        "--backend", action="append", choices=["sqlite", "postgresql"], help="default: sqlite"
    )
    parser.add_argument("--floor", action="store_true", help="bare Flask floor beside it")
    parser.add_argument("--profile", choices=KINDS, help="cProfile one kind instead")
    parser.add_argument("--code", type=Path, help="checkout whose server code runs")
    args = parser.parse_args()
    if args.code is not None:
        # Before this checkout on the path: the app and its CLI come from there.
        sys.path.insert(0, str(args.code.resolve()))
    print(f"load average {os.getloadavg()[0]:.1f} at start; µs thread CPU per request")
    runs: list[tuple[str, Callable[[], contextlib.AbstractContextManager[Any]]]] = []
    if args.floor:
        runs.append(("floor", floor_app))
    for backend in args.backend or ["sqlite"]:
        runs.append((backend, lambda b=backend: smiletap_app(b)))  # type: ignore[misc]
    for name, make in runs:
        with make() as (app, found, backends):
            if args.profile:
                print(f"== {name} {args.profile}")
                profile(app, found, args.profile, args.rounds)
                continue
            per_kind, database = measure(app, found, args.rounds, name != "floor", backends)
        mix = []
        parts = []
        for kind in KINDS:
            blocks = per_kind[kind]
            parts.append(f"{kind} {statistics.median(blocks):,.0f} (min {min(blocks):,.0f})")
            mix.append(statistics.median(blocks))
        # The fleet mix: two 304s, a heartbeat and an upload in four requests.
        average = (2 * mix[0] + mix[1] + mix[2]) / 4
        print(f"{name}: " + ", ".join(parts) + f"; mix average {average:,.0f}", flush=True)
        if backends.admin is not None:
            spent = [database[kind] for kind in KINDS]
            print(
                f"{name}, PostgreSQL's backends per request: "
                + ", ".join(f"{kind} {us:,.0f}" for kind, us in zip(KINDS, spent, strict=True))
                + f"; mix average {(2 * spent[0] + spent[1] + spent[2]) / 4:,.0f}",
                flush=True,
            )
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
