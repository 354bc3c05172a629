"""Whether two registry URLs look like one registry (the look-alike warnings)."""

import pytest

from shared.registry_identity import is_loopback, looks_like_same_registry


@pytest.mark.parametrize(("first", "second"), [
    ("http://localhost:5231", "http://127.0.0.1:5231"),
    ("http://127.0.0.1:5231", "http://127.8.9.10:5231"),
    ("http://[::1]:5000", "http://localhost:5000"),
    ("http://[::ffff:127.0.0.1]:5000", "http://localhost:5000"),
    ("http://registry.localhost:5000", "http://127.0.0.1:5000"),
    ("https://Registry.Example.com", "https://registry.example.com:443"),
    ("http://registry.example.com:80/", "http://registry.example.com"),
    ("https://registry.example.com.", "https://registry.example.com"),
    ("http://[2001:db8::1]:5000", "http://[2001:db8:0:0:0:0:0:1]:5000"),
    ("http://10.0.0.5:5000", "https://10.0.0.5:5000"),  # the port decides, not the scheme
])
def test_one_registry_however_spelled(first: str, second: str) -> None:
    assert looks_like_same_registry(first, second)
    assert looks_like_same_registry(second, first)


@pytest.mark.parametrize(("first", "second"), [
    ("http://localhost:5231", "http://127.0.0.1:5232"),
    ("http://localhost", "https://localhost"),  # 80 and 443
    ("https://a.example.com", "https://b.example.com"),
    ("http://10.0.0.5:5000", "http://localhost:5000"),  # an address of this host, not loopback
    ("http://0.0.0.0:5000", "http://127.0.0.1:5000"),
    ("http://registry.example.com:5000", "http://registry.example.com"),
    ("http://:5000", "http://:5000"),  # no host
    ("not a url", "not a url"),
    ("http://x:99999", "http://x:99999"),  # a port out of range
])
def test_different_registries(first: str, second: str) -> None:
    assert not looks_like_same_registry(first, second)


@pytest.mark.parametrize(("host", "loopback"), [
    ("localhost", True), ("LOCALHOST.", True), ("a.localhost", True), ("127.0.0.1", True),
    ("127.255.0.3", True), ("::1", True), ("::ffff:127.0.0.1", True),
    ("128.0.0.1", False), ("localhost.example.com", False), ("notlocalhost", False),
    ("::2", False), ("0.0.0.0", False),
])
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
