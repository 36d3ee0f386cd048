"""deploy/server/gunicorn.conf.py's listening sockets: one per worker on a TCP address
(SO_REUSEPORT, so the kernel spreads connections over the workers), one shared otherwise."""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from gunicorn.config import Config
from harness import free_port

from .conftest import DEPLOY, ROOT

CONF = DEPLOY / "server" / "gunicorn.conf.py"


def _listeners(port: int) -> int:
    """TCP sockets in LISTEN state on this local port (IPv4)."""
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == "0A":
            count += 1
    return count


@pytest.mark.e2e
def test_each_worker_listens_on_a_socket_of_its_own(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "SMILETAP_INSTANCE_PATH": str(tmp_path), "PYTHONPATH": str(ROOT)}
    env.pop("GUNICORN_REUSE_PORT", None)
    log_path = tmp_path / "gunicorn.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                str(CONF),
                "-b",
                f"127.0.0.1:{port}",
                "-w",
                "2",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 30
            while _listeners(port) < 2 and time.monotonic() < deadline:
                if process.poll() is not None:
                    pytest.fail(f"gunicorn exited:\n{log_path.read_text()}")
                time.sleep(0.1)  # polling for the workers' sockets, not a fixed wait
            assert _listeners(port) == 2, log_path.read_text()
        finally:
            process.terminate()
            process.wait(timeout=30)


def _on_starting(bind: str, listen_fds: str | None = None) -> bool:
    """The config's `reuse_port` after its `on_starting` hook, for this bind address."""
    before = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    try:
        conf = runpy.run_path(str(CONF))
        cfg = Config()
        cfg.set("bind", [bind])
        cfg.set("reuse_port", conf["reuse_port"])
        saved = os.environ.pop("LISTEN_FDS", None)
        if listen_fds is not None:
            os.environ["LISTEN_FDS"] = listen_fds
        try:
            conf["on_starting"](SimpleNamespace(cfg=cfg))
        finally:
            os.environ.pop("LISTEN_FDS", None)
            if saved is not None:
                os.environ["LISTEN_FDS"] = saved
        return bool(cfg.reuse_port)
    finally:
        made = os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
        if made and made != before:
            Path(made).rmdir()
        if before is not None:
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = before


def test_only_a_tcp_address_gets_a_socket_per_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GUNICORN_REUSE_PORT", raising=False)
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    assert _on_starting("127.0.0.1:8000")
    assert _on_starting("[::1]:8000")
    # Each worker binding the path would remove the socket the one before it bound.
    assert not _on_starting("unix:/run/smiletap/gunicorn.sock")
    assert not _on_starting("fd://3")
    # systemd's socket, handed over: the workers must share it, not bind their own.
    assert not _on_starting("127.0.0.1:8000", listen_fds="1")
    monkeypatch.setenv("GUNICORN_REUSE_PORT", "false")
    assert not _on_starting("127.0.0.1:8000")
