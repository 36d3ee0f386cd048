"""`smiletap-kiosk`: enroll from a shell, run the kiosk, print its status.

Every failure a user can cause prints one clear line and exits non-zero; no tracebacks.
Kivy is imported only by `run`, so `enroll` and `status` work on a machine without a display.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from kiosk.settings import SETTINGS, Settings, SettingsError, load_settings

log = logging.getLogger("kiosk")

#: Kivy settings the kiosk wants unless the caller set the matching `KCFG_<SECTION>_<KEY>`.
KIVY_DEFAULTS: dict[tuple[str, str], str] = {
    ("graphics", "fullscreen"): "auto",
    ("graphics", "borderless"): "1",
    ("kivy", "exit_on_escape"): "0",
    ("input", "mouse"): "mouse,multitouch_on_demand",
}
#: How often the running kiosk hands freed heap pages back to the system (seconds).
HEAP_TRIM_INTERVAL_S = 30


def build_parser() -> argparse.ArgumentParser:
    settings_help = "\n".join(f"  {s.env_var}: {s.help}" for s in SETTINGS)
    parser = argparse.ArgumentParser(
        prog="smiletap-kiosk",
        description="The Smiletap survey kiosk.",
        epilog="environment variables:\n" + settings_help,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument(
            "--data-dir", type=Path, help="where the kiosk keeps its data (overrides the env)"
        )
        return sub

    enroll = add(
        "enroll",
        "Enroll this kiosk with a server using a one-time code, and/or set the IT PIN.",
    )
    enroll.add_argument("--server", help="the server's URL")
    enroll.add_argument("--code", help="the one-time enrollment code")
    enroll.add_argument(
        "--allow-http",
        action="store_true",
        help="accept a plain http:// server address that is not this machine (the device "
        "token then travels unencrypted; same as SMILETAP_KIOSK_ALLOW_HTTP=1)",
    )
    enroll.add_argument(
        "--pin", help="the IT PIN (4-8 digits) for the status screen; stored hashed"
    )
    add("run", "Start the kiosk app (full screen).")
    status = add("status", "Print enrollment, backlog and the last sync.")
    status.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `smiletap-kiosk` console script."""
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.data_dir is not None:
        settings = settings.with_data_dir(args.data_dir)
    command = {"enroll": cmd_enroll, "run": cmd_run, "status": cmd_status}[args.command]
    return command(settings, args)


def cmd_enroll(settings: Settings, args: argparse.Namespace) -> int:
    from kiosk.it_pin import BadPin, hash_pin

    if (args.server is None) != (args.code is None):
        print("error: --server and --code go together", file=sys.stderr)
        return 2
    if args.server is None and args.pin is None:
        print("error: give --server and --code, or --pin, or all three", file=sys.stderr)
        return 2
    if args.pin is not None:
        try:
            hash_pin(args.pin)  # check it before anything is stored
        except BadPin as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    if args.server is not None and (status := enroll_device(settings, args)) != 0:
        return status
    if args.pin is not None:
        from kiosk.it_pin import set_pin
        from kiosk.store import LocalStore

        store = LocalStore(settings.database_path)
        try:
            set_pin(store, args.pin)
        finally:
            store.close()
        print("IT PIN set")
    return 0


def enroll_device(settings: Settings, args: argparse.Namespace) -> int:
    from kiosk.api_client import ApiError, InvalidCode, ServerUnreachable
    from kiosk.enrollment import InsecureServerUrl, enroll
    from kiosk.store import LocalStore

    store = LocalStore(settings.database_path)
    try:
        enrollment = enroll(
            store,
            args.server,
            args.code,
            timeout=settings.http_timeout_s,
            allow_http=settings.allow_http or args.allow_http,
        )
    except InsecureServerUrl as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except InvalidCode:
        print("error: that code is not valid or has expired", file=sys.stderr)
        return 1
    except ServerUnreachable:
        print(f"error: can't reach the server at {args.server}", file=sys.stderr)
        return 1
    except ApiError as exc:
        print(f"error: the server refused the enrollment ({exc})", file=sys.stderr)
        return 1
    finally:
        store.close()
    print(f"enrolled as device {enrollment.device_id} at {enrollment.server_url}")
    return 0


def cmd_status(settings: Settings, args: argparse.Namespace) -> int:
    from kiosk.store import LocalStore

    store = LocalStore(settings.database_path)
    try:
        summary = store.summary()
    finally:
        store.close()
    summary["data_dir"] = str(settings.data_dir)
    if args.json:
        print(json.dumps(summary))
    else:
        for key, value in summary.items():
            print(f"{key}: {'-' if value is None else value}")
    return 0


def configure_kivy(settings: Settings, environ: dict[str, str] | os._Environ[str]) -> None:
    """Environment Kivy reads at import: Python logging, no argv parsing, home in DATA_DIR."""
    environ["KIVY_LOG_MODE"] = "PYTHON"
    environ.setdefault("KIVY_NO_ARGS", "1")
    environ.setdefault("KIVY_HOME", str(settings.data_dir / "kivy"))
    environ.setdefault("KIVY_CLIPBOARD", "sdl2")  # no probing for xclip/xsel


def apply_kivy_defaults(environ: dict[str, str] | os._Environ[str]) -> None:
    """Full screen, borderless, no escape key — unless a `KCFG_*` variable says otherwise."""
    from kivy.config import Config

    for (section, key), value in KIVY_DEFAULTS.items():
        if f"KCFG_{section.upper()}_{key.upper()}" not in environ:
            Config.set(section, key, value)


def heap_trimmer() -> Callable[[int], int] | None:
    """glibc's `malloc_trim`, or None where the C library has none (musl, macOS)."""
    try:
        return ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    configure_kivy(settings, os.environ)
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # The scheduler logs every run at INFO: two lines a minute that bury what matters.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    apply_kivy_defaults(os.environ)
    from kivy.clock import Clock

    from kiosk.app import SmiletapKioskApp

    log.info("data dir: %s", settings.data_dir)
    app = SmiletapKioskApp(settings)

    def stop_on_signal(signum: int, _frame: object) -> None:
        log.info("signal %d: stopping", signum)
        Clock.schedule_once(lambda _dt: app.stop())

    signal.signal(signal.SIGTERM, stop_on_signal)
    signal.signal(signal.SIGINT, stop_on_signal)
    # glibc keeps the pages that start-up, syncs and redraws free inside its heap (~6 MiB
    # after start-up); the kiosk runs for weeks, so it gives them back now and then.
    if (trim := heap_trimmer()) is not None:
        Clock.schedule_interval(lambda _dt: trim(0), HEAP_TRIM_INTERVAL_S)
    app.run()
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
