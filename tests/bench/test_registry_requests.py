"""`bench/registry_requests.py` sends each kind of request it measures, and each is
answered as the kind says (present, absent, unknown, mounted, uploaded)."""

from __future__ import annotations

from tests.support.bench_scripts import load_bench
from tests.support.images import push_image
from tests.support.registry_log import served
from tests.support.registry_server import RegistryServer


def test_each_kind_of_request_is_sent_and_answered_as_named(registry: RegistryServer) -> None:
    bench = load_bench("registry_requests")
    base = push_image(registry.url, "lib/base", "v1", layers=(4096,))
    assert registry.pid is not None
    before = len(served(registry))

    for _name, send in bench.request_kinds(base.blobs[0][0]):
        cpu, wall = bench.measure(registry.pid, registry.url, 3, send)
        assert cpu >= 0 and wall > 0

    statuses = {(r.method, r.status) for r in served(registry)[before:]
                if "served-marker" not in r.path}
    assert statuses == {("HEAD", 200), ("HEAD", 404), ("GET", 404), ("POST", 201),
                        ("POST", 202), ("PUT", 201)}
