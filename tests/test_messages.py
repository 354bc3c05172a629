"""Job messages: one schema encodes and decodes; anything malformed is a MessageDecodeError."""

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from shared.errors import InvalidReferenceError, PermanentError
from shared.messages import JobAction, JobMessage, MessageDecodeError, decode, encode

DIGEST = "sha256:" + "ab" * 32


def make_job(**changes: object) -> JobMessage:
    job = JobMessage(
        job_id=42,
        action=JobAction.REPLICATE,
        rule_id=3,
        endpoint_id=7,
        endpoint="harbor-eu",
        source_id=1,
        repository="team/app",
        tag="v1.2",
        digest=DIGEST,
        execution_id=9,
        created_at=datetime(2025, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
    )
    return replace(job, **changes)  # type: ignore[arg-type]


def payload(**changes: object) -> bytes:
    data = json.loads(encode(make_job()))
    data.update(changes)
    return json.dumps(data).encode()


def test_a_message_survives_the_round_trip() -> None:
    job = make_job()
    assert decode(encode(job)) == job


def test_optional_fields_may_be_missing_or_null() -> None:
    job = make_job(tag=None, execution_id=None)
    assert decode(encode(job)) == job
    data = json.loads(encode(job))
    del data["tag"], data["execution_id"]
    assert decode(json.dumps(data).encode()) == job


def test_the_wire_format_is_plain_json() -> None:
    data = json.loads(encode(make_job()))
    assert data["action"] == "replicate"
    assert data["job_id"] == 42
    assert data["created_at"] == "2025-01-02T03:04:05.678000+00:00"


def test_a_non_utc_timestamp_keeps_its_instant() -> None:
    moment = datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2)))
    assert decode(encode(make_job(created_at=moment))).created_at == moment


def test_unknown_keys_are_ignored() -> None:
    assert decode(payload(added_by_a_newer_receiver=True)) == make_job()


def test_a_sync_job_needs_neither_tag_nor_digest() -> None:
    job = make_job(action=JobAction.SYNC, tag=None, digest=None)
    assert decode(encode(job)) == job


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"\xff\xfe",
        b"[1, 2]",
        b"null",
        b"[" * 100_000,
        payload(action="explode"),
        payload(job_id="42"),
        payload(job_id=True),
        payload(job_id=0),
        payload(repository="Team/App"),
        payload(repository="../etc/passwd"),
        payload(tag="-bad"),
        payload(digest="sha256:short"),
        payload(digest="v1:2"),
        payload(digest="blake3:" + "a" * 64),
        payload(created_at="yesterday"),
        payload(created_at="2025-01-02T03:04:05"),  # no timezone
        payload(tag=None, digest=None),
        payload(endpoint=""),
        payload(rule_id=None),
    ],
)
def test_malformed_messages_raise_message_decode_error(body: bytes) -> None:
    with pytest.raises(MessageDecodeError):
        decode(body)


def test_a_missing_field_is_named_in_the_error() -> None:
    data = json.loads(encode(make_job()))
    del data["repository"]
    with pytest.raises(MessageDecodeError, match="repository"):
        decode(json.dumps(data).encode())


def test_decode_errors_are_permanent() -> None:
    assert issubclass(MessageDecodeError, PermanentError)


def test_a_message_cannot_be_built_with_a_bad_reference() -> None:
    with pytest.raises(InvalidReferenceError):
        make_job(repository="UPPER")
    with pytest.raises(InvalidReferenceError):
        make_job(digest="md5:" + "Z" * 3 + "/")
    with pytest.raises(ValueError, match="timezone"):
        make_job(created_at=datetime(2025, 1, 1))


@pytest.mark.parametrize("digest", ["v1:2", "md5:" + "a" * 32, "sha384:" + "a" * 96])
def test_a_message_names_only_digests_crossdock_can_verify(digest: str) -> None:
    with pytest.raises(InvalidReferenceError, match="invalid digest"):
        make_job(digest=digest)
    assert make_job(digest="sha512:" + "e" * 128).digest == "sha512:" + "e" * 128
