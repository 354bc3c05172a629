"""Run the real Distribution registry binary (`docker-registry serve`) for tests.

Each `RegistryServer` owns a directory with its config, storage, log and auth files,
listens on a free 127.0.0.1 port, and is stopped by PID.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import subprocess
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import requests
import yaml

from tests.support.token_server import TokenServer

REGISTRY_BINARY = Path("/usr/bin/docker-registry")
HTTP_SECRET = "crossdock-test-http-secret"
# Every response carries this header with the instance's own id, so the readiness
# probe cannot mistake another process on a reused port for this registry.
INSTANCE_HEADER = "X-Crossdock-Test-Instance"
AuthMode = Literal["htpasswd", "token"]

_PORT_ATTEMPTS = 5
_POLL_INTERVAL = 0.025
_PROBE_TIMEOUT = 0.5
_INVERT = bytes(255 - i for i in range(256))


class RegistryStartError(RuntimeError):
    """The registry process exited or did not answer `/v2/` in time."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def htpasswd_entry(user: str, password: str) -> str:
    """One bcrypt htpasswd line from the `htpasswd` binary (2.8 accepts bcrypt only)."""
    out = subprocess.run(
        ["htpasswd", "-nbB", "-C", "4", user, password],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return out.strip()


def deep_merge(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """`base` updated by `extra`, recursing into nested mappings."""
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _endpoint(index: int, endpoint: Mapping[str, Any]) -> dict[str, Any]:
    """Fill defaults into a notification endpoint; header values must be lists."""
    filled: dict[str, Any] = {
        "name": f"listener{index}",
        "timeout": "2s",
        "threshold": 5,
        "backoff": "1s",
    }
    filled.update(endpoint)
    headers = filled.get("headers") or {}
    filled["headers"] = {
        name: [value] if isinstance(value, str) else list(value) for name, value in headers.items()
    }
    return filled


def blob_data_path(storage_dir: Path, digest: str) -> Path:
    """Where the filesystem driver keeps a blob's bytes."""
    algorithm, _, hex_digest = digest.partition(":")
    return (
        storage_dir
        / "docker"
        / "registry"
        / "v2"
        / "blobs"
        / algorithm
        / hex_digest[:2]
        / hex_digest
        / "data"
    )


def corrupt_blob(storage_dir: Path, digest: str) -> Path:
    """Invert every stored byte of a blob: same length, different sha256.

    Raises FileNotFoundError if the blob is not stored, ValueError if it is empty.
    """
    path = blob_data_path(storage_dir, digest)
    size = path.stat().st_size
    if size == 0:
        raise ValueError(f"cannot corrupt empty blob {digest}")
    with path.open("r+b") as fh:
        offset = 0
        while chunk := fh.read(1 << 20):
            fh.seek(offset)
            fh.write(chunk.translate(_INVERT))
            offset += len(chunk)
    return path


class RegistryServer:
    """One `docker-registry serve` process with its own config and storage.

    `users` are htpasswd users for `auth="htpasswd"`; `auth="token"` needs a running
    `token_server`. `tls` is `(cert, key)`; `ca_path` is kept for clients.
    `notifications` is a list of endpoint dicts (`url`, `headers`, ...), and
    `extra` is deep-merged into the generated config last.
    """

    def __init__(
        self,
        workdir: Path,
        *,
        auth: AuthMode | None = None,
        users: Mapping[str, str] | None = None,
        token_server: TokenServer | None = None,
        tls: tuple[Path, Path] | None = None,
        ca_path: Path | None = None,
        delete_enabled: bool = True,
        notifications: Sequence[Mapping[str, Any]] | None = None,
        extra: Mapping[str, Any] | None = None,
        log_level: str = "info",
        binary: Path = REGISTRY_BINARY,
        startup_timeout: float = 10.0,
    ) -> None:
        if auth == "htpasswd" and not users:
            raise ValueError("auth='htpasswd' needs at least one user")
        if auth == "token" and token_server is None:
            raise ValueError("auth='token' needs a token_server")
        self.workdir = workdir
        self.auth = auth
        self.users: dict[str, str] = dict(users or {})
        self.token_server = token_server
        self.tls = tls
        self.ca_path = ca_path
        self.delete_enabled = delete_enabled
        self.notifications = list(notifications or [])
        self.extra = dict(extra or {})
        self.log_level = log_level
        self.binary = binary
        self.startup_timeout = startup_timeout
        self.storage_dir = workdir / "storage"
        self.config_path = workdir / "config.yml"
        self.log_path = workdir / "registry.log"
        self.htpasswd_path = workdir / "htpasswd"
        self.port = 0
        self.instance_id = uuid.uuid4().hex
        self._process: subprocess.Popen[bytes] | None = None

    # -- addresses and credentials ---------------------------------------------------

    @property
    def host(self) -> str:
        """`127.0.0.1:PORT`, as used in image references."""
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """Base URL without a trailing slash, `http://` or `https://`."""
        return f"{'https' if self.tls else 'http'}://{self.host}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def username(self) -> str:
        """The first configured user (htpasswd, or the token server's)."""
        return next(iter(self._all_users()))

    @property
    def password(self) -> str:
        return self._all_users()[self.username]

    def _all_users(self) -> dict[str, str]:
        users = self.token_server.users if self.token_server else self.users
        if not users:
            raise AttributeError("this registry has no users")
        return users

    def session(self) -> requests.Session:
        """A `requests.Session` for this registry: CA bundle, and Basic auth for htpasswd.

        `trust_env` is off so `REQUESTS_CA_BUNDLE` cannot override `verify`.
        """
        session = requests.Session()
        session.trust_env = False
        if self.ca_path is not None:
            session.verify = str(self.ca_path)
        if self.auth == "htpasswd":
            session.auth = (self.username, self.password)
        return session

    # -- config ----------------------------------------------------------------------

    def config(self) -> dict[str, Any]:
        """The registry config for the current port."""
        http_section: dict[str, Any] = {
            "addr": self.host,
            "secret": HTTP_SECRET,
            "headers": {INSTANCE_HEADER: [self.instance_id]},
        }
        if self.tls:
            cert, key = self.tls
            http_section["tls"] = {"certificate": str(cert), "key": str(key)}
        config: dict[str, Any] = {
            "version": "0.1",
            "log": {"level": self.log_level},
            "storage": {
                "filesystem": {"rootdirectory": str(self.storage_dir)},
                "delete": {"enabled": self.delete_enabled},
                "maintenance": {"uploadpurging": {"enabled": False}},
            },
            "http": http_section,
        }
        if self.auth == "htpasswd":
            config["auth"] = {
                "htpasswd": {"realm": "crossdock-test", "path": str(self.htpasswd_path)}
            }
        elif self.auth == "token":
            assert self.token_server is not None
            config["auth"] = {
                "token": {
                    "realm": self.token_server.realm,
                    "service": self.token_server.service,
                    "issuer": self.token_server.issuer,
                    "rootcertbundle": str(self.token_server.rootcertbundle),
                }
            }
        if self.notifications:
            config["notifications"] = {
                "endpoints": [_endpoint(i, e) for i, e in enumerate(self.notifications)]
            }
        return deep_merge(config, self.extra)

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> RegistryServer:
        """Write the config and start the registry; retry on a port collision.

        A restart after `stop()` keeps the storage and tries the previous port first,
        so clients holding the URL reconnect.
        Raises RegistryStartError with the log tail when it does not come up.
        """
        if self._process is not None:
            raise RuntimeError("registry already running")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.storage_dir.mkdir(exist_ok=True)
        if self.auth == "htpasswd":
            lines = [htpasswd_entry(u, p) for u, p in self.users.items()]
            self.htpasswd_path.write_text("\n".join(lines) + "\n")
        for attempt in range(_PORT_ATTEMPTS):
            log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
            if attempt or not self.port:
                self.port = free_port()
            self.config_path.write_text(yaml.safe_dump(self.config(), sort_keys=False))
            with self.log_path.open("ab") as log:
                self._process = subprocess.Popen(
                    [str(self.binary), "serve", str(self.config_path)],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            if self._wait_ready():
                return self
            self.stop()
            if "address already in use" not in self._log_tail(log_offset):
                break
        raise RegistryStartError(f"registry did not start:\n{self._log_tail(log_offset)}")

    def stop(self, timeout: float = 5.0) -> None:
        """Terminate the process (SIGTERM, then SIGKILL after `timeout`); idempotent."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def __enter__(self) -> RegistryServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _wait_ready(self) -> bool:
        """Poll `GET /v2/` until this instance answers; False if it exits or times out."""
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                return False
            if self._probe():
                return True
            time.sleep(_POLL_INTERVAL)
        return False

    def _probe(self) -> bool:
        """True if `GET /v2/` got 200 or 401 from this very instance."""
        conn: http.client.HTTPConnection
        if self.tls:
            # Readiness only: the certificate is checked by the tests themselves.
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            conn = http.client.HTTPSConnection(
                "127.0.0.1", self.port, timeout=_PROBE_TIMEOUT, context=context
            )
        else:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=_PROBE_TIMEOUT)
        try:
            conn.request("GET", "/v2/")
            resp = conn.getresponse()
            resp.read()
        except OSError:
            return False
        finally:
            conn.close()
        return resp.status in (200, 401) and resp.getheader(INSTANCE_HEADER) == self.instance_id

    def _log_tail(self, offset: int = 0, lines: int = 20) -> str:
        """The last `lines` lines written to the log after byte `offset`."""
        try:
            with self.log_path.open("rb") as fh:
                fh.seek(offset)
                text = fh.read().decode(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])
