"""A Distribution-style token server of the tests' own.

Implements the `GET <realm>?service=..&scope=..` flow from the token spec: optional
Basic credentials, a per-user grant policy, and ES256 JWTs whose `x5c` header carries
a self-signed CA certificate. That certificate's PEM is the registry's
`auth.token.rootcertbundle`. Every request is recorded so tests can count token fetches.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

Access = list[dict[str, Any]]


@dataclass(frozen=True)
class Scope:
    """One parsed `type:name:actions` scope."""

    type: str
    name: str
    actions: tuple[str, ...]


@dataclass(frozen=True)
class TokenRequest:
    """One request the token server answered (status 200 or 401)."""

    user: str | None
    service: str | None
    scopes: tuple[str, ...]
    status: int


def parse_scope(text: str) -> Scope:
    """Parse `type:name:actions`; the name may contain `host:port`.

    Raises ValueError for a scope without three parts.
    """
    type_, _, rest = text.partition(":")
    name, sep, actions = rest.rpartition(":")
    if not type_ or not sep or not name:
        raise ValueError(f"malformed scope: {text!r}")
    return Scope(type_, name, tuple(a for a in actions.split(",") if a))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _json_segment(value: Mapping[str, Any]) -> str:
    return _b64url(json.dumps(value, separators=(",", ":")).encode())


class TokenServer:
    """Issues registry bearer tokens on a free 127.0.0.1 port.

    Policy: a known user gets every requested action, or, when listed in
    `allowed_actions`, only the requested actions in that set. Anonymous callers get
    `anonymous_actions` (nothing by default). Bad credentials get 401.
    `expires_in` is reported to clients; `token_lifetime` (default: `expires_in`)
    sets the JWT `exp`, so a test can hand out tokens the registry already rejects.
    """

    def __init__(
        self,
        cert_dir: Path,
        *,
        users: Mapping[str, str] | None = None,
        allowed_actions: Mapping[str, Iterable[str]] | None = None,
        anonymous_actions: Iterable[str] = (),
        service: str = "crossdock-test-registry",
        issuer: str = "crossdock-test-issuer",
        expires_in: int = 300,
        token_lifetime: int | None = None,
    ) -> None:
        self.users: dict[str, str] = dict(users or {})
        self.allowed_actions: dict[str, frozenset[str]] = {
            user: frozenset(actions) for user, actions in (allowed_actions or {}).items()
        }
        self.anonymous_actions = frozenset(anonymous_actions)
        self.service = service
        self.issuer = issuer
        self.expires_in = expires_in
        self.token_lifetime = token_lifetime
        self.requests: list[TokenRequest] = []
        self._key = ec.generate_private_key(ec.SECP256R1())
        self._cert = self._make_signing_cert()
        cert_dir.mkdir(parents=True, exist_ok=True)
        self.rootcertbundle = cert_dir / "token-signer.pem"
        self.rootcertbundle.write_bytes(self._cert.public_bytes(serialization.Encoding.PEM))
        self._httpd: _TokenHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> TokenServer:
        """Bind a free port and serve in a daemon thread."""
        httpd = _TokenHTTPServer(("127.0.0.1", 0), _TokenHandler)
        httpd.owner = self
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket; safe to call twice."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> TokenServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def realm(self) -> str:
        """The token endpoint URL, for the registry's `auth.token.realm`."""
        if self._httpd is None:
            raise RuntimeError("token server is not running")
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/token"

    # -- policy and tokens -----------------------------------------------------------

    def grant(self, user: str | None, scopes: Iterable[str]) -> Access:
        """The `access` claim for `user` (None: anonymous) asking for `scopes`."""
        if user is None:
            allowed: frozenset[str] | None = self.anonymous_actions
        else:
            allowed = self.allowed_actions.get(user)
        access: Access = []
        for text in scopes:
            scope = parse_scope(text)
            actions = [a for a in scope.actions if allowed is None or a in allowed]
            if actions:
                access.append({"type": scope.type, "name": scope.name, "actions": actions})
        return access

    def mint_token(self, subject: str, access: Access) -> str:
        """Sign a JWT for `subject` with exactly `access`, bypassing policy and records.

        For test setup, e.g. a Bearer session that pre-populates a repository.
        """
        now = int(time.time())
        lifetime = self.expires_in if self.token_lifetime is None else self.token_lifetime
        header = {
            "typ": "JWT",
            "alg": "ES256",
            "x5c": [base64.b64encode(self._cert.public_bytes(serialization.Encoding.DER)).decode()],
        }
        claims = {
            "iss": self.issuer,
            "sub": subject,
            "aud": self.service,
            "exp": now + lifetime,
            "nbf": now,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        signing_input = f"{_json_segment(header)}.{_json_segment(claims)}"
        der = self._key.sign(signing_input.encode("ascii"), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return f"{signing_input}.{_b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"

    def token_response(self, user: str | None, scopes: list[str]) -> dict[str, Any]:
        """The JSON body answering a successful token request."""
        token = self.mint_token(user or "", self.grant(user, scopes))
        issued_at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {
            "token": token,
            "access_token": token,
            "expires_in": self.expires_in,
            "issued_at": issued_at,
        }

    def authenticate(self, authorization: str | None) -> tuple[bool, str | None]:
        """Check a Basic `Authorization` header: (ok, user). No header is anonymous."""
        if not authorization:
            return True, None
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "basic":
            return False, None
        try:
            user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False, None
        return self.users.get(user) == password, user

    def _make_signing_cert(self) -> x509.Certificate:
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "crossdock token signer")])
        now = dt.datetime.now(dt.UTC)
        return (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self._key, hashes.SHA256())
        )


class _TokenHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    owner: TokenServer


class _TokenHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        owner = cast(_TokenHTTPServer, self.server).owner
        url = urlsplit(self.path)
        if url.path != "/token":
            self._send_json(404, {"details": "not found"})
            return
        query = parse_qs(url.query, keep_blank_values=True)
        scopes = [s for value in query.get("scope", []) for s in value.split(" ") if s]
        service = query.get("service", [None])[0]
        ok, user = owner.authenticate(self.headers.get("Authorization"))
        status = 200 if ok else 401
        owner.requests.append(TokenRequest(user, service, tuple(scopes), status))
        if not ok:
            self._send_json(401, {"details": "invalid credentials"}, basic_challenge=True)
            return
        try:
            body = owner.token_response(user, scopes)
        except ValueError as exc:
            self._send_json(400, {"details": str(exc)})
            return
        self._send_json(200, body)

    def do_POST(self) -> None:
        # GET-only like the reference servers: OAuth2 clients fall back to GET on 404.
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._send_json(404, {"details": "POST not supported, use GET"})

    def _send_json(
        self, status: int, body: Mapping[str, Any], *, basic_challenge: bool = False
    ) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if basic_challenge:
            self.send_header("WWW-Authenticate", 'Basic realm="crossdock-test-token"')
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output quiet."""
