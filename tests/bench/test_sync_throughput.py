"""The raw copy ceiling of `bench/sync_throughput.py`, built as issue #12 describes it:
Python `requests`, every unique blob streamed GET -> POST + one PUT with
Content-Length, into the same repository name, nothing else."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.support.bench_scripts import load_bench
from tests.support.images import push_image
from tests.support.registry_log import served
from tests.support.registry_server import RegistryServer

MiB = 1024 * 1024


def test_the_workload_is_the_issues_second_row() -> None:
    bench = load_bench("sync_throughput")

    unique_mib = (bench.IMAGES * bench.LAYERS_PER_IMAGE * bench.LAYER_MIB
                  + len(bench.INDEX_PLATFORMS) * bench.LAYER_MIB)

    assert (bench.IMAGES, bench.LAYERS_PER_IMAGE, bench.LAYER_MIB) == (16, 3, 8)
    assert unique_mib == 440
    assert bench.CEILING_THREADS == 6


def test_the_ceiling_streams_each_blob_get_post_put_with_content_length_and_nothing_else(
    registry: RegistryServer, registry2: RegistryServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given two images at the source, as (repository, digest, size) per unique blob
    one = push_image(registry.url, "lib/one", "v1", layers=(300_000, 5_000))
    two = push_image(registry.url, "lib/two", "v1", layers=(200_000,))
    blobs = [["lib/one", d, n] for d, n in one.blobs] + [["lib/two", d, n] for d, n in two.blobs]
    sent: list[requests.PreparedRequest] = []
    send = requests.Session.send

    def recording_send(self: requests.Session, request: requests.PreparedRequest,
                       **options: Any) -> requests.Response:
        sent.append(request)
        return send(self, request, **options)

    monkeypatch.setattr(requests.Session, "send", recording_send)

    # When the ceiling copies them
    load_bench("sync_throughput").raw_copy({"source": registry.url,
                                            "destination": registry2.url, "blobs": blobs})

    # Then each blob cost a GET at the source, and a POST and a PUT at the destination
    at_source = [(r.method, r.status) for r in served(registry)[-len(blobs):]]
    assert at_source == [("GET", 200)] * len(blobs)
    at_destination = sorted((r.method, r.status) for r in served(registry2) if r.path != "/v2/")
    assert at_destination == [("POST", 202)] * len(blobs) + [("PUT", 201)] * len(blobs)
    # and each PUT streamed its blob with a Content-Length
    puts = [r for r in sent if r.method == "PUT"]
    assert sorted(int(r.headers["Content-Length"]) for r in puts) == sorted(
        n for _r, _d, n in blobs)
    assert all("Transfer-Encoding" not in r.headers and not isinstance(r.body, bytes)
               for r in puts)
    # into the same repository name
    with requests.Session() as session:
        for repository, digest, size in blobs:
            head = session.head(f"{registry2.url}/v2/{repository}/blobs/{digest}", timeout=10)
            assert (head.status_code, int(head.headers["Content-Length"])) == (200, size)
