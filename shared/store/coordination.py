"""Cross-process coordination: leases, and how registries are named.

**Leases** (DESIGN invariant 4, and "exactly one scheduler acts"). A lease is a
row (key, holder, expires_at) taken with one ``INSERT .. ON CONFLICT DO UPDATE ..
WHERE expired or ours`` statement, atomic on SQLite and PostgreSQL alike. The
holder renews it while working and releases it when done; a holder that dies
loses it when the TTL runs out. Expiry uses the callers' clocks: with PostgreSQL
shared by several machines, keep them in sync (NTP) and the TTL well above any skew.
"""

from __future__ import annotations

from datetime import timedelta
from functools import cache, lru_cache
from urllib.parse import urlsplit

from sqlalchemy import Insert, bindparam, delete, or_, select, update

from shared.store.base import StoreBase, dialect_insert
from shared.store.schema import leases

SCHEDULER_LEASE_KEY = "scheduler"
"""The lease the scheduler processes compete for; only its holder starts scheduled runs."""

_DEFAULT_PORTS = {"https": 443, "http": 80}


def repository_lease_key(endpoint_id: int, repository: str) -> str:
    """The lease serializing jobs on one repository of one endpoint."""
    return f"{endpoint_id}/{repository}"


def failed_queue_lease_key(endpoint_id: int) -> str:
    """The lease serializing the moves out of one endpoint's failed queue (a redrive,
    a job's retry). Never a repository key: those start with the endpoint's id."""
    return f"failed-queue/{endpoint_id}"


@lru_cache(maxsize=1024)  # pure, and asked twice per event and rule by the webhook path
def normalize_registry(value: str) -> str:
    """``https://Registry.Example.com:443/`` → ``registry.example.com``: lower-case host,
    with the port unless it is the scheme's default. Raises `ValueError` without a host.
    """
    text = value.strip()
    parts = urlsplit(text if "://" in text else "//" + text)
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        raise ValueError(f"not a registry host or URL: {value!r}") from None
    if not host:
        raise ValueError(f"not a registry host or URL: {value!r}")
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if port is not None and _DEFAULT_PORTS.get(parts.scheme) != port:
        return f"{host}:{port}"
    return host


class CoordinationStore(StoreBase):
    # Leases -----------------------------------------------------------------------

    def try_acquire_lease(self, key: str, holder: str, ttl_seconds: float) -> bool:
        """Take the lease if it is free, expired, or already ``holder``'s (then it is
        extended). Exactly one of several concurrent callers gets it.
        Raises `ValueError` for a TTL that is not positive."""
        now = self._now()
        with self._write() as conn:
            taken = conn.execute(_take_lease(conn.dialect.name), {
                "key": key, "holder": holder, "acquired_at": now,
                "expires_at": now + _ttl(ttl_seconds), "now": now,
            })
            return taken.first() is not None

    def renew_lease(self, key: str, holder: str, ttl_seconds: float) -> bool:
        """Push the expiry ``ttl_seconds`` from now. False when ``holder`` no longer holds
        the lease (it expired and someone else took it, or it was released)."""
        now = self._now()
        with self._write() as conn:
            result = conn.execute(_RENEW_LEASE, {
                "lease_key": key, "lease_holder": holder,
                "expires_at": now + _ttl(ttl_seconds),
            })
            return bool(result.rowcount)

    def release_lease(self, key: str, holder: str) -> bool:
        """Give the lease up. False when ``holder`` did not hold it (nothing changes)."""
        with self._write() as conn:
            result = conn.execute(_RELEASE_LEASE, {"lease_key": key, "lease_holder": holder})
            return bool(result.rowcount)

    def lease_holder(self, key: str) -> str | None:
        """Who holds the lease now (None when it is free or expired)."""
        with self._read() as conn:
            holder: str | None = conn.execute(
                select(leases.c.holder)
                .where(leases.c.key == key, leases.c.expires_at > self._now())
            ).scalar_one_or_none()
        return holder


# Built once (a consumer takes and lets go of a lease per job); see `shared.store.base`.
_RENEW_LEASE = update(leases).where(
    leases.c.key == bindparam("lease_key"), leases.c.holder == bindparam("lease_holder")
).values(expires_at=bindparam("expires_at"))
_RELEASE_LEASE = delete(leases).where(
    leases.c.key == bindparam("lease_key"), leases.c.holder == bindparam("lease_holder")
)


@cache
def _take_lease(dialect: str) -> Insert:
    """Take the lease ``:key`` for ``:holder`` if it is free, expired at ``:now``, or
    already its own; returns the holder when taken, no row otherwise."""
    statement = dialect_insert(dialect)(leases).values(
        key=bindparam("key"), holder=bindparam("holder"),
        acquired_at=bindparam("acquired_at"), expires_at=bindparam("expires_at"),
    )
    return statement.on_conflict_do_update(
        index_elements=[leases.c.key],
        set_={
            "holder": statement.excluded.holder,
            "acquired_at": statement.excluded.acquired_at,
            "expires_at": statement.excluded.expires_at,
        },
        where=or_(leases.c.expires_at <= bindparam("now"),
                  leases.c.holder == statement.excluded.holder),
    ).returning(leases.c.holder)


def _ttl(seconds: float) -> timedelta:
    if not seconds > 0:
        raise ValueError("a lease needs a positive TTL")
    return timedelta(seconds=seconds)
