"""Helpers for the wait-limit tests: time a store call that may block."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from shared.store import JobAction, NewJob, RuleRecord

GIVE_UP_SECONDS = 30.0
"""Far above any limit under test: a call still blocked then is a failure, not a hang."""


def timed_failure(call: Callable[[], Any]) -> tuple[BaseException | None, float]:
    """Run ``call`` in a thread: the exception it raised (None if it returned) and the
    seconds it took. Fails the test when it is still blocked after `GIVE_UP_SECONDS`."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            call()
        except BaseException as exc:  # reported to the test
            outcome.append(exc)
        else:
            outcome.append(None)

    started = time.monotonic()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(GIVE_UP_SECONDS)
    elapsed = time.monotonic() - started
    assert outcome, f"the store call was still waiting after {elapsed:.1f} s"
    return outcome[0], elapsed


def webhook_job(rule: RuleRecord, tag: str) -> NewJob:
    """A job as the receiver records one for a push."""
    return NewJob(rule_id=rule.id, endpoint_id=rule.endpoint_id, source_id=rule.source_id,
                  repository="team/app", action=JobAction.REPLICATE, tag=tag)
