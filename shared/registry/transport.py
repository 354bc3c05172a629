"""HTTP to one registry: sessions, TLS, authentication, and error mapping.

The only module that imports `requests` for registry traffic. Every request
goes through `Transport.request`, the one choke point for the 401 challenge
(Basic or Bearer; one fresh token, one retry), and every failure leaves this
module as an error of `shared.errors`.

The User-Agent is chosen per request, not per session (sessions are shared by
threads): inside `writing_as(ua)` every request to a registry carries `ua`, a
job's write token (`shared.writetoken`); elsewhere the plain product token.
"""

from __future__ import annotations

import base64
import contextvars
import http.cookiejar
import json
import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from time import sleep, time
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import requests
import structlog
import urllib3
from requests.adapters import HTTPAdapter

from shared.errors import (
    AuthenticationError,
    DigestMismatchError,
    NotFoundError,
    PermissionDeniedError,
    RegistryRejectedError,
    RegistryUnavailableError,
    TLSError,
    UnsupportedOperationError,
)
from shared.registry.auth import (
    DEFAULT_TOKEN_LIFETIME,
    Challenge,
    TokenCache,
    parse_challenge,
)
from shared.registry.facts import RegistryFacts
from shared.writetoken import PRODUCT

TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
# Distribution writes a link file (a tag's, or a blob's in a repository) in place,
# so a read racing that write answers 500, and one a moment later reads it whole:
# seen for a tag HEAD right after its push event (1 job in a few hundred, which
# then waited for the 30 s retry) and for HEADs during a blob's first upload (2 of
# 60). A GET or HEAD answered 500 is sent once more after this pause.
RACED_READ_PAUSE = 0.05
IO_BLOCK = 1024 * 1024  # socket send size for streamed bodies (urllib3 defaults to 16 KiB)
USER_AGENT = PRODUCT

Response = requests.Response

# The User-Agent of this thread's (or task's) current write, if any. Threads
# don't inherit it: submit work with `contextvars.copy_context().run`.
_WRITE_USER_AGENT: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "crossdock_write_user_agent", default=None
)
_HEADER_VALUE = re.compile(r"[\x20-\x7e]+")


@contextmanager
def writing_as(user_agent: str) -> Iterator[None]:
    """Send every registry request made in this context with `user_agent`.

    Raises ValueError for a value that is not a one-line printable ASCII header
    (which `requests` would only refuse at send time, as a network error).
    """
    if not isinstance(user_agent, str) or not _HEADER_VALUE.fullmatch(user_agent):
        raise ValueError("a User-Agent must be one line of printable ASCII")
    reset = _WRITE_USER_AGENT.set(user_agent)
    try:
        yield
    finally:
        _WRITE_USER_AGENT.reset(reset)


def current_user_agent() -> str:
    """The User-Agent a registry request sent now, here, carries."""
    return _WRITE_USER_AGENT.get() or USER_AGENT


@dataclass(frozen=True)
class RegistryConfig:
    """Where a registry is and how to talk to it."""

    url: str  # scheme://host[:port], no path
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    verify_tls: bool = True
    ca_bundle: str | None = None
    connect_timeout: float = 10.0
    read_timeout: float = 120.0
    pool_size: int = 32

    @property
    def host(self) -> str:
        return urlsplit(self.url).netloc

    @property
    def verify(self) -> bool | str:
        """What `requests` gets as `verify`: a CA bundle path, True or False."""
        if not self.verify_tls:
            return False
        return self.ca_bundle or True


