"""The deploy scripts and files: shellcheck, systemd's own unit check, the kiosk setup's dry
run, the server's environment file and the PostgreSQL set-up script."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text

from server.db import make_engine
from server.settings import SETTINGS
from tests.pgdb import pg_base_url

from .conftest import DEPLOY, ROOT

SHELL_SCRIPTS = sorted(
    [*DEPLOY.glob("**/*.sh"), DEPLOY / "kiosk" / "kiosk-session"], key=lambda p: str(p)
)
UNITS = sorted(DEPLOY.glob("*/*.service"))
SETUP = DEPLOY / "kiosk" / "setup.sh"
# Scripts of this area are held to every check; deploy/dev's to warnings and errors.
STRICT = (DEPLOY / "kiosk", DEPLOY / "server")


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"{tool} is needed: run deploy/dev/install.sh")
    return path


@pytest.mark.parametrize("script", SHELL_SCRIPTS, ids=lambda p: str(p.relative_to(DEPLOY)))
def test_shellcheck(script: Path) -> None:
    severity = "style" if script.parent in STRICT else "warning"
    done = subprocess.run(
        [_need("shellcheck"), "-x", f"--severity={severity}", str(script.relative_to(ROOT))],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
def test_systemd_unit_verifies(unit: Path, tmp_path: Path) -> None:
    """`systemd-analyze verify` finds nothing, once the programs it names exist here."""
    body = unit.read_text(encoding="utf-8")
    programs = re.findall(r"^Exec\w+=[-@:+!]*(\S+)", body, flags=re.MULTILINE)
    assert programs, "no Exec lines"
    for program in set(programs):
        assert program.startswith(("/usr/bin/", "/bin/", "/opt/smiletap/")), program
        # The target machine has them (packages, venv); this one need not.
        body = body.replace(program, "/bin/true")
    copy = tmp_path / unit.name
    copy.write_text(body, encoding="utf-8")
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    done = subprocess.run([analyze, "verify", str(copy)], capture_output=True, text=True)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr


def test_kiosk_unit_restarts_and_disables_blanking() -> None:
    unit = (DEPLOY / "kiosk" / "smiletap-kiosk.service").read_text(encoding="utf-8")
    assert "Restart=always" in unit
    assert "StartLimitIntervalSec=0" in unit
    assert "User=smiletap" in unit
    assert re.search(r"ExecStart=.*-s 0 -dpms", unit)
    assert "WantedBy=multi-user.target" in unit
    session = (DEPLOY / "kiosk" / "kiosk-session").read_text(encoding="utf-8")
    assert "xset s off s noblank -dpms" in session
    # setup.sh installs the session at /opt/smiletap/kiosk-session, beside the venv
    assert 'exec "$(dirname "$0")/venv/bin/smiletap-kiosk" run' in session


def test_kiosk_unit_flushes_the_backlog_on_a_clean_stop() -> None:
    unit = (DEPLOY / "kiosk" / "smiletap-kiosk.service").read_text(encoding="utf-8")
    stop = re.search(r"^ExecStop=-(\S+) flush --timeout (\d+)$", unit, flags=re.MULTILINE)
    assert stop and stop.group(1) == "/opt/smiletap/venv/bin/smiletap-kiosk"
    timeout = re.search(r"^TimeoutStopSec=(\d+)$", unit, flags=re.MULTILINE)
    assert timeout and int(stop.group(2)) < int(timeout.group(1))


def test_kiosk_x_server_runs_without_root() -> None:
    """No setuid wrapper in the packages, and where one is installed it keeps X rootless."""
    setup = SETUP.read_text(encoding="utf-8")
    assert "xserver-xorg-legacy" not in setup
    assert "printf 'allowed_users=console\\nneeds_root_rights=no\\n'" in setup
    assert "needs_root_rights=yes" not in setup and "allowed_users=anybody" not in setup


def test_server_unit_migrates_first() -> None:
    unit = (DEPLOY / "server" / "smiletap-server.service").read_text(encoding="utf-8")
    assert "ExecStartPre=/opt/smiletap/venv/bin/smiletap-server migrate" in unit
    assert re.search(r"ExecStart=\S+/gunicorn --config \S+/gunicorn.conf.py server.wsgi:app", unit)


def test_server_unit_keeps_its_files_from_other_users() -> None:
    unit = (DEPLOY / "server" / "smiletap-server.service").read_text(encoding="utf-8")
    assert re.search(r"^UMask=0027$", unit, flags=re.MULTILINE)
    assert re.search(r"^StateDirectoryMode=0750$", unit, flags=re.MULTILINE)


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def _dry_run(
    tmp_path: Path, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    target = tmp_path / "target"
    target.mkdir(exist_ok=True)
    env = {**os.environ, "SMILETAP_ROOT": str(target)}
    return subprocess.run(
        ["bash", str(SETUP), "--dry-run", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_kiosk_setup_dry_run_plans_every_step_and_changes_nothing(tmp_path: Path) -> None:
    outside = Path("/opt/smiletap")
    existed = outside.exists()
    done = _dry_run(tmp_path, "--server", "https://smiletap.example.com", "--code", "BCDFG-HJKLM")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    steps = re.findall(r"^==> (.*)$", out, flags=re.MULTILINE)
    assert steps == [
        "system packages",
        "user smiletap",
        f"venv /opt/smiletap/venv with .[kiosk] from {ROOT}",
        "kiosk session and environment",
        "systemd unit smiletap-kiosk.service",
        "screen blanking off",
        "enrollment",
        "IT PIN",
        "start",
    ]
    assert re.search(r"would run: .*apt-get install .*fonts-noto-cjk", out)
    for package in ("libsdl2-2.0-0", "libmtdev1", "xinit", "xserver-xorg", "xclip"):
        assert f" {package}" in out
    # one input path (X): the kiosk user is not in the input group
    assert "would run: usermod -a -G video\\,render\\,tty smiletap" in out
    assert "gpasswd" not in out
    assert "would write: /etc/X11/xorg.conf.d/99-smiletap-vc4.conf" in out
    assert "would run: useradd --system" in out
    assert re.search(r"would run: .*pip install .*\[kiosk\\?\]", out)
    assert "would write: /etc/systemd/system/smiletap-kiosk.service" in out
    assert "multi-user.target.wants/smiletap-kiosk.service" in out
    assert "would write: /etc/X11/Xwrapper.config" in out
    assert re.search(
        r"would run: as_kiosk \S+smiletap-kiosk enroll --server https://smiletap.example.com"
        r" --code BCDFG-HJKLM",
        out,
    )
    assert out.rstrip().endswith("done")
    assert "dry run: nothing was changed" in out
    assert _tree(tmp_path / "target") == []
    assert outside.exists() == existed


def test_kiosk_setup_dry_run_sees_what_is_already_done(tmp_path: Path) -> None:
    """A second run (here: a tree where the files are in place) writes nothing again."""
    target = tmp_path / "target"
    unit = target / "etc/systemd/system/smiletap-kiosk.service"
    unit.parent.mkdir(parents=True)
    shutil.copy(DEPLOY / "kiosk" / "smiletap-kiosk.service", unit)
    wants = target / "etc/systemd/system/multi-user.target.wants"
    wants.mkdir()
    (wants / "smiletap-kiosk.service").symlink_to("/etc/systemd/system/smiletap-kiosk.service")
    env_file = target / "etc/smiletap/kiosk.env"
    env_file.parent.mkdir(parents=True)
    env_file.write_text("SMILETAP_KIOSK_DATA_DIR=/data/kiosk\n", encoding="utf-8")
    (target / "etc/passwd").write_text(
        "smiletap:x:999:999::/var/lib/smiletap:/usr/sbin/nologin\n", encoding="utf-8"
    )
    # an older set-up put the kiosk user in the input group: this run takes it out
    (target / "etc/group").write_text(
        "input:x:105:pi,smiletap\nsmiletapper:x:106:smiletap2\n", encoding="utf-8"
    )
    cmdline = target / "boot/firmware/cmdline.txt"
    cmdline.parent.mkdir(parents=True)
    cmdline.write_text("console=tty1 root=PARTUUID=1234-02 rootwait\n", encoding="utf-8")
    before = {p: p.read_bytes() for p in target.rglob("*") if p.is_file()}

    done = _dry_run(tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "unchanged: /etc/systemd/system/smiletap-kiosk.service" in out
    assert "kept: /etc/smiletap/kiosk.env" in out
    assert "    enabled" in out
    assert "would run: useradd" not in out
    assert "would run: sed -i 1s/\\$/\\ consoleblank=0/" in out
    assert "no --server/--code given" in out
    assert "would run: gpasswd -d smiletap input" in out
    assert {p: p.read_bytes() for p in target.rglob("*") if p.is_file()} == before


def test_kiosk_setup_passes_allow_http_to_the_enrollment(tmp_path: Path) -> None:
    done = _dry_run(tmp_path, "--server", "http://10.0.0.5:8000", "--code", "C", "--allow-http")
    assert done.returncode == 0, done.stderr
    assert re.search(
        r"would run: as_kiosk \S+smiletap-kiosk enroll --server http://10.0.0.5:8000 --code C"
        r" --allow-http$",
        done.stdout,
        flags=re.MULTILINE,
    )


def test_kiosk_setup_reads_the_it_pin_from_stdin_only(tmp_path: Path) -> None:
    done = _dry_run(tmp_path, "--pin-stdin", stdin="86420135\n")
    assert done.returncode == 0, done.stderr
    assert "would run: as_kiosk /opt/smiletap/venv/bin/smiletap-kiosk enroll --pin-stdin" in (
        done.stdout
    )
    assert "86420135" not in done.stdout + done.stderr
    assert "would write: /etc/smiletap/kiosk.env (mode 0640)" in done.stdout
    short = _dry_run(tmp_path, "--pin-stdin", stdin="1234\n")
    assert short.returncode == 2 and "6 to 8 digits" in short.stderr


def test_kiosk_setup_tightens_an_old_world_readable_env_file(tmp_path: Path) -> None:
    env_file = tmp_path / "target/etc/smiletap/kiosk.env"
    env_file.parent.mkdir(parents=True)
    env_file.write_text("SMILETAP_KIOSK_IT_PIN=246810\n", encoding="utf-8")
    env_file.chmod(0o644)
    done = _dry_run(tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"would run: chmod 0640 {env_file}" in done.stdout


def test_kiosk_setup_refuses_bad_arguments(tmp_path: Path) -> None:
    assert _dry_run(tmp_path, "--server", "https://x.example").returncode == 2
    assert _dry_run(tmp_path, "--bogus").returncode == 2
    real = subprocess.run(
        ["bash", str(SETUP)],
        env={**os.environ, "SMILETAP_ROOT": str(tmp_path)},
        capture_output=True,
        text=True,
    )
    assert real.returncode == 2
    assert "SMILETAP_ROOT is for --dry-run" in real.stderr


def _env_example_names() -> set[str]:
    example = (DEPLOY / "server" / "smiletap.env.example").read_text(encoding="utf-8")
    return set(re.findall(r"^#?(SMILETAP_[A-Z0-9_]+)=", example, flags=re.MULTILINE))


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_env_example_documents_setting(setting: object) -> None:
    assert f"SMILETAP_{setting.name}" in _env_example_names()  # type: ignore[attr-defined]


def test_nginx_site_limits_and_headers() -> None:
    site = (DEPLOY / "server" / "nginx-smiletap.conf").read_text(encoding="utf-8")
    assert "client_max_body_size 5m;" in site
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in site
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in site
    assert re.search(r"ssl_certificate\s+/etc/letsencrypt/live/smiletap.example.com/", site)


def test_nginx_closes_idle_upstream_connections_before_gunicorn_does() -> None:
    # The other order is a race: nginx reuses a connection that gunicorn is closing, and the
    # POST sent on it is answered 502 (seen in CI on a loaded machine).
    site = (DEPLOY / "server" / "nginx-smiletap.conf").read_text(encoding="utf-8")
    upstream = re.search(r"upstream smiletap_app \{(.*?)\}", site, re.S)
    assert upstream and re.search(r"^\s*keepalive \d+;", upstream.group(1), re.M)
    nginx_idle = re.search(r"keepalive_timeout (\d+)s;", upstream.group(1))
    assert nginx_idle, "an upstream with keepalive needs its own keepalive_timeout"
    gunicorn = (DEPLOY / "server" / "gunicorn.conf.py").read_text(encoding="utf-8")
    gunicorn_idle = re.search(
        r'^keepalive = int\(os.environ.get\("GUNICORN_KEEPALIVE", (\d+)\)\)', gunicorn, re.M
    )
    assert gunicorn_idle, "gunicorn's keepalive must be set (its default, 2 s, is shorter)"
    assert int(nginx_idle.group(1)) < int(gunicorn_idle.group(1))


@pytest.mark.e2e  # the real script against the real cluster, twice
@pytest.mark.postgres
def test_postgres_setup_creates_role_and_database_idempotently() -> None:
    base = pg_base_url()
    admin_url = base.set(drivername="postgresql", database="postgres").render_as_string(False)
    name = f"smiletap_setup_{uuid.uuid4().hex[:8]}"
    script = [
        "bash",
        str(DEPLOY / "server" / "postgres-setup.sh"),
        "--admin-url",
        admin_url,
        "--role",
        name,
        "--db",
        name,
        "--host",
        base.host or "127.0.0.1",
    ]
    admin = make_engine(admin_url).execution_options(isolation_level="AUTOCOMMIT")
    try:
        first = subprocess.run(script, capture_output=True, text=True, timeout=60)
        assert first.returncode == 0, first.stderr
        assert f"created role {name}" in first.stdout
        assert f"created database {name}" in first.stdout
        url = re.search(r"^SMILETAP_DATABASE_URL=(\S+)$", first.stdout, re.MULTILINE)
        assert url
        again = subprocess.run(script, capture_output=True, text=True, timeout=60)
        assert again.returncode == 0, again.stderr
        assert "password kept" in again.stdout and "database" in again.stdout
        owner_engine = make_engine(url.group(1))
        with owner_engine.begin() as conn:  # the role owns the database: it can make tables
            conn.execute(text("CREATE TABLE probe (id int)"))
        owner_engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'DROP ROLE IF EXISTS "{name}"'))
        admin.engine.dispose()


@pytest.mark.parametrize("guide", ["it-guide.md", "manager-guide.md", "admin-guide.md"])
def test_readme_links_guide(guide: str) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"(docs/{guide})" in readme
    assert (ROOT / "docs" / guide).is_file()


def test_it_guide_names_only_files_that_exist() -> None:
    guide = (ROOT / "docs" / "it-guide.md").read_text(encoding="utf-8")
    named = set(re.findall(r"deploy/(?:kiosk|server)/[\w.-]+", guide))
    assert named
    for path in named:
        assert (ROOT / path).exists(), path
    for path in (*DEPLOY.glob("server/*"), *DEPLOY.glob("kiosk/*")):
        if not path.name.startswith("_"):
            assert path.name in guide, f"{path.name} is not in the IT guide"


def test_kiosk_session_asks_x_again_when_it_refuses_a_connection(tmp_path: Path) -> None:
    """A busy X server can refuse xrandr for a moment; the session asks again rather than
    leave the kiosk a centred 800x600 window."""
    bin_dir, app_dir = tmp_path / "bin", tmp_path / "opt"
    (app_dir / "venv" / "bin").mkdir(parents=True)
    bin_dir.mkdir()
    tries = tmp_path / "tries"
    fakes = {
        bin_dir / "xset": "#!/bin/sh\nexit 0\n",
        # refuses twice, then reports the screen as xrandr does
        bin_dir / "xrandr": (
            f'#!/bin/sh\necho x >> "{tries}"\n'
            f'if [ "$(wc -l < "{tries}")" -le 2 ]; then\n'
            '  echo "Can\'t open display :5" >&2; exit 1\nfi\n'
            'echo "Screen 0: minimum 8 x 8, current 1920 x 1080, maximum 32767 x 32767"\n'
        ),
        app_dir / "venv" / "bin" / "smiletap-kiosk": (
            '#!/bin/sh\necho "$KCFG_GRAPHICS_WIDTH $KCFG_GRAPHICS_HEIGHT $KCFG_GRAPHICS_LEFT"\n'
        ),
    }
    for path, body in fakes.items():
        path.write_text(body, encoding="utf-8")
        path.chmod(0o755)
    session = app_dir / "kiosk-session"
    session.write_bytes((DEPLOY / "kiosk" / "kiosk-session").read_bytes())
    session.chmod(0o755)
    done = subprocess.run(
        [str(session)],
        env={"PATH": f"{bin_dir}:/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1920", "1080", "0"]
    assert tries.read_text().count("x") == 3
