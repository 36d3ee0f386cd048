"""Prove the Raspberry Pi path on arm64: set up a kiosk in an arm64 Debian 12 root, tap it.

Builds an arm64 Debian 12 (bookworm, what Raspberry Pi OS is built on) root with
`debootstrap`, runs it through `qemu-user-static` (binfmt_misc), and inside it runs
`deploy/kiosk/setup.sh --server … --code …` from a copy of this checkout, as IT would on a Pi.
Then it starts the kiosk through the installed `/opt/smiletap/kiosk-session`, as the
`smiletap` user with the unit's environment file, on an Xvfb display of this machine; checks
the window covers the screen, clicks a face and waits for the tap in the reports API of a
server running here. It prints the install time, the first-start time and the kiosk's RSS.

    sudo .venv/bin/python deploy/dev/arm64_proof.py           # what .ci/run runs

Needs root (debootstrap, chroot, mounts), debootstrap and qemu-user-static (install.sh), and
an aarch64 binfmt_misc handler with the F flag; without binfmt_misc it prints why it skips
and exits 0. The root lives in a temporary folder, removed at the end (`--keep ROOT` keeps,
and reuses, one: for working on this script only; CI never relies on it).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from harness import HarnessError, LineReader, ServerProcess, Xvfb

REPO = Path(__file__).resolve().parents[2]
MIRROR = "http://deb.debian.org/debian"
BINFMT = Path("/proc/sys/fs/binfmt_misc")
QEMU_BINFMT_CONF = Path("/usr/lib/binfmt.d/qemu-aarch64.conf")
#: Where the checkout goes inside the root: somewhere of IT's own, not the install folder.
CHECKOUT = "/root/smiletap"
#: A 7" Pi touch display.
SCREEN = (800, 480)


class ProofFailedError(RuntimeError):
    """A step of the proof did not do what a Pi needs."""


def log(message: str) -> None:
    print(f"arm64-proof: {message}", flush=True)


def binfmt_problem() -> str | None:
    """Why aarch64 programs can't run here, or None when they can (mounting binfmt_misc if
    it is available but not mounted)."""
    if not (BINFMT / "status").exists():
        subprocess.run(
            ["mount", "-t", "binfmt_misc", "binfmt_misc", str(BINFMT)],
            capture_output=True,
        )
    if not (BINFMT / "status").exists():
        return "binfmt_misc is not available on this machine (no /proc/sys/fs/binfmt_misc)"
    handler = BINFMT / "qemu-aarch64"
    if not handler.exists():
        register_qemu_handler()
    if not handler.exists():
        return "no qemu-aarch64 binfmt_misc handler (install qemu-user-static)"
    text = handler.read_text()
    if not text.startswith("enabled") or not re.search(r"^flags: \S*F", text, re.MULTILINE):
        return "the qemu-aarch64 handler is disabled or lacks the F flag (needed in a chroot)"
    return None


def register_qemu_handler() -> None:
    """Register qemu-user-static's own aarch64 handler (its systemd binfmt.d line, flags OPF).

    Installing the package registers it only where systemd-binfmt or binfmt-support runs; a
    container or a fresh CI machine has neither, and the proof would be skipped."""
    if not QEMU_BINFMT_CONF.exists():
        return
    line = QEMU_BINFMT_CONF.read_text(encoding="ascii").strip()
    try:
        (BINFMT / "register").write_text(line + "\n", encoding="ascii")
    except OSError as problem:
        log(f"could not register the qemu-aarch64 handler: {problem}")


def run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    """Run a command; its output goes to ours; a failure names the command."""
    done = subprocess.run(command, text=True, **kwargs)  # type: ignore[call-overload]
    if done.returncode != 0:
        raise ProofFailedError(f"{' '.join(command[:4])} … exited {done.returncode}")
    return done  # type: ignore[no-any-return]


def debootstrap(root: Path) -> None:
    run(
        [
            "debootstrap",
            "--arch=arm64",
            "--variant=minbase",
            "--include=ca-certificates",
            "bookworm",
            str(root),
            MIRROR,
        ],
        stdout=subprocess.DEVNULL,
    )


def prepare(root: Path) -> None:
    """What a freshly flashed Pi has that a minbase root lacks: name resolution, this
    network's CA bundle (for pip and apt), no daemons started by package scripts."""
    shutil.copy("/etc/resolv.conf", root / "etc/resolv.conf")
    host_bundle = Path("/etc/ssl/certs/ca-certificates.crt")
    (root / "usr/local/share/ca-certificates").mkdir(parents=True, exist_ok=True)
    shutil.copy(host_bundle, root / "usr/local/share/ca-certificates/host-bundle.crt")
    shutil.copy(host_bundle, root / "etc/ssl/certs/ca-certificates.crt")
    policy = root / "usr/sbin/policy-rc.d"
    policy.write_text("#!/bin/sh\nexit 101\n")
    policy.chmod(0o755)
    # a kept root's kiosk was enrolled with an earlier run's server: start it afresh
    shutil.rmtree(root / "var/lib/smiletap/kiosk", ignore_errors=True)
    checkout = root / CHECKOUT.lstrip("/")
    shutil.rmtree(checkout, ignore_errors=True)
    checkout.mkdir(parents=True)
    files = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "-z"], capture_output=True, check=True
    ).stdout
    for name in files.decode().split("\0"):
        source = REPO / name
        if name and source.is_file():
            target = checkout / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


