"""Run the whole product on one machine: a SQLite server with demo data and one kiosk window.

Started by `deploy/dev/demo.sh` after it installs the venv. Every run starts from a fresh
demo instance folder (default `instance/demo`). Without a display the kiosk window opens on
Xvfb and a screenshot is saved. `--check` stops after the screenshot instead of serving
until Ctrl-C.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import shutil
import sqlite3
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

from harness import KioskProcess, ServerProcess, Xvfb

ROOT = Path(__file__).resolve().parents[2]
SURVEY_FILE = ROOT / "deploy" / "examples" / "demo-survey.json"

LOCATIONS = [
    ("Warszawa Centrum", "Europe/Warsaw", ["Anna", "Piotr", "Kasia"]),
    ("New York 5th Ave", "America/New_York", ["Maria", "James"]),
]
#: How each demo location's customers tend to answer on the 5-face scale.
FACE_WEIGHTS = {"Europe/Warsaw": [4, 6, 12, 38, 40], "America/New_York": [9, 11, 20, 35, 25]}
#: ...and how they answered the four weeks before: Warszawa got clearly better since, so the
#: overview's "moved clearly" list has something to show for the last 30 days.
EARLIER_WEIGHTS = {"Europe/Warsaw": [12, 14, 20, 30, 24], "America/New_York": [9, 11, 20, 35, 25]}


def post_json(url: str, body: dict, token: str | None = None) -> dict:  # type: ignore[type-arg]
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, json.dumps(body).encode(), headers, method="POST")
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())  # type: ignore[no-any-return]


#: Where a demo answer was given: (touchpoint id or None, the survey shown there, how much
#: worse than the location's usual its faces run: the checkout queue costs a little).
Place = tuple[str | None, dict, int]  # type: ignore[type-arg]


def checkout_survey_file(instance: Path) -> Path:
    """The demo survey asked about paying: the checkouts' own survey."""
    definition = json.loads(SURVEY_FILE.read_text(encoding="utf-8"))
    definition["questions"][0]["text"] = {
        "en": "How was paying today?",
        "pl": "Jak przebiegła płatność?",
        "ru": "Как прошла оплата?",
        "ro": "Cum a fost plata?",
        "zh-Hant": "今天結帳順利嗎？",
    }
    # Checkout customers may add a comment: the location page lists the latest, with the
    # contact details some of them type masked by the server (docs/admin-guide.md, Privacy).
    definition["questions"][0]["comment"] = True
    path = instance / "checkout-survey.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(definition, ensure_ascii=False), encoding="utf-8")
    return path


#: Comments checkout customers leave with a low face, as typed: the server stores the e-mail
#: addresses and the phone numbers (national for the store's country, or international) as
#: [e-mail] and [phone]; order numbers and amounts stay.
COMMENTS = {
    "Europe/Warsaw": [
        "Kolejka do kasy 20 minut, tylko jedna kasa otwarta.",
        "Proszę o kontakt w sprawie zwrotu: 601 234 567",
        "Terminal nie działał, zamówienie 12345 czekało. Mail: ola.nowak@example.pl",
        "Zadzwońcie do mnie: +48 22 123 45 67, paragon 0042",
        "Call me back please, I am a tourist: +44 20 7946 0958",
    ],
    "America/New_York": [
        "Only one register open at 5pm, line took forever.",
        "Please call me about my refund: (212) 555-0147",
        "Card reader broke twice, order 12345. Email jane.doe@example.com",
        "Charged $129.99 twice! text me 917-555-0123",
    ],
}


