"""Whether two registry URLs look like one registry, whatever their spelling.

crossdock knows a registry is both a source and an endpoint only through an
explicit link (DESIGN invariant 3); this guess only feeds the warnings that
suggest one. ``http://localhost:5231`` and ``http://127.0.0.1:5231`` are one
registry; so are ``https://Registry.example`` and ``https://registry.example:443``.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}


def looks_like_same_registry(first: str, second: str) -> bool:
    """Same port (the scheme's default when none is given), and hosts that are equal
    (case and a trailing dot aside, IP addresses compared as addresses) or both
    loopback (``localhost``, ``127.0.0.0/8``, ``::1``). A URL without a host never
    matches."""
    a, b = _host_port(first), _host_port(second)
    if a is None or b is None or a[1] != b[1]:
        return False
    return a[0] == b[0] or (is_loopback(a[0]) and is_loopback(b[0]))


def is_loopback(host: str) -> bool:
    """``localhost`` (and its subdomains, RFC 6761), ``127.0.0.0/8``, ``::1`` and the
    IPv4-mapped ``::ffff:127.x.y.z``."""
    name = host.lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    address = _address(name)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address is not None and address.is_loopback


def _host_port(url: str) -> tuple[str, int | None] | None:
    parts = urlsplit(url.strip())
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if not host:
        return None
    name = host.rstrip(".")
    address = _address(name)
    return (str(address) if address is not None else name,
            port if port is not None else _DEFAULT_PORTS.get(parts.scheme))


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None
