"""What the receiver, the consumer and the `db` commands check about the store on start,
before they do anything: its key, its location, and who may create it. Each one that
would otherwise leave jobs pending forever stops with a one-line message saying what
to do.

The commands run in this process (`CliRunner`); the receiver's server and the
consumer's service are stand-ins, so that only the start-up is exercised.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from structlog.testing import capture_logs

import cli.main
import consumers.service
import receiver.serve
from shared.settings import Settings
from shared.store import Store, generate_secret_key, head_revision, open_store

Invoke = Callable[..., Result]
UNREACHABLE_AMQP = "amqp://guest:guest@127.0.0.1:1/%2F"


class Started:
    """What the commands got as far as: the receiver's server, the consumer's service."""

    def __init__(self) -> None:
        self.served: list[Settings] = []
        self.consumed: list[Store] = []


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> Started:
    seen = Started()

    class StandInService:
        def __init__(self, settings: Settings, store: Store, endpoints: Any) -> None:
            seen.consumed.append(store)

        def run(self, *, metrics_port: int | None = None) -> None:
            return None

    monkeypatch.setattr(receiver.serve, "serve", seen.served.append)
    monkeypatch.setattr(consumers.service, "ConsumerService", StandInService)
    monkeypatch.setattr(cli.main, "configure_logging", lambda settings: None)  # this process's
    return seen


@pytest.fixture
def crossdock(tmp_path: Path, started: Started) -> Iterator[Invoke]:
    """Runs ``crossdock ARGS`` with the given CROSSDOCK_* variables (and no others from
    this environment), crossdock's data directory under tmp_path."""

    def invoke(*args: str, **variables: str) -> Result:
        env: dict[str, str | None] = {"CROSSDOCK_CONFIG": None,
                                      "CROSSDOCK_DATABASE_URL": None,
                                      "CROSSDOCK_AMQP_URL": UNREACHABLE_AMQP,
                                      "XDG_DATA_HOME": str(tmp_path / "data")}
        env.update({f"CROSSDOCK_{name.upper()}": value for name, value in variables.items()})
        return CliRunner().invoke(cli.main.cli, list(args), env=env, prog_name="crossdock",
                                  catch_exceptions=False)

    yield invoke
    for store in started.consumed:
        store.close()


def errors_of(result: Result) -> list[str]:
    return [line for line in result.output.splitlines() if line.startswith("crossdock: error:")]


COMMANDS = [("receiver",), ("consumer", "--metrics-port", "0"), ("db", "rotate-key")]


# The secret key ------------------------------------------------------------------------


@pytest.mark.parametrize("command", COMMANDS, ids=lambda words: " ".join(words[:2]))
def test_a_key_that_is_not_the_stores_stops_every_process_on_start(
    crossdock: Invoke, started: Started, tmp_path: Path, command: tuple[str, ...]
) -> None:
    # Given a store whose secrets were sealed with one key,
    url = f"sqlite:///{tmp_path / 'crossdock.db'}"
    with open_store(url, generate_secret_key()) as store:
        store.create_endpoint(name="mirror", kind="registry", url="https://m.example",
                              password="pw")

    # when a process starts with another key,
    result = crossdock(*command, database_url=url, secret_key=generate_secret_key())

    # then it stops at once, in one line that says what to do.
    assert result.exit_code == 2, result.output
    [error] = errors_of(result)
    assert error.startswith("crossdock: error: CROSSDOCK_SECRET_KEY is not the key of the "
                            f"store at {tmp_path / 'crossdock.db'}")
    assert "needs the same CROSSDOCK_SECRET_KEY" in error
    assert started.served == [] and started.consumed == []


def test_rotating_the_key_lets_every_process_drop_the_old_one(
    crossdock: Invoke, started: Started, tmp_path: Path
) -> None:
    url, old, new = f"sqlite:///{tmp_path / 'crossdock.db'}", generate_secret_key(), \
        generate_secret_key()
    with open_store(url, old) as store:
        store.create_source(name="main", kind="distribution", url="https://r.example",
                            webhook_secret="hook")
        store.create_endpoint(name="mirror", kind="registry", url="https://m.example",
                              password="pw")

    rotated = crossdock("db", "rotate-key", database_url=url, secret_key=f"{new},{old}")
    with_new = crossdock("receiver", database_url=url, secret_key=new)
    with_old = crossdock("consumer", "--metrics-port", "0", database_url=url, secret_key=old)

    assert rotated.exit_code == 0, rotated.output
    assert rotated.output.splitlines()[-1].startswith("2 stored secret(s) now encrypted with "
                                                      "the first key")
    assert with_new.exit_code == 0 and len(started.served) == 1, with_new.output
    assert with_old.exit_code == 2 and "is not the key of the store" in with_old.output
    with open_store(url, new) as store:
        [endpoint] = store.list_endpoints()
        assert store.endpoint_credentials(endpoint.id).password == "pw"


