"""What every part of the `Store` shares: the engine, the secret box, the clock,
and one-transaction-per-call helpers."""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import Connection, Engine, Insert, Row, Select, Table, bindparam, select
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite

from shared.errors import CrossdockError
from shared.store.engine import (
    DEADLINE_OPTION,
    WRITE_OPTION,
    default_conflict,
    translate_errors,
    writer_turns,
)
from shared.store.errors import RecordNotFoundError
from shared.store.secrets import SecretBox

Clock = Callable[[], datetime]


class Unset(enum.Enum):
    UNSET = "UNSET"


UNSET: Final = Unset.UNSET
"""Default of the partial-update parameters: leave this field as it is."""


def utc_now() -> datetime:
    return datetime.now(UTC)


class StoreBase:
    """Holds the collaborators; each public method of the store is one transaction."""

    def __init__(self, engine: Engine, secrets: SecretBox, *, clock: Clock = utc_now) -> None:
        self._engine = engine
        self._secrets = secrets
        self._clock = clock
        self._writers = writer_turns(engine)  # SQLite: writers queue (see WriterTurns)

    def _now(self) -> datetime:
        return self._clock()

    def now(self) -> datetime:
        """The store's clock: the time it writes for what happens now."""
        return self._clock()

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        """One read-only transaction."""
        with translate_errors(), self._engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def _write(
        self,
        on_integrity: Callable[[sa_exc.IntegrityError], CrossdockError] = default_conflict,
    ) -> Iterator[Connection]:
        """One transaction that writes (on SQLite it waits for its turn, then holds the
        write lock from the start, all within the engine's wait limit)."""
        turn = self._writers.turn() if self._writers is not None else nullcontext(None)
        with turn as deadline, translate_errors(on_integrity), self._engine.connect() as conn:
            conn.execution_options(**{WRITE_OPTION: True, DEADLINE_OPTION: deadline})
            with conn.begin():
                yield conn

    @staticmethod
    def _row(conn: Connection, table: Table, row_id: int, what: str, *, lock: bool = False
             ) -> Row[Any]:
        """The row with that id, or `RecordNotFoundError`. ``lock``: FOR UPDATE (PostgreSQL)."""
        row = conn.execute(row_by_id(table, lock), {"row_id": row_id}).one_or_none()
        if row is None:
            raise RecordNotFoundError(f"{what} {row_id} not found")
        return row

    @staticmethod
    def _upsert(conn: Connection, table: Table, values: dict[str, Any]) -> None:
        """Insert a row, or update the other columns of the row with the same primary key
        (one ``INSERT .. ON CONFLICT DO UPDATE``, atomic on both backends)."""
        conn.execute(upsert_of(conn.dialect.name, table, tuple(values)), values)


def dialect_insert(dialect: str) -> Callable[[Table], postgresql.Insert | sqlite.Insert]:
    """The ``insert`` of the dialect named ``dialect``, with ``ON CONFLICT`` clauses."""
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


# Statements of the hot paths are built once per shape and run with parameters: a
# statement built per call costs SQLAlchemy about twice the CPU of running it (its
# construction, then its cache key). `bench/store_calls.py` measures the calls.


@functools.cache
def row_by_id(table: Table, lock: bool) -> Select[Any]:
    """``SELECT * FROM table WHERE id = :row_id`` (``FOR UPDATE`` with ``lock``)."""
    query = select(table).where(table.c.id == bindparam("row_id"))
    return query.with_for_update() if lock else query


@functools.cache
def upsert_of(dialect: str, table: Table, names: tuple[str, ...]) -> Insert:
    """Insert the columns ``names`` (bound by name) or, on a primary key conflict,
    update the ones outside the key."""
    statement = dialect_insert(dialect)(table).values({name: bindparam(name) for name in names})
    keys = [column.name for column in table.primary_key]
    return statement.on_conflict_do_update(
        index_elements=keys,
        set_={name: statement.excluded[name] for name in names if name not in keys},
    )
