"""Schema migrations: a database from before Alembic, an empty one, and an up-to-date
one all end at this crossdock's schema, on SQLite and PostgreSQL.

Each test gets databases of its own (`new_database`): on PostgreSQL a database
created for the test and dropped after it, since these tests start from nothing.
"""

from __future__ import annotations

import os
import re
import secrets
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner, Result
from sqlalchemy import Engine, insert, inspect, text

import cli.main
from shared.store import (
    EndpointRecord,
    ExecutionStatus,
    JobStatus,
    NewJob,
    QueueDelays,
    RuleRecord,
    SourceRecord,
    StoreError,
    StoreUnavailableError,
    current_revision,
    generate_secret_key,
    head_revision,
    open_store,
    upgrade_schema,
)
from shared.store.engine import SCHEMA_LOCK_ID, make_engine
from shared.store.migrate import BASELINE, alembic_config
from shared.store.schema import metadata
from tests.store import legacy_schema
from tests.store.conftest import POSTGRES_URL

NewDatabase = Callable[[], str]
CROSSDOCK = str(Path(sys.executable).with_name("crossdock"))
WHEN = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
DIGEST = "sha256:" + "1" * 64


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def new_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[NewDatabase]:
    """Makes empty databases (URLs) for this test, dropped afterwards."""
    if request.param == "sqlite":
        count = iter(range(100))
        yield lambda: f"sqlite:///{tmp_path / f'db{next(count)}.sqlite'}"
        return
    psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed")
    try:
        admin = psycopg.connect(POSTGRES_URL, connect_timeout=2, autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES_URL} ({type(exc).__name__})")
    made: list[str] = []

    def make() -> str:
        name = f"crossdock_migrate_{secrets.token_hex(6)}"
        admin.execute(f'CREATE DATABASE "{name}"')
        made.append(name)
        return urlunsplit(urlsplit(POSTGRES_URL)._replace(path="/" + name))

    with admin:
        try:
            yield make
        finally:
            for name in made:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def engines() -> Iterator[Callable[[str], Engine]]:
    """Engines made like the store's, disposed of afterwards."""
    made: list[Engine] = []

    def make(url: str) -> Engine:
        made.append(make_engine(url))
        return made[-1]

    yield make
    for engine in made:
        engine.dispose()


def make_legacy_database(engine: Engine) -> dict[str, int]:
    """A database as crossdock made it before migrations, with a row in each table
    that matters; returns the ids."""
    legacy_schema.metadata.create_all(engine)
    stamp = {"created_at": WHEN, "updated_at": WHEN}
    with engine.begin() as conn:
        def add(table: Any, **values: Any) -> int:
            key = conn.execute(insert(table).values(**values)).inserted_primary_key
            assert key is not None
            return int(key[0])

        source = add(legacy_schema.sources, name="harbor-a", kind="harbor",
                     url="https://a.example.com", **stamp)
        endpoint = add(legacy_schema.endpoints, name="mirror-b", kind="registry",
                       url="https://b.example.com", **stamp)
        rule = add(legacy_schema.rules, name="team-to-b", source_id=source, project="team",
                   endpoint_id=endpoint, repo_filters=[{"pattern": "team/**",
                                                        "decision": "matches"}],
                   tag_filters=[], **stamp)
        execution = add(legacy_schema.executions, rule_id=rule, trigger="manual",
                        status="running", total=1, started_at=WHEN)
        job = add(legacy_schema.jobs, execution_id=execution, rule_id=rule,
                  endpoint_id=endpoint, source_id=source, repository="team/app", tag="v1",
                  digest=DIGEST, action="replicate", status="running", attempts=1,
                  started_at=WHEN, **stamp)
        add(legacy_schema.job_logs, job_id=job, at=WHEN, level="info", message="copying")
        add(legacy_schema.writes, registry="b.example.com", repository="team/app", tag="v1",
            digest=DIGEST, origin="a.example.com", at=WHEN)
        conn.execute(insert(legacy_schema.leases).values(
            key="scheduler", holder="old", acquired_at=WHEN, expires_at=WHEN))
    return {"source": source, "endpoint": endpoint, "rule": rule, "execution": execution,
            "job": job}


