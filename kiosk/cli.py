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
from dataclasses import replace
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
#: The one input path: the X server's pointer (a touch panel reaches X through libinput and
#: arrives as pointer presses). Kivy's Linux default adds `probesysfs`, which opens the touch
#: panel's /dev/input node directly too, so one touch would be read twice: a reason chip
#: toggled on and off again by one tap.
KIVY_INPUT_PROVIDERS = ("mouse",)
#: How often the running kiosk hands freed heap pages back to the system (seconds).
HEAP_TRIM_INTERVAL_S = 30
#: How often the running kiosk looks whether a stop signal came (seconds).
SIGNAL_CHECK_INTERVAL_S = 0.2
#: A stopping kiosk's last upload gives up after this many seconds per request: a power-off
#: after closing time must not hang on a server that is down.
STOP_FLUSH_TIMEOUT_S = 5.0


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
        "--pin-stdin",
        action="store_true",
        help="read the IT PIN (6-8 digits) for the status screen from one stdin line (never "
        "from the command line, which other users see in ps); stored hashed",
    )
    add("run", "Start the kiosk app (full screen).")
    flush = add(
        "flush",
        "Upload the backlog once, now (what a clean stop does); taps that don't go stay queued.",
    )
    flush.add_argument(
        "--timeout",
        type=float,
        default=STOP_FLUSH_TIMEOUT_S,
        help=f"seconds each request may take (default {STOP_FLUSH_TIMEOUT_S:g})",
    )
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
    commands = {"enroll": cmd_enroll, "run": cmd_run, "status": cmd_status, "flush": cmd_flush}
    command = commands[args.command]
    return command(settings, args)


def cmd_enroll(settings: Settings, args: argparse.Namespace) -> int:
    from kiosk.it_pin import BadPinError, check_pin_format

    if (args.server is None) != (args.code is None):
        print("error: --server and --code go together", file=sys.stderr)
        return 2
    if args.server is None and not args.pin_stdin:
        print("error: give --server and --code, or --pin-stdin, or all three", file=sys.stderr)
        return 2
    pin = None
    if args.pin_stdin:
        try:  # checked before anything is stored
            pin = check_pin_format(sys.stdin.readline().strip())
        except BadPinError as exc:
            print(f"error: {exc} (read from stdin)", file=sys.stderr)
            return 2
    if args.server is not None and (status := enroll_device(settings, args)) != 0:
        return status
    if pin is not None:
        from kiosk.it_pin import set_pin
        from kiosk.store import LocalStore

        store = LocalStore(settings.database_path)
        try:
            set_pin(store, pin)
        finally:
            store.close()
        print("IT PIN set")
    return 0


def enroll_device(settings: Settings, args: argparse.Namespace) -> int:
    from kiosk.api_client import ApiError, InvalidCodeError, ServerUnreachableError
    from kiosk.enrollment import InsecureServerUrlError, enroll
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
    except InsecureServerUrlError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except InvalidCodeError:
        print("error: that code is not valid or has expired", file=sys.stderr)
        return 1
    except ServerUnreachableError:
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


def cmd_flush(settings: Settings, args: argparse.Namespace) -> int:
    if not args.timeout > 0:
        print("error: --timeout must be a positive number of seconds", file=sys.stderr)
        return 2
    settings = replace(settings, http_timeout_s=min(settings.http_timeout_s, args.timeout))
    print(flush_backlog(settings))
    return 0


def flush_backlog(settings: Settings) -> str:
    """One upload run of everything pending, with the settings' timeout; what happened.

    Never raises for a server that is down or a kiosk not enrolled: the taps stay queued
    for the next start, as they would have anyway.
    """
    from kiosk.store import LocalStore
    from kiosk.sync import SyncService

    if not settings.database_path.exists():
        return "flush: no kiosk database: nothing to send"
    store = LocalStore(settings.database_path)
    try:
        if store.status() != "ok":
            return f"flush: not sending ({store.status()}); backlog {store.backlog()}"
        if store.backlog() == 0:
            return "flush: backlog empty"
        report = SyncService(store, settings).upload_pending()
        if report.sent == 0:
            problem = store.get_state("last_error") or "nothing was sent"
            return f"flush: not delivered ({problem}); backlog {store.backlog()} stays queued"
        return (
            f"flush: sent {report.sent} accepted {report.accepted} duplicate "
            f"{report.duplicate} rejected {report.rejected}; backlog {store.backlog()}"
        )
    finally:
        store.close()


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
    # Input providers Kivy added by default go, unless a KCFG_INPUT_* variable asks for one.
    for key in Config.options("input"):
        if key not in KIVY_INPUT_PROVIDERS and f"KCFG_INPUT_{key.upper()}" not in environ:
            Config.remove_option("input", key)


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
    apply_kivy_defaults(os.environ)
    from kivy.clock import Clock
    from kivy.config import Config

    from kiosk.app import SmiletapKioskApp

    log.info("data dir: %s", settings.data_dir)
    app = SmiletapKioskApp(settings)

    # A signal handler runs between any two bytecodes of the main thread, even inside a log
    # call (logging from it raised "reentrant call" and the stop was lost): it only notes
    # the signal, and the Clock acts on it.
    signals: list[int] = []

    def stop_on_signal(signum: int, _frame: object) -> None:
        signals.append(signum)

    def stop_if_signalled(_dt: float) -> None:
        if signals:
            log.info("signal %d: stopping", signals[0])
            app.stop()

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):  # SIGHUP: how xinit stops
        signal.signal(signum, stop_on_signal)
    Clock.schedule_interval(stop_if_signalled, SIGNAL_CHECK_INTERVAL_S)
    # glibc keeps the pages that start-up, syncs and redraws free inside its heap (~6 MiB
    # after start-up); the kiosk runs for weeks, so it gives them back now and then.
    if (trim := heap_trimmer()) is not None:
        Clock.schedule_interval(lambda _dt: trim(0), HEAP_TRIM_INTERVAL_S)
    log.info("input providers: %s", ", ".join(f"{k}={v}" for k, v in Config.items("input")))
    app.run()
    # A clean stop (a power-off after closing time) sends what is still queued, briefly.
    stop_settings = replace(
        settings, http_timeout_s=min(settings.http_timeout_s, STOP_FLUSH_TIMEOUT_S)
    )
    log.info("%s", flush_backlog(stop_settings))
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
