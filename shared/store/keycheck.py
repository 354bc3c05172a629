"""The secret key's check: every process proves on start that its ``secret_key`` is
the store's, instead of failing each job later on a secret it cannot decrypt.

The store keeps a known text sealed with its key (table ``key_check``). Any key of a
rotation list that opens it is accepted. A store without one (new, or made before
the check) gets it from the first process that opens it, once that process's key
opens every secret already stored. `KeyCheckStore.reseal_secrets` finishes a
rotation: everything is sealed again with the first key, and the old keys can go.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import Connection, Table, select, update

from shared.errors import ConfigurationError
from shared.store.base import StoreBase, dialect_insert
from shared.store.schema import endpoints, key_check, sources

CHECK_TEXT = "crossdock secret key check"
_CHECK_ID = 1

# Every sealed column: (table, what a message calls a row, its sealed columns).
_SEALED: tuple[tuple[Table, str, tuple[str, ...]], ...] = (
    (sources, "source", ("password_enc", "webhook_secret_enc")),
    (endpoints, "endpoint", ("password_enc",)),
)

_SAME_KEY_HINT = (
    "every crossdock process (the receiver, each consumer, the crossdock commands) needs "
    "the same CROSSDOCK_SECRET_KEY; while rotating, list the new key first and the old one "
    "after it, comma-separated"
)


class KeyCheckStore(StoreBase):
    def check_key(self, where: str) -> None:
        """Refuse a key that is not this store's (``where`` names the store in the
        message); record the check when the store has none yet.

        Raises `ConfigurationError` (the key opens neither the check nor, for a store
        without one, the secrets already stored), `StoreUnavailableError`, `StoreError`.
        """
        with self._read() as conn:
            token = _check_token(conn)
        if token is None:
            with self._write() as conn:
                token = _check_token(conn)  # again: another process may have just made it
                if token is None:
                    self._refuse_unopened_secrets(conn, where)
                    _record_check(conn, self._secrets.encrypt(CHECK_TEXT), self._now())
                    token = _check_token(conn)  # ours, or one recorded meanwhile
        if token is None or not self._secrets.opens(token):
            raise ConfigurationError(
                f"CROSSDOCK_SECRET_KEY is not the key of the store at {where}: its secrets "
                f"were encrypted with another one; {_SAME_KEY_HINT}"
            )

    def reseal_secrets(self) -> int:
        """Encrypt every stored secret and the key check again with the first key of the
        setting, so that the other keys may be removed. Returns how many secrets.

        Raises `ConfigurationError` when one of them opens with none of the keys,
        `StoreUnavailableError`, `StoreError`.
        """
        count = 0
        with self._write() as conn:
            for table, what, columns in _SEALED:
                for row in conn.execute(select(table)).all():
                    sealed = {column: self._reseal(getattr(row, column), what, row.name)
                              for column in columns if getattr(row, column) is not None}
                    if sealed:
                        conn.execute(update(table).where(table.c.id == row.id).values(**sealed))
                        count += len(sealed)
            self._upsert(conn, key_check, {"id": _CHECK_ID, "updated_at": self._now(),
                                           "token": self._secrets.encrypt(CHECK_TEXT)})
        return count

    def _reseal(self, token: str, what: str, name: str) -> str:
        try:
            return self._secrets.reseal(token)
        except ConfigurationError:
            raise ConfigurationError(
                f"no key of CROSSDOCK_SECRET_KEY opens the secrets of {what} {name!r}; "
                "nothing was changed"
            ) from None

    def _refuse_unopened_secrets(self, conn: Connection, where: str) -> None:
        for what, name, token in _sealed_secrets(conn):
            if not self._secrets.opens(token):
                raise ConfigurationError(
                    f"CROSSDOCK_SECRET_KEY does not open the secrets already in the store at "
                    f"{where} (those of {what} {name!r}): they were encrypted with another "
                    f"key; {_SAME_KEY_HINT}"
                )


def _check_token(conn: Connection) -> str | None:
    token: str | None = conn.execute(
        select(key_check.c.token).where(key_check.c.id == _CHECK_ID)
    ).scalar_one_or_none()
    return token


def _record_check(conn: Connection, token: str, now: datetime) -> None:
    """Record the check unless another process just did (theirs stays: the caller
    then checks its key against it)."""
    conn.execute(dialect_insert(conn.dialect.name)(key_check)
                 .values(id=_CHECK_ID, token=token, updated_at=now)
                 .on_conflict_do_nothing(index_elements=[key_check.c.id]))


def _sealed_secrets(conn: Connection) -> Iterator[tuple[str, str, str]]:
    """Every stored secret: (what, name, token)."""
    for table, what, columns in _SEALED:
        for row in conn.execute(select(table)).all():
            for column in columns:
                token = getattr(row, column)
                if token is not None:
                    yield what, row.name, token
