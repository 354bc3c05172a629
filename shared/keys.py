"""The ``secret_key`` setting: one key, or several comma-separated while rotating
(the first is used for new secrets and tokens, every one is accepted).

Uses other than the Fernet encryption of secrets at rest get keys of their own,
derived from each configured key with HKDF-SHA256 and a label per use, so that no
two uses ever share key material.
"""

from __future__ import annotations

#: The web console's session cookies are signed with keys derived under this label.
CONSOLE_SESSION_LABEL = b"crossdock console session v1"


def secret_keys(secret_key: str | None) -> list[str]:
    """The keys of the setting, in order, blanks dropped."""
    return [part.strip() for part in (secret_key or "").split(",") if part.strip()]


def derived_keys(secret_key: str | None, label: bytes) -> list[bytes]:
    """A 32-byte key for the use named `label` from each configured key, in the same
    order (the first signs, every one verifies). Empty when no key is configured."""
    return [_hkdf(key, label) for key in secret_keys(secret_key)]


def _hkdf(key: str, label: bytes) -> bytes:
    # Imported here: a `crossdock` command without a key doesn't load cryptography.
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label).derive(
        key.encode("utf-8", "surrogatepass"))
