"""The OCI grammar for repository names, tags and digests (pure, no I/O).

Shared by the receiver (validating notification payloads) and the job messages,
so both accept exactly the same names. Sources: distribution-spec "Pulling
manifests" (name and tag) and image-spec "descriptor.md" (digest: of its
grammar, only the algorithms crossdock verifies content with).
"""

from __future__ import annotations

import re

#: A repository name: lowercase components separated by ``/``.
REPOSITORY_PATTERN = (
    r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*"
)
#: A tag: up to 128 characters, not starting with ``.`` or ``-``.
TAG_PATTERN = r"[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}"
#: The digest algorithms crossdock accepts, because it can verify content against
#: them, and the length of their lowercase hex encoding.
DIGEST_ALGORITHMS = {"sha256": 64, "sha512": 128}
#: A digest crossdock accepts: ``sha256:<64 hex>`` or ``sha512:<128 hex>``.
DIGEST_PATTERN = "(?:{})".format("|".join(
    f"{algorithm}:[a-f0-9]{{{length}}}" for algorithm, length in DIGEST_ALGORITHMS.items()))

#: Distribution refuses names longer than this (the whole name, slashes included).
MAX_REPOSITORY_LENGTH = 255

REPOSITORY_RE = re.compile(REPOSITORY_PATTERN)
TAG_RE = re.compile(TAG_PATTERN)
DIGEST_RE = re.compile(DIGEST_PATTERN)


def is_valid_repository(name: str) -> bool:
    """True if `name` is a valid repository name (``team/app``), at most 255 characters."""
    return len(name) <= MAX_REPOSITORY_LENGTH and REPOSITORY_RE.fullmatch(name) is not None


def is_valid_tag(tag: str) -> bool:
    """True if `tag` is a valid tag (``v1.2``, ``latest``)."""
    return TAG_RE.fullmatch(tag) is not None


def is_valid_digest(digest: str) -> bool:
    """True if `digest` is ``sha256:`` or ``sha512:`` and lowercase hex of the right
    length. Other algorithms follow the OCI grammar too (``blake3:…``,
    ``v1:2``), but crossdock could not verify content against them."""
    return DIGEST_RE.fullmatch(digest) is not None