def assert_upgraded_with_data_kept(url: str, ids: dict[str, int]) -> None:
    """The legacy database's rows are there, and the new tables and columns work."""
    with open_store(url, generate_secret_key()) as store:
        assert store.get_source(ids["source"]).name == "harbor-a"
        rule = store.get_rule(ids["rule"])
        assert (rule.name, rule.project, rule.repo_filters[0].pattern) == (
            "team-to-b", "team", "team/**")
        job = store.get_job(ids["job"])
        assert (job.tag, job.digest, job.status, job.attempts, job.plan) == (
            "v1", DIGEST, JobStatus.RUNNING, 1, None)
        assert [line.message for line in store.job_log(job.id)] == ["copying"]
        assert store.get_execution(ids["execution"]).total == 1

        store.set_job_plan(job.id, {"digest": DIGEST})
        assert store.get_job(job.id).plan == {"digest": DIGEST}
        link = store.create_link(source_id=ids["source"], endpoint_id=ids["endpoint"])
        assert store.link_for_source(ids["source"]) == link
        store.record_inventory(rule.id, "team/app", "v1", "team/app", DIGEST)
        assert len(store.list_inventory(rule.id)) == 1
        assert store.newer_job(job) is None
        assert store.find_pair(rule.id) is None
        assert current_revision(store._engine) == head_revision()
        tables = set(inspect(store._engine).get_table_names())
    assert "writes" not in tables
    assert {"registry_links", "pair_preferences", "sync_bases", "inventory"} <= tables


# The schema ------------------------------------------------------------------------------


def store_at(engine: Engine, url: str, key: str, revision: str
             ) -> tuple[SourceRecord, EndpointRecord, RuleRecord]:
    """Bring a new database to `revision`, with one source, endpoint and rule in it
    (through a store that leaves the schema alone: the tables it touches are the same
    at that revision)."""
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), revision)
    with open_store(url, key, create_tables=False) as old:
        source = old.create_source(name="s", kind="distribution", url="http://s.example")
        endpoint = old.create_endpoint(name="e", kind="registry", url="http://e.example")
        rule = old.create_rule(name="r", source_id=source.id, endpoint_id=endpoint.id,
                               project="lib")
    return source, endpoint, rule


def describe(engine: Engine) -> dict[str, Any]:
    """Every table as the database reports it: columns, keys, indexes, constraint names."""
    inspector = inspect(engine)
    tables: dict[str, Any] = {}
    for table in sorted(inspector.get_table_names()):
        if table == "alembic_version":
            continue
        tables[table] = {
            "columns": [(c["name"], str(c["type"]), c["nullable"], c.get("default"))
                        for c in inspector.get_columns(table)],
            "primary key": inspector.get_pk_constraint(table),
            "foreign keys": sorted(
                (fk["name"], fk["constrained_columns"], fk["referred_table"],
                 fk["referred_columns"], fk.get("options", {}).get("ondelete"))
                for fk in inspector.get_foreign_keys(table)
            ),
            "indexes": sorted((ix["name"], ix["column_names"], bool(ix["unique"]))
                              for ix in inspector.get_indexes(table)),
            "unique": sorted((uq["name"], uq["column_names"])
                             for uq in inspector.get_unique_constraints(table)),
            "checks": sorted((ck["name"], re.sub(r"\s+", " ", ck["sqltext"]))
                             for ck in inspector.get_check_constraints(table)),
        }
    return tables


def test_the_revisions_build_exactly_the_schema_module(
    new_database: NewDatabase, engines: Callable[[str], Engine]
) -> None:
    migrated, created = engines(new_database()), engines(new_database())

    assert upgrade_schema(migrated) == (None, head_revision())
    metadata.create_all(created)

    # Alembic's own comparison (tables, columns, types, nullability, indexes, unique
    # and foreign keys) finds nothing to change ...
    with migrated.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
    # ... and what the database reports, constraint names and CHECKs included, is
    # what ``create_all`` makes from the schema module.
    assert describe(migrated) == describe(created)


def test_the_baseline_is_the_schema_before_migrations(
    new_database: NewDatabase, engines: Callable[[str], Engine]
) -> None:
    migrated, legacy = engines(new_database()), engines(new_database())
    with migrated.begin() as conn:
        command.upgrade(alembic_config(conn), BASELINE)
    legacy_schema.metadata.create_all(legacy)

    assert describe(migrated) == describe(legacy)


def test_the_revisions_downgrade_and_upgrade_again(
    new_database: NewDatabase, engines: Callable[[str], Engine]
) -> None:
    engine = engines(new_database())
    upgrade_schema(engine)
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), BASELINE)
    assert current_revision(engine) == BASELINE
    assert "writes" in inspect(engine).get_table_names()
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}

    assert upgrade_schema(engine) == (None, head_revision())


# Upgrading in place ----------------------------------------------------------------------


def test_open_store_upgrades_a_database_made_before_migrations(
    new_database: NewDatabase, engines: Callable[[str], Engine]
) -> None:
    url = new_database()
    ids = make_legacy_database(engines(url))

    assert_upgraded_with_data_kept(url, ids)


