"""The inventory: the tags each rule wrote at its endpoint and still answers for.

A delete made at the source while the rule was off is applied from it later, and
only while the endpoint's tag still holds what the rule put there. A rule answers
only for what is still in its scope: `prune_out_of_scope` (called by
``update_rule`` in its own transaction) forgets every entry of a rule whose
endpoint, project or destination namespace changed, and the entries its new
repository or tag filters leave out.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, delete, select, tuple_
from sqlalchemy import exc as sa_exc

from shared.errors import CrossdockError
from shared.filters import from_rule, passes
from shared.store.base import StoreBase
from shared.store.errors import RecordNotFoundError
from shared.store.records import InventoryEntry, RuleRecord
from shared.store.schema import inventory

_PLACE = ("source_id", "endpoint_id", "project", "dest_namespace")  # a change empties it


class InventoryStore(StoreBase):
    def record_inventory(
        self, rule_id: int, repository: str, tag: str, source_repository: str, digest: str
    ) -> None:
        """The rule put ``digest`` under ``repository:tag`` at its endpoint (copied from
        ``source_repository``). Raises `RecordNotFoundError` for an unknown rule."""
        with self._write(_unknown_rule) as conn:
            self._upsert(conn, inventory, {
                "rule_id": rule_id,
                "repository": repository,
                "tag": tag,
                "source_repository": source_repository,
                "digest": digest,
                "updated_at": self._now(),
            })

    def forget_inventory(
        self, rule_id: int, repository: str, tag: str, digest: str | None = None
    ) -> bool:
        """Forget an entry (with ``digest``: only while it still names that digest).
        Returns whether one was removed."""
        query = delete(inventory).where(
            inventory.c.rule_id == rule_id,
            inventory.c.repository == repository,
            inventory.c.tag == tag,
        )
        if digest is not None:
            query = query.where(inventory.c.digest == digest)
        with self._write() as conn:
            return bool(conn.execute(query).rowcount)

    def list_inventory(self, rule_id: int, repository: str | None = None) -> list[InventoryEntry]:
        """A rule's entries (in one endpoint repository, when given), by repository and tag."""
        query = (select(inventory).where(inventory.c.rule_id == rule_id)
                 .order_by(inventory.c.repository, inventory.c.tag))
        if repository is not None:
            query = query.where(inventory.c.repository == repository)
        with self._read() as conn:
            return [_entry(row) for row in conn.execute(query).all()]


def prune_out_of_scope(conn: Connection, before: RuleRecord, after: RuleRecord) -> None:
    """Forget the entries of a rule that its change put out of its scope (module doc)."""
    if any(getattr(before, name) != getattr(after, name) for name in _PLACE):
        conn.execute(delete(inventory).where(inventory.c.rule_id == after.id))
        return
    if (before.repo_filters, before.tag_filters) == (after.repo_filters, after.tag_filters):
        return
    repo_filters, tag_filters = from_rule(after.repo_filters), from_rule(after.tag_filters)
    entries = conn.execute(
        select(inventory.c.repository, inventory.c.tag, inventory.c.source_repository)
        .where(inventory.c.rule_id == after.id)
    ).all()
    gone = [(row.repository, row.tag) for row in entries
            if not (passes(repo_filters, row.source_repository) and passes(tag_filters, row.tag))]
    for start in range(0, len(gone), 500):  # bounded statements for large inventories
        conn.execute(delete(inventory).where(
            inventory.c.rule_id == after.id,
            tuple_(inventory.c.repository, inventory.c.tag).in_(gone[start:start + 500]),
        ))


def _unknown_rule(_exc: sa_exc.IntegrityError) -> CrossdockError:
    return RecordNotFoundError("no rule with that id")


def _entry(row: Row[Any]) -> InventoryEntry:
    return InventoryEntry(
        rule_id=row.rule_id,
        repository=row.repository,
        tag=row.tag,
        source_repository=row.source_repository,
        digest=row.digest,
        updated_at=row.updated_at,
    )
