"""`shared.broker.redrive_failed`, which ``POST /endpoints/<name>/redrive`` runs:
at least once, and nothing lost when it stops half-way."""

from __future__ import annotations

import pytest

from shared.broker import (
    ATTEMPT_HEADER,
    REASON_HEADER,
    ROUND_START_HEADER,
    ParkedMessage,
    redrive_failed,
)
from shared.queues import failed_queue, work_queue
from shared.settings import Settings
from tests.receiver.api.conftest import RecordingPublisher, queue_messages


def park(publisher: RecordingPublisher, settings: Settings, *bodies: bytes) -> None:
    publisher.ensure_endpoint("ep")
    for number, body in enumerate(bodies):
        publisher.publish(failed_queue(settings.queue_prefix, "ep"), body,
                          {ATTEMPT_HEADER: 4, REASON_HEADER: "exhausted", "x-custom": "kept"},
                          message_id=str(number))


def test_an_empty_failed_queue_moves_nothing(
    settings: Settings, publisher: RecordingPublisher
) -> None:
    publisher.ensure_endpoint("ep")
    assert redrive_failed(settings, "ep") == 0


def test_messages_move_in_order_with_their_own_headers_kept(
    settings: Settings, publisher: RecordingPublisher
) -> None:
    park(publisher, settings, b"one", b"two")
    seen: list[ParkedMessage] = []

    assert redrive_failed(settings, "ep", seen.append) == 2

    assert [(m.body, m.message_id) for m in seen] == [(b"one", "0"), (b"two", "1")]
    moved = queue_messages(work_queue(settings.queue_prefix, "ep"))
    assert [body for _h, body, _m in moved] == [b"one", b"two"]
    assert all(h[ATTEMPT_HEADER] == h[ROUND_START_HEADER] == 4 and h["x-custom"] == "kept"
               and REASON_HEADER not in h for h, _b, _m in moved)


def test_a_failing_hook_leaves_that_message_parked(
    settings: Settings, publisher: RecordingPublisher
) -> None:
    park(publisher, settings, b"one", b"two", b"three")

    def refuse_second(message: ParkedMessage) -> None:
        if message.body == b"two":
            raise RuntimeError("store down")

    with pytest.raises(RuntimeError, match="store down"):
        redrive_failed(settings, "ep", refuse_second)

    assert [b for _h, b, _m in queue_messages(work_queue(settings.queue_prefix, "ep"))] == [
        b"one"]
    left = queue_messages(failed_queue(settings.queue_prefix, "ep"))
    assert sorted(b for _h, b, _m in left) == [b"three", b"two"]
    assert all(h[ATTEMPT_HEADER] == 4 for h, _b, _m in left)
