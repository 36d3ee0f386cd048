"""Enrolling this kiosk with a server: a one-time code in, a device id and token stored."""

from __future__ import annotations

import logging
import platform
import socket

from kiosk.api_client import ApiClient, ApiError
from kiosk.store import Enrollment, LocalStore
from kiosk.sync import APP_VERSION
from shared.protocol import DeviceInfo

log = logging.getLogger(__name__)


def device_info() -> DeviceInfo:
    """What this kiosk tells the server about itself."""
    return DeviceInfo(
        app_version=APP_VERSION,
        platform=platform.system().lower()[:200],
        hostname=socket.gethostname()[:200],
    )


def normalise_server_url(server_url: str) -> str:
    """`host:port` or a URL with a trailing slash → `http://host:port`."""
    url = server_url.strip().rstrip("/")
    if "://" not in url:
        url = "http://" + url
    return url


def enroll(store: LocalStore, server_url: str, code: str, timeout: float = 10.0) -> Enrollment:
    """Trade `code` for a device id and token, store them, then pull the config once.

    Raises `InvalidCode` or `ServerUnreachable` (see `kiosk.api_client`). A failed config pull
    after a successful enrollment is logged, not raised: the sync service retries it.
    """
    url = normalise_server_url(server_url)
    with ApiClient(url, timeout=timeout) as client:
        answer = client.enroll(code.strip(), device_info())
    enrollment = Enrollment(server_url=url, device_id=answer.device_id, token=answer.token)
    store.set_enrollment(enrollment)
    log.info("enrolled as device %s at %s", enrollment.device_id, url)
    try:
        with ApiClient(url, enrollment.token, timeout=timeout) as client:
            config = client.get_config()
        if config is not None:
            store.set_config(config)
    except ApiError as exc:
        log.warning("enrolled, but the first config pull failed: %s", exc)
    return enrollment
