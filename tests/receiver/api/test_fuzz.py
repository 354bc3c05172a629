"""Generated input never makes the management API answer 5xx.

Hypothesis throws JSON bodies (random values, and objects made of each route's
own field names with random or plausible values), garbage bytes, and query
strings at every POST/PATCH/PUT route and every list filter, against a store that
holds an endpoint, a source, a rule and a failed job, and a two-way pair: a second
source and endpoint, the links, and the opposite rule.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from receiver.api.common import operation_of
from shared.store import JobStatus, NewJob, Store
from tests.receiver.api.conftest import Api

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                  max_size=3),
    max_leaves=8,
)
# Values a field accepts, then values close to the edge of what it accepts.
VALID: dict[str, list[Any]] = {
    "name": ["mirror", "fresh", "r2"],
    "url": ["http://127.0.0.1:1", "https://127.0.0.1:1/"],
    "kind": ["registry", "harbor", "distribution"],
    "source": ["origin"],
    "endpoint": ["mirror", {"name": "inline", "url": "http://127.0.0.1:1"}],
    "project": ["lib", "team"],
    "dest_namespace": ["a/b", None],
    "schedule": ["* * * * *", None],
    "repo_filters": [[{"pattern": "a*"}], []],
    "tag_filters": [[{"pattern": "v*", "decision": "excludes"}]],
    "webhook_secret": ["0123456789abcdef0123"],
    "ca_bundle": ["/nonexistent.pem", None],
    "username": ["u", None],
    "password": ["p", None],
    "description": ["", "text"],
    "harbor_account": ["robot$crossdock", None],
    "rule": ["lib-to-mirror", "lib-back"],
}
EDGY: dict[str, list[Any]] = {
    "name": ["Bad Name", "", "a" * 64],
    "url": ["http://x:0", "http://[::1", "http://u@x", "http://x/path"],
    "source": ["nope"],
    "endpoint": ["nope", {"name": "inline"}, {}],
    "project": ["a/b", "A"],
    "dest_namespace": ["/"],
    "schedule": ["0 0 31 2 *", "61 * * * *", "@reboot"],
    "repo_filters": [[{"pattern": "{a"}], [{}], [{"pattern": "a", "x": 1}]],
    "webhook_secret": ["short", "spaces in the secret here"],
    "ca_bundle": ["relative"],
    "username": ["\x00"],
    "password": ["\ud800"],
    "harbor_account": ["", "two words"],
    "rule": ["nope"],
}


def field_values(name: str) -> st.SearchStrategy[Any]:
    valid = VALID.get(name, [True, False])
    return st.sampled_from(valid) | st.sampled_from(valid + EDGY.get(name, [1])) | JSON


@pytest.fixture
def seeded(api: Api, store: Store) -> Api:
    api.endpoint(url="http://127.0.0.1:1")
    api.source()
    rule = api.rule(enabled=False)
    [job] = store.create_jobs([NewJob(rule_id=rule["id"], endpoint_id=1, source_id=1,
                                      repository="lib/app", tag="v1", action="replicate")])
    store.mark_finished(job.id, JobStatus.FAILED, "boom")
    # The way back: mirror's registry as a source, origin's as an endpoint, linked.
    api.source("back", "http://127.0.0.1:1")
    api.endpoint("origin-ep", "http://origin.test:5000")
    api.ok("POST", "/links", {"source": "origin", "endpoint": "origin-ep"}, 201)
    api.ok("POST", "/links", {"source": "back", "endpoint": "mirror"}, 201)
    api.rule("lib-back", source="back", endpoint="origin-ep", enabled=False)
    assert store.find_pair(rule["id"]) is not None
    return api


def write_routes(api: Api) -> list[tuple[str, str, list[str]]]:
    """(method, path, body field names) for every POST/PATCH/PUT route, its path naming
    the seeded records."""
    app = api.client.application
    records = {"endpoints": "mirror", "sources": "origin", "rules": "lib-to-mirror"}
    found = []
    for rule in app.url_map.iter_rules():
        methods = (rule.methods or set()) & {"POST", "PATCH", "PUT"}
        if not rule.rule.startswith("/api/v1/") or not methods:
            continue
        parts = rule.rule.removeprefix("/api/v1").split("/")
        path = "/".join(records.get(parts[1], "x") if part == "<name>"
                        else "1-2" if part == "<pair>"
                        else "1" if part.startswith("<") else part for part in parts)
        operation = operation_of(app.view_functions[rule.endpoint])
        names = list(operation.body.fields) if operation and operation.body else []
        for method in sorted(methods):
            # Renaming the rule would leave the later examples with a 404.
            kept = [n for n in names if method == "POST" or n != "name"]
            found.append((method, path, kept))
    return sorted(found)


def bodies(names: list[str]) -> st.SearchStrategy[Any]:
    """Any JSON, or an object of the route's own fields (each present or not) with
    any values, or with values each field accepts (to get past validation)."""
    return (JSON
            | st.fixed_dictionaries({}, optional={n: field_values(n) for n in names})
            | st.fixed_dictionaries({}, optional={n: st.sampled_from(VALID.get(n, [True]))
                                                  for n in names}))


@settings(max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_generated_json_bodies_never_get_a_5xx(seeded: Api, data: st.DataObject) -> None:
    method, path, names = data.draw(st.sampled_from(write_routes(seeded)))
    body = data.draw(bodies(names))

    response = seeded.call(method, path, data=json.dumps(body),
                           content_type="application/json")

    assert response.status_code < 500, (method, path, body, response.get_json())


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_garbage_bytes_never_get_a_5xx(seeded: Api, data: st.DataObject) -> None:
    method, path, _names = data.draw(st.sampled_from(write_routes(seeded)))
    raw = data.draw(st.binary(max_size=200))
    content_type = data.draw(st.sampled_from(["application/json", "text/plain", None]))

    response = seeded.call(method, path, data=raw, content_type=content_type)

    assert response.status_code < 500, (method, path, raw)


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(["/jobs", "/executions"]),
       query=st.dictionaries(
           st.sampled_from(["rule", "endpoint", "status", "execution", "limit", "offset", "x"]),
           st.text(max_size=25) | st.integers().map(str), max_size=4))
def test_generated_query_strings_never_get_a_5xx(
    seeded: Api, path: str, query: dict[str, str]
) -> None:
    response = seeded.get(path, query_string=query)
    assert response.status_code < 500, (path, query, response.get_json())
