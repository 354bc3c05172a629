"""The OCI grammar for repository names, tags and digests (pure, no I/O).

Shared by the receiver (validating notification payloads) and the job messages,
so both accept exactly the same names. Sources: distribution-spec "Pulling
manifests" (name and tag) and image-spec "descriptor.md" (digest).
"""

from __future__ import annotations

import re

#: A repository name: lowercase components separated by ``/``.
REPOSITORY_PATTERN = (
    r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*"
)
#: A tag: up to 128 characters, not starting with ``.`` or ``-``.
TAG_PATTERN = r"[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}"
#: Any ``algorithm:encoded`` digest; registered algorithms are checked further below.
DIGEST_PATTERN = r"[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+"

#: Distribution refuses names longer than this (the whole name, slashes included).
MAX_REPOSITORY_LENGTH = 255

REPOSITORY_RE = re.compile(REPOSITORY_PATTERN)
TAG_RE = re.compile(TAG_PATTERN)
DIGEST_RE = re.compile(DIGEST_PATTERN)

# Registered algorithms have a fixed encoding: lowercase hex of a fixed length.
_REGISTERED_DIGESTS = {
    "sha256": re.compile(r"[a-f0-9]{64}"),
    "sha512": re.compile(r"[a-f0-9]{128}"),
}


def is_valid_repository(name: str) -> bool:
    """True if `name` is a valid repository name (``team/app``), at most 255 characters."""
    return len(name) <= MAX_REPOSITORY_LENGTH and REPOSITORY_RE.fullmatch(name) is not None


def is_valid_tag(tag: str) -> bool:
    """True if `tag` is a valid tag (``v1.2``, ``latest``)."""
    return TAG_RE.fullmatch(tag) is not None


def is_valid_digest(digest: str) -> bool:
    """True if `digest` is ``algorithm:encoded``; sha256 and sha512 must be lowercase hex
    of the right length, other algorithms only need to follow the general grammar."""
    if DIGEST_RE.fullmatch(digest) is None:
        return False
    algorithm, encoded = digest.split(":", 1)
    registered = _REGISTERED_DIGESTS.get(algorithm)
    return registered is None or registered.fullmatch(encoded) is not None
