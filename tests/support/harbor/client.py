"""Test-side helpers for Harbor's token dance (protocols.md §1.3, §11.4 step 5).

Harbor grants everything the caller may do on the project, so one token for
`repository:<repo>:pull,push,delete` serves every request a test makes on that
repository. Sessions here keep no cookies (the `sid` cookie trips CSRF, §8.1).
"""

from __future__ import annotations

import http.cookiejar

import requests

from tests.support.harbor.tokens import SERVICE, token_claims

__all__ = ["bearer_session", "cookieless_session", "fetch_token", "token_claims"]


def cookieless_session() -> requests.Session:
    """A session that never stores a cookie and ignores the environment."""
    session = requests.Session()
    session.trust_env = False
    session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    return session


def fetch_token(
    base_url: str, scopes: list[str], auth: tuple[str, str] | None = None
) -> str:
    """GET `/service/token` for `scopes`; raises `requests.HTTPError` on a non-200."""
    with cookieless_session() as session:
        resp = session.get(
            f"{base_url}/service/token",
            params={"service": SERVICE, "scope": scopes},
            auth=auth,
            timeout=10,
        )
    resp.raise_for_status()
    token: str = resp.json()["token"]
    return token


def bearer_session(
    base_url: str, user: str, password: str, repository: str, actions: str = "pull,push,delete"
) -> requests.Session:
    """A cookieless session whose every request carries a token for `repository`."""
    token = fetch_token(base_url, [f"repository:{repository}:{actions}"], (user, password))
    session = cookieless_session()
    session.headers["Authorization"] = f"Bearer {token}"
    return session