def test_crossdock_db_upgrade_upgrades_it_too(
    new_database: NewDatabase, engines: Callable[[str], Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = new_database()
    ids = make_legacy_database(engines(url))
    monkeypatch.setattr(cli.main, "configure_logging", lambda settings: None)  # this process's
    env = {"CROSSDOCK_CONFIG": None, "CROSSDOCK_DATABASE_URL": url}

    def crossdock(*args: str) -> Result:
        return CliRunner().invoke(cli.main.cli, list(args), env=env, prog_name="crossdock",
                                  catch_exceptions=False)

    before = crossdock("db", "current")
    upgraded = crossdock("db", "upgrade")
    again = crossdock("db", "upgrade")
    after = crossdock("db", "current")

    # (The store's own log lines come first here: structlog is not configured.)
    assert before.exit_code == upgraded.exit_code == again.exit_code == after.exit_code == 0
    assert before.stdout.splitlines()[-1] == "none"
    assert upgraded.stdout.splitlines()[-1] == (
        f"database schema upgraded from revision none to {head_revision()}")
    assert again.stdout.splitlines()[-1] == (
        f"database schema already at revision {head_revision()}")
    assert after.stdout.splitlines()[-1] == head_revision()
    assert_upgraded_with_data_kept(url, ids)


def test_crossdock_db_fails_in_one_line_when_the_database_is_unreachable() -> None:
    # The real console script: its logging and error handling as an operator meets them.
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("CROSSDOCK_")}
    env["CROSSDOCK_DATABASE_URL"] = "postgresql://postgres@127.0.0.1:1/nothing"

    result = subprocess.run([CROSSDOCK, "db", "upgrade"], env=env, capture_output=True,
                            text=True, timeout=60, check=False)

    # (after the start-up line naming the store)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    [start, error] = result.stderr.strip().splitlines()
    assert '"location": "postgresql://postgres@127.0.0.1:1/nothing"' in start
    assert error.startswith("crossdock: error: database unavailable")


def test_stores_opened_at_once_on_a_new_database_all_succeed(new_database: NewDatabase) -> None:
    url, key = new_database(), generate_secret_key()  # one store, one key
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def open_one() -> None:
        try:
            start.wait()
            open_store(url, key).close()
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    with open_store(url, key) as store:
        assert current_revision(store._engine) == head_revision()
        assert store.list_rules() == []


def test_an_up_to_date_database_is_only_read(
    new_database: NewDatabase, engines: Callable[[str], Engine]
) -> None:
    # Given an up-to-date store (its key check recorded too),
    url, key = new_database(), generate_secret_key()
    open_store(url, key).close()

    # and another process holding the schema lock (PostgreSQL) or the write lock (SQLite),
    if url.startswith("sqlite"):
        holder: Any = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
    else:
        import psycopg

        holder = psycopg.connect(url, autocommit=True)
        holder.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK_ID,))
    try:
        # a store still opens at once: an up-to-date schema takes no lock.
        with open_store(url, key) as store:
            store.ping()
        assert upgrade_schema(engines(url)) == (head_revision(), head_revision())
    finally:
        holder.close()


def test_a_database_from_a_newer_crossdock_is_refused(
    new_database: NewDatabase, engines: Callable[[str], Engine]
) -> None:
    url = new_database()
    engine = engines(url)
    upgrade_schema(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))

    with pytest.raises(StoreError, match="revision 9999"):
        open_store(url, generate_secret_key())
    assert current_revision(engine) == "9999"  # still told, for `crossdock db current`


def test_a_database_with_only_some_old_tables_is_refused(
    new_database: NewDatabase, engines: Callable[[str], Engine]
) -> None:
    url = new_database()
    engine = engines(url)
    legacy_schema.sources.create(engine)

    with pytest.raises(StoreError, match="cannot be upgraded"):
        open_store(url, generate_secret_key())


def test_an_unreachable_database_is_unavailable() -> None:
    with pytest.raises(StoreUnavailableError):
        open_store("postgresql://postgres@127.0.0.1:1/nothing", generate_secret_key())


def test_a_store_at_0002_gets_queued_at_in_place(
    new_database: NewDatabase, engines: Callable[[str], Engine]
) -> None:
    # Given a store at revision 0002 with a job waiting in the queue,
    url = new_database()
    engine = engines(url)
    key = generate_secret_key()
    source, endpoint, rule = store_at(engine, url, key, "0002")
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO jobs (rule_id, endpoint_id, source_id, repository, tag, action,"
            " status, attempts, created_at, updated_at) VALUES (:r, :e, :s, 'lib/app', 'v1',"
            " 'replicate', 'pending', 0, :t, :t)"),
            {"r": rule.id, "e": endpoint.id, "s": source.id, "t": WHEN})

    # when a crossdock with 0003 opens it,
    with open_store(url, key) as store:
        # then the job is kept and counted as queued (no sweeper flood after an upgrade),
        [job] = store.list_jobs()
        assert (job.repository, job.status, job.queued_at) == ("lib/app", "pending", WHEN)
        assert store.unqueued_jobs(datetime(2999, 1, 1, tzinfo=UTC)) == []
        # and new jobs are recorded unqueued, then marked.
        [new] = store.create_jobs([NewJob(rule_id=job.rule_id, endpoint_id=job.endpoint_id,
                                          source_id=job.source_id, repository="lib/app",
                                          tag="v2", action="replicate")])
        assert new.queued_at is None
        store.mark_queued([new.id])
        assert store.get_job(new.id).queued_at is not None
        assert current_revision(store._engine) == head_revision()


