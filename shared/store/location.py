"""Where the store is: ``database_url`` resolved to one place, whatever the working
directory.

Left empty, ``database_url`` means a SQLite file in crossdock's data directory,
``$XDG_DATA_HOME/crossdock/crossdock.db`` (``~/.local/share/crossdock/crossdock.db``
without XDG_DATA_HOME). A relative SQLite path is taken from the working directory
and shown absolute.

Only the receiver creates a new SQLite file. Another process that finds none is
looking in the wrong place (another directory, user or URL) and says so, instead of
waiting forever on an empty store of its own. A ``crossdock.db`` in the working
directory, left by a crossdock whose default was relative to it, is never passed
over in silence.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import structlog
from sqlalchemy.engine import make_url

from shared.errors import ConfigurationError
from shared.store.engine import database_url

FILE_NAME = "crossdock.db"
"""The default store's file name; also the file the old relative default made."""

log = structlog.get_logger(__name__)


class StoreNotFoundError(ConfigurationError):
    """The SQLite file is not there, and this process may not create it."""


class LegacyStoreError(ConfigurationError):
    """A store made by the old default (``./crossdock.db``) would be left behind."""


@dataclass(frozen=True)
class StoreLocation:
    """A resolved ``database_url``."""

    url: str  # what the engine opens (a SQLite path made absolute)
    path: Path | None  # the SQLite file, absolute; None for PostgreSQL and in-memory
    default: bool  # database_url was left empty
    shown: str  # for logs and messages: the file, or the URL without its password


def data_directory(environ: Mapping[str, str]) -> Path:
    """crossdock's data directory: ``$XDG_DATA_HOME/crossdock``, else
    ``~/.local/share/crossdock`` (a relative XDG_DATA_HOME is ignored, as the XDG
    specification says)."""
    xdg = environ.get("XDG_DATA_HOME", "")
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "crossdock"
    home = environ.get("HOME") or str(Path.home())
    return Path(home) / ".local" / "share" / "crossdock"


def locate_store(
    raw_url: str,
    *,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> StoreLocation:
    """Resolve a ``database_url`` (empty: the default) against the environment and the
    working directory (this process's when not given). Touches no file.

    Raises `ConfigurationError` for an unparsable URL or another database.
    """
    if not raw_url.strip():
        path = data_directory(os.environ if environ is None else environ) / FILE_NAME
        return StoreLocation(f"sqlite:///{path}", path, True, str(path))
    url = database_url(raw_url)
    if url.get_backend_name() != "sqlite":
        shown = make_url(raw_url).render_as_string(hide_password=True)  # as given
        return StoreLocation(raw_url, None, False, shown)
    name = url.database or ""
    if name in ("", ":memory:") or name.startswith("file:") or url.query.get("uri"):
        return StoreLocation(raw_url, None, False, raw_url)  # in memory, or a SQLite URI
    path = Path(os.path.abspath((cwd or Path.cwd()) / name))
    absolute = url.set(database=str(path)).render_as_string(hide_password=False)
    return StoreLocation(absolute, path, False, str(path))


def prepare_location(location: StoreLocation, *, may_create: bool,
                     cwd: Path | None = None) -> None:
    """Check that the process may use this location before anything connects (a SQLite
    connection creates a missing file), and make the default's directory for the
    process that may create the store.

    Raises `LegacyStoreError` when the default store does not exist yet but the working
    directory holds an old one, `StoreNotFoundError` when the SQLite file is missing and
    ``may_create`` is False, `ConfigurationError` when its directory can't be made.
    """
    path = location.path
    if path is None:
        return
    legacy = Path(os.path.abspath((cwd or Path.cwd()) / FILE_NAME))
    if location.default and legacy != path and legacy.is_file():
        if not path.exists():
            raise LegacyStoreError(legacy_store_message(legacy, path))
        log.warning("store.legacy_file_ignored", location=str(path), ignored=str(legacy))
    if path.exists():
        return
    if not may_create:
        raise StoreNotFoundError(missing_store_message(location))
    if location.default:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigurationError(
                f"cannot create the store's directory {path.parent}: {exc.strerror}; set "
                "CROSSDOCK_DATABASE_URL to a place this user may write"
            ) from None


def missing_store_message(location: StoreLocation) -> str:
    """Why a process other than the receiver will not start on a missing SQLite file."""
    return (
        f"no crossdock store at {location.shown}: only `crossdock receiver` creates a new "
        "one. Start the receiver first with the same settings, or set CROSSDOCK_DATABASE_URL "
        "to the receiver's store: every crossdock process must use the same one"
    )


def legacy_store_message(legacy: Path, default: Path) -> str:
    """What to do with a store made where the old default put it (``./crossdock.db``)."""
    files = [str(legacy)] + [f"{legacy}{suffix}" for suffix in ("-wal", "-shm")
                             if Path(f"{legacy}{suffix}").exists()]
    move = (f"mkdir -p {shlex.quote(str(default.parent))} && mv "
            f"{' '.join(shlex.quote(name) for name in files)} {shlex.quote(str(default.parent))}/")
    return (
        f"found {legacy}, a store made where crossdock used to keep it by default (the "
        f"working directory); the default store is now {default}, which does not exist yet. "
        f"To keep using the old one, set CROSSDOCK_DATABASE_URL=sqlite:///{legacy} for every "
        f"crossdock process, or stop them all and move it: {move}"
    )