def seed_history(
    server: ServerProcess,
    location_id: str,
    timezone: str,
    places: list[Place],
    staff_ids: list[str],
    days: int,
    rng: random.Random,
) -> tuple[int, str, dict[dt.date, float]]:
    """Post `days` of plausible answers through a 'history' device over the real API, spread
    over the location's touchpoints (and none), and as many from the `days` before (answered
    with `EARLIER_WEIGHTS`); return the recent count, the device id and each store-local
    day's share of happy faces (4 and 5)."""
    device = server.cli_here("create-device", "--location", location_id, "--name", "Demo history")
    token = post_json(
        f"{server.url}/api/v1/enroll",
        {"code": device["code"], "device_info": {"app_version": "demo"}},
    )["token"]
    now = dt.datetime.now(dt.UTC)
    zone = ZoneInfo(timezone)
    faces_by_day: dict[dt.date, list[int]] = {}
    submissions = []
    commenting = random.Random(11)  # its own draws: the faces stay those of `rng`
    for i in range(days * 25 * 2):
        earlier = i % 2 == 1
        # A gap between the halves keeps the recent count exact in any store's time zone.
        age = rng.uniform(days + 4, 2 * days + 4) if earlier else rng.uniform(0, days)
        tapped = now - dt.timedelta(days=age)
        weights = (EARLIER_WEIGHTS if earlier else FACE_WEIGHTS)[timezone]
        touchpoint_id, survey, worse = rng.choice(places)
        face = rng.choices(range(1, 6), weights=weights)[0]
        if worse and face > 1 and rng.random() < 0.35:
            face -= 1
        faces_by_day.setdefault(tapped.astimezone(zone).date(), []).append(face)
        reasons = [rng.choice(["wait", "staff", "stock", "clean"])] if face <= 2 else []
        comment = None
        if face <= 2 and worse:  # at the checkouts, whose survey asks for a comment
            comment = commenting.choice(COMMENTS[timezone]) if commenting.random() < 0.5 else None
        submissions.append(
            {
                "id": str(uuid.uuid4()),
                "survey_id": survey["id"],
                "survey_version": survey["version"],
                "location_id": location_id,
                "touchpoint_id": touchpoint_id,
                "staff_id": rng.choice([*staff_ids, None]),
                "language": "en",
                "tapped_at": tapped.isoformat(),
                "answers": [
                    {"question_id": "q1", "value": face, "reasons": reasons, "comment": comment}
                ],
                "flags": [],
            }
        )
    for start in range(0, len(submissions), 500):
        batch = {
            "sent_at": dt.datetime.now(dt.UTC).isoformat(),
            "submissions": submissions[start : start + 500],
        }
        post_json(f"{server.url}/api/v1/submissions", batch, token)
    # Someone tried IT PINs at this kiosk: the devices page shows the count from the heartbeat.
    heartbeat = {"sent_at": now.isoformat(), "app_version": "demo", "it_pin_failures": 3}
    post_json(f"{server.url}/api/v1/heartbeat", heartbeat, token)
    shares = {day: sum(f >= 4 for f in faces) / len(faces) for day, faces in faces_by_day.items()}
    return len(submissions) // 2, device["device_id"], shares


#: Per demo location: visitors a day, conversion (%) and basket around which days vary.
KPI_LEVELS = {"Europe/Warsaw": (1200, 24.0, 48.0), "America/New_York": (2100, 18.0, 61.0)}
#: Conversion points per unit of the day's happy share: a real, modest link (r about 0.5).
CONVERSION_PER_SHARE = 4.0


