"""Image references as typed on the command line."""

from __future__ import annotations

import pytest

from shared.errors import InvalidReferenceError
from shared.reference import ImageReference, parse_image_reference, parse_repository_location

DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("http://127.0.0.1:5001/lib/app:v1",
         ImageReference("http://127.0.0.1:5001", "lib/app", "v1")),
        ("https://reg.example/lib/app@" + DIGEST,
         ImageReference("https://reg.example", "lib/app", None, DIGEST)),
        ("reg.example:5000/a/b/c", ImageReference("https://reg.example:5000", "a/b/c", "latest")),
        ("http://h/lib/app:v1@" + DIGEST, ImageReference("http://h", "lib/app", "v1", DIGEST)),
        ("http://h/lib/app@sha512:" + "b" * 128,
         ImageReference("http://h", "lib/app", None, "sha512:" + "b" * 128)),
    ],
)
def test_parse_image_reference(text: str, expected: ImageReference) -> None:
    assert parse_image_reference(text) == expected


def test_reference_prefers_the_digest() -> None:
    assert parse_image_reference("http://h/a:v1@" + DIGEST).reference == DIGEST
    assert parse_image_reference("http://h/a", default_tag=None).tag is None


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("http://h/Lib/app:v1", "not a valid repository"),
        ("http://h/lib/app:-bad", "not a valid tag"),
        ("http://h/lib/app@sha256:xyz", "not a valid digest"),
        ("http://h/lib/app@md5:" + "a" * 32, "not a valid digest"),  # can't be verified
        ("ftp://h/lib/app", "http or https"),
        ("http://h/", "no repository"),
        ("http:///lib/app", "no registry host"),
    ],
)
def test_bad_references_say_why(text: str, reason: str) -> None:
    with pytest.raises(InvalidReferenceError, match=reason):
        parse_image_reference(text)


def test_repository_location() -> None:
    location = parse_repository_location("http://127.0.0.1:5000/lib/", require_path=True)

    assert (location.registry_url, location.path) == ("http://127.0.0.1:5000", "lib")
    assert parse_repository_location("https://m.example", require_path=False).path == ""
    with pytest.raises(InvalidReferenceError, match="name a project"):
        parse_repository_location("https://m.example", require_path=True)
