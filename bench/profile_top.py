"""The top entries of py-spy profiles (``py-spy record --format raw``), as the
issue's "where the time goes".

Only the samples whose stack passes through ``--within`` count (by default the job
runner: a consumer's handler threads); each crossdock function's share is the
fraction of those samples it is on the stack of (inclusive), and each leaf's the
fraction it is the innermost frame of (self). Recorded with ``--idle``, a share is
wall time of the job threads, waits included.

    .venv/bin/python bench/profile_top.py /tmp/spy/consumer-*.txt [--top 25]
"""

from __future__ import annotations

import argparse
import collections
import re
from pathlib import Path

OURS = ("shared/", "consumers/", "receiver/", "cli/")
_FRAME = re.compile(r"^(?P<name>.+?) \((?P<file>[^:()]+)(?::\d+)?\)$")


def frame_name(frame: str) -> tuple[str, str]:
    """(function, file) of one py-spy frame ``func (path/file.py:123)``."""
    match = _FRAME.match(frame.strip())
    if match is None:
        return frame.strip(), ""
    return match.group("name"), match.group("file")


def summarize(paths: list[Path], within: str, top: int) -> None:
    inclusive: collections.Counter[str] = collections.Counter()
    leaves: collections.Counter[str] = collections.Counter()
    total = 0
    for path in paths:
        for line in path.read_text().splitlines():
            stack, _, count_text = line.rpartition(" ")
            if not stack or within not in stack:
                continue
            count = int(count_text)
            total += count
            frames = [frame_name(frame) for frame in stack.split(";")]
            seen = set()
            for name, file in frames:
                label = f"{name} ({file})"
                if file.startswith(OURS) and label not in seen:
                    seen.add(label)
                    inclusive[label] += count
            name, file = frames[-1]
            leaves[f"{name} ({file})"] += count
    if not total:
        raise SystemExit(f"no samples through {within!r}")
    print(f"{total} samples through {within}")
    print("inclusive (crossdock functions):")
    for label, count in inclusive.most_common(top):
        print(f"  {count / total:6.1%}  {label}")
    print("self (innermost frame):")
    for label, count in leaves.most_common(top):
        print(f"  {count / total:6.1%}  {label}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--within", default="JobRunner.__call__")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    summarize(args.paths, args.within, args.top)


if __name__ == "__main__":
    main()
