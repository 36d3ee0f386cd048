"""The README's first command: the demo comes up with seeded data and a kiosk window."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def test_demo_serves_seeded_report_and_opens_kiosk(tmp_path: Path, artifacts: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "SDL_VIDEODRIVER")}
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "deploy" / "dev" / "demo.py"),
            "--check",
            "--instance",
            str(tmp_path / "demo"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    screenshot = Path(re.search(r"screenshot: (\S+)", out).group(1))
    assert screenshot.is_file() and screenshot.stat().st_size > 10_000
    shutil.copy(screenshot, artifacts / "demo-kiosk.png")
    assert re.search(r"enrolled as device \S+", out)

    key = re.search(r"Authorization: Bearer (\S+)'", out)
    assert key and re.search(r"report: http://127\.0\.0\.1:\d+/api/v1/reports/scores\?", out)
    seeded = {
        name: int(n)
        for name, n in re.findall(r"location: (.+?) \(.*: \d+ staff, .*?(\d+) answers", out)
    }
    # Reported per touchpoint (and at none): together, each location's seeded answers.
    reported: dict[str, int] = {}
    for name, n in re.findall(r"^  (.+?) at .+?: n=(\d+), smiley", out, re.MULTILINE):
        reported[name] = reported.get(name, 0) + int(n)
    assert len(seeded) == 2
    assert reported == seeded
    # Comments at the checkouts, contact details masked by the server before storing.
    comments = re.search(r"^comments: (\d+) stored, (\d+) with contact details masked", out, re.M)
    assert comments and int(comments.group(1)) > int(comments.group(2)) > 0, out
    assert re.search(r"e\.g\. '.*\[(phone|e-mail)\]", out)
    # Business results: eight weeks of KPIs with a planted, modest link, and coverage shown.
    link = re.search(r"^link: .*?: (\w+), r=(\S+) ", out, re.MULTILINE)
    assert link and link.group(1) == "moves_with" and 0.2 < float(link.group(2)) < 0.8, out
    figures = re.findall(r"response rate (\S+), coverage (\S+)%, conversion (\S+)%", out)
    assert len(figures) == 2
    for rate, coverage, conversion in figures:
        assert float(rate) > 0 and 80 <= float(coverage) < 100 and float(conversion) > 10
    # Following up: the first location's low answers are partly handled, assigned and open.
    followed = re.search(r"^follow-ups: .+?: (\d+) handled, (\d+) assigned, (\d+) open", out, re.M)
    assert followed and all(int(n) > 0 for n in followed.groups()), out
    assert re.search(r"^dashboard: http://\S+/login as \S+@demo\.example", out, re.MULTILINE)
    # Digests, each populated: a subject and the first location's scores.
    digests = re.findall(
        r"^digest: (\S+) \((\w+)\), (\w+) at 07:00, (\w+): '(.+?)'; .+?: n=(\d+), smiley",
        out,
        re.MULTILINE,
    )
    assert {(d[0], d[2], d[3]) for d in digests} == {
        ("admin@demo.example", "weekly", "en_GB"),
        ("anna@demo.example", "daily", "pl_PL"),
    }, out
    assert all(d[4].startswith(f"Smiletap {d[2]} digest: ") and int(d[5]) > 0 for d in digests)
