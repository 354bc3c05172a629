"""The secret key's check: a process whose key is not the store's is refused when it
opens the store, not job after job; any key of a rotation list is accepted."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text, update

from shared.errors import ConfigurationError
from shared.store import SecretBox, Store, generate_secret_key, open_store
from shared.store.engine import make_engine
from shared.store.migrate import alembic_config
from shared.store.schema import endpoints
from tests.store.helpers import FakeClock, RawQuery


def test_a_key_that_is_not_the_stores_is_refused_on_open(
    database_url: str, store: Store, clock: FakeClock
) -> None:
    # Given a store opened with one key (no secret stored yet),
    # when a process opens it with another key, it is refused at once, saying what to do.
    with pytest.raises(ConfigurationError) as refused:
        open_store(database_url, generate_secret_key(), clock=clock)

    message = str(refused.value)
    assert message.startswith("CROSSDOCK_SECRET_KEY is not the key of the store at ")
    assert "needs the same CROSSDOCK_SECRET_KEY" in message
    assert "list the new key first and the old one after it" in message


def test_the_check_is_stored_with_the_data(store: Store, raw_query: RawQuery) -> None:
    [(row_id, token)] = raw_query("SELECT id, token FROM key_check")

    assert row_id == 1 and token.startswith("gAAAAA")  # a Fernet token, not the key


@pytest.mark.parametrize("order", ["new,old", "old,new"])
def test_any_key_of_a_rotation_list_is_accepted(
    database_url: str, secret_key: str, store: Store, clock: FakeClock, order: str
) -> None:
    endpoint = store.create_endpoint(name="b", kind="registry", url="https://b.example",
                                     password="pw")
    keys = order.replace("old", secret_key).replace("new", generate_secret_key())

    with open_store(database_url, keys, clock=clock) as rotated:
        assert rotated.endpoint_credentials(endpoint.id).password == "pw"


def test_resealing_lets_the_old_key_go(
    database_url: str, secret_key: str, store: Store, clock: FakeClock
) -> None:
    # Given secrets stored under the old key,
    source = store.create_source(name="a", kind="distribution", url="https://a.example",
                                 password="src-pw", webhook_secret="hook")
    endpoint = store.create_endpoint(name="b", kind="registry", url="https://b.example",
                                     password="pw")
    store.create_endpoint(name="c", kind="registry", url="https://c.example")  # none
    new = generate_secret_key()

    # when they are sealed again with "new,old",
    with open_store(database_url, f"{new},{secret_key}", clock=clock) as rotating:
        assert rotating.reseal_secrets() == 3

    # then the new key alone opens the store and every secret, and the old one no longer.
    with open_store(database_url, new, clock=clock) as renewed:
        assert renewed.endpoint_credentials(endpoint.id).password == "pw"
        assert renewed.source_credentials(source.id).password == "src-pw"
        assert renewed.source_webhook_secret(source.id) == "hook"
    with pytest.raises(ConfigurationError, match="is not the key of the store"):
        open_store(database_url, secret_key, clock=clock)


def test_resealing_changes_nothing_when_a_secret_opens_with_no_key(
    store: Store, raw_query: RawQuery
) -> None:
    store.create_endpoint(name="b", kind="registry", url="https://b.example", password="pw")
    store.create_endpoint(name="c", kind="registry", url="https://c.example", password="x")
    foreign = SecretBox(generate_secret_key()).encrypt("x")  # sealed with no key of ours
    with store._engine.begin() as conn:
        conn.execute(update(endpoints).where(endpoints.c.name == "c")
                     .values(password_enc=foreign))
    before = raw_query("SELECT name, password_enc FROM endpoints ORDER BY name")

    with pytest.raises(ConfigurationError, match="secrets of endpoint 'c'"):
        store.reseal_secrets()

    assert raw_query("SELECT name, password_enc FROM endpoints ORDER BY name") == before


# A store from before the check -----------------------------------------------------------


@pytest.fixture
def store_at_0003(tmp_path: Path) -> Callable[[str], str]:
    """Makes a SQLite store at revision 0003 (no key check) holding an endpoint password
    sealed with the given key; returns its URL."""

    def make(key: str) -> str:
        url = f"sqlite:///{tmp_path / 'old.db'}"
        engine = make_engine(url)
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "0003")
        engine.dispose()
        with open_store(url, key, create_tables=False) as old:  # as crossdock 0003 did
            old.create_endpoint(name="b", kind="registry", url="https://b.example",
                                password="pw")
        return url

    return make


def test_an_upgraded_store_is_claimed_only_by_the_key_of_its_secrets(
    store_at_0003: Callable[[str], str],
) -> None:
    key = generate_secret_key()
    url = store_at_0003(key)

    # A process with another key, the first to open the upgraded store, is refused
    # (and records nothing),
    with pytest.raises(ConfigurationError) as refused:
        open_store(url, generate_secret_key())
    assert "does not open the secrets already in the store" in str(refused.value)
    assert "endpoint 'b'" in str(refused.value)
    engine = make_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM key_check")).scalar_one() == 0
    engine.dispose()

    # the store's own key is accepted and recorded, and from then on the check decides.
    with open_store(url, key) as store:
        [endpoint] = store.list_endpoints()
        assert store.endpoint_credentials(endpoint.id).password == "pw"
    with pytest.raises(ConfigurationError, match="is not the key of the store"):
        open_store(url, generate_secret_key())
