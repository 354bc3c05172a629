"""The User-Agent is chosen per request: `writing_as` marks one context's requests only.

Transports (and their `requests.Session`s) are shared between threads, so a job's
write token must follow the running code, not the session.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterator

import pytest

from shared.registry.transport import (
    USER_AGENT,
    RegistryConfig,
    Transport,
    current_user_agent,
    writing_as,
)
from tests.support.http_recorder import HTTPRecorder

JOB_UA = "crossdock/0.1 (+write 7.2.0123456789abcdef)"
OTHER_UA = "crossdock/0.1 (+write 8.1.fedcba9876543210)"


@pytest.fixture
def recorder() -> Iterator[HTTPRecorder]:
    with HTTPRecorder(redirects={"/v2/lib/app/blobs/moved": "/storage/blob"}) as server:
        yield server


@pytest.fixture
def transport(recorder: HTTPRecorder) -> Iterator[Transport]:
    shared = Transport(RegistryConfig(recorder.url))
    yield shared
    shared.session.close()


def user_agents(recorder: HTTPRecorder, prefix: str) -> set[str]:
    return {r.headers["User-Agent"] for r in recorder.recorded if r.path.startswith(prefix)}


def test_requests_carry_the_product_token_by_default(
        recorder: HTTPRecorder, transport: Transport) -> None:
    transport.request("GET", "/v2/").close()

    assert user_agents(recorder, "/v2/") == {USER_AGENT}
    assert current_user_agent() == USER_AGENT


def test_inside_writing_as_every_kind_of_request_carries_it_and_after_it_not(
        recorder: HTTPRecorder, transport: Transport) -> None:
    with writing_as(JOB_UA):
        assert current_user_agent() == JOB_UA
        transport.request("PUT", "/v2/lib/app/manifests/v1", data=b"{}").close()
        transport.request("DELETE", "/v2/lib/app/manifests/sha256:00").close()
        transport.request("POST", "/v2/lib/app/blobs/uploads/").close()
        transport.request("PATCH", "/v2/lib/app/blobs/uploads/x",
                          data=iter([b"chunk"]), replayable=False).close()
        transport.api_request("POST", "/api/v2.0/projects", json_body={}).close()
        with writing_as(OTHER_UA):
            transport.request("HEAD", "/v2/other/manifests/v1").close()
        transport.request("GET", "/v2/lib/app/tags/list").close()
    transport.request("GET", "/v2/after/tags/list").close()

    assert user_agents(recorder, "/v2/lib/") == {JOB_UA}
    assert user_agents(recorder, "/api/") == {JOB_UA}
    assert user_agents(recorder, "/v2/other/") == {OTHER_UA}
    assert user_agents(recorder, "/v2/after/") == {USER_AGENT}


def test_a_followed_redirect_keeps_the_user_agent(
        recorder: HTTPRecorder, transport: Transport) -> None:
    with writing_as(JOB_UA):
        transport.request("GET", "/v2/lib/app/blobs/moved").close()

    assert [r.path for r in recorder.recorded] == ["/v2/lib/app/blobs/moved", "/storage/blob"]
    assert user_agents(recorder, "/") == {JOB_UA}


def test_threads_sharing_one_transport_each_send_their_own_user_agent(
        recorder: HTTPRecorder, transport: Transport) -> None:
    barrier = threading.Barrier(2)

    def requests_from(name: str) -> None:
        barrier.wait()
        for i in range(20):
            transport.request("GET", f"/v2/{name}/manifests/{i}").close()

    def as_job() -> None:
        with writing_as(JOB_UA):
            requests_from("job")

    threads = [threading.Thread(target=as_job),
               threading.Thread(target=requests_from, args=("user",))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert user_agents(recorder, "/v2/job/") == {JOB_UA}
    assert user_agents(recorder, "/v2/user/") == {USER_AGENT}
    assert len(recorder.recorded) == 40


def test_a_plain_thread_does_not_inherit_it_a_copied_context_does(
        recorder: HTTPRecorder, transport: Transport) -> None:
    def get(name: str) -> None:
        transport.request("GET", f"/v2/{name}/tags/list").close()

    with writing_as(JOB_UA):
        plain = threading.Thread(target=get, args=("plain",))
        carried = threading.Thread(target=contextvars.copy_context().run, args=(get, "carried"))
        for thread in (plain, carried):
            thread.start()
            thread.join(10)

    assert user_agents(recorder, "/v2/plain/") == {USER_AGENT}
    assert user_agents(recorder, "/v2/carried/") == {JOB_UA}


@pytest.mark.parametrize("bad", ["", "crossdock/0.1\r\nX-Injected: 1", "tab\there", "caf\u00e9"])
def test_a_user_agent_that_is_not_one_printable_ascii_line_is_refused(bad: str) -> None:
    with pytest.raises(ValueError), writing_as(bad):
        pass

    assert current_user_agent() == USER_AGENT
