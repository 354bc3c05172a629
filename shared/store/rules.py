"""Replication rules: project P of source S goes to endpoint E."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import cache
from typing import Any

from sqlalchemy import Row, Select, bindparam, delete, insert, select, update
from sqlalchemy import exc as sa_exc

from shared.errors import CrossdockError
from shared.store.base import UNSET, StoreBase, Unset
from shared.store.errors import ConflictError, RecordNotFoundError
from shared.store.inventory import prune_out_of_scope
from shared.store.records import FilterDecision, RuleFilter, RuleRecord
from shared.store.schema import endpoints, rules, sources

FilterInput = RuleFilter | Mapping[str, str]


class RuleStore(StoreBase):
    def create_rule(
        self,
        *,
        name: str,
        source_id: int,
        project: str,
        endpoint_id: int,
        description: str = "",
        enabled: bool = True,
        repo_filters: Iterable[FilterInput] = (),
        tag_filters: Iterable[FilterInput] = (),
        dest_namespace: str | None = None,
        replicate_deletes: bool = True,
        override: bool = True,
        copy_referrers: bool = True,
        schedule: str | None = None,
        prune: bool = False,
    ) -> RuleRecord:
        """Record a rule. Filters are `RuleFilter`s or ``{"pattern", "decision"}`` mappings.

        Raises `RecordNotFoundError` for an unknown source or endpoint, `ConflictError`
        when the name is taken.
        """
        now = self._now()
        values = {
            "name": name,
            "description": description,
            "enabled": enabled,
            "source_id": source_id,
            "project": project,
            "endpoint_id": endpoint_id,
            "repo_filters": _filters_to_json(repo_filters),
            "tag_filters": _filters_to_json(tag_filters),
            "dest_namespace": dest_namespace,
            "replicate_deletes": replicate_deletes,
            "override": override,
            "copy_referrers": copy_referrers,
            "schedule": schedule,
            "prune": prune,
            "created_at": now,
            "updated_at": now,
        }
        with self._write(_rule_conflict(name)) as conn:
            self._row(conn, sources, source_id, "source")
            self._row(conn, endpoints, endpoint_id, "endpoint")
            row = conn.execute(insert(rules).values(**values).returning(*rules.c)).one()
        return _rule_record(row)

    def get_rule(self, rule_id: int) -> RuleRecord:
        """Raises `RecordNotFoundError`."""
        with self._read() as conn:
            return _rule_record(self._row(conn, rules, rule_id, "rule"))

    def get_rule_by_name(self, name: str) -> RuleRecord:
        """Raises `RecordNotFoundError`."""
        with self._read() as conn:
            row = conn.execute(select(rules).where(rules.c.name == name)).one_or_none()
        if row is None:
            raise RecordNotFoundError(f"no rule named {name!r}")
        return _rule_record(row)

    def list_rules(
        self,
        *,
        source_id: int | None = None,
        project: str | None = None,
        endpoint_id: int | None = None,
        enabled: bool | None = None,
    ) -> list[RuleRecord]:
        """Rules, by name, narrowed by whichever filters are given.

        The receiver's question "which rules does this event concern" is
        ``list_rules(source_id=..., project=..., enabled=True)``.
        """
        given = {
            name: value
            for name, value in (("source_id", source_id), ("project", project),
                                ("endpoint_id", endpoint_id), ("enabled", enabled))
            if value is not None
        }
        with self._read() as conn:
            rows = conn.execute(_rules_query(tuple(given)), given).all()
        return [_rule_record(row) for row in rows]

    def rule_names(self, rule_ids: Iterable[int]) -> dict[int, str]:
        """The names of the rules of `rule_ids` that exist, by id: one light query."""
        wanted = sorted(set(rule_ids))
        if not wanted:
            return {}
        with self._read() as conn:
            rows = conn.execute(select(rules.c.id, rules.c.name)
                                .where(rules.c.id.in_(wanted))).all()
        return {int(row.id): str(row.name) for row in rows}

    def update_rule(
        self,
        rule_id: int,
        *,
        name: str | Unset = UNSET,
        description: str | Unset = UNSET,
        enabled: bool | Unset = UNSET,
        source_id: int | Unset = UNSET,
        project: str | Unset = UNSET,
        endpoint_id: int | Unset = UNSET,
        repo_filters: Iterable[FilterInput] | Unset = UNSET,
        tag_filters: Iterable[FilterInput] | Unset = UNSET,
        dest_namespace: str | Unset | None = UNSET,
        replicate_deletes: bool | Unset = UNSET,
        override: bool | Unset = UNSET,
        copy_referrers: bool | Unset = UNSET,
        schedule: str | Unset | None = UNSET,
        prune: bool | Unset = UNSET,
    ) -> RuleRecord:
        """Change the given fields only. The rule's inventory entries the change puts
        out of its scope are forgotten (see `shared.store.inventory`).

        Raises `RecordNotFoundError` (the rule, or a new source or endpoint), or
        `ConflictError` when the new name is taken.
        """
        changes: dict[str, Any] = {
            "name": name,
            "description": description,
            "enabled": enabled,
            "source_id": source_id,
            "project": project,
            "endpoint_id": endpoint_id,
            "repo_filters": (
                repo_filters if isinstance(repo_filters, Unset)
                else _filters_to_json(repo_filters)
            ),
            "tag_filters": (
                tag_filters if isinstance(tag_filters, Unset) else _filters_to_json(tag_filters)
            ),
            "dest_namespace": dest_namespace,
            "replicate_deletes": replicate_deletes,
            "override": override,
            "copy_referrers": copy_referrers,
            "schedule": schedule,
            "prune": prune,
        }
        values = {key: value for key, value in changes.items() if value is not UNSET}
        with self._write(_rule_conflict(values.get("name"))) as conn:
            row = self._row(conn, rules, rule_id, "rule", lock=True)
            if not values:
                return _rule_record(row)
            if "source_id" in values:
                self._row(conn, sources, values["source_id"], "source")
            if "endpoint_id" in values:
                self._row(conn, endpoints, values["endpoint_id"], "endpoint")
            values["updated_at"] = self._now()
            before = _rule_record(row)
            after = _rule_record(conn.execute(
                update(rules).where(rules.c.id == rule_id).values(**values).returning(*rules.c)
            ).one())
            prune_out_of_scope(conn, before, after)
        return after

    def delete_rule(self, rule_id: int) -> None:
        """Delete a rule with its executions, jobs and job logs.

        Messages already queued for its jobs then meet `RecordNotFoundError` in
        ``mark_running``: the consumer drops them. Raises `RecordNotFoundError`.
        """
        with self._write() as conn:
            result = conn.execute(delete(rules).where(rules.c.id == rule_id))
            if result.rowcount == 0:
                raise RecordNotFoundError(f"rule {rule_id} not found")


@cache
def _rules_query(columns: tuple[str, ...]) -> Select[Any]:
    """Rules where each of `columns` equals the parameter of the same name, by name.

    Built once per combination: the webhook path runs this query for every event,
    and building it (and its cache key) each time costs more than running it.
    """
    query = select(rules).order_by(rules.c.name)
    for column in columns:
        query = query.where(rules.c[column] == bindparam(column))
    return query


def _rule_conflict(name: object) -> Callable[[sa_exc.IntegrityError], CrossdockError]:
    def conflict(_exc: sa_exc.IntegrityError) -> CrossdockError:
        # The existence of the source and endpoint is checked first, so what is
        # left is the unique name (or a source/endpoint deleted meanwhile).
        return ConflictError(f"a rule named {name!r} already exists, or its source or "
                             "endpoint was just deleted")
    return conflict


def _filters_to_json(filters: Iterable[FilterInput]) -> list[dict[str, str]]:
    """Validate and serialize filters. Raises `ValueError` for a malformed one."""
    result = []
    for item in filters:
        if isinstance(item, RuleFilter):
            pattern, decision = item.pattern, item.decision
        else:
            pattern = item["pattern"]
            decision = FilterDecision(item.get("decision", FilterDecision.MATCHES))
        if not isinstance(pattern, str) or not pattern:
            raise ValueError("a filter needs a non-empty pattern")
        result.append({"pattern": pattern, "decision": FilterDecision(decision).value})
    return result


def _filters_from_json(data: Any) -> tuple[RuleFilter, ...]:
    return tuple(
        RuleFilter(pattern=item["pattern"], decision=FilterDecision(item["decision"]))
        for item in data or ()
    )


def _rule_record(row: Row[Any]) -> RuleRecord:
    return RuleRecord(
        id=row.id,
        name=row.name,
        description=row.description,
        enabled=row.enabled,
        source_id=row.source_id,
        project=row.project,
        endpoint_id=row.endpoint_id,
        repo_filters=_filters_from_json(row.repo_filters),
        tag_filters=_filters_from_json(row.tag_filters),
        dest_namespace=row.dest_namespace,
        replicate_deletes=row.replicate_deletes,
        override=row.override,
        copy_referrers=row.copy_referrers,
        schedule=row.schedule,
        prune=row.prune,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
