"""The consuming runtime against the real broker (tiers of 1 s and 2 s, heartbeat 1 s)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from shared.broker import (
    ATTEMPT_HEADER,
    DEFER_REASON_HEADER,
    DEFERRALS_HEADER,
    ERROR_HEADER,
    ORIGIN_HEADER,
    REASON_HEADER,
    ROUND_START_HEADER,
    Ack,
    BrokerAccessDeniedError,
    BrokerUnavailableError,
    Defer,
    Delivery,
    Fail,
    Outcome,
    Publisher,
    Retry,
    TopologyMismatchError,
    Worker,
    declare_topology,
    delete_topology,
    endpoint_topology,
    redrive_failed,
)
from shared.messages import MessageDecodeError, decode
from shared.queues import defer_queue, failed_queue, retry_queue, work_queue

REPO = Path(__file__).resolve().parents[2]


def publish(settings, *jobs) -> None:
    publisher = Publisher(settings)
    try:
        publisher.publish_jobs(list(jobs))
    finally:
        publisher.close()


def test_an_acked_job_leaves_the_queue(broker) -> None:
    endpoint = broker.endpoint()
    settings = broker.settings((endpoint,))
    job = broker.job(endpoint, job_id=5)
    publish(settings, job)
    handler = broker.recorder(Ack())

    with broker.running(Worker(settings, handler, [endpoint])):
        _at, delivery = handler.next()

    assert decode(delivery.body) == job
    assert (delivery.attempt, delivery.redelivered) == (1, False)
    assert delivery.endpoint == endpoint
    assert delivery.queue == work_queue(settings.queue_prefix, endpoint)
    assert delivery.message_id == "5"
    assert broker.depth(delivery.queue) == 0


@pytest.mark.parametrize("queue_type", ["quorum", "classic"])
def test_a_retry_waits_in_the_tier_and_comes_back_with_the_next_attempt(
    broker, queue_type: str
) -> None:
    endpoint = broker.endpoint()
    settings = broker.settings((endpoint,), queue_type=queue_type)
    publish(settings, broker.job(endpoint))
    handler = broker.recorder(Retry("registry answered 503"), Ack())

    with broker.running(Worker(settings, handler, [endpoint])):
        first_at, first = handler.next()
        second_at, second = handler.next(timeout=5)

    assert (first.attempt, second.attempt) == (1, 2)
    assert second_at - first_at >= 0.9  # the first tier is 1 s
    assert second.headers[ERROR_HEADER] == "registry answered 503"
    assert second.body == first.body
    assert second.message_id == first.message_id
    assert "x-death" not in first.headers  # the copy we publish starts clean


@pytest.mark.parametrize("queue_type", ["quorum", "classic"])
def test_a_deferred_job_comes_back_through_the_defer_queue_without_using_an_attempt(
    broker, queue_type: str
) -> None:
    endpoint = broker.endpoint()
    settings = broker.settings((endpoint,), queue_type=queue_type, defer_seconds=1)
    prefix = settings.queue_prefix
    publish(settings, broker.job(endpoint))
    handler = broker.recorder(Defer("tag not linked yet"), Defer("still not linked"), Ack())

    with capture_logs() as logs, broker.running(Worker(settings, handler, [endpoint])):
        first_at, first = handler.next()
        second_at, second = handler.next(timeout=5)
        _third_at, third = handler.next(timeout=5)

    deliveries = (first, second, third)
    assert [d.attempt for d in deliveries] == [1, 1, 1]
    assert [d.deferrals for d in deliveries] == [0, 1, 2]
    assert [d.headers.get(DEFERRALS_HEADER) for d in deliveries] == [None, 1, 2]
    assert second.headers[DEFER_REASON_HEADER] == "tag not linked yet"
    assert third.headers[DEFER_REASON_HEADER] == "still not linked"
    assert ERROR_HEADER not in third.headers  # a deferral is not a failure
    defer = defer_queue(prefix, endpoint, 1)
    assert second.headers["x-death"][0]["queue"] == defer  # came back by dead-lettering
    assert second_at - first_at >= 0.9  # held for defer_seconds
    assert (second.body, second.message_id) == (first.body, first.message_id)
    deferred = [entry for entry in logs if entry["event"] == "job deferred"]
    assert [(entry["queue"], entry["deferrals"]) for entry in deferred] == [(defer, 1), (defer, 2)]
    for queue in (work_queue(prefix, endpoint), defer, retry_queue(prefix, endpoint, 1),
                  retry_queue(prefix, endpoint, 2), failed_queue(prefix, endpoint)):
        assert broker.depth(queue) == 0, queue
    assert handler.deliveries.empty()


def test_a_retry_after_a_deferral_keeps_the_deferral_count(broker) -> None:
    endpoint = broker.endpoint()
    settings = broker.settings((endpoint,), defer_seconds=1)
    publish(settings, broker.job(endpoint))
    handler = broker.recorder(Defer("not linked"), Retry("503"), Ack())

    with broker.running(Worker(settings, handler, [endpoint])):
        handler.next()
        handler.next(timeout=5)
        _at, third = handler.next(timeout=5)

    assert (third.attempt, third.deferrals) == (2, 1)
    assert third.headers[ERROR_HEADER] == "503"


def test_when_attempts_run_out_the_job_is_parked(broker) -> None:
    endpoint = broker.endpoint()
    settings = broker.settings((endpoint,), max_attempts=2)
    publish(settings, broker.job(endpoint))
    handler = broker.recorder(Retry("still down"))

    with broker.running(Worker(settings, handler, [endpoint])):
        handler.next()
        handler.next(timeout=5)
        _method, properties, body = broker.get(failed_queue(settings.queue_prefix, endpoint))

    assert properties.headers[ATTEMPT_HEADER] == 3  # what a redrive runs it as
    assert properties.headers[REASON_HEADER] == "exhausted"
    assert properties.headers[ERROR_HEADER] == "still down"
    assert properties.headers[ORIGIN_HEADER] == work_queue(settings.queue_prefix, endpoint)
    assert properties.delivery_mode == 2
    assert decode(body).endpoint == endpoint
    assert handler.deliveries.empty()


def test_the_attempt_header_is_the_attempt_a_message_runs_as_in_every_queue(broker) -> None:
    """Retried, parked, redriven: the number in the header is the delivery's attempt,
    and a redriven job starts a new round of max_attempts attempts from there."""
    endpoint = broker.endpoint()
    settings = broker.settings((endpoint,), max_attempts=2)
    publish(settings, broker.job(endpoint))
    handler = broker.recorder(Retry("503"))
    failed = failed_queue(settings.queue_prefix, endpoint)

    with broker.running(Worker(settings, handler, [endpoint])):
        _at, first = handler.next()
        _at, retried = handler.next(timeout=5)
        broker.wait_for(lambda: broker.depth(failed) == 1, what="the parked copy")
        peek = broker.channel()
        parked = peek.basic_get(failed, auto_ack=False)[1].headers
        peek.close()  # gives it back
        assert redrive_failed(settings, endpoint) == 1
        _at, redriven = handler.next(timeout=5)
        _at, retried_again = handler.next(timeout=5)
        _method, properties, _body = broker.get(failed)

    assert (first.attempt, retried.attempt) == (1, 2)
    assert retried.headers[ATTEMPT_HEADER] == 2
    assert parked[ATTEMPT_HEADER] == 3 and parked[REASON_HEADER] == "exhausted"
    assert (redriven.attempt, redriven.round_start, redriven.attempt_in_round) == (3, 3, 1)
    assert (retried_again.attempt, retried_again.attempt_in_round) == (4, 2)
    assert properties.headers[ATTEMPT_HEADER] == 5
    assert properties.headers[ROUND_START_HEADER] == 3
    assert handler.deliveries.empty()


def test_a_permanent_failure_is_parked_at_once(broker) -> None:
    endpoint = broker.endpoint()
    settings = broker.settings((endpoint,))
    publish(settings, broker.job(endpoint))
    handler = broker.recorder(Fail("403 Forbidden"))

    with broker.running(Worker(settings, handler, [endpoint])):
        handler.next()
        _method, properties, _body = broker.get(failed_queue(settings.queue_prefix, endpoint))

    assert properties.headers[REASON_HEADER] == "failed"
    assert properties.headers[ATTEMPT_HEADER] == 2
    assert broker.depth(retry_queue(settings.queue_prefix, endpoint, 1)) == 0


def test_an_undecodable_body_is_parked_by_the_handler(broker) -> None:
    endpoint = broker.endpoint()
    settings = broker.settings((endpoint,))
    publisher = Publisher(settings)
    publisher.ensure_endpoint(endpoint)
    publisher.publish(work_queue(settings.queue_prefix, endpoint), b"\x00not json")
    publisher.close()

    def handler(delivery: Delivery) -> Outcome:
        try:
            decode(delivery.body)
        except MessageDecodeError as exc:
            return Fail(str(exc))
        return Ack()

    with broker.running(Worker(settings, handler, [endpoint])):
        _method, properties, body = broker.get(failed_queue(settings.queue_prefix, endpoint))

    assert body == b"\x00not json"
    assert "not JSON" in properties.headers[ERROR_HEADER]


def test_an_exception_in_the_handler_is_logged_and_retried(broker) -> None:
    endpoint = broker.endpoint()
    settings = broker.settings((endpoint,))
    publish(settings, broker.job(endpoint))
    handler = broker.recorder(RuntimeError("bug"), Ack())

    with broker.running(Worker(settings, handler, [endpoint])):
        handler.next()
        _at, second = handler.next(timeout=5)

    assert second.attempt == 2
    assert second.headers[ERROR_HEADER] == "RuntimeError: bug"


def test_a_handler_longer_than_the_heartbeat_keeps_the_connection(broker) -> None:
    endpoint = broker.endpoint()
    settings = broker.settings((endpoint,))  # heartbeat=1: ~2-3 s of silence drops it
    publish(settings, broker.job(endpoint))
    finished = threading.Event()

    def slow(delivery: Delivery) -> Outcome:
        time.sleep(4)
        finished.set()
        return Ack()

    handler = broker.recorder(slow)
    with broker.running(Worker(settings, handler, [endpoint], stop_timeout=10)):
        handler.next()
        assert finished.wait(10)
        broker.wait_for(lambda: broker.depth(work_queue(settings.queue_prefix, endpoint)) == 0)
        time.sleep(0.3)  # a dropped connection would redeliver now
    assert handler.deliveries.empty()
    assert broker.depth(work_queue(settings.queue_prefix, endpoint)) == 0


CHILD = textwrap.dedent(
    """
    import sys, time
    from shared.broker import Worker
    from shared.settings import Settings

    def handler(delivery):
        print("HANDLING", flush=True)
        time.sleep(60)

    settings = Settings(amqp_url=sys.argv[1], queue_prefix=sys.argv[2],
                        retry_delays=(1, 2), max_attempts=3)
    Worker(settings, handler, [sys.argv[3]]).run()
    """
)


def test_a_killed_worker_message_is_redelivered(broker) -> None:
    endpoint = broker.endpoint()
    settings = broker.settings((endpoint,))
    publish(settings, broker.job(endpoint))
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, settings.amqp_url, settings.queue_prefix, endpoint],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        assert child.stdout is not None
        for line in child.stdout:  # the child's own log lines come first
            if line.startswith("HANDLING"):
                break
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait(10)
        if child.stdout is not None:
            child.stdout.close()

    handler = broker.recorder(Ack())
    with broker.running(Worker(settings, handler, [endpoint])):
        _at, delivery = handler.next()
    assert delivery.redelivered
    assert delivery.attempt == 1


def test_an_endpoint_added_while_running_is_consumed(broker) -> None:
    first, second = broker.endpoint(), broker.endpoint()
    settings = broker.settings((first, second))
    handler = broker.recorder(Ack())
    worker = Worker(settings, handler, [first])

    with broker.running(worker):
        publish(settings, broker.job(second))
        adder = threading.Thread(target=worker.add_endpoint, args=(second,))
        adder.start()
        adder.join()
        _at, delivery = handler.next()

    assert delivery.endpoint == second
    assert worker.endpoints == {first, second}


def test_a_deleted_endpoint_is_let_go_and_its_queues_stay_deleted(broker) -> None:
    """The endpoint's queues are deleted (with the endpoint) while its consumer runs a
    message: the broker's cancel stops the worker consuming it, and the message's
    retry copy, finding no queue, is dropped instead of declaring them again."""
    endpoint, other = broker.endpoint(), broker.endpoint()
    settings = broker.settings((endpoint, other))
    publish(settings, broker.job(endpoint))
    release = threading.Event()

    def held(delivery: Delivery) -> Outcome:
        release.wait(10)
        return Retry("503 while the endpoint was deleted")

    handler = broker.recorder(held)
    worker = Worker(settings, handler, [endpoint, other])
    with capture_logs() as logs, broker.running(worker):
        handler.next()
        delete_topology(settings, endpoint)
        broker.wait_for(lambda: worker.endpoints == {other}, what="the endpoint let go")
        release.set()
        broker.wait_for(lambda: any(entry["event"].startswith("message dropped")
                                    for entry in logs), what="the orphan dropped")
        publish(settings, broker.job(other, job_id=2))
        handler.next()  # the other endpoint is still consumed

    assert [spec.name for spec in endpoint_topology(settings, endpoint)
            if broker.exists(spec.name)] == []
    assert any(entry["event"].startswith("consumer cancelled by the broker")
               for entry in logs)


def test_an_endpoint_removed_while_running_is_no_longer_consumed(broker) -> None:
    endpoint = broker.endpoint()
    settings = broker.settings((endpoint,))
    handler = broker.recorder(Ack())
    worker = Worker(settings, handler, [endpoint])
    with broker.running(worker):
        publish(settings, broker.job(endpoint, job_id=1))
        handler.next()
        worker.remove_endpoint(endpoint)
        broker.wait_for(lambda: broker.consumers(work_queue(settings.queue_prefix,
                                                            endpoint)) == 0,
                        what="the consumer cancelled")
        publish(settings, broker.job(endpoint, job_id=2))

    assert worker.endpoints == frozenset()
    assert broker.depth(work_queue(settings.queue_prefix, endpoint)) == 1
    assert handler.deliveries.empty()


def test_stop_lets_in_flight_handlers_finish(broker) -> None:
    endpoint = broker.endpoint()
    settings = broker.settings((endpoint,))
    publish(settings, broker.job(endpoint))
    release = threading.Event()

    def waiting(delivery: Delivery) -> Outcome:
        release.wait(5)
        return Ack()

    handler = broker.recorder(waiting)
    worker = Worker(settings, handler, [endpoint], stop_timeout=5)
    with broker.running(worker) as thread:
        handler.next()
        worker.stop()
        time.sleep(0.3)
        assert thread.is_alive()  # waiting for the handler
        release.set()
    assert broker.depth(work_queue(settings.queue_prefix, endpoint)) == 0


def test_handlers_past_the_stop_timeout_are_requeued_and_their_outcome_dropped(broker) -> None:
    endpoint = broker.endpoint()
    settings = broker.settings((endpoint,))
    publish(settings, broker.job(endpoint))
    release, done = threading.Event(), threading.Event()

    def stuck(delivery: Delivery) -> Outcome:
        release.wait(5)
        done.set()
        return Fail("too late")

    handler = broker.recorder(stuck)
    worker = Worker(settings, handler, [endpoint], stop_timeout=0.3)
    with broker.running(worker):
        handler.next()
    release.set()
    assert done.wait(5)
    time.sleep(0.2)

    assert broker.depth(work_queue(settings.queue_prefix, endpoint)) == 1
    assert broker.depth(failed_queue(settings.queue_prefix, endpoint)) == 0


def test_the_worker_reconnects_after_losing_the_broker(broker) -> None:
    endpoint = broker.endpoint()
    settings = broker.settings((endpoint,))
    name = f"crossdock-test-worker-{uuid.uuid4().hex[:8]}"
    handler = broker.recorder(Ack())
    worker = Worker(settings, handler, [endpoint], name=name)

    with broker.running(worker):
        publish(settings, broker.job(endpoint, job_id=1))
        handler.next()
        assert broker.close_connections(name) == 1
        publish(settings, broker.job(endpoint, job_id=2))
        _at, delivery = handler.next(timeout=10)

    assert decode(delivery.body).job_id == 2


def test_a_broker_unreachable_before_the_first_connection_stops_the_worker(broker) -> None:
    settings = broker.settings(amqp_url="amqp://guest:guest@127.0.0.1:1/%2F")
    worker = Worker(settings, broker.recorder(Ack()), ["anything"])
    with pytest.raises(BrokerUnavailableError), broker.running(worker, join_timeout=2) as t:
        t.join(2)


def test_refused_credentials_stop_the_worker(broker) -> None:
    settings = broker.settings(amqp_url=broker.amqp_url.replace("guest:guest", "guest:wrong"))
    worker = Worker(settings, broker.recorder(Ack()), ["anything"])
    with pytest.raises(BrokerAccessDeniedError), broker.running(worker) as thread:
        thread.join(5)


def test_a_switched_queue_type_stops_the_worker_with_our_error(broker) -> None:
    endpoint = broker.endpoint()
    classic = broker.settings((endpoint,), queue_type="classic")
    declare_topology(broker.connection, classic, endpoint)
    worker = Worker(broker.settings(), broker.recorder(Ack()), [endpoint])
    with pytest.raises(TopologyMismatchError, match="delete_queue"), broker.running(worker) as t:
        t.join(5)


def held_by_one_job(broker, settings, endpoint):
    """A one-thread worker whose handler holds each delivery until `release` is set:
    (its recorder, the worker, release)."""
    release = threading.Event()

    def waiting(delivery: Delivery) -> Outcome:
        release.wait(10)
        return Ack()

    handler = broker.recorder(waiting)
    return handler, Worker(settings, handler, [endpoint], stop_timeout=10), release


def test_a_worker_holds_as_many_deliveries_as_consumer_prefetch_says(broker) -> None:
    endpoint = broker.endpoint()
    settings = broker.settings((endpoint,), consumer_concurrency=1, consumer_prefetch=2)
    queue = work_queue(settings.queue_prefix, endpoint)
    publish(settings, *(broker.job(endpoint, job_id=i) for i in (1, 2, 3)))
    handler, worker, release = held_by_one_job(broker, settings, endpoint)
    with broker.running(worker):
        handler.next()
        # The one thread is busy with job 1, and job 2 is already here, waiting for it
        broker.wait_for(lambda: broker.depth(queue) == 1, timeout=10,
                        what="a second delivery held while the thread is busy")
        assert handler.deliveries.empty()
        release.set()
        assert decode(handler.next()[1].body).job_id == 2
        handler.next()
    assert broker.depth(queue) == 0


def test_by_default_a_worker_holds_no_more_deliveries_than_threads(broker) -> None:
    endpoint = broker.endpoint()
    settings = broker.settings((endpoint,), consumer_concurrency=1)
    queue = work_queue(settings.queue_prefix, endpoint)
    publish(settings, *(broker.job(endpoint, job_id=i) for i in (1, 2)))
    handler, worker, release = held_by_one_job(broker, settings, endpoint)
    with broker.running(worker):
        handler.next()
        # Job 2 stays in the queue for another consumer while the one thread is busy
        time.sleep(1)
        assert broker.depth(queue) == 1
        release.set()
        handler.next()
    assert broker.depth(queue) == 0


def test_a_delivery_not_started_when_the_worker_stops_goes_back_to_the_queue(broker) -> None:
    endpoint = broker.endpoint()
    settings = broker.settings((endpoint,), consumer_concurrency=1, consumer_prefetch=2)
    queue = work_queue(settings.queue_prefix, endpoint)
    publish(settings, broker.job(endpoint, job_id=1), broker.job(endpoint, job_id=2))
    handler, worker, release = held_by_one_job(broker, settings, endpoint)
    with broker.running(worker):
        handler.next()
        broker.wait_for(lambda: broker.depth(queue) == 0, timeout=10, what="job 2 held")
        worker.stop()
        release.set()

    # Job 1 finished; job 2 never started and is in the queue again
    assert handler.deliveries.empty()
    broker.wait_for(lambda: broker.depth(queue) == 1, timeout=10, what="job 2 back")
