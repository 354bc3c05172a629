"""The store's configuration records: sources, endpoints, rules, and opening a store."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import pytest

from shared.errors import ConfigurationError
from shared.settings import Settings
from shared.store import (
    ConflictError,
    Credentials,
    EndpointKind,
    ExecutionTrigger,
    FilterDecision,
    JobAction,
    NewJob,
    RecordNotFoundError,
    RuleFilter,
    RuleRecord,
    Store,
    StoreUnavailableError,
    generate_secret_key,
    open_store,
)
from shared.store.engine import database_url, make_engine
from tests.store.helpers import FakeClock, RawQuery

# Secrets at rest -------------------------------------------------------------------


def test_endpoint_password_is_encrypted_at_rest(store: Store, raw_query: RawQuery) -> None:
    endpoint = store.create_endpoint(
        name="b", kind="registry", url="https://b.example.com", username="robot",
        password="endpoint-pa55word",
    )

    [(stored,)] = raw_query(f"SELECT password_enc FROM endpoints WHERE id = {endpoint.id}")

    assert stored and "endpoint-pa55word" not in stored
    assert store.endpoint_credentials(endpoint.id) == Credentials("robot", "endpoint-pa55word")


def test_source_password_and_webhook_secret_are_encrypted_at_rest(
    store: Store, raw_query: RawQuery
) -> None:
    source = store.create_source(
        name="a", kind="distribution", url="https://a.example.com", username="reader",
        password="source-pa55word", webhook_secret="hook-s3cret",
    )

    [row] = raw_query(
        f"SELECT password_enc, webhook_secret_enc FROM sources WHERE id = {source.id}"
    )

    assert "source-pa55word" not in row[0] and "hook-s3cret" not in row[1]
    assert store.source_credentials(source.id) == Credentials("reader", "source-pa55word")
    assert store.source_webhook_secret(source.id) == "hook-s3cret"


def test_records_say_whether_a_secret_is_set_but_never_carry_it(store: Store) -> None:
    with_password = store.create_endpoint(
        name="b", kind="harbor", url="https://b.example.com", username="robot", password="pw-1"
    )
    anonymous = store.create_endpoint(name="c", kind="registry", url="https://c.example.com")
    source = store.create_source(name="a", kind="harbor", url="https://a.example.com")

    assert with_password.has_password and not anonymous.has_password
    assert not source.has_password and not source.has_webhook_secret
    assert "pw-1" not in repr(with_password) and "pw-1" not in repr(store.list_endpoints())
    assert "pw-1" not in repr(store.endpoint_credentials(with_password.id))
    assert store.endpoint_credentials(anonymous.id) == Credentials(None, None)
    assert store.source_webhook_secret(source.id) is None


def test_a_store_with_another_key_is_refused_on_open(
    database_url: str, store: Store, clock: FakeClock
) -> None:
    store.create_endpoint(name="b", kind="registry", url="https://b.example.com", password="pw")

    # (tests/store/test_store_key_check.py has the rest)
    with pytest.raises(ConfigurationError, match="is not the key of the store"):
        open_store(database_url, generate_secret_key(), clock=clock)


def test_a_rotated_key_still_reads_secrets_written_with_the_old_one(
    database_url: str, secret_key: str, store: Store, clock: FakeClock
) -> None:
    endpoint = store.create_endpoint(
        name="b", kind="registry", url="https://b.example.com", password="pw"
    )
    rotated = f"{generate_secret_key()},{secret_key}"

    with open_store(database_url, rotated, clock=clock) as other:
        assert other.endpoint_credentials(endpoint.id).password == "pw"


# Names, lookups, updates -------------------------------------------------------------


def test_endpoint_names_are_unique(store: Store) -> None:
    store.create_endpoint(name="b", kind="registry", url="https://b.example.com")
    other = store.create_endpoint(name="c", kind="registry", url="https://c.example.com")

    with pytest.raises(ConflictError, match=r"^an endpoint named 'b' already exists$"):
        store.create_endpoint(name="b", kind="harbor", url="https://elsewhere.example.com")
    with pytest.raises(ConflictError, match=r"^an endpoint named 'b' already exists$"):
        store.update_endpoint(other.id, name="b")
    assert [e.name for e in store.list_endpoints()] == ["b", "c"]


def test_source_and_rule_names_are_unique(store: Store, rule: RuleRecord) -> None:
    with pytest.raises(ConflictError, match=r"^a source named 'harbor-a' already exists$"):
        store.create_source(name="harbor-a", kind="harbor", url="https://x.example.com")
    with pytest.raises(ConflictError, match="'team-to-b' already exists"):
        store.create_rule(name="team-to-b", source_id=rule.source_id, project="other",
                          endpoint_id=rule.endpoint_id)


def test_records_are_found_by_id_and_by_name(store: Store, rule: RuleRecord) -> None:
    assert store.get_rule_by_name("team-to-b") == store.get_rule(rule.id) == rule
    source = store.get_source_by_name("harbor-a")
    assert store.get_source(source.id) == source
    endpoint = store.get_endpoint_by_name("mirror-b")
    assert store.get_endpoint(endpoint.id) == endpoint
    assert endpoint.kind is EndpointKind.REGISTRY


def test_unknown_ids_and_names_are_not_found(store: Store) -> None:
    with pytest.raises(RecordNotFoundError, match="endpoint 42 not found"):
        store.get_endpoint(42)
    with pytest.raises(RecordNotFoundError, match="no source named 'nope'"):
        store.get_source_by_name("nope")
    with pytest.raises(RecordNotFoundError):
        store.get_rule(42)
    with pytest.raises(RecordNotFoundError):
        store.update_endpoint(42, url="https://x.example.com")
    with pytest.raises(RecordNotFoundError):
        store.delete_rule(42)


def test_update_changes_only_the_given_fields(store: Store, clock: FakeClock) -> None:
    endpoint = store.create_endpoint(
        name="b", kind="registry", url="https://b.example.com", username="robot", password="pw"
    )
    clock.advance(60)

    updated = store.update_endpoint(endpoint.id, url="https://b2.example.com", verify_tls=False)

    assert updated.url == "https://b2.example.com" and not updated.verify_tls
    assert (updated.name, updated.username, updated.has_password) == ("b", "robot", True)
    assert updated.created_at == endpoint.created_at
    assert updated.updated_at == clock.now != endpoint.updated_at
    assert store.endpoint_credentials(endpoint.id).password == "pw"


def test_update_can_replace_or_remove_a_password(store: Store) -> None:
    endpoint = store.create_endpoint(
        name="b", kind="registry", url="https://b.example.com", password="old"
    )

    store.update_endpoint(endpoint.id, password="new")
    assert store.endpoint_credentials(endpoint.id).password == "new"

    assert not store.update_endpoint(endpoint.id, password=None).has_password
    assert store.endpoint_credentials(endpoint.id).password is None


def test_an_empty_update_returns_the_record_unchanged(store: Store, rule: RuleRecord) -> None:
    assert store.update_rule(rule.id) == rule


def test_timestamps_are_timezone_aware_utc(store: Store, clock: FakeClock) -> None:
    source = store.create_source(name="a", kind="harbor", url="https://a.example.com")

    assert source.created_at == clock.now
    assert source.created_at.utcoffset() is not None
    assert store.get_source(source.id).created_at == clock.now


# Rules ------------------------------------------------------------------------------


def test_a_rule_has_harbor_like_defaults(rule: RuleRecord) -> None:
    assert rule.enabled and rule.replicate_deletes and rule.override and rule.copy_referrers
    assert not rule.prune
    assert rule.dest_namespace is None and rule.schedule is None
    assert rule.repo_filters == () and rule.tag_filters == ()
    assert rule.description == ""


def test_rule_filters_round_trip(store: Store, rule: RuleRecord) -> None:
    updated = store.update_rule(
        rule.id,
        repo_filters=[{"pattern": "team/**"}, RuleFilter("team/tmp-*", FilterDecision.EXCLUDES)],
        tag_filters=[{"pattern": "v{1,2}.*", "decision": "matches"}],
        dest_namespace="mirror",
        schedule="0 3 * * *",
    )

    assert store.get_rule(rule.id) == updated
    assert updated.repo_filters == (
        RuleFilter("team/**", FilterDecision.MATCHES),
        RuleFilter("team/tmp-*", FilterDecision.EXCLUDES),
    )
    assert updated.tag_filters == (RuleFilter("v{1,2}.*"),)
    assert (updated.dest_namespace, updated.schedule) == ("mirror", "0 3 * * *")


def test_a_filter_decision_must_be_matches_or_excludes(store: Store, rule: RuleRecord) -> None:
    with pytest.raises(ValueError):
        store.update_rule(rule.id, tag_filters=[{"pattern": "*", "decision": "maybe"}])


def test_a_rule_needs_an_existing_source_and_endpoint(store: Store, rule: RuleRecord) -> None:
    with pytest.raises(RecordNotFoundError, match="endpoint 99"):
        store.create_rule(name="x", source_id=rule.source_id, project="p", endpoint_id=99)
    with pytest.raises(RecordNotFoundError, match="source 99"):
        store.update_rule(rule.id, source_id=99)


def test_rules_are_listed_by_source_project_endpoint_and_state(
    store: Store, rule: RuleRecord
) -> None:
    other_project = store.create_rule(
        name="ops-to-b", source_id=rule.source_id, project="ops", endpoint_id=rule.endpoint_id
    )
    disabled = store.create_rule(
        name="team-to-b-off", source_id=rule.source_id, project="team",
        endpoint_id=rule.endpoint_id, enabled=False,
    )

    concerned = store.list_rules(source_id=rule.source_id, project="team", enabled=True)

    assert concerned == [rule]
    assert store.list_rules(enabled=False) == [disabled]
    assert [r.name for r in store.list_rules(endpoint_id=rule.endpoint_id)] == [
        other_project.name, rule.name, disabled.name,
    ]


# Deletion ----------------------------------------------------------------------------


def test_an_endpoint_used_by_a_rule_cannot_be_deleted(store: Store, rule: RuleRecord) -> None:
    with pytest.raises(ConflictError, match=r"used by rule\(s\) team-to-b"):
        store.delete_endpoint(rule.endpoint_id)
    assert store.get_endpoint(rule.endpoint_id)

    store.delete_rule(rule.id)
    store.delete_endpoint(rule.endpoint_id)

    with pytest.raises(RecordNotFoundError):
        store.get_endpoint(rule.endpoint_id)


def test_a_source_used_by_a_rule_cannot_be_deleted(store: Store, rule: RuleRecord) -> None:
    with pytest.raises(ConflictError, match="used by rule"):
        store.delete_source(rule.source_id)

    store.delete_rule(rule.id)
    store.delete_source(rule.source_id)
    assert store.list_sources() == []


def test_deleting_a_rule_deletes_its_executions_jobs_and_logs(
    store: Store, rule: RuleRecord, raw_query: RawQuery
) -> None:
    execution = store.create_execution(rule.id, ExecutionTrigger.MANUAL)
    [job] = store.create_jobs([NewJob(
        rule_id=rule.id, endpoint_id=rule.endpoint_id, source_id=rule.source_id,
        repository="team/app", tag="v1", action=JobAction.REPLICATE, execution_id=execution.id,
    )])
    store.append_log(job.id, "info", "copied")

    store.delete_rule(rule.id)

    assert store.list_executions() == [] and store.list_jobs() == []
    assert raw_query("SELECT count(*) FROM job_logs") == [(0,)]
    with pytest.raises(RecordNotFoundError):
        store.mark_running(job.id)  # a queued message for it is dropped


# Opening a store -----------------------------------------------------------------------


def test_opening_a_store_again_keeps_the_data(
    database_url: str, secret_key: str, store: Store, open_stores: Callable[[], Store]
) -> None:
    store.create_source(name="a", kind="harbor", url="https://a.example.com")

    again = open_stores()  # create_all finds the tables and changes nothing

    assert [s.name for s in again.list_sources()] == ["a"]


def test_open_store_reads_url_and_key_from_settings(
    database_url: str, secret_key: str
) -> None:
    settings = Settings(database_url=database_url, secret_key=secret_key)

    with open_store(settings) as store:
        store.ping()


def test_ping_answers_when_the_database_is_up(store: Store) -> None:
    store.ping()


def test_an_unreachable_postgresql_is_a_transient_error(secret_key: str) -> None:
    with pytest.raises(StoreUnavailableError, match="database unavailable"):
        open_store("postgresql://postgres@127.0.0.1:1/nothing", secret_key)


def test_postgresql_urls_use_the_psycopg3_driver() -> None:
    assert database_url("postgresql://u@db/crossdock").drivername == "postgresql+psycopg"
    assert database_url("postgres://u@db/crossdock").drivername == "postgresql+psycopg"
    assert database_url("postgresql+psycopg://u@db/x").drivername == "postgresql+psycopg"
    assert database_url("sqlite:///crossdock.db").drivername == "sqlite"


@pytest.mark.parametrize("url", ["mysql://u@db/crossdock", "not a url"])
def test_other_databases_are_a_configuration_error(url: str, secret_key: str) -> None:
    with pytest.raises(ConfigurationError, match="database_url"):
        open_store(url, secret_key)


def test_sqlite_connections_use_wal_a_busy_timeout_and_foreign_keys(tmp_path: object) -> None:
    path = f"{tmp_path}/pragmas.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            pragma = {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                      for name in ("journal_mode", "busy_timeout", "foreign_keys")}
    finally:
        engine.dispose()

    assert pragma == {"journal_mode": "wal", "busy_timeout": 10_000, "foreign_keys": 1}
    with sqlite3.connect(path) as raw:  # WAL is a property of the file: every process sees it
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
