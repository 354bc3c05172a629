"""Two-way pairs of rules, the side that wins their conflicts, and their sync bases.

Rules R and O are a pair when links say that O's source is R's endpoint and R's
source is O's endpoint, and their projects mirror each other: with ``ns(X)`` =
X's destination namespace or else its project, ``O.project == ns(R)`` and
``ns(O) == R.project``. Whether they are enabled does not matter. A rule with
several such opposite rules pairs with the one with the lowest id.

A pair's base (DESIGN invariant 3) is the last digest both sides held for a tag,
named as at the first rule's source; a base of None says the tag was absent on
both sides, which is not the same as no base at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Row, Select, and_, bindparam, func, or_, select
from sqlalchemy import exc as sa_exc

from shared.errors import CrossdockError
from shared.store.base import StoreBase
from shared.store.errors import RecordNotFoundError
from shared.store.records import BaseRecord, PairRecord
from shared.store.rules import _rule_record
from shared.store.schema import pair_preferences, registry_links, rules, sync_bases

_rule = rules.alias("r")
_other = rules.alias("o")
_back = registry_links.alias("back")  # the other rule's source is this rule's endpoint
_forth = registry_links.alias("forth")  # this rule's source is the other rule's endpoint
_preference = pair_preferences


def _namespace(table: Any) -> Any:
    return func.coalesce(table.c.dest_namespace, table.c.project)


# Every (rule, opposite rule) of the definition above, with the pair's preference.
_CANDIDATES: Select[Any] = (
    select(_rule.c.id.label("rule_id"), _other.c.id.label("other_id"),
           _preference.c.preferred_rule_id)
    .select_from(_rule)
    .join(_other, and_(_other.c.id != _rule.c.id,
                       _other.c.project == _namespace(_rule),
                       _namespace(_other) == _rule.c.project))
    .join(_back, and_(_back.c.source_id == _other.c.source_id,
                      _back.c.endpoint_id == _rule.c.endpoint_id))
    .join(_forth, and_(_forth.c.source_id == _rule.c.source_id,
                       _forth.c.endpoint_id == _other.c.endpoint_id))
    .outerjoin(_preference, or_(
        and_(_preference.c.first_rule_id == _rule.c.id,
             _preference.c.second_rule_id == _other.c.id),
        and_(_preference.c.first_rule_id == _other.c.id,
             _preference.c.second_rule_id == _rule.c.id),
    ))
    .order_by(_rule.c.id, _other.c.id)
)
_PAIR_OF = _CANDIDATES.where(_rule.c.id == bindparam("rule_id")).limit(1)


class PairStore(StoreBase):
    # Pairs ------------------------------------------------------------------------

    def find_pair(self, rule_id: int) -> PairRecord | None:
        """The pair this rule belongs to, or None (also for an unknown rule)."""
        with self._read() as conn:
            return pair_of(conn, rule_id)

    def list_pairs(self) -> list[PairRecord]:
        """Every pair once (as `find_pair` finds them), by the ids of their rules."""
        with self._read() as conn:
            return _pairs(conn, _chosen(conn.execute(_CANDIDATES).all()))

    def set_pair_preference(
        self, rule_id_a: int, rule_id_b: int, preferred_rule_id: int
    ) -> PairRecord:
        """Choose whose source wins the conflicts of the pair of these two rules.

        Raises `ValueError` when ``preferred_rule_id`` is neither rule,
        `RecordNotFoundError` when the two rules are not a pair now.
        """
        if rule_id_a == rule_id_b or preferred_rule_id not in (rule_id_a, rule_id_b):
            raise ValueError("the preferred rule must be one of two different rules")
        first, second = sorted((rule_id_a, rule_id_b))
        with self._write() as conn:
            candidates = conn.execute(_CANDIDATES.where(_rule.c.id.in_((first, second)))).all()
            if not any(pair[:2] == (first, second) for pair in _chosen(candidates)):
                raise RecordNotFoundError(f"rules {first} and {second} are not a two-way pair")
            self._upsert(conn, pair_preferences, {
                "first_rule_id": first,
                "second_rule_id": second,
                "preferred_rule_id": preferred_rule_id,
                "updated_at": self._now(),
            })
            return _pairs(conn, [(first, second, preferred_rule_id)])[0]

    # Bases ------------------------------------------------------------------------

    def get_base(
        self, first_rule_id: int, second_rule_id: int, repository: str, tag: str
    ) -> BaseRecord | None:
        """The pair's base for that tag, or None when none was recorded.

        Raises `ValueError` unless ``first_rule_id`` is the lower id.
        """
        _check_order(first_rule_id, second_rule_id)
        with self._read() as conn:
            row = conn.execute(
                select(sync_bases).where(
                    sync_bases.c.first_rule_id == first_rule_id,
                    sync_bases.c.second_rule_id == second_rule_id,
                    sync_bases.c.repository == repository,
                    sync_bases.c.tag == tag,
                )
            ).one_or_none()
        if row is None:
            return None
        return BaseRecord(repository=row.repository, tag=row.tag, digest=row.digest,
                          updated_at=row.updated_at)

    def set_base(
        self, first_rule_id: int, second_rule_id: int, repository: str, tag: str,
        digest: str | None,
    ) -> None:
        """Record what both sides now hold for that tag (None: absent on both).

        Raises `ValueError` unless ``first_rule_id`` is the lower id,
        `RecordNotFoundError` for an unknown rule.
        """
        _check_order(first_rule_id, second_rule_id)
        with self._write(_unknown_rule) as conn:
            self._upsert(conn, sync_bases, {
                "first_rule_id": first_rule_id,
                "second_rule_id": second_rule_id,
                "repository": repository,
                "tag": tag,
                "digest": digest,
                "updated_at": self._now(),
            })


Pair = tuple[int, int, int | None]  # rule ids, lower first; preferred rule (None: default)


def _chosen(candidates: Iterable[Row[Any]]) -> list[Pair]:
    """Each rule's pair (its lowest-id opposite rule), every pair once, in order.
    ``candidates`` come ordered by rule, then opposite rule."""
    pairs: dict[tuple[int, int], int | None] = {}
    seen: set[int] = set()
    for row in candidates:
        if row.rule_id in seen:
            continue
        seen.add(row.rule_id)
        key = (min(row.rule_id, row.other_id), max(row.rule_id, row.other_id))
        pairs[key] = row.preferred_rule_id
    return [(first, second, preferred) for (first, second), preferred in sorted(pairs.items())]


def pair_of(conn: Connection, rule_id: int) -> PairRecord | None:
    """The pair this rule belongs to, or None, read on `conn`."""
    row = conn.execute(_PAIR_OF, {"rule_id": rule_id}).first()
    if row is None:
        return None
    return _pairs(conn, [(row.rule_id, row.other_id, row.preferred_rule_id)])[0]


def _pairs(conn: Connection, pairs: Sequence[Pair]) -> list[PairRecord]:
    """`PairRecord`s for these pairs, with their rules loaded in one query."""
    ids = {rule_id for pair in pairs for rule_id in pair[:2]}
    if not ids:
        return []
    loaded = {row.id: _rule_record(row)
              for row in conn.execute(select(rules).where(rules.c.id.in_(ids))).all()}
    records = []
    for rule_a, rule_b, preferred in pairs:
        first, second = sorted((rule_a, rule_b))
        records.append(PairRecord(
            first=loaded[first],
            second=loaded[second],
            preferred_rule_id=first if preferred is None else preferred,
            preference_set=preferred is not None,
        ))
    return records


def _check_order(first_rule_id: int, second_rule_id: int) -> None:
    if not first_rule_id < second_rule_id:
        raise ValueError("a pair's first rule is the one with the lower id")


def _unknown_rule(_exc: sa_exc.IntegrityError) -> CrossdockError:
    return RecordNotFoundError("no rule with one of those ids")
