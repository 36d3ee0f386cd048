"""Fleet capacity of the device API, measured from outside with wrk beside a bare-Flask floor.

    .venv/bin/python bench/fleet.py [--seconds 15] [--connections 16] [--backend sqlite]
                                    [--backend postgresql] [--code DIR]

Both servers run under gunicorn with deploy/server/gunicorn.conf.py (2 workers here, its
threads). wrk (Debian package) drives bench/fleet_mix.lua: per kiosk and minute two config
pulls answered 304, one heartbeat and one single-tap upload, round-robin over a dozen device
tokens. For each backend it prints, beside the floor measured just before it:

- capacity: req/s with `--connections` connections as fast as the server answers, the ratio
  to the floor, kiosks served at the mix's 4 requests/min (req/s x 15), p50 / p99, and the
  CPU time of gunicorn's processes per request of that run beside the floor's: on a shared
  machine the figure its other load moves least; on PostgreSQL also the CPU time of the
  database's own backends per request (its WAL writer and checkpointer not counted), which
  shares the same cores;
- p99 at 70 % of that capacity: wrk has no rate option (wrk2 has), so each connection waits
  a fixed delay before each request (the Lua `delay()` hook) so that, all together, they
  offer 70 % of the capacity. It is a closed loop: a slow answer delays that connection's
  next request instead of being measured as queueing (no coordinated-omission correction),
  so the achieved rate is printed too.

PostgreSQL is a throwaway database on the local server (`SMILETAP_TEST_PG_URL`). `--code DIR`
runs the server from another checkout of the repository (e.g. an older commit unpacked with
`git archive`), for before/after figures; the set-up then goes through that checkout's CLI.

The machine may be shared: figures are only comparable within one run. Prints figures;
never passes or fails on time.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import psycopg
import requests
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "deploy" / "dev")]

from harness import GunicornProcess  # noqa: E402

from tests.pgdb import fresh_pg_database  # noqa: E402

MIX = ROOT / "bench" / "fleet_mix.lua"
SURVEY = ROOT / "deploy" / "examples" / "demo-survey.json"
DEVICES = 12
WORKERS = 2
REQUESTS_PER_KIOSK_MINUTE = 4
LOAD_SHARE = 0.7
RESULT = re.compile(r"^FLEET_RESULT (\{.*\})$", re.MULTILINE)


class CheckoutGunicorn(GunicornProcess):
    """gunicorn with the repository's config, serving `app` from the code in `chdir`."""

    def __init__(self, folder: Path, database_url: str | None, chdir: Path, app: str) -> None:
        super().__init__(folder, database_url, workers=WORKERS)
        self.chdir = chdir
        self.app = app
        # The CLI (migrate, set-up) imports the same checkout's code as the workers.
        self.env["PYTHONPATH"] = str(chdir)

    def command(self) -> list[str]:
        return [*super().command(), "--chdir", str(self.chdir), self.app]

    def start(self) -> CheckoutGunicorn:
        if self.app == "server.wsgi:app":
            self.cli("migrate")
        self._start_and_wait()
        return self

    def _start_and_wait(self) -> None:
        # gunicorn puts the directory it starts in first on sys.path (before --chdir): start
        # it in the checkout, or the workers import this one's code.
        here = os.getcwd()
        os.chdir(self.chdir)
        try:
            super(GunicornProcess, self).start()  # polls until any HTTP answer
        finally:
            os.chdir(here)


def enroll_fleet(server: CheckoutGunicorn, devices_file: Path) -> None:
    """A location showing the demo survey with a dozen enrolled kiosks; their tokens and
    ETags go to `devices_file`, each checked to get 304, 200 and an accepted tap."""
    location = server.cli("create-location", "--name", "Fleet", "--timezone", "Europe/Warsaw")
    survey = server.cli("create-survey", "--file", str(SURVEY))
    server.cli("assign-survey", "--location", location["id"], "--survey", survey["id"])
    lines = []
    session = requests.Session()
    for n in range(DEVICES):
        code = server.cli("create-device", "--location", location["id"], "--name", f"k{n}")
        enrolled = session.post(f"{server.url}/api/v1/enroll", json={"code": code["code"]})
        enrolled.raise_for_status()
        token = enrolled.json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        pulled = session.get(f"{server.url}/api/v1/config", headers=auth)
        if pulled.status_code != 200:
            raise SystemExit(f"config answered {pulled.status_code}: {pulled.text[:500]}")
        etag = pulled.json()["etag"]
        again = session.get(
            f"{server.url}/api/v1/config", headers={**auth, "If-None-Match": f'"{etag}"'}
        )
        if again.status_code != 304:
            raise SystemExit(f"config with its own ETag answered {again.status_code}, not 304")
        lines.append(f"{token} {etag} {location['id']} {survey['id']} {survey['version']}")
    devices_file.write_text("\n".join(lines) + "\n", encoding="utf-8")