def seed_business_results(
    server: ServerProcess,
    location_id: str,
    timezone: str,
    device_id: str,
    shares: dict[dt.date, float],
    rng: random.Random,
) -> None:
    """Daily KPIs for the answered days, imported with `import-kpis`, whose conversion moves
    modestly with the day's share of happy faces; and eight weeks of contact history for the
    history device, with a few outages, so coverage shows."""
    visitors_level, conversion_level, basket_level = KPI_LEVELS[timezone]
    mean_share = sum(shares.values()) / len(shares)
    lines = ["location_id,date,visitors,transactions,revenue,staff_hours"]
    for day in sorted(shares):
        visitors = max(100, round(rng.gauss(visitors_level, visitors_level * 0.12)))
        conversion = conversion_level + CONVERSION_PER_SHARE * (shares[day] - mean_share)
        conversion += rng.gauss(0, 1.0)
        transactions = round(visitors * conversion / 100)
        revenue = round(transactions * rng.gauss(basket_level, basket_level * 0.06), 2)
        staff_hours = round(rng.uniform(56, 72) * 2) / 2
        lines.append(f"{location_id},{day},{visitors},{transactions},{revenue},{staff_hours}")
    path = server.instance_dir / f"kpis-{location_id}.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = server.cli_here("import-kpis", "--file", str(path))
    assert not result["rejected"], result["rejected"]
    # Contact history straight into the database: the device API writes it for live kiosks,
    # but the demo's past cannot call in. Every minute, but for a few outages of 1-4 hours.
    all_minutes = (1 << 60) - 1
    hour = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    rows = []
    outage_left = 0
    for _ in range(56 * 24):
        hour -= dt.timedelta(hours=1)
        if outage_left == 0 and rng.random() < 0.012:
            outage_left = rng.randint(1, 4)
        minutes = 0 if outage_left else all_minutes
        outage_left = max(0, outage_left - 1)
        if minutes:
            stamp = hour.strftime("%Y-%m-%d %H:%M:%S.000000")
            rows.append((location_id, stamp, device_id, None, minutes))
    with sqlite3.connect(server.instance_dir / "smiletap.db") as db:
        db.executemany(
            "INSERT INTO contact_minutes (location_id, hour, device_id, touchpoint_id, minutes)"
            " VALUES (?, ?, ?, ?, ?)",
            rows,
        )


