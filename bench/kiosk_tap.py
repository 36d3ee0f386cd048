"""Kiosk figures: tap-to-durable latency next to a raw durable sqlite insert, cold start to the
first question on screen, and resident memory next to a minimal Kivy app — all in one run.

    .venv/bin/python bench/kiosk_tap.py [--taps 500] [--settle 40]

Memory is read twice for both apps: 2 s after the first frame, and settled (default 40 s),
which is what a kiosk that runs for weeks holds. The target is judged on the settled figure.

Needs Xvfb (deploy/dev/install.sh). Prints figures; never passes or fails on time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "deploy" / "dev"))

from harness import KioskProcess, LineReader, Xvfb  # noqa: E402

from kiosk.store import Enrollment, LocalStore  # noqa: E402
from shared.ids import new_submission_id  # noqa: E402
from shared.protocol import Answer, ConfigResponse, Submission  # noqa: E402

SURVEY = json.loads((ROOT / "deploy" / "examples" / "demo-survey.json").read_text())
MINIMAL_APP = """
import logging, sys
from kivy.app import App
from kivy.clock import Clock
from kivy.uix.label import Label
logging.basicConfig(level=logging.INFO, stream=sys.stdout)
class Minimal(App):
    def build(self):
        Clock.schedule_once(lambda dt: logging.info("first frame"), 0.3)
        return Label(text="Minimal")
Minimal().run()
"""


def percentile(samples: list[float], q: float) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[int(q) - 1]


def a_submission() -> Submission:
    return Submission(
        id=new_submission_id(),
        survey_id="srv_bench",
        survey_version=1,
        location_id="loc_bench",
        language="en",
        tapped_at=dt.datetime.now(dt.UTC),
        answers=[Answer(question_id="q1", value=4)],
    )


def store_latencies(folder: Path, taps: int) -> list[float]:
    store = LocalStore(folder / "kiosk.db")
    samples = []
    for _ in range(taps):
        submission = a_submission()
        start = time.perf_counter()
        store.record_submission(submission, burst_max_taps=5, burst_window_s=10)
        samples.append(time.perf_counter() - start)
    store.close()
    return samples


def raw_latencies(folder: Path, taps: int) -> list[float]:
    conn = sqlite3.connect(folder / "raw.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE s (id TEXT PRIMARY KEY, created_at TEXT, payload TEXT)")
    samples = []
    for _ in range(taps):
        submission = a_submission()
        start = time.perf_counter()
        conn.execute("BEGIN")
        conn.execute(
            "INSERT INTO s VALUES (?, ?, ?)",
            (submission.id, dt.datetime.now(dt.UTC).isoformat(), submission.model_dump_json()),
        )
        conn.execute("COMMIT")
        samples.append(time.perf_counter() - start)
    conn.close()
    return samples


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def rss_over_time(pid: int, settle_s: float) -> tuple[int, int]:
    """RSS 2 s after the first frame, and again `settle_s` after it."""
    time.sleep(2)
    early = rss_kib(pid)
    time.sleep(max(0.0, settle_s - 2))
    return early, rss_kib(pid)


def kiosk_start_and_rss(folder: Path, display: str, settle_s: float) -> tuple[float, int, int]:
    """Seconds from exec to the first question laid out, and RSS early and once settled."""
    data = folder / "kiosk"
    store = LocalStore(data / "kiosk.db")
    # An unreachable server: the kiosk must start from its cached config without waiting.
    store.set_enrollment(Enrollment("http://127.0.0.1:9", "dev_bench", "token"))
    config = {
        "etag": "bench",
        "device": {"id": "dev_bench", "name": "Bench"},
        "location": {"id": "loc_bench", "name": "Bench", "timezone": "Europe/Warsaw"},
        "survey": {**SURVEY, "id": "srv_bench", "version": 1},
        "staff": [],
        "kiosk": {"idle_reset_s": 20, "thank_you_s": 4, "burst_max_taps": 5, "burst_window_s": 10},
    }
    store.set_config(ConfigResponse.model_validate_json(json.dumps(config)), "bench")
    store.close()
    kiosk = KioskProcess(data, display, size=(800, 480))
    start = time.perf_counter()
    kiosk.start()
    try:
        kiosk.targets("q1", timeout=60)
        elapsed = time.perf_counter() - start
        assert kiosk.proc is not None
        return elapsed, *rss_over_time(kiosk.proc.pid, settle_s)
    finally:
        kiosk.stop()


def minimal_rss(folder: Path, display: str, settle_s: float) -> tuple[int, int]:
    script = folder / "minimal.py"
    script.write_text(MINIMAL_APP)
    env = {**KioskProcess(folder / "minimal", display).env, "KIVY_LOG_MODE": "PYTHON"}
    proc = subprocess.Popen(
        [sys.executable, str(script)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        LineReader(proc.stdout).wait_for("first frame", 60)
        return rss_over_time(proc.pid, settle_s)
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--taps", type=int, default=500)
    parser.add_argument(
        "--settle",
        type=float,
        default=40.0,
        help="seconds after the first frame for the settled RSS reading (both apps; the kiosk "
        "has tried a sync and trimmed its heap by 40 s)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="smiletap-bench-") as tmp:
        folder = Path(tmp)
        store = store_latencies(folder, args.taps)
        raw = raw_latencies(folder, args.taps)
        xvfb = Xvfb(800, 480)
        try:
            start_s, kiosk_early, kiosk_rss = kiosk_start_and_rss(folder, xvfb.display, args.settle)
            base_early, base_rss = minimal_rss(folder, xvfb.display, args.settle)
        finally:
            xvfb.stop()
    ms = 1000.0
    print(
        f"tap to durable (LocalStore): p50 {percentile(store, 50) * ms:.2f} ms, "
        f"p99 {percentile(store, 99) * ms:.2f} ms ({args.taps} taps)"
    )
    print(
        f"raw durable sqlite insert:   p50 {percentile(raw, 50) * ms:.2f} ms, "
        f"p99 {percentile(raw, 99) * ms:.2f} ms"
    )
    print(f"ratio store/raw p50: {percentile(store, 50) / percentile(raw, 50):.2f} (target <= 1.5)")
    print(f"cold start to first question laid out: {start_s:.2f} s (target <= 3 s)")
    print(
        f"RSS 2 s after first frame: kiosk {kiosk_early / 1024:.1f} MiB, minimal Kivy app "
        f"{base_early / 1024:.1f} MiB, ratio {kiosk_early / base_early:.2f}"
    )
    print(
        f"RSS settled ({args.settle:.0f} s): kiosk {kiosk_rss / 1024:.1f} MiB, minimal Kivy app "
        f"{base_rss / 1024:.1f} MiB, ratio {kiosk_rss / base_rss:.2f} (target <= 1.15)"
    )


if __name__ == "__main__":
    main()