@contextmanager
def mounted(root: Path) -> Iterator[None]:
    """/proc, /sys, /dev and /dev/pts inside the root, unmounted again whatever happens."""
    points = [
        (["-t", "proc", "proc"], root / "proc"),
        (["-t", "sysfs", "sys"], root / "sys"),
        (["--bind", "/dev"], root / "dev"),
        (["--bind", "/dev/pts"], root / "dev/pts"),
    ]
    done: list[Path] = []
    try:
        for args, point in points:
            point.mkdir(parents=True, exist_ok=True)
            run(["mount", *args, str(point)])
            done.append(point)
        yield
    finally:
        for point in reversed(done):
            subprocess.run(["umount", "-l", str(point)], check=False)


def mounts_under(root: Path) -> list[str]:
    prefix = str(root.resolve()) + "/"
    with open("/proc/mounts", encoding="utf-8") as mounts:
        return [line.split()[1] for line in mounts if line.split()[1].startswith(prefix)]


def chroot_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """A clean environment, as a root shell on a Pi has (no host proxies or pip settings)."""
    return {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": "/root",
        "LANG": "C.UTF-8",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        **(extra or {}),
    }


def kiosk_user(root: Path) -> tuple[int, int]:
    for line in (root / "etc/passwd").read_text().splitlines():
        fields = line.split(":")
        if fields[0] == "smiletap":
            return int(fields[2]), int(fields[3])
    raise ProofFailedError("setup.sh made no smiletap user")


def unit_environment(root: Path) -> dict[str, str]:
    """The unit's EnvironmentFile, as setup.sh installed it."""
    text = (root / "etc/smiletap/kiosk.env").read_text(encoding="utf-8")
    return dict(re.findall(r"^([A-Z][A-Z0-9_]*)=(.*)$", text, flags=re.MULTILINE))


def rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    return int(match.group(1)) if match else 0


