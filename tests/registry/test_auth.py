"""Challenge parsing and the token cache (no network)."""

from __future__ import annotations

from shared.registry.auth import TokenCache, parse_challenge, repository_scope


def test_bearer_challenge_keeps_commas_inside_the_scope() -> None:
    header = ('Bearer realm="https://auth.example/token",service="registry.example",'
              'scope="repository:a/b:pull,push repository:c:pull",error="insufficient_scope"')

    challenge = parse_challenge(header)

    assert challenge is not None
    assert challenge.scheme == "bearer"
    assert challenge.params["realm"] == "https://auth.example/token"
    assert challenge.params["service"] == "registry.example"
    assert challenge.scopes == ("repository:a/b:pull,push", "repository:c:pull")
    assert challenge.params["error"] == "insufficient_scope"


def test_basic_challenge_and_escaped_quotes() -> None:
    challenge = parse_challenge('Basic realm="my \\"realm\\""')

    assert challenge is not None
    assert (challenge.scheme, challenge.params) == ("basic", {"realm": 'my "realm"'})


def test_no_header_is_no_challenge() -> None:
    assert parse_challenge(None) is None
    assert parse_challenge("  ") is None


def test_scope_for_a_repository_on_a_host_with_a_port() -> None:
    assert repository_scope("lib/app", "pull", "push") == "repository:lib/app:pull,push"


def test_token_cache_expires_before_the_token_does() -> None:
    now = [1000.0]
    cache = TokenCache(clock=lambda: now[0])
    key = TokenCache.key("realm", "svc", ["repository:a:pull"])
    cache.put(key, "tok", lifetime=300)

    now[0] += 260
    assert cache.get(key) == "tok"
    now[0] += 20  # 280 s: within the 30 s margin before expiry
    assert cache.get(key) is None


def test_token_cache_keys_ignore_scope_order() -> None:
    cache = TokenCache()
    cache.put(TokenCache.key("r", "s", ["a", "b"]), "tok", 300)

    assert cache.get(TokenCache.key("r", "s", ["b", "a"])) == "tok"
    cache.drop(TokenCache.key("r", "s", ["a", "b"]))
    assert cache.get(TokenCache.key("r", "s", ["a", "b"])) is None
