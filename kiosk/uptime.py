"""The device's own sense of elapsed time, which a wrong or jumping wall clock can't touch.

A tap records the boot it happened in and the seconds since that boot; at upload the kiosk
sends the tap's age by the same clock, and the server dates the tap from its own receive
time (see `shared.clock.corrected_tap_time`). After a reboot the age is unknown.
"""

from __future__ import annotations

import time
from pathlib import Path

BOOT_ID_FILE = Path("/proc/sys/kernel/random/boot_id")


def boot_id() -> str | None:
    """This boot's id (Linux and Android), or None where the system has none."""
    try:
        return BOOT_ID_FILE.read_text(encoding="ascii").strip() or None
    except OSError:
        return None


def uptime_s() -> float:
    """Seconds since boot, counting suspend where the platform can (CLOCK_BOOTTIME)."""
    clock = getattr(time, "CLOCK_BOOTTIME", None)
    return time.clock_gettime(clock) if clock is not None else time.monotonic()


def age_s(tap_boot: str | None, tap_uptime_s: float | None) -> float | None:
    """Seconds since a tap recorded in `tap_boot` at `tap_uptime_s`, if still the same boot."""
    return age_between(tap_boot, tap_uptime_s, boot_id(), uptime_s())


def age_between(
    tap_boot: str | None, tap_uptime_s: float | None, now_boot: str | None, now_uptime_s: float
) -> float | None:
    """`age_s` against a boot and uptime read once, for many taps at a time (an upload
    batch reads /proc once, not once per tap)."""
    if tap_boot is None or tap_uptime_s is None or tap_boot != now_boot:
        return None
    return round(max(0.0, now_uptime_s - tap_uptime_s), 3)
