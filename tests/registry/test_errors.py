"""Registry answers map onto the error tree: transient or permanent, by status and code."""

from __future__ import annotations

import json

import pytest
import requests

from shared.errors import (
    AuthenticationError,
    DigestMismatchError,
    NotFoundError,
    PermanentError,
    PermissionDeniedError,
    RegistryRejectedError,
    TransientError,
    UnsupportedOperationError,
)
from shared.registry.transport import error_for


def answer(status: int, code: str | None = None, headers: dict[str, str] | None = None
           ) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.url = "http://reg.example:5000/v2/lib/app/manifests/v1"
    response.headers.update(headers or {})
    body = {"errors": [{"code": code, "message": "text"}]} if code else {}
    response._content = json.dumps(body).encode()
    return response


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_server_trouble_is_transient(status: int) -> None:
    assert isinstance(error_for(answer(status), "GET"), TransientError)


def test_retry_after_is_kept_in_seconds() -> None:
    error = error_for(answer(429, "TOOMANYREQUESTS", {"Retry-After": "7"}), "GET")

    assert isinstance(error, TransientError)
    assert error.retry_after == 7.0


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (401, "UNAUTHORIZED", AuthenticationError),
        (403, "DENIED", PermissionDeniedError),
        (404, "MANIFEST_UNKNOWN", NotFoundError),
        (405, "UNSUPPORTED", UnsupportedOperationError),
        (400, "UNSUPPORTED", UnsupportedOperationError),  # Harbor's way
        (400, "DIGEST_INVALID", DigestMismatchError),
        (400, "MANIFEST_INVALID", RegistryRejectedError),
    ],
)
def test_refusals_are_permanent(status: int, code: str, kind: type[Exception]) -> None:
    error = error_for(answer(status, code), "PUT manifest lib/app:v1")

    assert isinstance(error, kind)
    assert isinstance(error, PermanentError)
    assert f"{status} {code} (text)" in str(error)
    assert "reg.example:5000" in str(error)
