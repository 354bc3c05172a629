"""Settings: one frozen object, loaded once per process, passed down explicitly.

Values come from an optional YAML file (``CROSSDOCK_CONFIG`` or ``--config``)
and are overridden by ``CROSSDOCK_<FIELD>`` environment variables. Unknown keys
and unparsable values are a `ConfigurationError` naming the key, never a
traceback deep inside the program.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from shared.amqp_urls import split_amqp_urls
from shared.errors import ConfigurationError

ENV_PREFIX = "CROSSDOCK_"
MiB = 1024 * 1024


@dataclass(frozen=True)
class Settings:
    """Every knob crossdock has. The README's configuration reference lists them."""

    # Logging
    log_level: str = "info"
    log_format: str = "auto"  # auto (JSON unless on a TTY), json, console

    # Copy engine
    blob_workers: int = 6  # blobs of one image copied in parallel
    image_workers: int = 4  # images copied in parallel by a project sync
    chunk_size: int = 32 * MiB  # larger blobs go through the chunked PATCH upload
    connect_timeout: float = 10.0
    read_timeout: float = 120.0
    copy_referrers: bool = True

    # Store
    # Empty: a SQLite file in crossdock's data directory, the same from any working
    # directory ($XDG_DATA_HOME/crossdock/crossdock.db, else
    # ~/.local/share/crossdock/crossdock.db; see `shared.store.location`).
    database_url: str = ""
    secret_key: str = ""  # Fernet key for passwords at rest
    # Seconds the receiver waits for the store (SQLite: a writer's turn and the busy
    # timeout together; PostgreSQL: connect, lock and statement timeouts), then 503:
    # within a registry's notification timeout (2 s is common). Consumers wait 10 s.
    store_wait_seconds: float = 1.5

    # Broker
    # One URL, or a comma-separated list of a cluster's nodes (tried in a random
    # order per process; a node that failed recently is tried last).
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/%2F"
    # Seconds for each node's TCP connect, TLS and AMQP handshake, so a hung node
    # fails fast and the next one is tried.
    amqp_connect_timeout: float = 1.0
    queue_prefix: str = "crossdock"
    queue_type: str = "quorum"  # quorum or classic
    retry_delays: tuple[int, ...] = (30, 120, 300, 600)  # seconds, one retry queue each
    max_attempts: int = 5
    consumer_concurrency: int = 4
    # Messages a consumer holds unacknowledged per endpoint, running or waiting for a
    # thread; 0: as many as consumer_concurrency (more left a message waiting behind a
    # long job in a busy consumer while another consumer idled).
    consumer_prefetch: int = 0
    consumer_metrics_port: int = 9102
    # A job whose event digest is at the source but not yet under its tag waits for
    # the registry to finish its write (DESIGN invariant 2): re-queued every
    # defer_seconds, and settled to whatever the source holds after settle_seconds.
    defer_seconds: int = 2
    settle_seconds: int = 60
    # Seconds a job's repository lease lasts unless renewed (every third of it). A
    # run that can't renew it for this long stops (the store is unreachable); a
    # killed consumer's job waits this long before its redelivery may run.
    lease_ttl: float = 60.0

    # Receiver
    receiver_bind: str = "127.0.0.1:8080"
    receiver_workers: int = 2
    receiver_threads: int = 8
    admin_token: str = ""
    max_body_bytes: int = 1 * MiB
    # Seconds a webhook (and an enable, run or retry call) may take, store and publish
    # confirm included; past it the answer is 503 with Retry-After, and no job is left.
    webhook_deadline_seconds: float = 2.0
    # Seconds /readyz may take: it publishes a probe to every RabbitMQ node and takes
    # a write turn on the store, and answers 503 for what did not answer in time.
    readyz_deadline_seconds: float = 1.0
    # A job still pending, never confirmed by RabbitMQ, this many seconds after it was
    # recorded (a receiver killed in between) is published again by the sweeper.
    republish_after_seconds: float = 120.0
    # The web console (/ui/ on the receiver's port) marks its session cookie Secure on
    # requests that came over https; true marks it Secure on every request, for a
    # receiver behind a proxy that serves it over https and talks plain http to it.
    behind_tls_proxy: bool = False
    # The RabbitMQ management console's base URL as a browser reaches it (e.g.
    # http://127.0.0.1:15672), for the web console's links to each queue; empty: none.
    rabbitmq_console_url: str = ""

    def replace(self, **changes: Any) -> Settings:
        """A copy with some fields changed (settings stay immutable)."""
        return dataclasses.replace(self, **changes)


# Settings that no longer do anything: accepted, ignored, and warned about.
DEPRECATED: dict[str, str] = {
    "echo_window_seconds": "crossdock's own writes are now known exactly by the token in "
                           "its User-Agent, not by a time window",
}

_CHOICES: dict[str, tuple[str, ...]] = {
    "log_format": ("auto", "json", "console"),
    "log_level": ("debug", "info", "warning", "error"),
    "queue_type": ("quorum", "classic"),
}


