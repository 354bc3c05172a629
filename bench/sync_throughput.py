"""Copy throughput: `crossdock sync`, `skopeo sync` and a raw copy ceiling, same run.

Workload (issue #12, second row): 16 images of three random 8 MiB layers, plus a
multi-arch index of seven platforms with one random 8 MiB layer each, in project
`lib` of a local registry: 440 MiB of unique blobs. Every round copies the
project into fresh, empty registries with each of three tools, in an order that
rotates from round to round:

- `crossdock sync SRC/lib DST/lib`;
- `skopeo sync --all --preserve-digests` of the same repositories, into `DST/lib`
  (skopeo keeps only the last component of a repository's name, and without
  `--preserve-digests` rewrites these manifests);
- the raw copy ceiling: every unique blob, and nothing else, copied by a bare
  Python `requests` program with 6 threads, each blob streamed GET -> POST + one
  PUT with Content-Length, into the same repository name, no checks at all (no
  HEAD, no mount, no digest, no manifest). It runs as its own process
  (`--raw-copy SPEC`), so its figure, like the others, includes start-up.

Throughput is the unique blob bytes over the process's wall time, for all three
tools. Python caches bytecode for the measured processes, as an installed
crossdock has it. After each run (not timed) the destination is checked: crossdock and
skopeo must have every tag at its digest, the ceiling every blob.

    .venv/bin/python bench/sync_throughput.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import requests

IMAGES = 16
LAYERS_PER_IMAGE = 3
LAYER_MIB = 8
INDEX_PLATFORMS = (
    ("linux", "amd64"), ("linux", "arm64"), ("linux", "arm", "v7"), ("linux", "arm", "v6"),
    ("linux", "386"), ("linux", "ppc64le"), ("linux", "s390x"),
)
CEILING_THREADS = 6
TOOLS = ("crossdock", "skopeo", "ceiling")

# -- the raw copy ceiling (runs in a process of its own: keep its imports light) --


class _SizedStream:
    """A streamed GET body with a known length: `requests` sends it with Content-Length."""

    def __init__(self, raw: Any, size: int) -> None:
        self._raw = raw
        self.len = size

    def read(self, amount: int = -1) -> bytes:
        data: bytes = self._raw.read(amount if amount >= 0 else None)
        return data


def raw_copy_blob(session: requests.Session, source: str, destination: str,
                  repository: str, digest: str, size: int) -> None:
    """GET the blob (streamed), POST an upload, PUT the stream with Content-Length."""
    with session.get(f"{source}/v2/{repository}/blobs/{digest}", stream=True,
                     timeout=60) as got:
        got.raise_for_status()
        post = session.post(f"{destination}/v2/{repository}/blobs/uploads/", timeout=60)
        post.raise_for_status()
        location = urljoin(post.url, post.headers["Location"])
        separator = "&" if "?" in location else "?"
        put = session.put(f"{location}{separator}digest={digest}",
                          data=_SizedStream(got.raw, size),
                          headers={"Content-Type": "application/octet-stream"}, timeout=60)
        put.raise_for_status()


def raw_copy(spec: dict[str, Any]) -> None:
    """Copy every blob of `spec` with `CEILING_THREADS` threads, one session each."""
    local = threading.local()

    def copy(blob: list[Any]) -> None:
        if not hasattr(local, "session"):
            local.session = requests.Session()
            local.session.trust_env = False
        raw_copy_blob(local.session, spec["source"], spec["destination"], *blob)

    with ThreadPoolExecutor(CEILING_THREADS) as pool:
        for future in [pool.submit(copy, blob) for blob in spec["blobs"]]:
            future.result()


# -- the benchmark ------------------------------------------------------------------


def push_workload(base_url: str) -> list[tuple[str, str, int]]:
    """Push the workload; its unique blobs as (repository, digest, size)."""
    from tests.support.images import push_image, push_index

    mib = 1024 * 1024
    blobs: dict[str, tuple[str, str, int]] = {}
    for i in range(IMAGES):
        repository = f"lib/app-{i:02d}"
        image = push_image(base_url, repository, "v1", layers=(LAYER_MIB * mib,) * LAYERS_PER_IMAGE)
        blobs.update((digest, (repository, digest, size)) for digest, size in image.blobs)
    index = push_index(base_url, "lib/multi", "v1", platforms=INDEX_PLATFORMS,
                       layers=(LAYER_MIB * mib,))
    blobs.update((digest, ("lib/multi", digest, size)) for digest, size in index.blobs)
    return list(blobs.values())


def skopeo_sync_yaml(path: Path, host: str, repositories: list[str]) -> None:
    lines = [f"{host}:", "  tls-verify: false", "  images:"]
    lines += [f"    {repo}: []" for repo in repositories]
    path.write_text("\n".join(lines) + "\n")


def missing_blobs(url: str, blobs: list[tuple[str, str, int]]) -> list[str]:
    """Blobs of `blobs` the registry at `url` lacks in their repository."""
    with requests.Session() as session:
        return [f"{repo}@{digest}" for repo, digest, _size in blobs
                if session.head(f"{url}/v2/{repo}/blobs/{digest}", timeout=30).status_code != 200]


def spread(values: list[float]) -> str:
    return f"{min(values):.1f}-{max(values):.1f} (median {statistics.median(values):.1f})"


def run_benchmark(rounds: int) -> None:
    from _common import (
        CROSSDOCK,
        CROSSDOCK_WARM_UP,
        MiB,
        cached_bytecode,
        cpu_seconds,
        registry_pool,
        run_measured,
        stop_and_remove,
    )

    from tests.support.images import list_state

    warm_up = (CROSSDOCK_WARM_UP, [sys.executable, __file__, "--help"])
    with cached_bytecode(*warm_up) as env, registry_pool() as start:
        source = start("source")
        print(f"pushing the workload to {source.url} ...", flush=True)
        blobs = push_workload(source.url)
        unique = sum(size for _repo, _digest, size in blobs)
        repositories = sorted({repo for repo, _digest, _size in blobs})
        expected = {repo: list_state(source.url, repo) for repo in repositories}
        yaml_path = source.workdir / "skopeo-sync.yml"
        skopeo_sync_yaml(yaml_path, source.host, repositories)
        print(f"workload: {len(repositories)} repositories, {len(blobs)} unique blobs, "
              f"{unique / MiB:.0f} MiB of unique blobs")

        rates: dict[str, list[float]] = {tool: [] for tool in TOOLS}
        ratios: dict[str, list[float]] = {"crossdock/ceiling": [], "crossdock/skopeo": []}
        for round_no in range(rounds):
            order = TOOLS[round_no % 3:] + TOOLS[:round_no % 3]
            this_round: dict[str, float] = {}
            for tool in order:
                destination = start(tool)
                if tool == "crossdock":
                    argv = [CROSSDOCK, "sync", f"{source.url}/lib", f"{destination.url}/lib"]
                elif tool == "skopeo":
                    argv = ["skopeo", "sync", "--all", "--preserve-digests", "--src", "yaml",
                            "--dest", "docker",
                            "--dest-tls-verify=false", str(yaml_path), f"{destination.host}/lib"]
                else:
                    spec_path = destination.workdir / "raw-copy.json"
                    spec_path.write_text(json.dumps({"source": source.url,
                                                     "destination": destination.url,
                                                     "blobs": blobs}))
                    argv = [sys.executable, __file__, "--raw-copy", str(spec_path)]
                registries = (source.pid, destination.pid)
                registry_cpu = -sum(cpu_seconds(pid) for pid in registries)
                run = run_measured(argv, env)
                registry_cpu += sum(cpu_seconds(pid) for pid in registries)
                if tool == "ceiling":
                    wrong = missing_blobs(destination.url, blobs)
                else:
                    wrong = [repo for repo in repositories
                             if list_state(destination.url, repo) != expected[repo]]
                if wrong:
                    raise SystemExit(f"{tool} left the destination incomplete: {wrong[:5]}")
                rate = unique / MiB / run.seconds
                this_round[tool] = rate
                rates[tool].append(rate)
                print(f"round {round_no + 1} {tool:9s} {run.seconds:6.2f} s {rate:7.1f} MiB/s  "
                      f"peak RSS {run.peak_rss_mib:.0f} MiB, {run.cpu_seconds:.2f} CPU-s "
                      f"(registries {registry_cpu:.2f} CPU-s)",
                      flush=True)
                stop_and_remove(destination)
            ratios["crossdock/ceiling"].append(this_round["crossdock"] / this_round["ceiling"])
            ratios["crossdock/skopeo"].append(this_round["crossdock"] / this_round["skopeo"])
            print(f"round {round_no + 1} crossdock = "
                  f"{ratios['crossdock/ceiling'][-1]:.0%} of the ceiling", flush=True)

    print(f"over {rounds} rounds, MiB/s of unique blobs ({unique / MiB:.0f} MiB):")
    for tool in TOOLS:
        print(f"  {tool:9s} {spread(rates[tool])}")
    for name, values in ratios.items():
        low, high = min(values), max(values)
        print(f"  {name} per round: {low:.0%}-{high:.0%} "
              f"(median {statistics.median(values):.0%})")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--raw-copy", metavar="SPEC", type=Path,
                        help="run only the raw copy ceiling on a JSON spec (used by the rounds)")
    args = parser.parse_args()
    if args.raw_copy is not None:
        raw_copy(json.loads(args.raw_copy.read_text()))
        return
    run_benchmark(args.rounds)


if __name__ == "__main__":
    main()
