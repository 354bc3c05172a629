"""One image with a single large layer: `crossdock copy` against `skopeo copy`.

Wall time and peak RSS of each tool copying the same image between two local
registries (a fresh destination each run, alternating the tools).

    .venv/bin/python bench/large_layer.py [--size-mib 512] [--rounds 2]
"""

from __future__ import annotations

import argparse

from _common import CROSSDOCK, MiB, registry_pool, run_measured, stop_and_remove

from tests.support.images import push_image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    with registry_pool() as start:
        source = start("source")
        print(f"pushing one {args.size_mib} MiB layer to {source.url} ...", flush=True)
        push_image(source.url, "lib/big", "v1", layers=(args.size_mib * MiB,))
        for round_no in range(1, args.rounds + 1):
            for tool in ("crossdock", "skopeo"):
                destination = start(tool)
                if tool == "crossdock":
                    argv = [CROSSDOCK, "copy", f"{source.url}/lib/big:v1",
                            f"{destination.url}/lib/big:v1"]
                else:
                    argv = ["skopeo", "copy", "--src-tls-verify=false", "--dest-tls-verify=false",
                            f"docker://{source.host}/lib/big:v1",
                            f"docker://{destination.host}/lib/big:v1"]
                run = run_measured(argv)
                rate = args.size_mib / run.seconds
                print(f"round {round_no} {tool:9s} {run.seconds:6.2f} s {rate:7.1f} MiB/s  "
                      f"peak RSS {run.peak_rss_mib:.0f} MiB", flush=True)
                stop_and_remove(destination)


if __name__ == "__main__":
    main()
