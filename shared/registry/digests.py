"""Hashing content in the digest algorithms crossdock accepts (`shared.grammar`).

Whatever names content, an event, a message or a manifest's descriptor, is
checked in the algorithm it uses; an algorithm crossdock does not accept can't
be checked here (the receiver and the messages refuse such digests).
"""

from __future__ import annotations

import hashlib

from shared.grammar import DIGEST_ALGORITHMS


def new_hash(digest: str) -> hashlib._Hash | None:
    """A fresh hash in `digest`'s algorithm; None for an algorithm crossdock doesn't accept."""
    algorithm = digest.partition(":")[0]
    return hashlib.new(algorithm) if algorithm in DIGEST_ALGORITHMS else None


def digest_like(data: bytes, digest: str) -> str | None:
    """`data`'s digest in the algorithm of `digest` (None: an algorithm not accepted)."""
    hashed = new_hash(digest)
    if hashed is None:
        return None
    hashed.update(data)
    return f"{hashed.name}:{hashed.hexdigest()}"
