"""Cross-process coordination: the echo record and leases.

**Echo record** (DESIGN invariant 3). After writing a manifest into registry B
(copied from registry A), a consumer calls ``record_write(B, repo, tag, digest,
origin=A)``. When B's notification about that write comes back, the receiver asks
``is_echo(B, repo, tag, digest, origin=A)`` for the rule B→A and drops the event;
for a rule B→C it asks with ``origin=C``, gets False, and the chain A→B→C flows.

Each record says what crossdock did: a ``put`` (a manifest written by tag or by
digest) or a ``delete`` (a digest deleted, or a tag removed). Push events are
compared with puts and delete events with deletes, so a user's delete on B of
something crossdock once put there is not mistaken for an echo. An event with a
tag is an echo when crossdock made that change to that tag (and digest, when the
event has one); an event without a tag (a push by digest: an index child, a
referrer) when crossdock made that change to that digest in that repository.
Registries are compared by normalized host[:port] (`normalize_registry`), so a URL
or a bare host may be passed, but one registry must be known by one name.

The receiver asks with a time window (``within``): echoes come back within
seconds, while a user who later puts an old image back under a tag must be heard.
`prune_writes` removes records older than any window in use.

**Leases** (DESIGN invariant 4, and "exactly one scheduler acts"). A lease is a
row (key, holder, expires_at) taken with one ``INSERT .. ON CONFLICT DO UPDATE ..
WHERE expired or ours`` statement, atomic on SQLite and PostgreSQL alike. The
holder renews it while working and releases it when done; a holder that dies
loses it when the TTL runs out. Expiry uses the callers' clocks: with PostgreSQL
shared by several machines, keep them in sync (NTP) and the TTL well above any skew.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache, lru_cache
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Select, bindparam, delete, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from shared.store.base import StoreBase
from shared.store.schema import leases, writes

SCHEDULER_LEASE_KEY = "scheduler"
"""The lease the scheduler processes compete for; only its holder starts scheduled runs."""

_DEFAULT_PORTS = {"https": 443, "http": 80}


def repository_lease_key(endpoint_id: int, repository: str) -> str:
    """The lease serializing jobs on one repository of one endpoint."""
    return f"{endpoint_id}/{repository}"


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
    # Echo record ----------------------------------------------------------------

    def record_write(
        self,
        registry: str,
        repository: str,
        tag: str | None,
        digest: str | None,
        origin: str,
        action: str = "put",
    ) -> None:
        """Remember that crossdock wrote into ``registry``/``repository``, copied from
        ``origin``: a ``put`` of ``digest`` (under ``tag``, or by digest only when None),
        or a ``delete`` of ``digest`` or of ``tag``."""
        if action not in ("put", "delete"):
            raise ValueError(f"unknown write action {action!r}")
        if tag is None and digest is None:
            raise ValueError("record_write needs a tag or a digest")
        key = {
            "registry": normalize_registry(registry),
            "repository": repository,
            "origin": normalize_registry(origin),
            "action": action,
        }
        now = self._now()
        with self._write() as conn:
            refreshed = conn.execute(
                update(writes)
                .where(*(writes.c[name] == value for name, value in key.items()))
                .where(writes.c.tag.is_not_distinct_from(tag))
                .where(writes.c.digest.is_not_distinct_from(digest))
                .values(at=now)
            )
            if refreshed.rowcount == 0:
                conn.execute(insert(writes).values(**key, tag=tag, digest=digest, at=now))

    def is_echo(
        self,
        registry: str,
        repository: str,
        tag: str | None,
        digest: str | None,
        origin: str | None = None,
        *,
        action: str = "put",
        within: timedelta | None = None,
    ) -> bool:
        """Did crossdock itself make this change in ``registry`` (from ``origin``, when
        given), as a ``put`` or a ``delete``, in the last ``within`` (default: ever)?

        See the module docstring for how tags are compared. Without a digest (a
        tag delete event), any write of that tag matches.
        """
        if tag is None and digest is None:
            raise ValueError("is_echo needs a tag or a digest")
        params: dict[str, Any] = {
            "registry": normalize_registry(registry),
            "repository": repository,
            "action": action,
        }
        if digest is not None:
            params["digest"] = digest
        if tag is not None:
            params["tag"] = tag
        if origin is not None:
            params["origin"] = normalize_registry(origin)
        if within is not None:
            params["since"] = self._now() - within
        query = _echo_query(digest is not None, tag is not None, origin is not None,
                            within is not None)
        with self._read() as conn:
            return conn.execute(query, params).first() is not None

    def prune_writes(self, older_than: timedelta | datetime) -> int:
        """Forget writes recorded before a moment (or longer ago than an age).
        Returns how many were removed."""
        cutoff = self._now() - older_than if isinstance(older_than, timedelta) else older_than
        with self._write() as conn:
            return int(conn.execute(delete(writes).where(writes.c.at < cutoff)).rowcount)

    # Leases -----------------------------------------------------------------------

    def try_acquire_lease(self, key: str, holder: str, ttl_seconds: float) -> bool:
        """Take the lease if it is free, expired, or already ``holder``'s (then it is
        extended). Exactly one of several concurrent callers gets it.
        Raises `ValueError` for a TTL that is not positive."""
        now = self._now()
        expires = now + _ttl(ttl_seconds)
        dialect_insert = (
            postgresql.insert if self._engine.dialect.name == "postgresql" else sqlite.insert
        )
        statement = dialect_insert(leases).values(
            key=key, holder=holder, acquired_at=now, expires_at=expires
        )
        upsert = statement.on_conflict_do_update(
            index_elements=[leases.c.key],
            set_={
                "holder": statement.excluded.holder,
                "acquired_at": statement.excluded.acquired_at,
                "expires_at": statement.excluded.expires_at,
            },
            where=or_(leases.c.expires_at <= now, leases.c.holder == holder),
        ).returning(leases.c.holder)
        with self._write() as conn:
            return conn.execute(upsert).first() is not None

    def renew_lease(self, key: str, holder: str, ttl_seconds: float) -> bool:
        """Push the expiry ``ttl_seconds`` from now. False when ``holder`` no longer holds
        the lease (it expired and someone else took it, or it was released)."""
        now = self._now()
        with self._write() as conn:
            result = conn.execute(
                update(leases)
                .where(leases.c.key == key, leases.c.holder == holder)
                .values(expires_at=now + _ttl(ttl_seconds))
            )
            return bool(result.rowcount)

    def release_lease(self, key: str, holder: str) -> bool:
        """Give the lease up. False when ``holder`` did not hold it (nothing changes)."""
        with self._write() as conn:
            result = conn.execute(
                delete(leases).where(leases.c.key == key, leases.c.holder == holder)
            )
            return bool(result.rowcount)

    def lease_holder(self, key: str) -> str | None:
        """Who holds the lease now (None when it is free or expired)."""
        with self._read() as conn:
            holder: str | None = conn.execute(
                select(leases.c.holder)
                .where(leases.c.key == key, leases.c.expires_at > self._now())
            ).scalar_one_or_none()
        return holder


@cache
def _echo_query(digest: bool, tag: bool, origin: bool, since: bool) -> Select[Any]:
    """`is_echo`'s query for one combination of the optional conditions, built once
    (the webhook path asks it for every event and rule)."""
    query = (
        select(writes.c.id)
        .where(writes.c.registry == bindparam("registry"))
        .where(writes.c.repository == bindparam("repository"))
        .where(writes.c.action == bindparam("action"))
        .limit(1)
    )
    if digest:
        query = query.where(writes.c.digest == bindparam("digest"))
    if tag:
        query = query.where(writes.c.tag == bindparam("tag"))
    if origin:
        query = query.where(writes.c.origin == bindparam("origin"))
    if since:
        query = query.where(writes.c.at >= bindparam("since"))
    return query


def _ttl(seconds: float) -> timedelta:
    if not seconds > 0:
        raise ValueError("a lease needs a positive TTL")
    return timedelta(seconds=seconds)
