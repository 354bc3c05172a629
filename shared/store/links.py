"""Registry links: a source and an endpoint that are one registry (DESIGN invariant 3).

A link is what makes two opposite rules a two-way pair (see `shared.store.pairs`)
and what tells which rule would copy a write back to where it came from. A source
and an endpoint each belong to at most one link; deleting either deletes its link.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, delete, insert, or_, select, update
from sqlalchemy import exc as sa_exc

from shared.errors import CrossdockError
from shared.store.base import UNSET, StoreBase, Unset
from shared.store.errors import ConflictError, RecordNotFoundError
from shared.store.records import LinkRecord
from shared.store.schema import endpoints, registry_links, sources


class LinkStore(StoreBase):
    def create_link(
        self, *, source_id: int, endpoint_id: int, harbor_account: str | None = None
    ) -> LinkRecord:
        """Say that a source and an endpoint are one registry.

        Raises `RecordNotFoundError` for an unknown source or endpoint, `ConflictError`
        when either is already linked.
        """
        now = self._now()
        with self._write(_already_linked) as conn:
            self._row(conn, sources, source_id, "source")
            self._row(conn, endpoints, endpoint_id, "endpoint")
            _refuse_linked(conn, source_id, endpoint_id)
            row = conn.execute(
                insert(registry_links)
                .values(source_id=source_id, endpoint_id=endpoint_id,
                        harbor_account=harbor_account, created_at=now, updated_at=now)
                .returning(*registry_links.c)
            ).one()
        return _link_record(row)

    def get_link(self, link_id: int) -> LinkRecord:
        """Raises `RecordNotFoundError`."""
        with self._read() as conn:
            return _link_record(self._row(conn, registry_links, link_id, "link"))

    def list_links(self) -> list[LinkRecord]:
        """Every link, by id."""
        with self._read() as conn:
            rows = conn.execute(select(registry_links).order_by(registry_links.c.id)).all()
        return [_link_record(row) for row in rows]

    def update_link(
        self, link_id: int, *, harbor_account: str | Unset | None = UNSET
    ) -> LinkRecord:
        """Change the given fields only. Raises `RecordNotFoundError`."""
        with self._write() as conn:
            row = self._row(conn, registry_links, link_id, "link", lock=True)
            if harbor_account is UNSET:
                return _link_record(row)
            row = conn.execute(
                update(registry_links)
                .where(registry_links.c.id == link_id)
                .values(harbor_account=harbor_account, updated_at=self._now())
                .returning(*registry_links.c)
            ).one()
        return _link_record(row)

    def delete_link(self, link_id: int) -> None:
        """Raises `RecordNotFoundError`."""
        with self._write() as conn:
            result = conn.execute(delete(registry_links).where(registry_links.c.id == link_id))
            if result.rowcount == 0:
                raise RecordNotFoundError(f"link {link_id} not found")

    def link_for_source(self, source_id: int) -> LinkRecord | None:
        """The link of that source, if it has one."""
        return self._link_where(registry_links.c.source_id == source_id)

    def link_for_endpoint(self, endpoint_id: int) -> LinkRecord | None:
        """The link of that endpoint, if it has one."""
        return self._link_where(registry_links.c.endpoint_id == endpoint_id)

    def _link_where(self, condition: Any) -> LinkRecord | None:
        with self._read() as conn:
            row = conn.execute(select(registry_links).where(condition)).one_or_none()
        return None if row is None else _link_record(row)


def _refuse_linked(conn: Connection, source_id: int, endpoint_id: int) -> None:
    """`ConflictError` naming what is already linked."""
    taken = conn.execute(
        select(registry_links).where(or_(registry_links.c.source_id == source_id,
                                         registry_links.c.endpoint_id == endpoint_id))
    ).first()
    if taken is None:
        return
    if taken.source_id == source_id:
        raise ConflictError(f"source {source_id} is already linked (link {taken.id})")
    raise ConflictError(f"endpoint {endpoint_id} is already linked (link {taken.id})")


def _already_linked(_exc: sa_exc.IntegrityError) -> CrossdockError:
    # Checked first; left is a link made meanwhile, or a source or endpoint just deleted.
    return ConflictError("that source or endpoint was just linked or deleted")


def _link_record(row: Row[Any]) -> LinkRecord:
    return LinkRecord(
        id=row.id,
        source_id=row.source_id,
        endpoint_id=row.endpoint_id,
        harbor_account=row.harbor_account,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
