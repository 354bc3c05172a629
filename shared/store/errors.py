"""The store's errors, in crossdock's one error tree.

SQLAlchemy and driver exceptions never leave `shared.store`: they are turned
into one of these at the edge (see `shared.store.engine.translate_errors`).
"""

from __future__ import annotations

from shared.errors import PermanentError, TransientError


class StoreUnavailableError(TransientError):
    """The database cannot be reached or is busy (connection refused, lock timeout,
    deadlock, serialization failure). Retrying later may succeed."""


class RecordNotFoundError(PermanentError):
    """No source, endpoint, rule, execution or job with that id or name."""


class ConflictError(PermanentError):
    """The change breaks a rule of the data: a name already taken, an endpoint or
    source still used by a rule."""


class StoreError(PermanentError):
    """Any other database failure (bad data, a schema that does not match the code).
    Retrying the same call will fail the same way."""
