"""Posting to a webhook without becoming a way into the server's own network (SSRF).

A webhook URL is typed by an admin, but whoever can set it could otherwise make the server
POST to its loopback services, the LAN or a cloud metadata endpoint. So at every send:

1. the host is resolved here, once, and every address it resolves to must be public — not
   loopback, private, link-local (which holds the 169.254.169.254 metadata address),
   carrier-grade NAT, multicast, reserved or unspecified, IPv4-mapped forms included —
   unless the host name, or the address, is in `SMILETAP_WEBHOOK_ALLOW` (comma-separated
   host names, addresses or CIDR ranges; PROTOCOL.md, "Operations, digests and outgoing
   messages");
2. the connection goes to that checked address (TLS still verifies the certificate for the
   host name), so a DNS answer that changes between the check and the connect cannot move
   the request (no rebinding window);
3. redirects are not followed: any answer outside 2xx is a failure.

With a signing secret, the POST carries `X-Smiletap-Signature: t=<unix seconds>,v1=<hex
HMAC-SHA256 of "<t>.<raw body>">` (PROTOCOL.md, same section): the receiver can tell the body
came from this server unaltered, and the time in it lets it refuse an old one replayed. It
is computed over the exact bytes sent, at each send, so a retry carries a fresh time.

Errors: `WebhookRefusedError` (the destination is not allowed; no connection was made) and
`WebhookFailedError` (the destination answered outside 2xx), both `OSError`s like a network error.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: Shared address space (RFC 6598): not "private" to Python, but never a public webhook.
_CARRIER_NAT = ipaddress.ip_network("100.64.0.0/10")


class WebhookRefusedError(OSError):
    """The webhook's destination is not allowed (an internal address, or not http(s))."""


class WebhookFailedError(OSError):
    """The webhook answered with a status outside 2xx (a redirect included); `status` holds it."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"webhook answered {status} {reason}")
        self.status = status


@dataclass(frozen=True)
class AllowList:
    """Host names and networks a webhook may reach although they are internal."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[IpNetwork, ...] = ()

    @classmethod
    def parse(cls, text: str) -> AllowList:
        """From `SMILETAP_WEBHOOK_ALLOW`: `hooks.lan, 10.0.0.0/8, 127.0.0.1`."""
        hosts, networks = set(), []
        for item in (part.strip() for part in text.split(",")):
            if not item:
                continue
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                hosts.add(item.lower().rstrip("."))
        return cls(frozenset(hosts), tuple(networks))

    def lists(self, host: str) -> bool:
        """Whether the host name, or the address it spells, is listed (no DNS asked)."""
        try:
            address = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            return host.lower().rstrip(".") in self.hosts
        return self.allows(host, address)

    def allows(self, host: str, address: IpAddress) -> bool:
        return host.lower().rstrip(".") in self.hosts or any(
            address in network for network in self.networks
        )


def is_internal(address: IpAddress) -> bool:
    """Whether an address belongs to this machine, a private network or no public host."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return is_internal(address.ipv4_mapped)
    return (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or (isinstance(address, ipaddress.IPv4Address) and address in _CARRIER_NAT)
    )


def checked_address(host: str, port: int, allow: AllowList) -> str:
    """Resolve `host` once; the address to connect to, or `WebhookRefusedError`."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise WebhookRefusedError(f"webhook host {host!r} does not resolve: {exc}") from exc
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in found]
    for address in addresses:
        if is_internal(address) and not allow.allows(host, address):
            raise WebhookRefusedError(
                f"webhook host {host!r} resolves to the internal address {address}; "
                "list it in SMILETAP_WEBHOOK_ALLOW to allow it"
            )
    return str(addresses[0])


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Plain HTTP to a checked address, with the URL's host in the Host header."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """TLS to a checked address; the certificate is verified for the URL's host."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        self.tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self.tls)
        self.address = address

    def connect(self) -> None:
        raw = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self.tls.wrap_socket(raw, server_hostname=self.host)


#: The header of a signed POST.
SIGNATURE_HEADER = "X-Smiletap-Signature"


def signature(secret: str, body: bytes, at: int) -> str:
    """The `X-Smiletap-Signature` value for `body` sent at unix time `at`."""
    signed = f"{at}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={at},v1={digest}"


def post_json(url: str, body: bytes, allow: AllowList, timeout: float, secret: str = "") -> int:
    """POST `body` (JSON) to `url` after the checks above, signed when `secret` is set; the 2xx
    status it answered."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookRefusedError(f"webhook URL must be http(s)://host/...: {url!r}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = checked_address(parts.hostname, port, allow)
    kind = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
    connection = kind(parts.hostname, port, address, timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = {"Content-Type": "application/json", "User-Agent": "smiletap-alerts"}
    if secret:  # signed after the DNS check, so the time is as close to the send as it gets
        headers[SIGNATURE_HEADER] = signature(secret, body, int(time.time()))
    try:
        connection.request("POST", path, body, headers)
        answer = connection.getresponse()
        answer.read()
    finally:
        connection.close()
    if not 200 <= answer.status < 300:
        raise WebhookFailedError(answer.status, answer.reason)
    return answer.status
