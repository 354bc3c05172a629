"""One image with a single large layer: `crossdock copy`, `skopeo copy` and the raw
copy ceiling, same run.

Each tool copies the same image between two local registries, into a fresh
destination each time, in an order that rotates from round to round. The
ceiling is the bare copier of `bench/sync_throughput.py` (Python `requests`,
each blob streamed GET -> POST + one PUT with Content-Length, no checks) on the
image's two blobs. Reported: wall time, MiB/s of the layer, and the peak RSS of
each process; crossdock's must stay under 150 MB (issue #12).

    .venv/bin/python bench/large_layer.py [--size-mib 512] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

from _common import (
    CROSSDOCK,
    CROSSDOCK_WARM_UP,
    MiB,
    cached_bytecode,
    registry_pool,
    run_measured,
    stop_and_remove,
)

from tests.support.images import list_state, push_image

TOOLS = ("crossdock", "skopeo", "ceiling")
RSS_LIMIT_MB = 150
SYNC_THROUGHPUT = Path(__file__).with_name("sync_throughput.py")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    rates: dict[str, list[float]] = {tool: [] for tool in TOOLS}
    peaks: dict[str, list[float]] = {tool: [] for tool in TOOLS}
    warm_up = (CROSSDOCK_WARM_UP, [sys.executable, str(SYNC_THROUGHPUT), "--help"])
    with cached_bytecode(*warm_up) as env, registry_pool() as start:
        source = start("source")
        print(f"pushing one {args.size_mib} MiB layer to {source.url} ...", flush=True)
        image = push_image(source.url, "lib/big", "v1", layers=(args.size_mib * MiB,))
        blobs = [("lib/big", digest, size) for digest, size in image.blobs]
        for round_no in range(args.rounds):
            order = TOOLS[round_no % 3:] + TOOLS[:round_no % 3]
            for tool in order:
                destination = start(tool)
                if tool == "crossdock":
                    argv = [CROSSDOCK, "copy", f"{source.url}/lib/big:v1",
                            f"{destination.url}/lib/big:v1"]
                elif tool == "skopeo":
                    argv = ["skopeo", "copy", "--preserve-digests", "--src-tls-verify=false",
                            "--dest-tls-verify=false", f"docker://{source.host}/lib/big:v1",
                            f"docker://{destination.host}/lib/big:v1"]
                else:
                    spec_path = destination.workdir / "raw-copy.json"
                    spec_path.write_text(json.dumps({"source": source.url,
                                                     "destination": destination.url,
                                                     "blobs": blobs}))
                    argv = [sys.executable, str(SYNC_THROUGHPUT), "--raw-copy", str(spec_path)]
                run = run_measured(argv, env)
                if tool != "ceiling" and list_state(destination.url, "lib/big") != {
                        "v1": image.digest}:
                    raise SystemExit(f"{tool} left the destination without lib/big:v1")
                rate = args.size_mib / run.seconds
                rates[tool].append(rate)
                peaks[tool].append(run.peak_rss_mib * MiB / 1e6)
                print(f"round {round_no + 1} {tool:9s} {run.seconds:6.2f} s {rate:7.1f} MiB/s  "
                      f"peak RSS {run.peak_rss_mib:.0f} MiB", flush=True)
                stop_and_remove(destination)

    print(f"over {args.rounds} rounds, MiB/s of the {args.size_mib} MiB layer, peak RSS in MB:")
    for tool in TOOLS:
        print(f"  {tool:9s} {min(rates[tool]):.1f}-{max(rates[tool]):.1f} "
              f"(median {statistics.median(rates[tool]):.1f}), "
              f"peak RSS {min(peaks[tool]):.0f}-{max(peaks[tool]):.0f} MB")
    worst = max(peaks["crossdock"])
    verdict = "within" if worst < RSS_LIMIT_MB else "OVER"
    print(f"crossdock's peak RSS {worst:.0f} MB: {verdict} the {RSS_LIMIT_MB} MB budget")


if __name__ == "__main__":
    main()
