"""Queue names and the retry schedule (pure functions, no I/O).

Every endpoint E gets four kinds of queues, named so they read well in the
RabbitMQ console and sort together::

    crossdock.endpoint.E.work          jobs for E
    crossdock.endpoint.E.retry.30s     one per delay tier; dead-letters back to .work
    crossdock.endpoint.E.defer.2s      jobs waiting for the registry to finish its own
                                       write (not an attempt); dead-letters back to .work
    crossdock.endpoint.E.failed        parking lot after the last attempt

The delay is part of a retry queue's name because RabbitMQ refuses to redeclare
a queue with another ``x-message-ttl``. Changing ``retry_delays`` therefore
creates new retry queues; messages waiting in the old ones still dead-letter
back to the work queue, and the old queues can be deleted once empty (deleting
the endpoint deletes them too: the store remembers every delay used). The same
holds for the defer queue and ``defer_seconds``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

from shared.errors import ConfigurationError

# AMQP queue names are short strings: at most 255 bytes.
MAX_QUEUE_NAME_BYTES = 255
# Longest endpoint part kept as is; longer names are cut and suffixed with a hash.
_MAX_ENDPOINT_PART = 120
# Characters kept as is in the endpoint part; anything else (dots included, so
# names stay unambiguous) is percent-encoded as UTF-8.
_SAFE = re.compile(r"[A-Za-z0-9_-]")
_PREFIX_RE = re.compile(r"[A-Za-z0-9_.:-]+")


def work_queue(prefix: str, endpoint: str) -> str:
    """The queue consumers take jobs for `endpoint` from."""
    return f"{_base(prefix, endpoint)}.work"


def retry_queue(prefix: str, endpoint: str, delay_seconds: int) -> str:
    """The queue holding jobs for `endpoint` for `delay_seconds` before they go back to work."""
    return f"{_base(prefix, endpoint)}.retry.{format_delay(delay_seconds)}"


def defer_queue(prefix: str, endpoint: str, seconds: int) -> str:
    """The queue holding deferred jobs for `endpoint` for `seconds` before they go back to work."""
    return f"{_base(prefix, endpoint)}.defer.{format_delay(seconds)}"


def failed_queue(prefix: str, endpoint: str) -> str:
    """The parking lot for jobs for `endpoint` that failed for good."""
    return f"{_base(prefix, endpoint)}.failed"


def retry_tiers(delays: Sequence[int]) -> list[int]:
    """The distinct delays, shortest first: one retry queue each."""
    return sorted(set(delays))


def retry_tier(attempt: int, delays: Sequence[int], max_attempts: int) -> int | None:
    """The delay (seconds) before retrying after attempt number `attempt` (1-based) failed.

    Attempt n waits ``delays[n-1]``; past the end of `delays` the last delay repeats.
    None means no attempts are left (or no delays are configured): park the job in
    the failed queue.
    """
    if attempt >= max_attempts or not delays:
        return None
    index = min(max(attempt, 1), len(delays)) - 1
    return delays[index]


def format_delay(seconds: int) -> str:
    """``30`` -> ``30s``, ``120`` -> ``2m``, ``5400`` -> ``1h30m``, ``3661`` -> ``1h1m1s``."""
    if seconds < 1:
        raise ValueError(f"a retry delay must be at least 1 second, not {seconds}")
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(hours, "h"), (minutes, "m"), (secs, "s")]
    return "".join(f"{value}{unit}" for value, unit in parts if value)


def escape_endpoint(endpoint: str) -> str:
    """The endpoint name as it appears inside queue names.

    Letters, digits, ``_`` and ``-`` are kept; anything else is percent-encoded
    (``harbor.eu`` -> ``harbor%2Eeu``), so distinct names never share a queue. A
    very long name is cut and suffixed with a hash of the whole name.
    """
    if not endpoint:
        raise ValueError("an endpoint name must not be empty")
    escaped = "".join(
        char if _SAFE.fullmatch(char) else "".join(f"%{b:02X}" for b in _utf8(char))
        for char in endpoint
    )
    if len(escaped) > _MAX_ENDPOINT_PART:
        digest = hashlib.sha256(_utf8(endpoint)).hexdigest()[:16]
        escaped = f"{escaped[: _MAX_ENDPOINT_PART - 17]}~{digest}"
    return escaped


def _base(prefix: str, endpoint: str) -> str:
    if not _PREFIX_RE.fullmatch(prefix) or prefix.startswith("amq."):
        raise ConfigurationError(
            f"setting queue_prefix {prefix!r}: use letters, digits and . _ : - "
            "(and not the reserved 'amq.' prefix)"
        )
    base = f"{prefix}.endpoint.{escape_endpoint(endpoint)}"
    # Longest suffix: ".retry.<h>h<m>m<s>s" (".defer." is as long); stay inside 255 bytes.
    if len(base.encode()) > MAX_QUEUE_NAME_BYTES - 40:
        raise ConfigurationError(f"setting queue_prefix is too long: {prefix!r}")
    return base


def _utf8(text: str) -> bytes:
    # surrogatepass: even a lone surrogate (never a valid name) maps to some bytes.
    return text.encode("utf-8", "surrogatepass")
