"""Project sync throughput: `crossdock sync` against `skopeo sync` on the same data.

Workload (issue #2): 20 images of three random 4 MiB layers on a shared 8 MiB
base layer, plus one multi-arch index, in project `lib` of a local registry.
Each round copies the project into a fresh, empty registry, alternating the two
tools. Throughput is the workload's logical size (every image's blobs, the
shared base counted per image, as `docker pull` would count it) over wall time.

    .venv/bin/python bench/sync_throughput.py [--rounds 3] [--images 20]
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from _common import CROSSDOCK, MiB, registry_pool, run_measured, stop_and_remove

from tests.support.images import push_image, push_index


def push_workload(base_url: str, images: int) -> int:
    """Push the workload; returns its logical size in bytes."""
    total = 0
    for i in range(images):
        image = push_image(base_url, f"lib/app-{i:02d}", "v1",
                           base_layers=(8 * MiB,), layers=(4 * MiB,) * 3)
        total += sum(size for _digest, size in image.blobs)
    index = push_index(base_url, "lib/multi", "v1", layers=(4 * MiB,))
    total += sum(size for child in index.children for _digest, size in child.blobs)
    return total


def skopeo_sync_yaml(path: Path, host: str, repositories: list[str]) -> None:
    lines = [f"{host}:", "  tls-verify: false", "  images:"]
    lines += [f"    {repo}: []" for repo in repositories]
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--images", type=int, default=20)
    args = parser.parse_args()

    with registry_pool() as start:
        source = start("source")
        print(f"pushing the workload to {source.url} ...", flush=True)
        logical = push_workload(source.url, args.images)
        repositories = [f"lib/app-{i:02d}" for i in range(args.images)] + ["lib/multi"]
        yaml_path = source.workdir / "skopeo-sync.yml"
        skopeo_sync_yaml(yaml_path, source.host, repositories)
        print(f"workload: {len(repositories)} repositories, {logical / MiB:.0f} MiB logical")

        times: dict[str, list[float]] = {"crossdock": [], "skopeo": []}
        for round_no in range(1, args.rounds + 1):
            for tool in ("crossdock", "skopeo"):
                destination = start(tool)
                if tool == "crossdock":
                    argv = [CROSSDOCK, "sync", f"{source.url}/lib", f"{destination.url}/lib"]
                else:
                    argv = ["skopeo", "sync", "--all", "--src", "yaml", "--dest", "docker",
                            "--dest-tls-verify=false", str(yaml_path), f"{destination.host}"]
                run = run_measured(argv)
                times[tool].append(run.seconds)
                rate = logical / MiB / run.seconds
                print(f"round {round_no} {tool:9s} {run.seconds:6.2f} s {rate:7.1f} MiB/s  "
                      f"peak RSS {run.peak_rss_mib:.0f} MiB", flush=True)
                stop_and_remove(destination)

    medians = {tool: statistics.median(values) for tool, values in times.items()}
    rates = {tool: logical / MiB / seconds for tool, seconds in medians.items()}
    print(f"median: crossdock {rates['crossdock']:.1f} MiB/s, skopeo {rates['skopeo']:.1f} MiB/s, "
          f"ratio {rates['crossdock'] / rates['skopeo']:.2f}x")


if __name__ == "__main__":
    main()
