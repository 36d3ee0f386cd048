"""Real processes for the demo and the end-to-end tests: X servers, the server, a kiosk.

Everything here starts the product the way an operator would (its console scripts, real
sockets, a real X display) so that `deploy/dev/demo.py` and `tests/e2e` exercise the same
paths. Only the standard library: it runs before anything else is importable.
"""

from __future__ import annotations

import json
import os
import queue
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import IO

BIN = Path(sys.executable).parent


class HarnessError(RuntimeError):
    """A process did not start or did not say what was expected in time."""


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class XDisplay:
    """An X server started with `-displayfd`; `display` is its name, e.g. `:5`."""

    #: The screen's width and height in pixels.
    size: tuple[int, int]

    def __init__(self, command: Sequence[str]) -> None:
        read_fd, write_fd = os.pipe()
        self.proc = subprocess.Popen(
            [*command, "-displayfd", str(write_fd), "-nolisten", "tcp"],
            pass_fds=(write_fd,),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(write_fd)
        number = b""
        with os.fdopen(read_fd, "rb") as pipe:
            while not number.endswith(b"\n"):
                chunk = pipe.read(1)
                if not chunk:
                    raise HarnessError(f"{command[0]} exited before naming its display")
                number += chunk
        self.display = f":{number.decode().strip()}"
        self._pointer: tuple[int, int] | None = None

    def env(self) -> dict[str, str]:
        return {**os.environ, "DISPLAY": self.display}

    def click(self, x: int, y: int) -> None:
        """A real pointer press and release at window pixel (x, y), in one xdotool run."""
        self._xdotool(*self._move_to(x, y), "mousedown", "1", "mouseup", "1")

    def press(self, x: int, y: int) -> None:
        """Press and hold the pointer at (x, y); `release` lets go (a long press between)."""
        self._xdotool(*self._move_to(x, y), "mousedown", "1")

    def release(self) -> None:
        self._xdotool("mouseup", "1")

    def _move_to(self, x: int, y: int) -> list[str]:
        # `--sync` holds the press back until the X server has moved the pointer (SDL drops a
        # press that arrives before the motion into its window); it would wait for a motion
        # that never comes if the pointer is there already.
        if self._pointer == (x, y):
            return []
        self._pointer = (x, y)
        return ["mousemove", "--sync", str(x), str(y)]

    def _xdotool(self, *args: str) -> None:
        subprocess.run(["xdotool", *args], env=self.env(), check=True)

    def screenshot(self, path: Path, size: Sequence[int] | None = None) -> Path:
        """Capture the display now (its top-left `size` only, where a window sits, if given).

        Take it once the kiosk has logged the screen settled (`KioskProcess.layout`, or its
        `targets` lines): it logs them only after the screen was drawn, so nothing sleeps."""
        path.parent.mkdir(parents=True, exist_ok=True)
        crop = ["-crop", "{}x{}+0+0".format(*size), "+repage"] if size else []
        subprocess.run(
            ["/usr/bin/import", "-window", "root", *crop, str(path)], env=self.env(), check=True
        )
        return path

    def window_geometry(self, name: str) -> tuple[int, int, int, int]:
        """(left, top, width, height) on the screen of the one window titled exactly `name`."""
        tree = subprocess.run(
            ["xwininfo", "-root", "-tree"], env=self.env(), capture_output=True, text=True
        ).stdout
        # '     0x200006 "Smiletap": ("python3.11" "python3.11")  800x600+0+-60  +0+-60'
        found = re.findall(
            rf'^\s*0x[0-9a-f]+ "{re.escape(name)}": .*? (\d+)x(\d+)[+-]\S+\s+\+(-?\d+)\+(-?\d+)$',
            tree,
            flags=re.MULTILINE,
        )
        if len(found) != 1:
            raise HarnessError(f"expected one window named {name!r}:\n{tree}")
        width, height, left, top = (int(n) for n in found[0])
        return left, top, width, height

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


class Xvfb(XDisplay):
    """A virtual X display in memory."""

    def __init__(self, width: int = 1280, height: int = 800) -> None:
        super().__init__(["Xvfb", "-screen", "0", f"{width}x{height}x24"])
        self.size = (width, height)


#: Xorg's configuration for a screen of one size on the dummy video driver (no GPU, no input
#: devices: xdotool's presses come through XTEST).
XORG_DUMMY_CONF = """\
Section "ServerFlags"
    Option "AutoAddDevices" "false"
    Option "AutoAddGPU" "false"
EndSection
Section "Device"
    Identifier "dummy"
    Driver "dummy"
    VideoRam {video_ram_kib}
EndSection
Section "Monitor"
    Identifier "monitor"
    HorizSync 5.0-1000.0
    VertRefresh 5.0-200.0
    Modeline {modeline}
EndSection
Section "Screen"
    Identifier "screen"
    Device "dummy"
    Monitor "monitor"
    DefaultDepth 24
    SubSection "Display"
        Depth 24
        Modes "{width}x{height}"
        Virtual {width} {height}
    EndSubSection
EndSection
"""


class XorgDummy(XDisplay):
    """The real Xorg server, as on a kiosk, on the dummy video driver at one screen size.

    Needs Debian's xserver-xorg-core and xserver-xorg-video-dummy, and root (no console here).
    """

    def __init__(self, folder: Path, width: int, height: int) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        # Blanking and clock as for 60 Hz (the dummy ignores them, but Xorg checks them).
        htotal, vtotal = width + 160, height + 30
        modeline = (
            f'"{width}x{height}" {htotal * vtotal * 60 / 1e6:.2f}'
            f" {width} {width + 24} {width + 96} {htotal}"
            f" {height} {height + 3} {height + 13} {vtotal}"
        )
        config = folder / "xorg-dummy.conf"
        config.write_text(
            XORG_DUMMY_CONF.format(
                width=width,
                height=height,
                modeline=modeline,
                video_ram_kib=max(16384, width * height * 4 * 2 // 1024),
            ),
            encoding="utf-8",
        )
        (folder / "xorg.conf.d").mkdir(exist_ok=True)  # none of the machine's snippets
        self.log_path = folder / "Xorg.log"
        super().__init__(
            [
                "Xorg",
                "-config",
                str(config),
                "-configdir",
                str(folder / "xorg.conf.d"),
                "-logfile",
                str(self.log_path),
                "-novtswitch",
                "-sharevts",
                "-noreset",  # a reset when the last client leaves stalls ~10 s on D-Bus
            ]
        )
        self.size = (width, height)


class LineReader:
    """Collects a process's output lines in a background thread so we can wait on them."""

    def __init__(self, stream, echo_to: Path | None = None) -> None:  # type: ignore[no-untyped-def]
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self._echo = echo_to.open("a", encoding="utf-8") if echo_to else None
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream) -> None:  # type: ignore[no-untyped-def]
        for raw in stream:
            line = raw.rstrip("\n")
            if self._echo:
                self._echo.write(line + "\n")
                self._echo.flush()
            self.lines.put(line)
        stream.close()
        if self._echo:
            self._echo.close()

    def wait_closed(self, timeout: float = 10.0) -> list[str]:
        """Wait for the stream to end; every line seen, in order."""
        self._thread.join(timeout)
        while not self.lines.empty():
            self.seen.append(self.lines.get_nowait())
        return self.seen

    def wait_for(self, pattern: str, timeout: float = 30.0) -> re.Match[str]:
        """Block until a line matches `pattern` (a regex); return the match."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                tail = "\n".join(self.seen[-30:])
                raise HarnessError(f"no line matching {pattern!r} within {timeout}s:\n{tail}")
            try:
                line = self.lines.get(timeout=min(remaining, 0.5))
            except queue.Empty:
                continue
            self.seen.append(line)
            match = regex.search(line)
            if match:
                return match


class ServerProcess:
    """`smiletap-server run` on a free loopback port, with its own database."""

    def __init__(self, instance_dir: Path, database_url: str | None = None) -> None:
        self.instance_dir = instance_dir
        instance_dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "SMILETAP_INSTANCE_PATH": str(instance_dir)}
        if database_url:
            self.env["SMILETAP_DATABASE_URL"] = database_url
        self.log_path = instance_dir / "server.log"
        self.proc: subprocess.Popen[str] | None = None
        self._log: IO[str] | None = None

    def cli(self, *args: str, stdin: str | None = None) -> dict:  # type: ignore[type-arg]
        """Run `smiletap-server ARGS --json` (fed `stdin`) and return its JSON object."""
        done = subprocess.run(
            [str(BIN / "smiletap-server"), *args, "--json"],
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if done.returncode != 0:
            raise HarnessError(f"smiletap-server {' '.join(args)} failed: {done.stderr.strip()}")
        return json.loads(done.stdout)  # type: ignore[no-any-return]

    def cli_here(self, *args: str, stdin: str | None = None) -> dict:  # type: ignore[type-arg]
        """What `cli` does, run in this interpreter: the same command on the same database,
        without the second or so a cold `smiletap-server` process takes to start.

        For the data a test or the demo sets up; `cli` stays the way to run the command as an
        operator. Needs the `server` package importable (the project's .venv).
        """
        from click.testing import CliRunner

        from server.cli import main

        env = {k: v for k, v in self.env.items() if k.startswith("SMILETAP_")}
        # No scheduler in this process: a command's app would start one and leave it running
        # (a cold process ends with the command); the server's own runs the jobs.
        env["SMILETAP_SCHEDULER"] = "false"
        done = CliRunner().invoke(main, [*args, "--json"], input=stdin, env=env)
        if done.exit_code != 0:
            raise HarnessError(f"smiletap-server {' '.join(args)} failed: {done.output.strip()}")
        return json.loads(done.stdout)  # type: ignore[no-any-return]

    def command(self) -> list[str]:
        """How the server is started: the single-machine `smiletap-server run`."""
        return [
            str(BIN / "smiletap-server"),
            "run",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]

    def start(self) -> ServerProcess:
        if self._log:
            self._log.close()  # a restart after a kill
        self._log = log = self.log_path.open("a", encoding="utf-8")
        self.proc = subprocess.Popen(
            self.command(),
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise HarnessError(f"server exited: {self.log_path.read_text()[-2000:]}")
            try:
                urllib.request.urlopen(f"{self.url}/api/v1/config", timeout=1)
            except urllib.error.HTTPError:
                return self  # any HTTP answer (401 here) means it serves
            except OSError:
                time.sleep(0.2)
        raise HarnessError("server did not answer within 60 s")

    def get_json(self, path: str, token: str) -> dict:  # type: ignore[type-arg]
        request = urllib.request.Request(
            self.url + path, headers={"Authorization": f"Bearer {token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read())  # type: ignore[no-any-return]

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=15)
        if self._log:
            self._log.close()


class GunicornProcess(ServerProcess):
    """The production set-up: gunicorn with `deploy/server/gunicorn.conf.py`, N workers.

    Workers never migrate (so they never race to): `start` runs `migrate` first, as the
    systemd unit does.
    """

    def __init__(self, instance_dir: Path, database_url: str | None = None, workers: int = 2):
        super().__init__(instance_dir, database_url)
        self.workers = workers

    def command(self) -> list[str]:
        config = Path(__file__).resolve().parents[1] / "server" / "gunicorn.conf.py"
        return [
            str(BIN / "gunicorn"),
            "-c",
            str(config),
            "-b",
            f"127.0.0.1:{self.port}",
            "-w",
            str(self.workers),
            "--access-logfile",
            "/dev/null",
        ]

    def start(self) -> ServerProcess:
        self.cli("migrate")
        return super().start()


class KioskProcess:
    """`smiletap-kiosk run` in a borderless window of an explicit size on an X display."""

    def __init__(self, data_dir: Path, display: str, size: Sequence[int] = (800, 480)) -> None:
        self.data_dir = data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        width, height = size
        self.env = {
            **os.environ,
            "DISPLAY": display,
            "SMILETAP_KIOSK_DATA_DIR": str(data_dir),
            "KIVY_HOME": str(data_dir / "kivy-home"),
            "KIVY_NO_ARGS": "1",
            "KCFG_GRAPHICS_WIDTH": str(width),
            "KCFG_GRAPHICS_HEIGHT": str(height),
            "KCFG_GRAPHICS_BORDERLESS": "1",
            "KCFG_GRAPHICS_FULLSCREEN": "0",
            "KCFG_GRAPHICS_POSITION": "custom",
            "KCFG_GRAPHICS_LEFT": "0",
            "KCFG_GRAPHICS_TOP": "0",
        }
        self.env.pop("SDL_VIDEODRIVER", None)  # a real X window, not the offscreen driver
        self.log_path = data_dir / "kiosk.log"
        self.proc: subprocess.Popen[str] | None = None
        self.output: LineReader | None = None

    def enroll(self, server_url: str, code: str, *extra: str, stdin: str | None = None) -> str:
        done = subprocess.run(
            [str(BIN / "smiletap-kiosk"), "enroll", "--server", server_url, "--code", code, *extra],
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if done.returncode != 0:
            raise HarnessError(f"kiosk enroll failed: {done.stdout} {done.stderr}")
        return done.stdout.strip()

    def start(self, **extra_env: str) -> KioskProcess:
        self.proc = subprocess.Popen(
            [str(BIN / "smiletap-kiosk"), "run"],
            env={**self.env, **extra_env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.output = LineReader(self.proc.stdout, echo_to=self.log_path)
        return self

    def wait_for(self, pattern: str, timeout: float = 30.0) -> re.Match[str]:
        assert self.output is not None, "start() first"
        return self.output.wait_for(pattern, timeout)

    def said(self, pattern: str, timeout: float = 30.0) -> re.Match[str]:
        """A line matching `pattern` the kiosk logged already (waiting for another line may
        have passed it) or logs within `timeout`."""
        assert self.output is not None, "start() first"
        regex = re.compile(pattern)
        for line in self.output.seen:
            if match := regex.search(line):
                return match
        return self.output.wait_for(pattern, timeout)

    def layout(self, screen: str, timeout: float = 30.0) -> re.Match[str]:
        """The next layout verdict the kiosk logs for `screen` (`kiosk/ui/layout_check.py`):
        groups `size` (`800x480`), `widgets` (how many) and `verdict` (`fits` or what is
        wrong). The kiosk logs it once the screen (or a change within it) has settled and
        been drawn: a screenshot may follow at once."""
        return self.wait_for(
            rf"layout {re.escape(screen)} (?P<size>\d+x\d+) #\w+: (?P<widgets>\d+) widgets, "
            r"(?P<verdict>.*)$",
            timeout,
        )

    def targets(self, question_id: str, timeout: float = 30.0) -> dict[int, tuple[int, int]]:
        """The answer targets the kiosk logged for a question: value → window pixel."""
        return {int(k): spot for k, spot in self.named_targets(question_id, timeout).items()}

    def named_targets(self, group: str, timeout: float = 30.0) -> dict[str, tuple[int, int]]:
        """The next `targets <group>:` line the kiosk logs: key → window pixel."""
        match = self.wait_for(rf"targets {re.escape(group)}: (.*)$", timeout)
        found = re.findall(r"(\S+)@(\d+),(\d+)", match.group(1))
        return {key: (int(x), int(y)) for key, x, y in found}

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


#: What systemd gives every service, before the unit's own environment.
SYSTEMD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class KioskSession(KioskProcess):
    """The kiosk as `smiletap-kiosk.service` starts it: `deploy/kiosk/kiosk-session` on a
    display, with the unit's environment (systemd's, `kiosk.env.example`'s, xinit's DISPLAY)
    and nothing else — no window geometry. The session sits beside a `venv` link to this
    venv, as setup.sh installs it in /opt/smiletap."""

    def __init__(self, data_dir: Path, display: str) -> None:
        super().__init__(data_dir, display)
        app_dir = data_dir.parent / "opt-smiletap"
        app_dir.mkdir(parents=True, exist_ok=True)
        deploy_kiosk = Path(__file__).resolve().parents[1] / "kiosk"
        self.session = app_dir / "kiosk-session"
        self.session.write_bytes((deploy_kiosk / "kiosk-session").read_bytes())
        self.session.chmod(0o755)
        venv = app_dir / "venv"
        if not venv.exists():
            venv.symlink_to(BIN.parent)
        unit_env = dict(
            re.findall(
                r"^([A-Z][A-Z0-9_]*)=(.*)$",
                (deploy_kiosk / "kiosk.env.example").read_text(encoding="utf-8"),
                flags=re.MULTILINE,
            )
        )
        unit_env["SMILETAP_KIOSK_DATA_DIR"] = str(data_dir)  # the test's, not /var/lib's
        self.env = {
            "PATH": SYSTEMD_PATH,
            "HOME": str(data_dir.parent),
            "LANG": "C.UTF-8",
            **unit_env,
            "DISPLAY": display,
        }

    def start(self, **extra_env: str) -> KioskProcess:
        self.proc = subprocess.Popen(
            [str(self.session)],
            env={**self.env, **extra_env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.output = LineReader(self.proc.stdout, echo_to=self.log_path)
        return self
