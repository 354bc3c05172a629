"""The ``secret_key`` setting: one key, or several comma-separated while rotating
(the first is used for new secrets and tokens, every one is accepted)."""

from __future__ import annotations


def secret_keys(secret_key: str | None) -> list[str]:
    """The keys of the setting, in order, blanks dropped."""
    return [part.strip() for part in (secret_key or "").split(",") if part.strip()]
