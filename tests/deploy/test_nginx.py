"""The production stack for real: gunicorn with deploy/server/gunicorn.conf.py (2 workers)
behind nginx from Debian, configured from deploy/server/nginx-smiletap.conf, on loopback.
Enroll, upload, report and the dashboard's sign-in go through nginx — on SQLite and on a fresh
PostgreSQL database."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pytest
import requests
from harness import ServerProcess, free_port

from .conftest import BIN, DEPLOY, Seeded, http_json, seed

pytestmark = pytest.mark.e2e

GUNICORN_CONF = DEPLOY / "server" / "gunicorn.conf.py"
SITE = DEPLOY / "server" / "nginx-smiletap.conf"
FIVE_MIB = 5 * 1024 * 1024
PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def site_for_test(site: str, listen_port: int, app_port: int) -> str:
    """The site template as IT installs it, but plain HTTP on a loopback port."""
    site, redirects = re.subn(r"server \{\n    listen 80;.*?\n\}\n", "", site, flags=re.S)
    site, upstreams = re.subn(r"server 127\.0\.0\.1:8000;", f"server 127.0.0.1:{app_port};", site)
    listen = f"    listen 127.0.0.1:{listen_port};\n"
    site, listens = re.subn(r"    listen 443 ssl;\n", listen, site)
    site = site.replace("    listen [::]:443 ssl;\n", "")
    site = re.sub(r"^\s*ssl_.*\n", "", site, flags=re.M)
    assert (redirects, upstreams, listens) == (1, 1, 1), "the site template changed shape"
    # 443 as a word: the random test ports (44325, 14430 …) may contain those digits.
    assert "ssl" not in site and re.search(r"\b443\b", site) is None
    return site


def _wait_for_port(port: int, proc: subprocess.Popen[Any], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{proc.args[0]} exited: {log.read_text()[-3000:]}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    pytest.fail(f"nothing listens on {port} after {timeout}s: {log.read_text()[-3000:]}")


class Stack:
    """gunicorn + nginx on loopback; `url` is nginx's."""

    def __init__(self, tmp_path: Path, database_url: str | None) -> None:
        self.dir = tmp_path / "stack"
        self.dir.mkdir()
        # The CLI side (migrate, create-*) of the same instance, as on the server machine.
        self.server = ServerProcess(tmp_path / "instance", database_url)
        self.env = {**self.server.env, "SMILETAP_PROXY_FIX_X_FOR": "1"}
        self.app_port = free_port()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.procs: list[subprocess.Popen[bytes]] = []
        self.logs: list[IO[bytes]] = []

    def _spawn(self, args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
        handle = log.open("ab")
        self.logs.append(handle)
        proc = subprocess.Popen(args, env=env, stdout=handle, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        return proc

    def start(self) -> Stack:
        migrated = subprocess.run(  # what the unit's ExecStartPre does
            [str(BIN / "smiletap-server"), "migrate"],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert migrated.returncode == 0, migrated.stderr
        self.gunicorn_log = self.dir / "gunicorn.log"
        gunicorn = self._spawn(
            [
                str(BIN / "gunicorn"),
                "--config",
                str(GUNICORN_CONF),
                "--bind",
                f"127.0.0.1:{self.app_port}",
                "--workers",
                "2",
            ],
            self.gunicorn_log,
            self.env,
        )
        _wait_for_port(self.app_port, gunicorn, self.gunicorn_log)

        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        if not os.path.exists(nginx):
            pytest.fail("nginx is needed: run deploy/dev/install.sh")
        conf = self.dir / "nginx.conf"
        user = "user root;\n" if os.geteuid() == 0 else ""  # workers must reach self.dir
        temp = "\n".join(
            f"    {kind}_temp_path {self.dir}/{kind};"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        site = site_for_test(SITE.read_text(encoding="utf-8"), self.port, self.app_port)
        conf.write_text(
            f"{user}daemon off;\nworker_processes 1;\npid {self.dir}/nginx.pid;\n"
            f"error_log {self.dir}/error.log info;\nevents {{ worker_connections 64; }}\n"
            f"http {{\n    include /etc/nginx/mime.types;\n"
            f"    access_log {self.dir}/access.log;\n{temp}\n{site}\n}}\n",
            encoding="utf-8",
        )
        self.nginx_log = self.dir / "error.log"
        checked = subprocess.run(
            [nginx, "-t", "-p", str(self.dir), "-e", str(self.nginx_log), "-c", str(conf)],
            capture_output=True,
            text=True,
        )
        assert checked.returncode == 0, checked.stderr
        proc = self._spawn(
            [nginx, "-p", str(self.dir), "-e", str(self.nginx_log), "-c", str(conf)],
            self.dir / "nginx.out",
            {**os.environ},
        )
        _wait_for_port(self.port, proc, self.nginx_log)
        return self

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)
        for handle in self.logs:
            handle.close()


@pytest.fixture
def start_stack(tmp_path: Path) -> Iterator[Callable[[str | None], Stack]]:
    stacks: list[Stack] = []

    def start(database_url: str | None) -> Stack:
        stack = Stack(tmp_path, database_url)
        stacks.append(stack)
        return stack.start()

    yield start
    for stack in stacks:
        stack.stop()


def _post_raw(url: str, body: bytes) -> tuple[int, Any]:
    """POST bytes as JSON, by hand: nginx may answer and close before the body is sent."""
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.putrequest("POST", "/api/v1/submissions")
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(len(body)))
        conn.putheader("Authorization", "Bearer not-a-token")
        conn.endheaders()
        # nginx may answer from the headers and close early; its answer is still readable.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            conn.send(body)
        answer = conn.getresponse()
        raw = answer.read()
    finally:
        conn.close()
    try:
        return answer.status, json.loads(raw)
    except ValueError:
        return answer.status, raw.decode(errors="replace")


def _dashboard_through_nginx(stack: Stack, data: Seeded) -> None:
    """Sign in with the form and its CSRF token, see the overview, fetch the chart script."""
    stack.server.cli_here(
        "create-user", "--email", "it@example.com", "--role", "admin", "--password-stdin",
        stdin=PASSWORD + "\n",
    )  # fmt: skip
    browser = requests.Session()
    form = browser.get(stack.url + "/login", timeout=30)
    assert form.status_code == 200, form.text
    token = CSRF.search(form.text)
    assert token, form.text
    fields = {"email": "it@example.com", "password": PASSWORD, "csrf_token": token.group(1)}
    signed_in = browser.post(stack.url + "/login", data=fields, timeout=30, allow_redirects=False)
    assert signed_in.status_code == 302, signed_in.text
    cookie = signed_in.headers["Set-Cookie"]
    assert cookie.startswith("smiletap_session=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie, cookie
    assert "Secure" not in cookie  # plain HTTP here; SMILETAP_TLS=true adds it behind TLS

    overview = browser.get(stack.url + signed_in.headers["Location"], timeout=30)
    assert overview.status_code == 200 and overview.url.endswith("/dashboard/")
    row = re.search(rf'data-location="{data.location_id}".*?</tr>', overview.text, re.S)
    assert row and "Warszawa Centrum" in row.group(0), overview.text
    assert re.search(r'class="n">\s*40\s*<', row.group(0)), row.group(0)

    page = browser.get(f"{stack.url}/dashboard/locations/{data.location_id}", timeout=30)
    assert page.status_code == 200
    script = re.search(r'<script src="(/static/vendor/chart[^"]+\.js)"', page.text)
    assert script, page.text
    chart_js = browser.get(stack.url + script.group(1), timeout=30)
    assert chart_js.status_code == 200 and "javascript" in chart_js.headers["Content-Type"]
    assert len(chart_js.content) > 100_000 and b"Chart" in chart_js.content
    css = browser.get(stack.url + "/static/dashboard.css", timeout=30)
    assert css.status_code == 200 and css.headers["Content-Type"].startswith("text/css")


def _flow_through_nginx(stack: Stack) -> None:
    data = seed(stack.server.cli_here, stack.url)
    status, report = http_json("GET", stack.url + data.report_path(), token=data.api_key)
    assert status == 200, report
    (group,) = report["groups"]
    assert group["key"] == {"location_id": data.location_id}
    assert group["n"] == 40 and group["ranked"] is True
    assert group["smiley"]["counts"] == data.counts

    status, config = http_json("GET", stack.url + "/api/v1/config", token=data.token)
    assert status == 200 and config["device"]["id"] == data.device_id
    status, error = http_json("GET", stack.url + "/api/v1/config", token="wrong")
    assert status == 401 and error["error"]["code"] == "unauthorized"

    # Over the limit: nginx answers 413 in the API's error shape; gunicorn never sees it.
    status, error = _post_raw(stack.url, b" " * (FIVE_MIB + 1))
    assert status == 413, error
    assert error["error"]["code"] == "too_large"
    # Under the limit: nginx passes it on and the app judges it (not JSON: 400, no token: 401).
    status, error = _post_raw(stack.url, b"x" * (FIVE_MIB - 1024))
    assert status in (400, 401), (error, stack.nginx_log.read_text(encoding="utf-8")[-2000:])
    assert error["error"]["code"] != "too_large"

    _dashboard_through_nginx(stack, data)

    access = (stack.dir / "access.log").read_text(encoding="utf-8")
    assert "POST /api/v1/enroll" in access and "GET /api/v1/reports/scores" in access
    assert "POST /login" in access and "GET /static/vendor/chart.umd.min.js" in access
    # Both workers served (a loaded machine may also have restarted one: more boots are fine).
    booted = re.findall(r"Booting worker with pid", stack.gunicorn_log.read_text(encoding="utf-8"))
    assert len(booted) >= 2


def test_gunicorn_behind_nginx_on_sqlite(start_stack: Callable[[str | None], Stack]) -> None:
    _flow_through_nginx(start_stack(None))


@pytest.mark.postgres
def test_gunicorn_behind_nginx_on_postgresql(
    start_stack: Callable[[str | None], Stack], new_pg_database: Callable[[], str]
) -> None:
    _flow_through_nginx(start_stack(new_pg_database()))
