"""Soak: many seeded histories, one-way and two-way, against the real pipeline.

Each history (see `tests/support/histories.py`) is played on one long-lived stack
per mode (registries, receiver, RabbitMQ, a consumer), in a project of its own,
then checked like `tests/convergence`: both sides equal to the model, no failed
job, nothing written during the quiet period. A line per history; failures also
print their full report (differing tags, the operations and the job logs).

    .venv/bin/python bench/convergence_soak.py --seeds 1-300 --mode both --duration 3600
"""

from __future__ import annotations

import argparse
import logging
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401  (puts the project root on sys.path)

from shared.logging import configure_logging
from shared.settings import Settings
from tests.support.convergence import (
    ConvergenceStack,
    HistoryResult,
    HistoryRunner,
    ReplayHint,
)
from tests.support.histories import History, Mode, one_way_history, two_way_history

MODES: dict[str, tuple[Mode, ...]] = {"one-way": ("one-way",), "two-way": ("two-way",),
                                      "both": ("one-way", "two-way")}


def parse_seeds(text: str) -> list[int]:
    """``1-300``, ``7``, or a comma list of both: ``1-5,9,20-22``."""
    seeds: list[int] = []
    for part in text.split(","):
        first, _, last = part.strip().partition("-")
        seeds += range(int(first), int(last or first) + 1)
    return seeds


def make(mode: Mode, seed: int, args: argparse.Namespace) -> History:
    if mode == "one-way":
        burst = args.burst if args.burst_every and seed % args.burst_every == 0 else 0
        return one_way_history(seed, args.ops, burst=burst)
    return two_way_history(seed, max(args.ops // 2, 3), phases=args.phases)


def replay_hint(args: argparse.Namespace) -> ReplayHint:
    def hint(history: History) -> str:
        burst = sum(len(getattr(op, "pushes", ())) for op in history.operations)
        extra = f" --burst {burst} --burst-every 1" if burst else " --burst-every 0"
        return (f".venv/bin/python bench/convergence_soak.py --mode {history.mode} "
                f"--seeds {history.seed} --ops {args.ops}{extra}"
                + (f" --phases {args.phases}" if history.mode == "two-way" else ""))
    return hint


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seeds", default="1-300", help="e.g. 1-300 or 4,9,10-12")
    parser.add_argument("--mode", choices=sorted(MODES), default="both")
    parser.add_argument("--duration", type=float, default=0,
                        help="stop starting new histories after this many seconds (0: never)")
    parser.add_argument("--ops", type=int, default=30, help="operations per one-way history "
                        "(two-way: half, over the phases)")
    parser.add_argument("--phases", type=int, default=3, help="two-way phases (at least 3)")
    parser.add_argument("--burst", type=int, default=200, help="tags in a one-way burst")
    parser.add_argument("--burst-every", type=int, default=10,
                        help="one-way seeds divisible by this get a burst (0: none)")
    parser.add_argument("--quiet", type=float, default=10.0,
                        help="seconds of quiet checked after each history")
    parser.add_argument("--timeout", type=float, default=180.0,
                        help="seconds to wait for convergence")
    parser.add_argument("--log-level", default="error",
                        choices=("debug", "info", "warning", "error"))
    args = parser.parse_args()
    # SIGTERM stops it like Ctrl-C: the registries it started are stopped too.
    signal.signal(signal.SIGTERM, signal.default_int_handler)

    modes = MODES[args.mode]
    seeds = parse_seeds(args.seeds)
    workdir = Path(tempfile.mkdtemp(prefix="crossdock-soak-"))
    stacks: dict[Mode, ConvergenceStack] = {}
    results: dict[Mode, list[HistoryResult]] = {mode: [] for mode in modes}
    started = time.monotonic()
    configure_logging(Settings(log_level=args.log_level))
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    try:
        for mode in modes:
            stacks[mode] = ConvergenceStack(workdir / mode, mode)
        runners = {mode: HistoryRunner(stacks[mode], quiet_seconds=args.quiet,
                                       converge_timeout=args.timeout,
                                       replay_hint=replay_hint(args))
                   for mode in modes}
        for seed in seeds:
            if args.duration and time.monotonic() - started > args.duration:
                print(f"-- {args.duration:.0f} s are up: no new histories", flush=True)
                break
            for mode in modes:
                result = runners[mode].run(make(mode, seed, args))
                results[mode].append(result)
                print(result.line(), flush=True)
                if not result.ok:
                    print(result.report, flush=True)
    except KeyboardInterrupt:
        print("-- interrupted", flush=True)
    finally:
        for stack in stacks.values():
            stack.close()
        shutil.rmtree(workdir, ignore_errors=True)

    elapsed = time.monotonic() - started
    summary = ", ".join(
        f"{mode}: {sum(r.ok for r in results[mode])}/{len(results[mode])} converged"
        for mode in modes)
    print(f"\n{summary} ({elapsed:.0f} s)")
    failing = {mode: [r.history.seed for r in results[mode] if not r.ok] for mode in modes}
    for mode, bad in failing.items():
        if bad:
            print(f"{mode} failing seeds: {', '.join(map(str, bad))}")
    return 1 if any(failing.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
