"""Encryption of secrets at rest (endpoint and source passwords, webhook secrets).

`SecretBox` wraps Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`). The key
comes from the ``secret_key`` setting (``CROSSDOCK_SECRET_KEY``). Several keys may be
given, comma-separated: the first encrypts, every one of them decrypts, so a key can
be rotated without losing the stored secrets; `crossdock db rotate-key` then encrypts
them again with the first (`reseal`), and the old keys can go.

Plaintext and keys never appear in a ``repr``, a log line or an error message.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from shared.errors import ConfigurationError
from shared.keys import secret_keys

_GENERATE_HINT = "generate one with: crossdock secret-key"


def generate_secret_key() -> str:
    """A fresh random key, suitable for ``CROSSDOCK_SECRET_KEY``."""
    return Fernet.generate_key().decode("ascii")


class SecretBox:
    """Encrypts and decrypts short strings with the configured key(s).

    Raises `ConfigurationError` when the key is missing or malformed.
    """

    def __init__(self, secret_key: str) -> None:
        keys = secret_keys(secret_key)
        if not keys:
            raise ConfigurationError(f"CROSSDOCK_SECRET_KEY is not set; {_GENERATE_HINT}")
        fernets: list[Fernet] = []
        for position, key in enumerate(keys, start=1):
            try:
                fernets.append(Fernet(key.encode("ascii")))
            except (ValueError, UnicodeEncodeError):
                # Fernet raises ValueError (binascii.Error is one) for a bad key;
                # the message must not echo the key itself.
                where = f" (key {position} of {len(keys)})" if len(keys) > 1 else ""
                raise ConfigurationError(
                    f"CROSSDOCK_SECRET_KEY is not a valid Fernet key{where}: it must be "
                    f"32 url-safe base64-encoded bytes; {_GENERATE_HINT}"
                ) from None
        self._fernet = MultiFernet(fernets)

    def __repr__(self) -> str:
        return "SecretBox(<key hidden>)"

    def encrypt(self, plaintext: str) -> str:
        """The token to store for `plaintext` (different on every call)."""
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def opens(self, token: str) -> bool:
        """Whether one of the configured keys opens a stored token."""
        try:
            self.decrypt(token)
        except ConfigurationError:
            return False
        return True

    def reseal(self, token: str) -> str:
        """The token encrypted again with the first key (to finish a rotation).

        Raises `ConfigurationError` like `decrypt`.
        """
        try:
            return self._fernet.rotate(token.encode("ascii")).decode("ascii")
        except (InvalidToken, UnicodeError):
            raise _cannot_decrypt() from None

    def decrypt(self, token: str) -> str:
        """The plaintext of a stored token.

        Raises `ConfigurationError` when no configured key opens it (the key was
        changed without keeping the old one) or the token is damaged.
        """
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            raise _cannot_decrypt() from None


def _cannot_decrypt() -> ConfigurationError:
    return ConfigurationError(
        "cannot decrypt a stored secret: CROSSDOCK_SECRET_KEY is not the key it was "
        "encrypted with (when rotating, list the new key first, then the old one, "
        "comma-separated)"
    )
