"""Sources (registries that notify us) and endpoints (registries we write to).

Passwords and webhook secrets are encrypted before they reach the database and are
decrypted only by `source_credentials`, `source_webhook_secret` and
`endpoint_credentials`; the records say ``has_password`` instead.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, Table, delete, insert, select, update

from shared.store.base import UNSET, Unset
from shared.store.errors import ConflictError, RecordNotFoundError
from shared.store.executions import ExecutionStore
from shared.store.records import (
    Credentials,
    EndpointKind,
    EndpointRecord,
    SourceKind,
    SourceRecord,
)
from shared.store.schema import endpoints, jobs, rules, sources


class RegistryStore(ExecutionStore):
    # Sources -----------------------------------------------------------------

    def create_source(
        self,
        *,
        name: str,
        kind: SourceKind | str,
        url: str,
        username: str | None = None,
        password: str | None = None,
        verify_tls: bool = True,
        ca_bundle: str | None = None,
        webhook_secret: str | None = None,
    ) -> SourceRecord:
        """Record a source. Raises `ConflictError` when the name is taken."""
        now = self._now()
        values = {
            "name": name,
            "kind": SourceKind(kind).value,
            "url": url,
            "username": username,
            "password_enc": self._seal(password),
            "verify_tls": verify_tls,
            "ca_bundle": ca_bundle,
            "webhook_secret_enc": self._seal(webhook_secret),
            "created_at": now,
            "updated_at": now,
        }
        return _source_record(self._insert_named(sources, "source", values))

    def get_source(self, source_id: int) -> SourceRecord:
        """Raises `RecordNotFoundError`."""
        with self._read() as conn:
            return _source_record(self._row(conn, sources, source_id, "source"))

    def get_source_by_name(self, name: str) -> SourceRecord:
        """Raises `RecordNotFoundError`."""
        return _source_record(self._row_by_name(sources, "source", name))

    def list_sources(self) -> list[SourceRecord]:
        with self._read() as conn:
            rows = conn.execute(select(sources).order_by(sources.c.name)).all()
        return [_source_record(row) for row in rows]

    def update_source(
        self,
        source_id: int,
        *,
        name: str | Unset = UNSET,
        kind: SourceKind | str | Unset = UNSET,
        url: str | Unset = UNSET,
        username: str | Unset | None = UNSET,
        password: str | Unset | None = UNSET,
        verify_tls: bool | Unset = UNSET,
        ca_bundle: str | Unset | None = UNSET,
        webhook_secret: str | Unset | None = UNSET,
    ) -> SourceRecord:
        """Change the given fields only; ``password=None`` removes the password.

        Raises `RecordNotFoundError`, or `ConflictError` when the new name is taken.
        """
        changes: dict[str, Any] = {
            "name": name,
            "kind": kind if isinstance(kind, Unset) else SourceKind(kind).value,
            "url": url,
            "username": username,
            "password_enc": password if isinstance(password, Unset) else self._seal(password),
            "verify_tls": verify_tls,
            "ca_bundle": ca_bundle,
            "webhook_secret_enc": (
                webhook_secret if isinstance(webhook_secret, Unset)
                else self._seal(webhook_secret)
            ),
        }
        return _source_record(self._update_named(sources, "source", source_id, changes))

    def delete_source(self, source_id: int) -> None:
        """Delete a source and its job history.

        Raises `RecordNotFoundError`, or `ConflictError` while a rule uses it.
        """
        self._delete_unused(sources, "source", source_id, rules.c.source_id, jobs.c.source_id)

    def source_credentials(self, source_id: int) -> Credentials:
        """The source's username and decrypted password. Raises `RecordNotFoundError`."""
        with self._read() as conn:
            row = self._row(conn, sources, source_id, "source")
        return Credentials(row.username, self._open(row.password_enc))

    def source_webhook_secret(self, source_id: int) -> str | None:
        """The decrypted webhook secret (None when none is set). Raises `RecordNotFoundError`."""
        with self._read() as conn:
            row = self._row(conn, sources, source_id, "source")
        return self._open(row.webhook_secret_enc)

    # Endpoints ---------------------------------------------------------------

    def create_endpoint(
        self,
        *,
        name: str,
        kind: EndpointKind | str,
        url: str,
        username: str | None = None,
        password: str | None = None,
        verify_tls: bool = True,
        ca_bundle: str | None = None,
    ) -> EndpointRecord:
        """Record an endpoint. Raises `ConflictError` when the name is taken."""
        now = self._now()
        values = {
            "name": name,
            "kind": EndpointKind(kind).value,
            "url": url,
            "username": username,
            "password_enc": self._seal(password),
            "verify_tls": verify_tls,
            "ca_bundle": ca_bundle,
            "created_at": now,
            "updated_at": now,
        }
        return _endpoint_record(self._insert_named(endpoints, "endpoint", values))

    def get_endpoint(self, endpoint_id: int) -> EndpointRecord:
        """Raises `RecordNotFoundError`."""
        with self._read() as conn:
            return _endpoint_record(self._row(conn, endpoints, endpoint_id, "endpoint"))

    def get_endpoint_by_name(self, name: str) -> EndpointRecord:
        """Raises `RecordNotFoundError`."""
        return _endpoint_record(self._row_by_name(endpoints, "endpoint", name))

    def list_endpoints(self) -> list[EndpointRecord]:
        with self._read() as conn:
            rows = conn.execute(select(endpoints).order_by(endpoints.c.name)).all()
        return [_endpoint_record(row) for row in rows]

    def update_endpoint(
        self,
        endpoint_id: int,
        *,
        name: str | Unset = UNSET,
        kind: EndpointKind | str | Unset = UNSET,
        url: str | Unset = UNSET,
        username: str | Unset | None = UNSET,
        password: str | Unset | None = UNSET,
        verify_tls: bool | Unset = UNSET,
        ca_bundle: str | Unset | None = UNSET,
    ) -> EndpointRecord:
        """Change the given fields only; ``password=None`` removes the password.

        Raises `RecordNotFoundError`, or `ConflictError` when the new name is taken.
        """
        changes: dict[str, Any] = {
            "name": name,
            "kind": kind if isinstance(kind, Unset) else EndpointKind(kind).value,
            "url": url,
            "username": username,
            "password_enc": password if isinstance(password, Unset) else self._seal(password),
            "verify_tls": verify_tls,
            "ca_bundle": ca_bundle,
        }
        return _endpoint_record(self._update_named(endpoints, "endpoint", endpoint_id, changes))

    def delete_endpoint(self, endpoint_id: int) -> None:
        """Delete an endpoint and its job history.

        Raises `RecordNotFoundError`, or `ConflictError` while a rule uses it.
        """
        self._delete_unused(endpoints, "endpoint", endpoint_id, rules.c.endpoint_id,
                            jobs.c.endpoint_id)

    def endpoint_credentials(self, endpoint_id: int) -> Credentials:
        """The endpoint's username and decrypted password. Raises `RecordNotFoundError`."""
        with self._read() as conn:
            row = self._row(conn, endpoints, endpoint_id, "endpoint")
        return Credentials(row.username, self._open(row.password_enc))

    # Shared by both ------------------------------------------------------------

    def _seal(self, secret: str | None) -> str | None:
        return self._secrets.encrypt(secret) if secret else None

    def _open(self, token: str | None) -> str | None:
        return self._secrets.decrypt(token) if token else None

    def _row_by_name(self, table: Table, what: str, name: str) -> Row[Any]:
        with self._read() as conn:
            row = conn.execute(select(table).where(table.c.name == name)).one_or_none()
        if row is None:
            raise RecordNotFoundError(f"no {what} named {name!r}")
        return row

    def _insert_named(self, table: Table, what: str, values: dict[str, Any]) -> Row[Any]:
        taken = ConflictError(f"{_article(what)} {what} named {values['name']!r} already exists")
        with self._write(lambda _exc: taken) as conn:
            return conn.execute(insert(table).values(**values).returning(*table.c)).one()

    def _update_named(
        self, table: Table, what: str, row_id: int, changes: dict[str, Any]
    ) -> Row[Any]:
        values = {key: value for key, value in changes.items() if value is not UNSET}
        taken = ConflictError(
            f"{_article(what)} {what} named {values.get('name')!r} already exists")
        with self._write(lambda _exc: taken) as conn:
            if not values:
                return self._row(conn, table, row_id, what)
            values["updated_at"] = self._now()
            row = conn.execute(
                update(table).where(table.c.id == row_id).values(**values).returning(*table.c)
            ).one_or_none()
        if row is None:
            raise RecordNotFoundError(f"{what} {row_id} not found")
        return row

    def _delete_unused(self, table: Table, what: str, row_id: int, used_by: Any,
                       jobs_of: Any) -> None:
        """Delete a source or endpoint no rule uses, and its jobs (the database cascades).
        A rule moved to another one keeps its executions: those that lose jobs are
        counted again."""
        in_use = ConflictError(f"{what} {row_id} is used by a rule")
        with self._write(lambda _exc: in_use) as conn:
            self._row(conn, table, row_id, what, lock=True)
            names = conn.execute(
                select(rules.c.name).where(used_by == row_id).order_by(rules.c.name)
            ).scalars().all()
            if names:
                raise ConflictError(
                    f"{what} {row_id} is used by rule(s) {', '.join(names)}: "
                    "delete or change them first"
                )
            touched = conn.execute(
                select(jobs.c.execution_id).distinct()
                .where(jobs_of == row_id, jobs.c.execution_id.is_not(None))
            ).scalars().all()
            conn.execute(delete(table).where(table.c.id == row_id))
            self._recount(conn, touched)


def _article(noun: str) -> str:
    """``an`` before ``endpoint``, ``a`` before ``source``."""
    return "an" if noun[:1] in "aeiou" else "a"


def _source_record(row: Row[Any]) -> SourceRecord:
    return SourceRecord(
        id=row.id,
        name=row.name,
        kind=SourceKind(row.kind),
        url=row.url,
        username=row.username,
        has_password=row.password_enc is not None,
        verify_tls=row.verify_tls,
        ca_bundle=row.ca_bundle,
        has_webhook_secret=row.webhook_secret_enc is not None,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _endpoint_record(row: Row[Any]) -> EndpointRecord:
    return EndpointRecord(
        id=row.id,
        name=row.name,
        kind=EndpointKind(row.kind),
        url=row.url,
        username=row.username,
        has_password=row.password_enc is not None,
        verify_tls=row.verify_tls,
        ca_bundle=row.ca_bundle,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
