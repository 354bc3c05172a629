"""Redriving the failed queue against the real broker: a redriven job starts afresh."""

from __future__ import annotations

import pytest

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
    retry_parked,
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


@pytest.mark.parametrize("queue_type", ["quorum", "classic"])
def test_retrying_one_job_moves_its_parked_message_and_leaves_the_others_in_order(
    broker, queue_type: str
) -> None:
    endpoint = broker.endpoint()
    settings = broker.settings((endpoint,), queue_type=queue_type)
    failed = failed_queue(settings.queue_prefix, endpoint)
    parked = {ATTEMPT_HEADER: 2, ERROR_HEADER: "401", REASON_HEADER: "failed"}
    # Job 7 was parked twice (a redrive that died between its publish and its ack).
    order = ["5", "7", "6", "7", "8"]
    publisher = Publisher(settings)
    try:
        publisher.ensure_endpoint(endpoint)
        publisher.publish_many([OutgoingMessage(failed, f"job {job}".encode(), parked, job)
                                for job in order])
    finally:
        publisher.close()

    assert retry_parked(settings, endpoint, "7") == 2

    _method, properties, body = broker.get(work_queue(settings.queue_prefix, endpoint))
    assert body == b"job 7" and properties.message_id == "7"
    ours = {k: v for k, v in properties.headers.items() if k != "x-delivery-count"}
    assert ours == {ATTEMPT_HEADER: 2, ROUND_START_HEADER: 2}
    assert broker.depth(work_queue(settings.queue_prefix, endpoint)) == 0
    left = [broker.get(failed)[1].message_id for _ in range(broker.depth(failed))]
    assert left == ["5", "6", "8"]


def test_retrying_a_job_with_nothing_parked_moves_nothing(broker) -> None:
    endpoint = broker.endpoint()
    settings = broker.settings((endpoint,))
    failed = failed_queue(settings.queue_prefix, endpoint)
    publisher = Publisher(settings)
    try:
        publisher.ensure_endpoint(endpoint)
        publisher.publish_many([OutgoingMessage(failed, b"job", {}, job) for job in "12"])
    finally:
        publisher.close()

    assert retry_parked(settings, endpoint, "3") == 0

    assert broker.depth(work_queue(settings.queue_prefix, endpoint)) == 0
    assert [broker.get(failed)[1].message_id for _ in range(2)] == ["1", "2"]
