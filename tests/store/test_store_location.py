"""Where the store is: the default does not depend on the working directory, only the
receiver creates a new SQLite file, and an old ``./crossdock.db`` is never passed over."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from shared.errors import ConfigurationError
from shared.settings import Settings, load_settings
from shared.store import (
    LegacyStoreError,
    StoreNotFoundError,
    generate_secret_key,
    locate_store,
    open_store,
    prepare_location,
)


def test_the_default_is_in_the_data_directory_whatever_the_working_directory(
    tmp_path: Path,
) -> None:
    environ = {"HOME": "/home/ops", "XDG_DATA_HOME": str(tmp_path / "data")}

    here = locate_store("", environ=environ, cwd=tmp_path / "a")
    there = locate_store("", environ=environ, cwd=tmp_path / "b")

    assert here == there
    assert here.path == tmp_path / "data" / "crossdock" / "crossdock.db"
    assert here.url == f"sqlite:///{tmp_path}/data/crossdock/crossdock.db"
    assert here.default and here.shown == str(here.path)


@pytest.mark.parametrize("xdg", [None, "", "relative/data"])
def test_without_a_usable_xdg_data_home_it_is_under_the_home_directory(xdg: str | None) -> None:
    environ = {"HOME": "/home/ops"} if xdg is None else {"HOME": "/home/ops",
                                                         "XDG_DATA_HOME": xdg}

    location = locate_store("", environ=environ, cwd=Path("/srv"))

    assert location.path == Path("/home/ops/.local/share/crossdock/crossdock.db")


def test_the_settings_default_is_that_location() -> None:
    assert load_settings(environ={}).database_url == Settings().database_url == ""


def test_a_relative_sqlite_path_is_made_absolute_and_shown_so(tmp_path: Path) -> None:
    location = locate_store("sqlite:///stores/crossdock.db", cwd=tmp_path)

    assert location.path == tmp_path / "stores" / "crossdock.db"
    assert location.url == f"sqlite:///{tmp_path}/stores/crossdock.db"
    assert not location.default


def test_postgresql_is_shown_without_its_password() -> None:
    location = locate_store("postgresql://crossdock:s3cret@db.example:5432/crossdock")

    assert location.path is None
    assert location.url == "postgresql://crossdock:s3cret@db.example:5432/crossdock"
    assert location.shown == "postgresql://crossdock:***@db.example:5432/crossdock"


def test_in_memory_sqlite_has_no_file() -> None:
    assert locate_store("sqlite://").path is None


def test_only_the_receiver_creates_a_new_sqlite_file(tmp_path: Path) -> None:
    location = locate_store(f"sqlite:///{tmp_path / 'missing.db'}")

    with pytest.raises(StoreNotFoundError) as refused:
        open_store(location.url, generate_secret_key(), may_create=False)

    assert f"no crossdock store at {tmp_path / 'missing.db'}" in str(refused.value)
    assert "only `crossdock receiver` creates a new one" in str(refused.value)
    assert not (tmp_path / "missing.db").exists()  # refused before anything connected
    open_store(location.url, generate_secret_key(), may_create=True).close()
    assert (tmp_path / "missing.db").is_file()


def test_the_default_store_gets_its_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)

    with open_store(Settings(secret_key=generate_secret_key())) as store:
        assert store.location is not None
        assert store.location.path == tmp_path / "data" / "crossdock" / "crossdock.db"
    assert store.location.path.is_file()
    assert not (tmp_path / "crossdock.db").exists()


def test_a_default_directory_that_cannot_be_made_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    location = locate_store("", environ={"XDG_DATA_HOME": str(tmp_path / "file")})

    with pytest.raises(ConfigurationError, match="cannot create the store's directory"):
        prepare_location(location, may_create=True, cwd=tmp_path)


# An old ./crossdock.db ---------------------------------------------------------------


@pytest.fixture
def old_store(tmp_path: Path) -> Path:
    """A store made by the old default: crossdock.db in the working directory."""
    workdir = tmp_path / "work"
    workdir.mkdir()
    open_store(f"sqlite:///{workdir / 'crossdock.db'}", generate_secret_key()).close()
    return workdir / "crossdock.db"


def test_an_old_store_in_the_working_directory_is_refused_with_what_to_do(
    tmp_path: Path, old_store: Path
) -> None:
    location = locate_store("", environ={"XDG_DATA_HOME": str(tmp_path / "data")})

    for may_create in (True, False):
        with pytest.raises(LegacyStoreError) as refused:
            prepare_location(location, may_create=may_create, cwd=old_store.parent)
        message = str(refused.value)
        assert f"found {old_store}" in message
        assert f"set CROSSDOCK_DATABASE_URL=sqlite:///{old_store}" in message
        assert f"mv {old_store}" in message
    assert not (tmp_path / "data").exists()  # nothing made meanwhile


def test_the_move_it_proposes_makes_the_old_store_the_default(
    tmp_path: Path, old_store: Path
) -> None:
    environ = {"XDG_DATA_HOME": str(tmp_path / "data")}
    location = locate_store("", environ=environ)
    with pytest.raises(LegacyStoreError) as refused:
        prepare_location(location, may_create=False, cwd=old_store.parent)
    move = str(refused.value).split("move it: ", 1)[1]

    subprocess.run(["sh", "-c", move], check=True, timeout=60)

    prepare_location(location, may_create=False, cwd=old_store.parent)  # now accepted
    assert location.path is not None and location.path.is_file()
    assert not old_store.exists()
    assert shlex.split(move)[0] == "mkdir"


def test_an_old_store_beside_an_existing_default_is_only_warned_about(
    tmp_path: Path, old_store: Path
) -> None:
    location = locate_store("", environ={"XDG_DATA_HOME": str(tmp_path / "data")})
    prepare_location(location, may_create=True, cwd=tmp_path)  # made from elsewhere
    open_store(location.url, generate_secret_key()).close()

    with capture_logs() as logs:
        prepare_location(location, may_create=False, cwd=old_store.parent)

    assert [(line["event"], line["ignored"]) for line in logs] == [
        ("store.legacy_file_ignored", str(old_store))]


def test_an_explicit_url_is_not_compared_with_the_old_default(
    tmp_path: Path, old_store: Path
) -> None:
    location = locate_store(f"sqlite:///{tmp_path / 'new.db'}")

    prepare_location(location, may_create=True, cwd=old_store.parent)  # no error
