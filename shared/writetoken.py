"""Per-write tokens in crossdock's User-Agent, so its own writes are known exactly.

Every request crossdock sends into a registry while running a job carries
``crossdock/0.1 (+write <job>.<attempt>.<mac>)``; Distribution copies the
User-Agent of a manifest PUT or DELETE into its events (``request.useragent``,
protocols.md §9.3), so the receiver can tell which job made a change and treat
everything else as a user's (DESIGN invariant 3). Pure: no I/O.

The mac is the first 16 hex digits of HMAC-SHA256 over ``<job>.<attempt>``, keyed
with a hash of a fixed label and one of the ``secret_key`` setting's keys (never
the Fernet key itself). Like `shared.store.secrets.SecretBox`, the first key of
the comma-separated list signs and every key verifies, so keys can rotate.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

from shared.errors import ConfigurationError
from shared.keys import secret_keys

PRODUCT = "crossdock/0.1"  # the product token every crossdock User-Agent starts with
MAC_HEX_DIGITS = 16
_KEY_LABEL = b"crossdock write token v1\x00"
_NUMBER = r"(0|[1-9][0-9]{0,17})"  # canonical decimal, no leading zeros, < 10**18
_TOKEN = re.compile(
    r"crossdock/[0-9A-Za-z.\-]+ \(\+write " + _NUMBER + r"\." + _NUMBER
    + r"\.([0-9a-f]{" + str(MAC_HEX_DIGITS) + r"})\)"
)
_MAX_NUMBER = 10**18


@dataclass(frozen=True)
class WriteToken:
    """Which job, and which attempt of it, made a write."""

    job_id: int
    attempt: int

    def __post_init__(self) -> None:
        for name, value in (("job_id", self.job_id), ("attempt", self.attempt)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name} must be an int")
            if not 0 <= value < _MAX_NUMBER:
                raise ValueError(f"{name} must be between 0 and 10**18 - 1")


def user_agent_for(token: WriteToken, secret_key: str) -> str:
    """The User-Agent that marks requests as `token`'s writes, signed with the first key.

    Raises `ConfigurationError` when `secret_key` holds no key.
    """
    keys = secret_keys(secret_key)
    if not keys:
        raise ConfigurationError("CROSSDOCK_SECRET_KEY is not set: write tokens need it")
    return f"{PRODUCT} (+write {token.job_id}.{token.attempt}.{_mac(keys[0], token)})"


def token_from_user_agent(user_agent: str | None, secret_key: str) -> WriteToken | None:
    """The token a User-Agent carries if one of the keys signed it, else None.

    Never raises: a missing, junk, truncated, forged or foreign-key User-Agent is None.
    """
    if not isinstance(user_agent, str):
        return None
    match = _TOKEN.match(user_agent)
    if match is None:
        return None
    token = WriteToken(int(match[1]), int(match[2]))
    mac = match[3]
    if any(hmac.compare_digest(_mac(key, token), mac) for key in secret_keys(secret_key)):
        return token
    return None


def _mac(key: str, token: WriteToken) -> str:
    derived = hashlib.sha256(_KEY_LABEL + key.encode("utf-8", "surrogatepass")).digest()
    message = f"{token.job_id}.{token.attempt}".encode("ascii")
    return hmac.new(derived, message, hashlib.sha256).hexdigest()[:MAC_HEX_DIGITS]