def load_settings(
    config_file: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Build `Settings` from the YAML file (if any) and the environment.

    Raises `ConfigurationError` for an unreadable file, an unknown key or a bad value.
    """
    env = os.environ if environ is None else environ
    path = config_file or env.get(ENV_PREFIX + "CONFIG") or None
    values: dict[str, Any] = {}
    if path:
        values.update(_read_yaml(Path(path)))
    hints = typing.get_type_hints(Settings)
    names = {f.name for f in dataclasses.fields(Settings)}
    for key, raw in env.items():
        if key.startswith(ENV_PREFIX) and key != ENV_PREFIX + "CONFIG":
            name = key[len(ENV_PREFIX) :].lower()
            if name in names:
                values[name] = raw
    for name in sorted(set(values) & set(DEPRECATED)):
        values.pop(name)
        _warn_deprecated(name)
    unknown = sorted(set(values) - names)
    if unknown:
        raise ConfigurationError(f"unknown setting(s): {', '.join(unknown)}")
    parsed = {name: _coerce(name, value, hints[name]) for name, value in values.items()}
    settings = Settings(**parsed)
    _validate(settings)
    return settings


def _warn_deprecated(name: str) -> None:
    # Logging may not be configured yet: one plain line on stderr.
    print(f"crossdock: setting {name} is deprecated and ignored: {DEPRECATED[name]}",
          file=sys.stderr)


def _read_yaml(path: Path) -> dict[str, Any]:
    import yaml  # here: a `crossdock` command without a config file doesn't load it

    try:
        data = yaml.safe_load(path.read_text()) or {}
    except OSError as exc:
        raise ConfigurationError(f"cannot read config file {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"config file {path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigurationError(f"config file {path} must hold a mapping of settings")
    return {str(k).lower(): v for k, v in data.items()}


def _coerce(name: str, value: Any, hint: Any) -> Any:
    """Turn a YAML value or an environment string into the field's type."""
    try:
        if hint is bool:
            return _to_bool(value)
        if hint is int:
            if isinstance(value, bool):
                raise ValueError(value)
            return int(value)
        if hint is float:
            return float(value)
        if typing.get_origin(hint) is tuple:
            (item_type, _ellipsis) = typing.get_args(hint)
            items = value.split(",") if isinstance(value, str) else list(value)
            return tuple(item_type(str(item).strip()) for item in items if str(item).strip())
        if hint is str or isinstance(hint, types.UnionType):
            return str(value)
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"setting {name}: cannot read {value!r} as {hint}") from exc
    raise ConfigurationError(f"setting {name}: unsupported type {hint}")


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(value)


def _validate(settings: Settings) -> None:
    for name, choices in _CHOICES.items():
        if getattr(settings, name) not in choices:
            raise ConfigurationError(f"setting {name} must be one of {', '.join(choices)}")
    positive = ("blob_workers", "image_workers", "chunk_size", "max_attempts",
                "defer_seconds", "settle_seconds", "consumer_concurrency", "receiver_workers",
                "receiver_threads", "max_body_bytes")
    for name in positive:
        if getattr(settings, name) < 1:
            raise ConfigurationError(f"setting {name} must be at least 1")
    if settings.consumer_prefetch < 0:
        raise ConfigurationError("setting consumer_prefetch must be 0 (as many "
                                 "as consumer_concurrency) or more")
    if settings.lease_ttl < 3:
        raise ConfigurationError("setting lease_ttl must be at least 3 seconds")
    for name in ("webhook_deadline_seconds", "republish_after_seconds",
                 "readyz_deadline_seconds"):
        if getattr(settings, name) <= 0:
            raise ConfigurationError(f"setting {name} must be more than 0 seconds")
    if settings.store_wait_seconds <= 0:
        raise ConfigurationError("setting store_wait_seconds must be more than 0 seconds")
    if settings.amqp_connect_timeout <= 0:
        raise ConfigurationError("setting amqp_connect_timeout must be more than 0 seconds")
    try:
        split_amqp_urls(settings.amqp_url)
    except ValueError as exc:
        raise ConfigurationError(f"setting amqp_url: {exc}") from None
    if any(delay < 1 for delay in settings.retry_delays):
        raise ConfigurationError("setting retry_delays: every delay must be at least 1 second")
    if settings.rabbitmq_console_url:
        problem = _console_url_problem(settings.rabbitmq_console_url)
        if problem:
            raise ConfigurationError(f"setting rabbitmq_console_url: {problem}")


def _console_url_problem(url: str) -> str | None:
    """Why `url` can't be the base of links to the RabbitMQ console, or None."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        return f"{url!r} is not a URL"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an http:// or https:// URL with a host, e.g. http://127.0.0.1:15672"
    if parts.username or parts.password:
        # Links are shown in pages: the console asks its own users to log in.
        return "must not hold a user name or password"
    if parts.query or parts.fragment:
        return "must be the console's base URL, without a query or #fragment"
    return None
