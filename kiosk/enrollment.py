"""Enrolling this kiosk with a server: a one-time code in, a device id and token stored."""

from __future__ import annotations

import ipaddress
import logging
import platform
import socket
from urllib.parse import urlsplit

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


class InsecureServerUrlError(ValueError):
    """A plain-`http://` server URL to a host that is not this machine, without `ALLOW_HTTP`."""


def normalise_server_url(server_url: str) -> str:
    """`host:port` or a URL with a trailing slash → `https://host:port`."""
    url = server_url.strip().rstrip("/")
    if "://" not in url:
        url = "https://" + url
    return url


def is_loopback_host(host: str) -> bool:
    """`localhost`, 127.0.0.0/8 or ::1: a token sent there never crosses a network."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_transport(url: str, allow_http: bool) -> None:
    """Refuse to send the device token in clear: `https://`, or `http://` to loopback only
    (or anywhere when IT set `SMILETAP_KIOSK_ALLOW_HTTP` / `enroll --allow-http`)."""
    parts = urlsplit(url)
    if parts.scheme == "https" or allow_http:
        return
    if parts.scheme == "http" and is_loopback_host(parts.hostname or ""):
        return
    raise InsecureServerUrlError(
        f"{url}: the device token would travel unencrypted; use https:// "
        "(plain http:// only to this machine, or with --allow-http)"
    )


def enroll(
    store: LocalStore,
    server_url: str,
    code: str,
    timeout: float = 10.0,
    allow_http: bool = False,
) -> Enrollment:
    """Trade `code` for a device id and token, store them, then pull the config once.

    Raises `InsecureServerUrlError` before any request, or `InvalidCodeError` or
    `ServerUnreachableError` (see `kiosk.api_client`). A failed config pull after a successful
    enrollment is logged, not raised: the sync service retries it.
    """
    url = normalise_server_url(server_url)
    check_transport(url, allow_http)
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