def test_a_store_at_0003_knows_the_default_queue_delays(
    new_database: NewDatabase, engines: Callable[[str], Engine]
) -> None:
    # Given a store made before crossdock recorded the delays of its queues,
    url = new_database()
    with engines(url).begin() as conn:
        command.upgrade(alembic_config(conn), "0004")

    # when a crossdock with 0005 opens it, then the default settings' delays are known
    with open_store(url, generate_secret_key()) as store:
        assert store.queue_delays() == QueueDelays(retry=(30, 120, 300, 600), defer=(2,))


def test_a_store_at_0006_gets_its_execution_counters_counted(
    new_database: NewDatabase, engines: Callable[[str], Engine]
) -> None:
    # Given a store at revision 0006 with executions: one mid-sync (a sync job that
    # finished, images in every status, one job of another execution), one finished
    # with stale image counts, one whose jobs are not recorded yet,
    url = new_database()
    engine = engines(url)
    key = generate_secret_key()
    source, endpoint, rule = store_at(engine, url, key, "0006")
    outcomes = {
        "syncing": [("sync", "succeeded"), ("replicate", "pending"),
                    ("replicate", "running"), ("replicate", "retrying"),
                    ("replicate", "succeeded"), ("delete", "failed"), ("replicate", "skipped")],
        "done": [("sync", "failed"), ("replicate", "succeeded"), ("replicate", "failed")],
        "new": [],
    }
    stored = {"syncing": ("running", 3, 0, None), "done": ("partial", 5, 1, WHEN),
              "new": ("pending", 0, 0, None)}
    ids: dict[str, int] = {}
    with engine.begin() as conn:
        for name, (status, total, succeeded, finished_at) in stored.items():
            ids[name] = conn.execute(text(
                "INSERT INTO executions (rule_id, trigger, status, total, succeeded, failed,"
                " skipped, started_at, finished_at) VALUES (:r, 'initial', :status, :total,"
                " :succeeded, 0, 0, :t, :f) RETURNING id"),
                {"r": rule.id, "status": status, "total": total, "succeeded": succeeded,
                 "t": WHEN, "f": finished_at}).scalar_one()
        for name, jobs in outcomes.items():
            for number, (action, status) in enumerate(jobs):
                conn.execute(text(
                    "INSERT INTO jobs (execution_id, rule_id, endpoint_id, source_id,"
                    " repository, tag, action, status, attempts, created_at, updated_at)"
                    " VALUES (:x, :r, :e, :s, 'lib/app', :tag, :action, :status, 0, :t, :t)"),
                    {"x": ids[name], "r": rule.id, "e": endpoint.id, "s": source.id,
                     "tag": f"v{number}", "action": action, "status": status, "t": WHEN})

    # when a crossdock with 0007 opens it,
    with open_store(url, key) as store:
        assert current_revision(store._engine) == head_revision()
        # then every execution's counters are what counting its jobs gives,
        for name in outcomes:
            assert store.execution_counts(ids[name]) == store.recount_execution(ids[name])
        syncing = store.execution_counts(ids["syncing"])
        assert (syncing.total, syncing.succeeded, syncing.failed, syncing.skipped,
                syncing.jobs_total, syncing.jobs_unfinished, syncing.jobs_started,
                syncing.jobs_failed) == (6, 1, 1, 1, 7, 3, 6, 1)
        done = store.get_execution(ids["done"])
        assert (done.total, done.succeeded, done.failed, done.status, done.finished_at) == (
            2, 1, 1, ExecutionStatus.PARTIAL, WHEN)  # stale counts replaced, status kept
        new = store.get_execution(ids["new"])
        assert (new.status, new.total, new.finished_at) == (ExecutionStatus.PENDING, 0, None)

        # and transitions carry on from them.
        for job in store.list_jobs(execution_id=ids["syncing"], status="running"):
            store.mark_finished(job.id, "failed", "x")
        for job in store.list_jobs(execution_id=ids["syncing"]):
            if not job.status.finished:
                store.mark_finished(job.id, "succeeded")
        after = store.get_execution(ids["syncing"])
        assert (after.status, after.total, after.succeeded, after.failed) == (
            ExecutionStatus.PARTIAL, 6, 3, 2)
        assert store.execution_counts(after.id) == store.recount_execution(after.id)