def floor_devices(devices_file: Path) -> None:
    """Device lines for the floor app, which checks nothing."""
    lines = [f"t{n} floor loc_floor srv_floor 1" for n in range(DEVICES)]
    devices_file.write_text("\n".join(lines) + "\n", encoding="utf-8")


def wrk(
    url: str, devices_file: Path, seconds: int, connections: int, delay_ms: float
) -> dict[str, Any]:
    """One wrk run of the mix; its counts and latencies."""
    threads = min(2, connections)
    done = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(MIX),
            url,
            "--",
            str(devices_file),
            str(int(delay_ms)),
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    )
    found = RESULT.search(done.stdout)
    if done.returncode != 0 or not found:
        raise SystemExit(f"wrk failed: {done.stdout}\n{done.stderr}")
    result: dict[str, Any] = json.loads(found.group(1))
    result["rate"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


def server_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of gunicorn's master and its live workers so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    for process in (pid, *map(int, children)):
        fields = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return total


def process_cpu_s(pids: list[int]) -> float:
    """CPU seconds (user + system) of these processes so far (those gone count nothing)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for process in pids:
        try:
            fields = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return total


def database_backends(database_url: str | None) -> list[int]:
    """The PostgreSQL backend processes serving this database now (none for SQLite)."""
    if database_url is None:
        return []
    url = make_url(database_url)
    with psycopg.connect(
        host=url.host, port=url.port, user=url.username, password=url.password, dbname="postgres"
    ) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (url.database,),
        ).fetchall()
    return [int(row[0]) for row in rows]


def measure(
    server: CheckoutGunicorn,
    devices_file: Path,
    seconds: int,
    connections: int,
    database_url: str | None = None,
) -> dict[str, Any]:
    """Capacity (with the server's CPU per request, and PostgreSQL's), then p99 at 70 % of
    it."""
    wrk(server.url, devices_file, 2, connections, 0)  # warm-up: imports, pools, page cache
    assert server.proc is not None
    # The workers' pooled connections, all made during the warm-up (gunicorn's threads each
    # hold at most one).
    backends = database_backends(database_url)
    cpu_before = server_cpu_s(server.proc.pid)
    database_before = process_cpu_s(backends)
    full = wrk(server.url, devices_file, seconds, connections, 0)
    # The figure the machine's other load moves least.
    full["cpu_us"] = (server_cpu_s(server.proc.pid) - cpu_before) / full["requests"] * 1e6
    # PostgreSQL's backends for this database (its WAL writer and checkpointer not counted):
    # on these two cores its CPU is the server's too.
    database_cpu = process_cpu_s(backends) - database_before
    full["database_cpu_us"] = database_cpu / full["requests"] * 1e6 if backends else None
    # Enough connections that each waits long between requests, so the delay sets the rate.
    paced_connections = max(connections, 64)
    delay_ms = paced_connections / (LOAD_SHARE * full["rate"]) * 1000
    paced = wrk(server.url, devices_file, seconds, paced_connections, delay_ms)
    return {"full": full, "paced": paced, "delay_ms": delay_ms}


def run_floor(folder: Path, seconds: int, connections: int) -> dict[str, Any]:
    devices_file = folder / "floor-devices.txt"
    floor_devices(devices_file)
    server = CheckoutGunicorn(folder / "floor", None, ROOT / "bench", "floor_app:app")
    server.start()
    try:
        return measure(server, devices_file, seconds, connections)
    finally:
        server.stop()


def run_fleet(
    folder: Path, backend: str, code: Path, seconds: int, connections: int
) -> dict[str, Any]:
    with contextlib.ExitStack() as stack:
        database_url = stack.enter_context(fresh_pg_database()) if backend == "postgresql" else None
        server = CheckoutGunicorn(folder / backend, database_url, code, "server.wsgi:app")
        server.env["GUNICORN_ACCESSLOG"] = "/dev/null"
        server.start()
        try:
            devices_file = folder / f"{backend}-devices.txt"
            enroll_fleet(server, devices_file)
            return measure(server, devices_file, seconds, connections, database_url)
        finally:
            server.stop()


def row(name: str, floor: dict[str, Any], fleet: dict[str, Any]) -> str:
    full, paced = fleet["full"], fleet["paced"]
    ratio = full["rate"] / floor["full"]["rate"]
    kiosks = full["rate"] * 60 / REQUESTS_PER_KIOSK_MINUTE
    errors = full["status_errors"] + full["socket_errors"]
    errors += paced["status_errors"] + paced["socket_errors"]
    database_us = full.get("database_cpu_us")
    database = "–" if database_us is None else f"{database_us:,.0f} µs"
    return (
        f"| {name} | {full['rate']:,.0f} req/s | {floor['full']['rate']:,.0f} req/s | "
        f"{ratio:.2f} | ~{kiosks:,.0f} | {full['p50_us'] / 1000:.0f} / "
        f"{full['p99_us'] / 1000:.0f} ms | {paced['rate']:,.0f} req/s: "
        f"{paced['p50_us'] / 1000:.0f} / {paced['p99_us'] / 1000:.0f} ms | "
        f"{full['cpu_us']:,.0f} / {floor['full']['cpu_us']:,.0f} µs | {database} | {errors} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=15, help="length of each measured run")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections at capacity")
    parser.add_argument(
        "--backend", action="append", choices=["sqlite", "postgresql"], help="default: both"
    )
    parser.add_argument("--code", type=Path, default=ROOT, help="checkout whose server runs")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian package wrk; deploy/dev/install.sh)")
    backends = args.backend or ["sqlite", "postgresql"]
    code = args.code.resolve()
    print(
        f"server code: {code}; gunicorn {WORKERS} workers x "
        f"{os.environ.get('GUNICORN_THREADS', 4)} threads; wrk {args.connections} connections, "
        f"{args.seconds} s per run; load average {os.getloadavg()[0]:.1f} at start"
    )
    lines = [
        "| backend | fleet mix | bare Flask floor | ratio | kiosks at 4 requests/min | "
        "p50 / p99 | at 70 %: rate, p50 / p99 | server CPU per request: mix / floor | "
        "PostgreSQL's CPU per request | errors |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    measured: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="smiletap-fleet-") as tmp:
        folder = Path(tmp)
        for backend in backends:
            floor = run_floor(folder, args.seconds, args.connections)
            fleet = run_fleet(folder, backend, code, args.seconds, args.connections)
            measured[backend] = (floor, fleet)
            lines.append(row(backend, floor, fleet))
            print(lines[-1], flush=True)
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    print("\n".join(lines))
    print("targets: ratio >= 0.5 on SQLite, PostgreSQL no worse than SQLite, p99 <= 100 ms at 70 %")
    for line in verdicts(measured):
        print(line)


def verdicts(measured: dict[str, tuple[dict[str, Any], dict[str, Any]]]) -> list[str]:
    """Each target against this run's figures: met or not (printed; nothing fails on it)."""

    def ratio(backend: str) -> float:
        floor, fleet = measured[backend]
        return float(fleet["full"]["rate"] / floor["full"]["rate"])

    def met(ok: bool) -> str:
        return "met" if ok else "NOT met"

    found = []
    if "sqlite" in measured:
        found.append(f"- SQLite ratio {ratio('sqlite'):.2f} >= 0.5: {met(ratio('sqlite') >= 0.5)}")
    if {"sqlite", "postgresql"} <= measured.keys():
        # Each against its own floor, as the two ran minutes apart on a shared machine.
        pg, lite = ratio("postgresql"), ratio("sqlite")
        found.append(
            f"- PostgreSQL ratio {pg:.2f} no worse than SQLite's {lite:.2f}: {met(pg >= lite)}"
        )
    for backend, (_floor, fleet) in measured.items():
        p99_ms = fleet["paced"]["p99_us"] / 1000
        found.append(f"- {backend} p99 at 70 % {p99_ms:.0f} ms <= 100 ms: {met(p99_ms <= 100)}")
    return found


if __name__ == "__main__":
    main()
