"""`BlobLocator`: what one destination registry's repositories hold, as found lately."""

from __future__ import annotations

import threading

from shared.copy.blobs import BlobLocator, Claim
from tests.support.clock import ManualClock

DIGEST = "sha256:" + "a" * 64


def test_a_blob_is_held_only_where_and_while_it_was_found() -> None:
    clock = ManualClock()
    locator = BlobLocator(memory=60, clock=clock)
    locator.remember(DIGEST, "lib/app")

    assert locator.holds(DIGEST, "lib/app")
    assert not locator.holds(DIGEST, "lib/other")
    clock.now += 59.9
    assert locator.holds(DIGEST, "lib/app")
    clock.now += 0.2
    assert not locator.holds(DIGEST, "lib/app")


def test_forgetting_a_repository_keeps_the_others_as_mount_sources() -> None:
    locator = BlobLocator()
    locator.remember(DIGEST, "lib/app")
    locator.remember(DIGEST, "lib/base")

    locator.forget("lib/app")

    assert not locator.holds(DIGEST, "lib/app")
    assert locator.holds(DIGEST, "lib/base")
    assert locator.claim(DIGEST, "lib/app") == Claim((DIGEST, "lib/app"), "lib/base")


def test_one_upload_at_a_time_per_digest_the_others_wait() -> None:
    locator = BlobLocator()

    upload = locator.claim(DIGEST, "lib/app")
    assert upload == Claim((DIGEST, None), None)
    busy = locator.claim(DIGEST, "lib/other")
    assert isinstance(busy, threading.Event) and not busy.is_set()
    assert locator.claim(DIGEST, "lib/app") is busy

    locator.remember(DIGEST, "lib/app")
    locator.release(upload)

    assert busy.is_set()
    assert locator.claim(DIGEST, "lib/other") == Claim((DIGEST, "lib/other"), "lib/app")


def test_one_claim_per_blob_and_repository_mounts_into_others_go_on() -> None:
    locator = BlobLocator()
    locator.remember(DIGEST, "lib/base")

    first = locator.claim(DIGEST, "lib/app")
    assert first == Claim((DIGEST, "lib/app"), "lib/base")
    second = locator.claim(DIGEST, "lib/app")  # another tag of the same repository
    assert isinstance(second, threading.Event)
    assert locator.claim(DIGEST, "lib/other") == Claim((DIGEST, "lib/other"), "lib/base")

    assert isinstance(first, Claim)
    locator.release(first)
    assert second.is_set()