def prove(root: Path, work: Path, fresh: bool) -> dict[str, float]:
    figures: dict[str, float] = {}
    if fresh or not (root / "etc/debian_version").exists():
        log(f"debootstrap arm64 bookworm into {root} …")
        started = time.monotonic()
        debootstrap(root)
        figures["debootstrap_s"] = time.monotonic() - started
        log(f"debootstrap: {figures['debootstrap_s']:.0f} s")
    machine = subprocess.run(
        ["chroot", str(root), "uname", "-m"], capture_output=True, text=True, check=True
    ).stdout.strip()
    if machine != "aarch64":
        raise ProofFailedError(f"the root runs as {machine}, not aarch64")
    prepare(root)

    server = ServerProcess(work / "server").start()
    xvfb: Xvfb | None = None
    kiosk: subprocess.Popen[str] | None = None
    try:
        location = server.cli("create-location", "--name", "Pi shop", "--timezone", "UTC")["id"]
        survey = server.cli(
            "create-survey", "--file", str(REPO / "deploy/examples/demo-survey.json")
        )
        server.cli("assign-survey", "--location", location, "--survey", survey["id"])
        device = server.cli("create-device", "--location", location, "--name", "arm64 Pi")
        api_key = server.cli("create-api-key", "--role", "admin")["key"]

        with mounted(root):
            log("setup.sh --server … --code … inside the arm64 root …")
            started = time.monotonic()
            run(
                [
                    "chroot",
                    str(root),
                    f"{CHECKOUT}/deploy/kiosk/setup.sh",
                    "--server",
                    server.url,
                    "--code",
                    device["code"],
                ],
                env=chroot_env(),
                stdin=subprocess.DEVNULL,
            )
            figures["install_s"] = time.monotonic() - started
            log(f"install (setup.sh, arm64 under qemu): {figures['install_s']:.0f} s")
            check_installed(root)

            xvfb = Xvfb(*SCREEN)
            uid, gid = kiosk_user(root)
            env = chroot_env(
                {
                    "HOME": "/var/lib/smiletap",
                    "USER": "smiletap",
                    "LOGNAME": "smiletap",
                    **unit_environment(root),
                    "SMILETAP_KIOSK_SYNC_INTERVAL_S": "5",
                    "DISPLAY": xvfb.display,  # what xinit adds
                }
            )
            started = time.monotonic()
            kiosk = subprocess.Popen(
                ["chroot", f"--userspec={uid}:{gid}", str(root), "/opt/smiletap/kiosk-session"],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            output = LineReader(kiosk.stdout, echo_to=work / "kiosk.log")
            match = output.wait_for(r"targets q1: (.*)$", timeout=300)
            figures["first_start_s"] = time.monotonic() - started
            first_start = figures["first_start_s"]
            log(f"first start (kiosk-session to the first question): {first_start:.0f} s")
            geometry = xvfb.window_geometry("Smiletap")
            if geometry != (0, 0, *SCREEN):
                raise ProofFailedError(f"the window is {geometry}, not the whole {SCREEN} screen")
            renderer = next((s for s in output.seen if "GL: OpenGL renderer" in s), "?")
            log(f"window {geometry[2]}x{geometry[3]} at 0,0; {renderer.split('kivy: ')[-1]}")
            faces = dict(re.findall(r"(\d+)@(\d+,\d+)", match.group(1)))
            x, y = (int(n) for n in faces["4"].split(","))
            xvfb.screenshot(work / "arm64-question.png")
            xvfb.click(x, y)
            output.wait_for(r"tap recorded \S+ value=4", timeout=60)
            output.wait_for(r"sync: uploaded 1 accepted 1", timeout=120)
            figures["rss_mib"] = rss_kib(kiosk.pid) / 1024
            figures["python_rss_mib"] = bare_python_rss_kib(root) / 1024
            log(
                f"kiosk RSS on arm64: {figures['rss_mib']:.0f} MiB, beside a bare python3 of "
                f"the same venv: {figures['python_rss_mib']:.0f} MiB (both under qemu-user, "
                "whose own memory each includes)"
            )
            kiosk.terminate()
            kiosk.wait(timeout=60)
            lines = output.wait_closed()
            critical = [line for line in lines if " CRITICAL " in line]
            if critical:
                raise ProofFailedError(f"the kiosk logged CRITICAL: {critical[0]}")

        today = time.strftime("%Y-%m-%d", time.gmtime())
        report = server.get_json(
            f"/api/v1/reports/scores?from={today}&to={today}&group_by=location", api_key
        )
        counts = report["groups"][0]["smiley"]["counts"] if report["groups"] else None
        if counts != [0, 0, 0, 1, 0]:
            raise ProofFailedError(f"the reports API shows {counts}, not the one tap on face 4")
        log("the tap on face 4 is in the server's reports API")
    finally:
        if kiosk is not None and kiosk.poll() is None:
            kiosk.kill()
            kiosk.wait(timeout=30)
        if xvfb is not None:
            xvfb.stop()
        server.stop()
    return figures


def bare_python_rss_kib(root: Path) -> int:
    """The floor under the kiosk's RSS: the venv's python3 doing nothing, under the same
    emulator (qemu's translation buffers are a good part of both)."""
    python = subprocess.Popen(
        ["chroot", str(root), "/opt/smiletap/venv/bin/python", "-c", "print('up'); input()"],
        env=chroot_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert python.stdout is not None
        if python.stdout.readline().strip() != "up":
            raise ProofFailedError("the arm64 python3 did not start")
        return rss_kib(python.pid)
    finally:
        python.kill()
        python.wait(timeout=30)


def check_installed(root: Path) -> None:
    """What setup.sh must leave behind for a Pi to boot into the kiosk, rootless."""
    wrapper = (root / "etc/X11/Xwrapper.config").read_text()
    if "needs_root_rights=no" not in wrapper:
        raise ProofFailedError(f"Xwrapper.config lets X run as root: {wrapper!r}")
    if (root / "usr/lib/xorg/Xorg.wrap").exists():
        raise ProofFailedError("Debian's setuid X wrapper (xserver-xorg-legacy) got installed")
    wants = root / "etc/systemd/system/multi-user.target.wants/smiletap-kiosk.service"
    # an absolute link, as systemctl makes: it resolves inside the root, not here
    if not wants.is_symlink() or not (root / str(wants.readlink()).lstrip("/")).is_file():
        raise ProofFailedError("the kiosk unit is not enabled")
    groups = (root / "etc/group").read_text()
    if re.search(r"^input:[^:]*:[^:]*:.*\bsmiletap\b", groups, re.MULTILINE):
        raise ProofFailedError("the kiosk user is in the input group (touches would be read twice)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", type=Path, help="build (or reuse) the root here; keep it")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("arm64-proof: needs root (debootstrap, chroot, mounts)", file=sys.stderr)
        return 2
    if (problem := binfmt_problem()) is not None:
        log(f"SKIPPED: {problem}")
        return 0
    for tool in ("debootstrap", "chroot", "Xvfb", "xdotool", "xwininfo"):
        if shutil.which(tool) is None:
            print(f"arm64-proof: {tool} is missing: run deploy/dev/install.sh", file=sys.stderr)
            return 2
    work = Path(tempfile.mkdtemp(prefix="smiletap-arm64-"))
    root = args.keep.resolve() if args.keep else work / "root"
    started = time.monotonic()
    try:
        figures = prove(root, work, fresh=args.keep is None)
    except (ProofFailedError, HarnessError, subprocess.SubprocessError) as exc:
        print(f"arm64-proof: FAILED: {exc} (kiosk log: {work / 'kiosk.log'})", file=sys.stderr)
        return 1
    finally:
        if args.keep is None:
            left = mounts_under(root)
            if left:  # never delete through a bind mount of /dev
                print(f"arm64-proof: still mounted, not removed: {left}", file=sys.stderr)
            else:
                shutil.rmtree(root, ignore_errors=True)
    figures["total_s"] = time.monotonic() - started
    log("PASSED: " + ", ".join(f"{name}={value:.0f}" for name, value in figures.items()))
    if args.keep is None and not mounts_under(work):
        shutil.rmtree(work, ignore_errors=True)  # a failure keeps it: the kiosk log is there
    return 0


if __name__ == "__main__":
    sys.exit(main())