def seed_destinations(server: ServerProcess, location_ids: list[str]) -> None:
    """One alert destination of each kind, paused (the demo never posts to them), each with a
    few test messages in its delivery log — delivered, refused, timed out — so Integrations
    shows what it looks like. Straight into the database: a real test message would go out."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)

    def stamp(minutes_ago: int) -> str:
        return (now - dt.timedelta(minutes=minutes_ago)).strftime("%Y-%m-%d %H:%M:%S.000000")

    made = [
        ("dst_demo_webhook", "Head office ticketing", "webhook",
         "https://hooks.example.com/smiletap", "whsec_" + uuid.uuid4().hex * 2, None),
        ("dst_demo_slack", "#store-managers (Slack)", "slack",
         "https://hooks.slack.com/services/T0DEMO000/B0DEMO000/demoDemoDemoDemoDemo", None,
         location_ids[:1]),
        ("dst_demo_teams", "Operations (Teams)", "teams",
         "https://prod-00.westeurope.logic.azure.com/workflows/demo/triggers/manual/paths/invoke",
         None, None),
    ]  # fmt: skip
    tries = [  # minutes ago, status, error
        (2900, 200, None),
        (1500, 500, "webhook answered 500 Internal Server Error"),
        (1499, None, "TimeoutError: timed out"),
        (1497, 200, None),
    ]
    with sqlite3.connect(server.instance_dir / "smiletap.db") as db:
        for destination_id, name, kind, url, secret, scope in made:
            db.execute(
                "INSERT INTO alert_destinations (id, name, kind, url, secret, all_locations,"
                " enabled, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?)",
                (destination_id, name, kind, url, secret, scope is None, stamp(3000),
                 "admin@example.com"),
            )  # fmt: skip
            for location_id in scope or []:
                db.execute(
                    "INSERT INTO alert_destination_locations (destination_id, location_id)"
                    " VALUES (?, ?)",
                    (destination_id, location_id),
                )
            for ago, status, error in tries:
                db.execute(
                    "INSERT INTO alert_deliveries (destination_id, alert_id, attempt, sent_at,"
                    " status_code, error, retry_at) VALUES (?, NULL, 1, ?, ?, ?, NULL)",
                    (destination_id, stamp(ago), status, error),
                )


def print_masked_comments(server: ServerProcess) -> None:
    """How many seeded comments there are, and one the server masked, as it stored it."""
    with sqlite3.connect(server.instance_dir / "smiletap.db") as db:
        comments = [row[0] for row in db.execute("SELECT comment FROM answers WHERE comment != ''")]
    masked = sorted({c for c in comments if "[phone]" in c or "[e-mail]" in c})
    print(
        f"comments: {len(comments)} stored, {sum(c in masked for c in comments)} with contact"
        f" details masked at ingest, e.g. {masked[0]!r}"
        if masked
        else "comments: none masked"
    )


#: The demo's dashboard sign-ins (a demo only: the password is printed).
DEMO_PASSWORD = "smiletap demo"
DEMO_ADMIN = "admin@demo.example"
#: Managers of the first location: the one who follows up, and a colleague to assign to.
DEMO_MANAGERS = ("anna@demo.example", "piotr@demo.example")
FOLLOW_UP_NOTES = [
    "Called the customer back and apologised; voucher sent.",
    "Talked it through with the shift: a second till opens at 5 pm now.",
    "Shelves restocked; reorder point raised.",
    "Cleaning rota checked with the team.",
]


def seed_followups(
    server: ServerProcess, location_id: str, user_ids: list[str], rng: random.Random
) -> dict[str, int]:
    """Follow up a location's low answers with reasons as a team would have: of those older
    than two days most are handled (a note, some hours to a day or two later), a few are
    assigned to a colleague; the rest, and everything newer, is open. Straight into the
    database, as the dashboard's forms would have written it over the four weeks."""
    handler, colleague = user_ids
    stamp = "%Y-%m-%d %H:%M:%S.%f"
    now = dt.datetime.now(dt.UTC)
    rows, counts = [], {"handled": 0, "assigned": 0, "open": 0}
    with sqlite3.connect(server.instance_dir / "smiletap.db") as db:
        said = db.execute(
            "SELECT s.id, s.effective_at FROM submissions s JOIN answers a"
            " ON a.submission_id = s.id WHERE s.location_id = ? AND a.reasons != '[]'"
            " AND NOT s.burst ORDER BY s.effective_at DESC",
            (location_id,),
        ).fetchall()
        for submission_id, effective_at in said:
            at = dt.datetime.strptime(effective_at, stamp).replace(tzinfo=dt.UTC)
            draw = rng.random()
            if now - at < dt.timedelta(days=2) or draw < 0.15:
                counts["open"] += 1
                continue
            base = (submission_id, location_id, effective_at, now.strftime(stamp))
            if draw < 0.25:
                counts["assigned"] += 1
                assigned = (at + dt.timedelta(hours=rng.uniform(1, 20))).strftime(stamp)
                rows.append((*base, "assigned", colleague, handler, assigned, None, None, None))
                continue
            counts["handled"] += 1
            handled = at + dt.timedelta(hours=rng.lognormvariate(1.6, 0.8))
            note = rng.choice(FOLLOW_UP_NOTES)
            done = min(handled, now).strftime(stamp)
            rows.append((*base, "handled", None, None, None, note, handler, done))
        db.executemany(
            "INSERT INTO followups (submission_id, location_id, said_at, created_at, status,"
            " assignee_id, assigned_by, assigned_at, note, handled_by, handled_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    return counts


def seed_digests(server: ServerProcess, choices: list[tuple[str, str, str]]) -> None:
    """Each (e-mail, period, locale)'s digest choice, and a line each saying what their digest
    would say now: its subject and the first location's scores, written by the code the mail
    uses (the preview at /account/digest/preview shows the same)."""
    from server.db import make_engine
    from server.digests import make
    from server.settings import Settings
    from server.store import digests as digest_store
    from server.store import users
    from shared.clock import utcnow

    engine = make_engine(f"sqlite:///{server.instance_dir / 'smiletap.db'}")
    try:
        for email, period, locale in choices:
            with engine.begin() as conn:
                found = users.credentials(conn, email)
                assert found is not None
                user = found[0]
                digest_store.set_choice(conn, user.id, digest_store.Choice(period, "07:00", locale))
                digest = make(conn, Settings(), user, period, utcnow())
            first = digest.content.locations[0]
            scores = ", ".join(
                f"{s.name} {s.now.value if s.now else '-'} ({s.move})" for s in first.scores
            )
            print(
                f"digest: {email} ({user.role}), {period} at 07:00, {locale}: "
                f"{digest.written.subject!r}; {first.name}: n={first.n}, {scores}"
            )
    finally:
        engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--instance", type=Path, default=ROOT / "instance" / "demo")
    parser.add_argument("--check", action="store_true", help="exit after the screenshot")
    args = parser.parse_args()

    shutil.rmtree(args.instance, ignore_errors=True)
    server = ServerProcess(args.instance / "server")
    server.env["SMILETAP_METRICS"] = "true"  # /metrics for this host (SMILETAP_METRICS_ALLOW)
    server.cli("migrate")
    # The rest goes in through the operator's commands run in this process (`cli_here`): the
    # same code on the same database, without ~30 cold `smiletap-server` processes.
    rng = random.Random(7)
    survey = server.cli_here("create-survey", "--file", str(SURVEY_FILE))
    paying = server.cli_here("create-survey", "--file", str(checkout_survey_file(args.instance)))
    server.start()
    print(f"server: {server.url} (SQLite in {server.instance_dir}, log {server.log_path})")
    started: list[KioskProcess | Xvfb] = []  # stopped in reverse order at the end
    kiosk_location = ""
    kiosk_code = ""
    names: dict[str, str] = {}
    try:
        for name, timezone, staff in LOCATIONS:
            location = server.cli_here("create-location", "--name", name, "--timezone", timezone)[
                "id"
            ]
            names[location] = name
            server.cli_here("assign-survey", "--location", location, "--survey", survey["id"])
            staff_ids = [
                server.cli_here("create-staff", "--location", location, "--name", person)["id"]
                for person in staff
            ]
            # Entrance and checkout, each with its own kiosk; the checkout asks about paying.
            entrance = server.cli_here("create-touchpoint", "--location", location, "--name",
                                       "Entrance", "--kind", "entrance")["id"]  # fmt: skip
            checkout = server.cli_here("create-touchpoint", "--location", location, "--name",
                                       "Checkout", "--kind", "checkout", "--survey",
                                       paying["id"])["id"]  # fmt: skip
            places: list[Place] = [(entrance, survey, 0), (checkout, paying, 1), (None, survey, 0)]
            count, history_device, shares = seed_history(
                server, location, timezone, places, staff_ids, 28, rng
            )
            seed_business_results(server, location, timezone, history_device, shares, rng)
            print(
                f"location: {name} ({timezone}) {location}: {len(staff)} staff, touchpoints"
                f" entrance and checkout, {count} answers (and {count} in the four weeks before)"
            )
            if not kiosk_location:
                kiosk_location = location
                device = server.cli_here("create-device", "--location", location, "--name",
                                    "Front door", "--touchpoint", entrance)  # fmt: skip
                kiosk_code = device["code"]
            else:
                server.cli_here("create-device", "--location", location, "--name", "Front door",
                           "--touchpoint", entrance)  # fmt: skip
            server.cli_here("create-device", "--location", location, "--name", "Tills",
                       "--touchpoint", checkout)  # fmt: skip
        api_key = server.cli_here("create-api-key", "--role", "admin")["key"]
        seed_destinations(server, list(names))
        print("integrations: a paused webhook, Slack and Teams destination, each with a log")
        first = next(iter(names))
        server.cli_here("create-user", "--email", DEMO_ADMIN, "--role", "admin",
                   "--password-stdin", stdin=DEMO_PASSWORD)  # fmt: skip
        manager_args = ["--role", "manager", "--location", first, "--password-stdin"]
        managers = [
            server.cli_here("create-user", "--email", email, *manager_args, stdin=DEMO_PASSWORD)[
                "id"
            ]
            for email in DEMO_MANAGERS
        ]
        followed = seed_followups(server, first, managers, random.Random(16))
        print(
            f"follow-ups: {names[first]}: {followed['handled']} handled,"
            f" {followed['assigned']} assigned, {followed['open']} open"
            f" ({server.url}/dashboard/locations/{first}/followups)"
        )
        print(
            f"dashboard: {server.url}/login as {DEMO_ADMIN} or {DEMO_MANAGERS[0]} (manager of"
            f" {names[first]}), password '{DEMO_PASSWORD}'"
        )
        # Digests: the admin's weekly (numbers for en_GB), the manager's daily (pl_PL).
        seed_digests(
            server, [(DEMO_ADMIN, "weekly", "en_GB"), (DEMO_MANAGERS[0], "daily", "pl_PL")]
        )
        print(f"digest preview (signed in): {server.url}/account/digest/preview")

        xvfb = None
        display = os.environ.get("DISPLAY", "")
        if not display:
            xvfb = Xvfb(1280, 800)
            started.append(xvfb)
            display = xvfb.display
        kiosk = KioskProcess(args.instance / "kiosk", display, size=(1280, 800))
        print(kiosk.enroll(server.url, kiosk_code))
        started.append(kiosk.start())
        kiosk.targets("q1", timeout=90)
        if xvfb:
            shot = xvfb.screenshot(args.instance / "kiosk-screenshot.png")
            print(f"kiosk: running on Xvfb {display}; screenshot: {shot}")
        else:
            print(f"kiosk: window open on {display}")
        today = dt.date.today()
        query = f"from={today - dt.timedelta(days=30)}&to={today + dt.timedelta(days=1)}"
        query += "&group_by=touchpoint"
        report_url = f"{server.url}/api/v1/reports/scores?{query}"
        print(f"report: {report_url}")
        print(f"  curl -H 'Authorization: Bearer {api_key}' '{report_url}'")
        print(f"health: {server.url}/healthz, {server.url}/readyz; metrics: {server.url}/metrics")
        for group in server.get_json(report_url.removeprefix(server.url), api_key)["groups"]:
            smiley = group["smiley"]
            where = group["key"]["touchpoint_id"] or "no touchpoint"
            print(
                f"  {names[group['key']['location_id']]} at {where}: n={group['n']}, smiley"
                f" positive {smiley['positive_share']}% {smiley['ci95']}"
            )
        print_masked_comments(server)
        links_url = (
            f"/api/v1/reports/links?from={today - dt.timedelta(days=70)}&to={today}"
            "&score=smiley&kpi=conversion"
        )
        link = server.get_json(links_url, api_key)
        print(
            f"link: smiley share vs conversion, within each location: {link['verdict']}, "
            f"r={link['r']} {link['ci95']}, n={link['n']} ({server.url}{links_url})"
        )
        print(
            f"business: {server.url}/dashboard/business (locations ranked by response rate and"
            f" coverage); the panel with eight weeks: {server.url}/dashboard/locations/"
            f"{kiosk_location}?period=90#business; KPI upload: {server.url}/dashboard/kpis/upload"
        )
        span = f"from={today - dt.timedelta(days=30)}&to={today + dt.timedelta(days=1)}"
        kpis_url = f"/api/v1/reports/kpis?{span}&group_by=location"
        for group in server.get_json(kpis_url, api_key)["groups"]:
            print(
                f"  {names[group['key']['location_id']]}: response rate "
                f"{group['response_rate']}, coverage {group['coverage']}%, conversion "
                f"{group['conversion']}%, basket {group['basket']}"
            )
        if args.check:
            return 0
        print("Ctrl-C stops the demo.")
        while kiosk.proc and kiosk.proc.poll() is None:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        for process in reversed(started):
            process.stop()
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
