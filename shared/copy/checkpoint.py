"""Checkpoints: where a run that no longer owns its job stops (DESIGN invariant 4).

A run owns its job while it holds the repository lease and the broker connection
that delivered its message. Code that writes to a registry calls its checkpoint
before each write (a blob upload, a manifest PUT or DELETE); the checkpoint
raises `RunAbandonedError` once the run has lost either. A request already in
flight is not interrupted.
"""

from __future__ import annotations

from collections.abc import Callable

from shared.errors import CrossdockError

Checkpoint = Callable[[], None]
"""Returns when the run may write; raises `RunAbandonedError` when it may not."""


class RunAbandonedError(CrossdockError):
    """The run lost its lease or its broker connection and stopped before a write.

    Neither transient nor permanent: the job is not retried or failed for it, since
    its message is being run by another consumer or will be redelivered.
    """


def no_checkpoint() -> None:
    """The checkpoint of a copy that no lease or delivery governs (the CLI)."""
