"""`plain_prepared` prepares a body-less request exactly as `requests` would, or
declines: what is sent never depends on which of the two prepared it."""

from __future__ import annotations

import requests
from hypothesis import example, given
from hypothesis import strategies as st

from shared.registry.transport import plain_prepared

HEADERS = {"User-Agent": "crossdock/0.1", "Accept": "*/*", "Authorization": "Bearer t0k.en"}
METHODS = st.sampled_from(["GET", "HEAD", "POST", "DELETE", "PUT", "PATCH", "get"])
HOSTS = st.sampled_from(["http://127.0.0.1:5000", "https://registry.example.com",
                         "http://Registry.Example.com", "https://r.example:443", "http://r"])
# Path and query characters: the plain ones, and some that `requests` rewrites.
TEXT = st.text(alphabet="abcAZ09-._~!$&'()*+,;=:@/?%#[] é\\^`{}|\"<>", max_size=40)
PARAMS = st.none() | st.dictionaries(st.sampled_from(["mount", "from", "digest", "n", "last"]),
                                     st.text(alphabet="az09:/+=&?% é", max_size=20),
                                     max_size=3)


def full(method: str, url: str, params: dict[str, str] | None) -> requests.PreparedRequest:
    return requests.Request(method, url, headers=HEADERS, params=params).prepare()


@given(method=METHODS, host=HOSTS, path=TEXT, params=PARAMS)
@example(method="HEAD", host="http://127.0.0.1:5000", path="v2/lib/app/blobs/sha256:ab",
         params=None)
@example(method="POST", host="http://127.0.0.1:5000", path="v2/lib/app/blobs/uploads/",
         params={"mount": "sha256:ab", "from": "lib/base"})
@example(method="PUT", host="http://127.0.0.1:5000",
         path="v2/lib/app/blobs/uploads/u?_state=a-b_c=", params={"digest": "sha256:ab"})
@example(method="GET", host="http://127.0.0.1:5000", path="v2/lib/../app/tags/list",
         params=None)
@example(method="GET", host="http://127.0.0.1:5000", path="v2/x/tags/list?last=%41%3a",
         params=None)
@example(method="GET", host="http://127.0.0.1:5000", path="v2/x/tags/list?last=v%3A1%e9",
         params={"n": "%41"})
def test_it_prepares_what_requests_prepares_or_declines(
        method: str, host: str, path: str, params: dict[str, str] | None) -> None:
    url = f"{host}/{path}"
    try:
        expected = full(method, url, params)
    except requests.RequestException:
        assert plain_prepared(method, url, HEADERS, params) is None
        return
    prepared = plain_prepared(method, url, HEADERS, params)
    if prepared is None:
        return
    assert (prepared.method, prepared.url, prepared.body) == (
        expected.method, expected.url, expected.body)
    assert dict(prepared.headers) == dict(expected.headers)


def test_the_requests_of_a_copy_are_prepared_by_hand() -> None:
    """The hot requests (a HEAD, a mount, a manifest GET, a tags page) take the fast
    path: were it to decline them all, the test above would prove nothing."""
    base = "http://127.0.0.1:5000/v2/team/app"
    digest = "sha256:" + "0a" * 32
    for method, url, params in [
        ("HEAD", f"{base}/blobs/{digest}", None),
        ("POST", f"{base}/blobs/uploads/", {"mount": digest, "from": "team/base"}),
        ("GET", f"{base}/manifests/v1.2", None),
        ("GET", f"{base}/tags/list", {"n": "1000", "last": "v1"}),
        ("DELETE", f"{base}/blobs/uploads/0b1c?_state=AbC-_=", None),
    ]:
        assert plain_prepared(method, url, HEADERS, params) is not None, url


def test_a_header_requests_refuses_is_refused_too() -> None:
    bad = {**HEADERS, "Authorization": "Bearer x\r\nX-Injected: 1"}
    try:
        plain_prepared("HEAD", "http://127.0.0.1:5000/v2/", bad, None)
    except requests.exceptions.InvalidHeader:
        return
    raise AssertionError("an injected header was prepared")
