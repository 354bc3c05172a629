"""One error tree for all of crossdock.

Every library exception (requests, pika, SQLAlchemy) is caught at the edge of
the module that owns that library and re-raised as one of these. Callers decide
what to do from the class alone: a `TransientError` is worth retrying later, a
`PermanentError` is not.
"""

from __future__ import annotations


class CrossdockError(Exception):
    """Root of every error crossdock raises on purpose."""


class TransientError(CrossdockError):
    """Retrying later may succeed: network trouble, timeouts, 408/429/5xx."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(CrossdockError):
    """Retrying will not help until someone changes something."""


class ConfigurationError(PermanentError):
    """Settings, a config file or a command-line argument are wrong."""


class InvalidReferenceError(PermanentError):
    """A repository, tag, digest or image reference breaks the OCI grammar."""


# Registry answers -------------------------------------------------------------


class RegistryError(CrossdockError):
    """Base for answers from a registry. Mixed into a transient or permanent class."""

    status: int | None = None
    code: str | None = None


class RegistryUnavailableError(TransientError, RegistryError):
    """Connection refused or reset, timeout, 408, 429, 5xx."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, retry_after=retry_after)
        self.status = status
        self.code = code


class RegistryRejectedError(PermanentError, RegistryError):
    """A 4xx the registry will keep giving: bad request, unsupported, conflict."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.status = status
        self.code = code


class AuthenticationError(RegistryRejectedError):
    """401 after one fresh token or with the configured credentials."""


class PermissionDeniedError(RegistryRejectedError):
    """403: the credentials are valid but may not do this."""


class NotFoundError(RegistryRejectedError):
    """404: the repository, manifest, blob or upload session is unknown."""


class UnsupportedOperationError(RegistryRejectedError):
    """405, or 400 UNSUPPORTED: the registry has this operation disabled (e.g. deletes)."""


class TLSError(RegistryRejectedError):
    """The server's certificate could not be verified, or the TLS set-up is wrong."""


class DigestMismatchError(PermanentError):
    """Content does not hash to the digest that names it. Nothing is written under a tag."""


class UnsupportedManifestError(PermanentError):
    """A manifest crossdock will not copy, such as Docker schema 1."""