class _BlockAdapter(HTTPAdapter):
    """An adapter whose connections send streamed bodies in large blocks."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["blocksize"] = IO_BLOCK
        super().init_poolmanager(*args, **kwargs)


class _Auth:
    """What the registry asked for: nothing yet, Basic, or Bearer with realm and service."""

    def __init__(self) -> None:
        self.scheme: str | None = None
        self.realm = ""
        self.service = ""


class Transport:
    """Authenticated HTTP to one registry. Thread-safe; one per registry and process."""

    def __init__(self, config: RegistryConfig) -> None:
        self.config = config
        self.base = config.url.rstrip("/")
        self.session = requests.Session()
        # REQUESTS_CA_BUNDLE must not override a registry's own TLS settings
        # (protocols.md §10), so the environment is not trusted; proxies are
        # taken from it explicitly instead.
        self.session.trust_env = False
        self.session.proxies = requests.utils.get_environ_proxies(self.base)
        # Harbor rejects API POSTs that carry a session cookie (CSRF, §8.1).
        self.session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        self.session.headers["User-Agent"] = USER_AGENT
        self._headers = dict(self.session.headers)  # what every request starts from
        self._proxies = dict(self.session.proxies)
        adapter = _BlockAdapter(pool_connections=4, pool_maxsize=config.pool_size)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        if not config.verify_tls:
            # Switched off on purpose for this registry: say so once, here,
            # instead of urllib3 warning on every request.
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
            structlog.get_logger("crossdock.registry").warning(
                "TLS verification is off for this registry", registry=config.host
            )
        self._auth = _Auth()
        self._auth_lock = threading.Lock()
        self._tokens = TokenCache()
        self.facts = RegistryFacts()  # what this registry was found to have or do

    # -- requests --------------------------------------------------------------

    def url(self, path: str) -> str:
        """An absolute URL for a path (``/v2/...``) or a `Location` the registry gave."""
        return urljoin(self.base + "/", path)

    def request(
        self,
        method: str,
        path: str,
        *,
        scopes: tuple[str, ...] = (),
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        data: Any = None,
        stream: bool = False,
        replayable: bool = True,
        timeout: float | None = None,
    ) -> Response:
        """Send one request, answering an auth challenge once.

        Returns the response whatever its status, except 401 after a fresh
        token (`AuthenticationError`). Raises `RegistryUnavailableError` on
        network failures and `TLSError` when the certificate doesn't verify.
        A `replayable=False` body (a stream) is not resent: the 401 is raised.
        A GET or HEAD answered 500 is sent once more (`RACED_READ_PAUSE`).
        """
        url = self.url(path)
        response = self._send(method, url, scopes, headers, params, data, stream, timeout)
        if response.status_code == 500 and method in ("GET", "HEAD"):
            response.close()
            sleep(RACED_READ_PAUSE)
            response = self._send(method, url, scopes, headers, params, data, stream, timeout)
        if response.status_code != 401:
            return response
        challenge = parse_challenge(response.headers.get("WWW-Authenticate"))
        sent = response.request.headers.get("Authorization") if response.request else None
        response.close()
        if challenge is None or not replayable or not self._answer(challenge, scopes, sent):
            raise self._unauthorized(method, path, response)
        response = self._send(method, url, scopes, headers, params, data, stream, timeout)
        if response.status_code == 401:
            response.close()
            raise self._unauthorized(method, path, response)
        return response

    def api_request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """A request to a registry's own REST API (Harbor's ``/api/v2.0``).

        Basic credentials go with every call (Harbor's API has no challenge
        flow), and no cookie is ever kept (Harbor's CSRF rule, §8.1).
        """
        merged = dict(headers or {})
        if self.config.username is not None:
            merged["Authorization"] = self._basic()
        data = None
        if json_body is not None:
            merged["Content-Type"] = "application/json"
            data = json.dumps(json_body)
        return self._send(method, self.url(path), (), merged, params, data, False, None)

    @contextmanager
    def stream(self, method: str, path: str, **kwargs: Any) -> Iterator[Response]:
        """`request` with a streamed body, closed when the block ends."""
        response = self.request(method, path, stream=True, **kwargs)
        try:
            yield response
        finally:
            response.close()

    def _send(
        self,
        method: str,
        url: str,
        scopes: tuple[str, ...],
        headers: Mapping[str, str] | None,
        params: Mapping[str, str] | None,
        data: Any,
        stream: bool,
        timeout: float | None,
    ) -> Response:
        merged = {**self._headers, "User-Agent": current_user_agent(), **(headers or {})}
        auth_header = self._authorization(scopes)
        if auth_header and "Authorization" not in merged:
            merged["Authorization"] = auth_header
        try:
            # Prepared here and sent as is: `Session.request` would merge the
            # session's cookies, headers, hooks and environment settings into every
            # request, about a ninth of the CPU a small request costs here, for nothing
            # this transport uses (no cookies, no environment, headers merged above).
            prepared = plain_prepared(method, url, merged, params) if data is None else None
            if prepared is None:
                prepared = requests.Request(method, url, headers=merged, params=params,
                                            data=data).prepare()
            return self.session.send(
                prepared,
                stream=stream,
                verify=self.config.verify,
                proxies=self._proxies,
                timeout=(self.config.connect_timeout, timeout or self.config.read_timeout),
                allow_redirects=method in ("GET", "HEAD"),
            )
        except requests.exceptions.SSLError as exc:
            raise TLSError(f"TLS with {self.config.host} failed: {_reason(exc)}") from exc
        except requests.exceptions.RequestException as exc:
            raise RegistryUnavailableError(
                f"{method} {self.config.host}{urlsplit(url).path} failed: {_reason(exc)}"
            ) from exc

    # -- authentication -----------------------------------------------------------

    def _authorization(self, scopes: tuple[str, ...]) -> str | None:
        auth = self._auth
        if auth.scheme == "basic":
            return self._basic()
        if auth.scheme == "bearer":
            key = TokenCache.key(auth.realm, auth.service, scopes)
            token = self._tokens.get(key)
            if token is None and scopes:
                token, lifetime = self._fetch_token(auth.realm, auth.service, scopes)
                self._tokens.put(key, token, lifetime)
            return f"Bearer {token}" if token else None
        return None

    def _answer(self, challenge: Challenge, scopes: tuple[str, ...], sent: str | None) -> bool:
        """Get ready to answer a challenge to a request that carried `sent` as its
        Authorization. False when nothing new can be tried."""
        if challenge.scheme == "basic":
            if self.config.username is None:
                return False
            with self._auth_lock:
                self._auth.scheme = "basic"
            # Another thread may have learnt the scheme meanwhile: retry unless this
            # very request already carried the credentials.
            return not (sent or "").startswith("Basic ")
        if challenge.scheme == "bearer" and "realm" in challenge.params:
            realm = challenge.params["realm"]
            service = challenge.params.get("service", "")
            wanted = tuple(dict.fromkeys(scopes + challenge.scopes))
            with self._auth_lock:
                self._auth.scheme, self._auth.realm, self._auth.service = "bearer", realm, service
            key = TokenCache.key(realm, service, scopes)
            self._tokens.drop(key)
            token, lifetime = self._fetch_token(realm, service, wanted)
            self._tokens.put(key, token, lifetime)
            return True
        return False

    def _fetch_token(
        self, realm: str, service: str, scopes: tuple[str, ...]
    ) -> tuple[str, float]:
        """Ask the token server for a token covering `scopes`: (token, lifetime)."""
        params: list[tuple[str, str]] = [("service", service)] if service else []
        params += [("scope", scope) for scope in scopes]
        headers = {"Authorization": self._basic()} if self.config.username is not None else {}
        try:
            response = self.session.get(
                realm,
                params=params,
                headers=headers,
                verify=self.config.verify,
                timeout=(self.config.connect_timeout, self.config.read_timeout),
                proxies=requests.utils.get_environ_proxies(realm),
            )
        except requests.exceptions.SSLError as exc:
            raise TLSError(f"TLS with token server {realm} failed: {_reason(exc)}") from exc
        except requests.exceptions.RequestException as exc:
            raise RegistryUnavailableError(f"token server {realm}: {_reason(exc)}") from exc
        if response.status_code in (401, 403):
            raise AuthenticationError(
                f"token server {realm} refused the credentials for {self.config.host}",
                status=response.status_code,
            )
        if response.status_code != 200:
            raise error_for(response, f"token request to {realm}")
        try:
            body = response.json()
            token = body.get("token") or body.get("access_token")
            lifetime = float(body.get("expires_in") or DEFAULT_TOKEN_LIFETIME)
        except (ValueError, AttributeError, TypeError) as exc:
            raise RegistryRejectedError(f"token server {realm} sent an unreadable answer") from exc
        if not token:
            raise RegistryRejectedError(f"token server {realm} sent no token")
        return str(token), lifetime

    def _basic(self) -> str:
        raw = f"{self.config.username or ''}:{self.config.password or ''}".encode()
        return "Basic " + base64.b64encode(raw).decode()

    def _unauthorized(self, method: str, path: str, response: Response) -> AuthenticationError:
        code, message = _error_code(response)
        who = f"as {self.config.username}" if self.config.username else "anonymously"
        detail = f": {message}" if message else ""
        return AuthenticationError(
            f"{self.config.host} refused {method} {path} {who} (401{detail})",
            status=401,
            code=code or "UNAUTHORIZED",
        )

    @property
    def auth_scheme(self) -> str | None:
        """What the registry asked for so far: None, ``basic`` or ``bearer``."""
        return self._auth.scheme


# -- preparing requests ---------------------------------------------------------


# A URL `requests` would send as it is: http(s), a lower-case host, and a path and
# query of characters it never quotes or rewrites (no fragment, no dot segment; in the
# query, upper-case escapes of characters that stay escaped, as `urlencode` writes them).
_PLAIN_URL = re.compile(
    r"https?://[a-z0-9.-]+(?::[0-9]{1,5})?/[A-Za-z0-9._~!$&'()*+,;=:@/-]*"
    r"(?:\?(?:[A-Za-z0-9._~!$&'()*+,;=:@/?-]|%[0-9A-F]{2})+)?"
)
_DOT_SEGMENT = re.compile(r"/\.\.?(?:/|\?|$)")


def plain_prepared(method: str, url: str, headers: Mapping[str, str | bytes],
                   params: Mapping[str, str] | None) -> requests.PreparedRequest | None:
    """A body-less request prepared as `requests.Request.prepare` would prepare it, or
    None when the URL needs its rewriting (the caller then lets `requests` do it).

    A registry request sends the URL of its path, or a `Location` the registry gave,
    as it is; preparing it by hand skips parsing and re-quoting it twice, cookie and
    netrc lookups and hooks: a sixth of the CPU of a HEAD and a mount (3.52 against
    2.96 M instructions, counted by callgrind). The headers are still checked by `requests`."""
    if params:
        if not all(isinstance(value, str) for value in params.values()):
            return None
        base, _, query = url.partition("?")
        encoded = urlencode(list(params.items()))
        url = f"{base}?{query}&{encoded}" if query else f"{base}?{encoded}"
    if not _PLAIN_URL.fullmatch(url) or _DOT_SEGMENT.search(url):
        return None
    if "%" in url and requests.utils.unquote_unreserved(url) != url:
        return None  # an escaped letter or digit: `requests` would unescape it
    prepared = requests.PreparedRequest()
    prepared.method = method.upper()
    prepared.url = url
    prepared.prepare_headers(headers)
    prepared.prepare_cookies(None)  # an empty jar: a redirect adds what it sets to it
    if prepared.method not in ("GET", "HEAD") and "Content-Length" not in prepared.headers:
        prepared.headers["Content-Length"] = "0"
    return prepared


# -- errors ---------------------------------------------------------------------


def error_for(response: Response, what: str) -> Exception:
    """Map an unsuccessful response to the error tree (DESIGN.md, errors table)."""
    status = response.status_code
    code, message = _error_code(response)
    host = urlsplit(response.url).netloc
    text = f"{what}: {host} answered {status}"
    if code:
        text += f" {code}"
    if message:
        text += f" ({message})"
    if status in TRANSIENT_STATUSES:
        return RegistryUnavailableError(
            text, status=status, code=code, retry_after=_retry_after(response)
        )
    if status == 401:
        return AuthenticationError(text, status=status, code=code)
    if status == 403:
        return PermissionDeniedError(text, status=status, code=code)
    if status == 404:
        return NotFoundError(text, status=status, code=code)
    if status == 405 or code == "UNSUPPORTED":
        return UnsupportedOperationError(text, status=status, code=code)
    if code == "DIGEST_INVALID":
        return DigestMismatchError(text)
    if _plain_http_to_tls(response):
        return TLSError(f"{text}: the registry speaks https there; use an https:// URL",
                        status=status, code=code)
    return RegistryRejectedError(text, status=status, code=code)


def raise_for(response: Response, what: str, *, ok: tuple[int, ...] = (200,)) -> Response:
    """Return the response when its status is in `ok`, else raise the mapped error."""
    if response.status_code in ok:
        return response
    response.close()
    raise error_for(response, what)


def _plain_http_to_tls(response: Response) -> bool:
    """A TLS server's answer to plain HTTP: a 400 whose text names HTTPS (Go: "Client
    sent an HTTP request to an HTTPS server."; nginx: "The plain HTTP request was sent
    to HTTPS port")."""
    if response.status_code != 400 or urlsplit(response.url).scheme != "http":
        return False
    try:
        return "https" in response.text[:1000].lower()
    except RuntimeError:  # the body was streamed away already
        return False


def is_error_document(response: Response) -> bool:
    """Whether the body is a registry error document (``{"errors": [...]}``).

    A route the registry doesn't have gets its web server's plain 404 instead.
    """
    return _error_code(response) != (None, None)


def _error_code(response: Response) -> tuple[str | None, str | None]:
    """The first ``errors[]`` entry's code and message, if the body has one."""
    if response.request is not None and response.request.method == "HEAD":
        return None, None
    try:
        if not response.content:
            return None, None
        body = json.loads(response.content)
        first = body["errors"][0]
        return str(first.get("code") or "") or None, str(first.get("message") or "") or None
    except (ValueError, KeyError, IndexError, TypeError, AttributeError, RuntimeError):
        return None, None


def _retry_after(response: Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time())
    except (TypeError, ValueError):
        return None


def _reason(exc: Exception) -> str:
    """A short, human reason for a requests exception (no stack of wrappers)."""
    inner: BaseException = exc
    while inner.__context__ is not None and len(str(inner)) > 200:
        inner = inner.__context__
    text = str(inner)
    if "Connection refused" in text:
        return "connection refused"
    if "timed out" in text.lower():
        return "timed out"
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return "certificate verify failed (unknown CA or wrong host name)"
    return text[:300]
