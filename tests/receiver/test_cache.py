"""The receiver's short-lived cache of configuration records."""

from __future__ import annotations

import pytest

from receiver.cache import TtlCache


def test_values_are_kept_for_the_ttl_then_reloaded() -> None:
    now = [0.0]
    loads: list[str] = []
    cache: TtlCache[str, str] = TtlCache(lambda k: loads.append(k) or k.upper(), ttl=5,
                                         clock=lambda: now[0])

    assert cache.get("a") == "A"
    now[0] = 4.9
    assert cache.get("a") == "A"
    now[0] = 5.1
    assert cache.get("a") == "A"
    assert loads == ["a", "a"]


def test_errors_are_not_cached() -> None:
    calls = [0]

    def load(key: str) -> str:
        calls[0] += 1
        if calls[0] == 1:
            raise LookupError(key)
        return key

    cache: TtlCache[str, str] = TtlCache(load)
    with pytest.raises(LookupError):
        cache.get("a")
    assert cache.get("a") == "a"
