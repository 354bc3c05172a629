"""`BlobLocator`: what one destination registry's repositories hold, as found lately."""

from __future__ import annotations

from shared.copy.blobs import BlobLocator
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
    assert locator.claim(DIGEST, "lib/app") == ("lib/base", None)


def test_one_upload_at_a_time_per_digest_the_others_wait() -> None:
    locator = BlobLocator()

    assert locator.claim(DIGEST, "lib/app") == (None, None)
    mount_from, busy = locator.claim(DIGEST, "lib/other")
    assert mount_from is None and busy is not None and not busy.is_set()

    locator.remember(DIGEST, "lib/app")
    locator.release(DIGEST)

    assert busy.is_set()
    assert locator.claim(DIGEST, "lib/other") == ("lib/app", None)