# Where the store is -------------------------------------------------------------------


def test_the_default_store_is_the_same_from_any_directory(
    crossdock: Invoke, started: Started, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = generate_secret_key()
    default = tmp_path / "data" / "crossdock" / "crossdock.db"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()

    # A receiver started in one directory and a consumer in another, both with the
    # default database_url,
    monkeypatch.chdir(tmp_path / "a")
    with capture_logs() as receiver_logs:
        served = crossdock("receiver", secret_key=key)
    monkeypatch.chdir(tmp_path / "b")
    with capture_logs() as consumer_logs:
        consumed = crossdock("consumer", "--metrics-port", "0", secret_key=key)

    # use one store, in the data directory, and each says where it is on start.
    assert served.exit_code == consumed.exit_code == 0, served.output + consumed.output
    assert default.is_file()
    [store] = started.consumed
    assert store.location is not None and store.location.path == default
    for logs in (receiver_logs, consumer_logs):
        [line] = [line for line in logs if line["event"] == "using the store"]
        assert line["location"] == str(default) and line["default"] is True
    assert not (tmp_path / "a" / "crossdock.db").exists()
    assert not (tmp_path / "b" / "crossdock.db").exists()


@pytest.mark.parametrize("command", [("consumer", "--metrics-port", "0"), ("db", "upgrade"),
                                     ("db", "current"), ("db", "rotate-key")],
                         ids=lambda words: " ".join(words[:2]))
def test_only_the_receiver_creates_a_new_sqlite_store(
    crossdock: Invoke, started: Started, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    command: tuple[str, ...],
) -> None:
    monkeypatch.setattr("cli.store.CREATION_WAIT_SECONDS", 0.0)
    missing = tmp_path / "elsewhere" / "crossdock.db"
    (tmp_path / "elsewhere").mkdir()

    result = crossdock(*command, database_url=f"sqlite:///{missing}",
                       secret_key=generate_secret_key())

    assert result.exit_code == 2, result.output
    [error] = errors_of(result)
    assert error.startswith(f"crossdock: error: no crossdock store at {missing}: only "
                            "`crossdock receiver` creates a new one")
    assert not missing.exists()
    assert started.consumed == []


def test_a_consumer_started_with_the_receiver_waits_for_its_store(tmp_path: Path) -> None:
    from cli.store import open_created_store

    settings = Settings(database_url=f"sqlite:///{tmp_path / 'crossdock.db'}",
                        secret_key=generate_secret_key())
    opened: list[Store] = []
    with capture_logs() as logs:
        consumer = threading.Thread(target=lambda: opened.append(
            open_created_store(settings, wait_seconds=120, poll_seconds=0.02)))
        consumer.start()
        deadline = time.monotonic() + 60
        while not any(line["event"] == "waiting for the receiver to create the store"
                      for line in logs):
            assert consumer.is_alive() and time.monotonic() < deadline, logs
            time.sleep(0.02)

        open_store(settings, may_create=True).close()  # the receiver starts
        consumer.join(60)

    [store] = opened
    assert store.location is not None and store.location.path == tmp_path / "crossdock.db"
    store.ping()
    store.close()


def test_an_old_store_in_the_working_directory_stops_every_process(
    crossdock: Invoke, started: Started, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a store made where the old default put it (the working directory),
    key = generate_secret_key()
    work = tmp_path / "work"
    work.mkdir()
    old = work / "crossdock.db"
    open_store(f"sqlite:///{old}", key).close()
    monkeypatch.chdir(work)

    # every process started there with the default database_url refuses to go on
    for command in [*COMMANDS, ("db", "current")]:
        result = crossdock(*command, secret_key=key)
        assert result.exit_code == 2, result.output
        [error] = errors_of(result)
        assert error.startswith(f"crossdock: error: found {old}, a store made where "
                                "crossdock used to keep it by default")
        assert f"set CROSSDOCK_DATABASE_URL=sqlite:///{old} for every crossdock process" \
            in error
    assert started.served == [] and started.consumed == []
    assert not (tmp_path / "data").exists()

    # and the advice works.
    kept = crossdock("db", "current", database_url=f"sqlite:///{old}")
    assert kept.exit_code == 0 and kept.output.splitlines()[-1] == head_revision()
