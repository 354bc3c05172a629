"""Redriving the failed queue against the real broker: a redriven job starts afresh."""

from __future__ import annotations

from shared.broker import (
    ATTEMPT_HEADER,
    DEFER_REASON_HEADER,
    DEFERRALS_HEADER,
    ERROR_HEADER,
    REASON_HEADER,
    ROUND_START_HEADER,
    OutgoingMessage,
    Publisher,
    redrive_failed,
)
from shared.queues import failed_queue, work_queue


def test_a_redriven_job_keeps_its_attempt_and_starts_a_new_round_with_no_deferrals(
    broker,
) -> None:
    endpoint = broker.endpoint()
    settings = broker.settings((endpoint,))
    parked = {ATTEMPT_HEADER: 3, DEFERRALS_HEADER: 4, DEFER_REASON_HEADER: "not linked",
              ERROR_HEADER: "503", REASON_HEADER: "exhausted", "x-custom": "kept"}
    publisher = Publisher(settings)
    try:
        publisher.ensure_endpoint(endpoint)
        publisher.publish_many([OutgoingMessage(
            failed_queue(settings.queue_prefix, endpoint), b"job", parked, "7")])
    finally:
        publisher.close()

    assert redrive_failed(settings, endpoint) == 1

    _method, properties, body = broker.get(work_queue(settings.queue_prefix, endpoint))
    assert body == b"job"
    ours = {k: v for k, v in properties.headers.items() if k != "x-delivery-count"}
    assert ours == {ATTEMPT_HEADER: 3, ROUND_START_HEADER: 3, "x-custom": "kept"}
