"""The OCI grammar: what the receiver and the job messages accept."""

import pytest

from shared.grammar import is_valid_digest, is_valid_repository, is_valid_tag

SHA256 = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    "name",
    ["library/alpine", "a", "team/app/web", "my-app", "my--app", "a.b", "a_b", "a__b",
     "0x/1-2.3_4", "a" * 255],
)
def test_valid_repository_names(name: str) -> None:
    assert is_valid_repository(name)


@pytest.mark.parametrize(
    "name",
    ["", "Library/alpine", "team//app", "/team", "team/", "a___b", "a.-b", "-a", "a-",
     "a b", "team/app:tag", "a" * 256, "a\n", "ümlaut", "../etc", "a..b"],
)
def test_invalid_repository_names(name: str) -> None:
    assert not is_valid_repository(name)


@pytest.mark.parametrize("tag", ["latest", "v1.2.3", "_x", "A-b.c_d", "9", "a" * 128])
def test_valid_tags(tag: str) -> None:
    assert is_valid_tag(tag)


@pytest.mark.parametrize("tag", ["", ".x", "-x", "a" * 129, "a/b", "a:b", "a b", "x\n"])
def test_invalid_tags(tag: str) -> None:
    assert not is_valid_tag(tag)


@pytest.mark.parametrize("digest", [SHA256, "sha512:" + "0" * 128])
def test_valid_digests(digest: str) -> None:
    assert is_valid_digest(digest)


@pytest.mark.parametrize(
    "digest",
    ["", "sha256", "sha256:", ":abc", "sha256:" + "a" * 63, "sha256:" + "A" * 64,
     "sha256:" + "g" * 64, "sha512:" + "0" * 64, "SHA256:" + "a" * 64, "sha256:" + "a" * 64 + "\n",
     "sha256:abc/def", "sha256:" + "a" * 65, "sha512:" + "0" * 129, "sha384:" + "0" * 96],
)
def test_invalid_digests(digest: str) -> None:
    assert not is_valid_digest(digest)


@pytest.mark.parametrize("digest", [
    "v1:2",  # a Harbor tag holding ':', once taken for a digest
    "md5:" + "a" * 32,
    "multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8",
    "sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564",
    "blake3:abc=",
])
def test_digests_of_algorithms_crossdock_cannot_verify_are_refused(digest: str) -> None:
    assert not is_valid_digest(digest)
