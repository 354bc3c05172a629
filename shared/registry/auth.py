"""Registry authentication, without I/O: challenge parsing and the token cache.

A challenge is RFC 7235 auth-params with quoted strings; the scope value itself
holds commas, so the header is never split on commas (protocols.md §1.3).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

_PARAM = re.compile(r'\s*([A-Za-z][A-Za-z0-9_-]*)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s,]*)\s*,?')

# Renew a token this long before it runs out, so a request never carries a stale one.
EXPIRY_MARGIN = 30.0
DEFAULT_TOKEN_LIFETIME = 60.0


@dataclass(frozen=True)
class Challenge:
    """One `WWW-Authenticate` challenge: its scheme (lower case) and parameters."""

    scheme: str
    params: dict[str, str] = field(default_factory=dict)

    @property
    def scopes(self) -> tuple[str, ...]:
        return tuple(self.params.get("scope", "").split())


def parse_challenge(header: str | None) -> Challenge | None:
    """Parse the first challenge of a `WWW-Authenticate` header, or None if absent."""
    if not header or not header.strip():
        return None
    scheme, _, rest = header.strip().partition(" ")
    params: dict[str, str] = {}
    pos = 0
    while pos < len(rest):
        match = _PARAM.match(rest, pos)
        if not match or match.end() == pos:
            break
        name, value = match.group(1).lower(), match.group(2)
        if value.startswith('"'):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        params[name] = value
        pos = match.end()
    return Challenge(scheme=scheme.lower(), params=params)


def repository_scope(repository: str, *actions: str) -> str:
    """The token scope for actions on one repository, e.g. ``repository:lib/app:pull,push``."""
    return f"repository:{repository}:{','.join(actions)}"


CATALOG_SCOPE = "registry:catalog:*"


@dataclass
class _Token:
    value: str
    expires_at: float


class TokenCache:
    """Bearer tokens keyed by (realm, service, scopes); thread-safe."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._tokens: dict[tuple[str, str, frozenset[str]], _Token] = {}
        self._lock = threading.Lock()
        self._clock = clock

    @staticmethod
    def key(realm: str, service: str, scopes: Iterable[str]) -> tuple[str, str, frozenset[str]]:
        return (realm, service, frozenset(scopes))

    def get(self, key: tuple[str, str, frozenset[str]]) -> str | None:
        with self._lock:
            token = self._tokens.get(key)
            if token is None or token.expires_at <= self._clock():
                return None
            return token.value

    def put(self, key: tuple[str, str, frozenset[str]], value: str, lifetime: float) -> None:
        expires_at = self._clock() + max(lifetime - EXPIRY_MARGIN, lifetime / 2)
        with self._lock:
            self._tokens[key] = _Token(value, expires_at)

    def drop(self, key: tuple[str, str, frozenset[str]]) -> None:
        with self._lock:
            self._tokens.pop(key, None)
