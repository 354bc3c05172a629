"""How fast the web console's pages render with a large store (not a timed test).

The store (SQLite) holds 1,000 rules, 100 endpoints and 100,000 jobs, filled with
bulk inserts through SQLAlchemy Core on the store's tables. Each page is asked
`--requests` times by Flask's test client, signed in, after a few warm-up
requests; the figure is the server's time for the whole request (routing, session,
CSRF, store queries, templates), p50 and p95 per page. The goal: p95 under 150 ms.

Pages are every GET view of the console without URL arguments, and the record
pages of the endpoints and sources. Fragments that need a registry or RabbitMQ
(the endpoints' queue depths) are measured apart: they answer from a cache that
is refreshed in the background, so they are measured as the page sees them (with
the cache cold, RabbitMQ never asked). Run with:

    .venv/bin/python bench/console_pages.py [--requests 100]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask import Flask  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from receiver.app import create_app  # noqa: E402
from shared.logging import configure_logging  # noqa: E402
from shared.settings import Settings, load_settings  # noqa: E402
from shared.store import Store, generate_secret_key, open_store  # noqa: E402
from shared.store.schema import endpoints, executions, jobs, rules, sources  # noqa: E402

RULES = 1_000
ENDPOINTS = 100
JOBS = 100_000
SOURCES = 10
TOKEN = "bench-admin-token-0123456789abcdef"
GOAL_MS = 150.0
CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


def fill(store: Store) -> None:
    """The records, in a few bulk inserts."""
    now = datetime.now(UTC)
    engine = store._engine  # a benchmark fills the tables directly
    with engine.begin() as conn:
        conn.execute(insert(sources), [
            {"id": n, "name": f"source-{n}", "kind": "distribution",
             "url": f"http://127.0.0.1:{n}", "verify_tls": True,  # nothing listens
             "created_at": now, "updated_at": now} for n in range(1, SOURCES + 1)])
        conn.execute(insert(endpoints), [
            {"id": n, "name": f"endpoint-{n}", "kind": "registry",
             "url": f"https://endpoint-{n}.test", "username": "robot", "verify_tls": True,
             "created_at": now, "updated_at": now} for n in range(1, ENDPOINTS + 1)])
        conn.execute(insert(rules), [
            {"id": n, "name": f"rule-{n}", "description": "", "enabled": True,
             "source_id": n % SOURCES + 1, "project": f"project-{n % 200}",
             "endpoint_id": n % ENDPOINTS + 1, "repo_filters": [], "tag_filters": [],
             "created_at": now, "updated_at": now} for n in range(1, RULES + 1)])
        conn.execute(insert(executions), [
            {"id": n, "rule_id": n, "trigger": "initial", "status": "succeeded",
             "total": JOBS // RULES, "succeeded": JOBS // RULES, "started_at": now,
             "finished_at": now} for n in range(1, RULES + 1)])
        batch = []
        for n in range(1, JOBS + 1):
            rule = n % RULES + 1
            at = now - timedelta(seconds=JOBS - n)
            batch.append({
                "id": n, "execution_id": rule, "rule_id": rule,
                "endpoint_id": rule % ENDPOINTS + 1, "source_id": rule % SOURCES + 1,
                "repository": f"project-{rule % 200}/app-{n % 37}", "tag": f"v{n}",
                "digest": f"sha256:{n:064x}", "action": "replicate",
                "status": "failed" if n % 50 == 0 else "succeeded", "attempts": 1,
                "created_at": at, "updated_at": at, "started_at": at, "finished_at": at})
            if len(batch) == 10_000:
                conn.execute(insert(jobs), batch)
                batch = []
        if batch:
            conn.execute(insert(jobs), batch)


def signed_in(app: Flask) -> FlaskClient:
    client = app.test_client()
    page = client.get("/ui/sign-in")
    found = CSRF.search(page.text)
    assert found, "no sign-in form"
    answer = client.post("/ui/sign-in", data={"token": TOKEN, "csrf_token": found.group(1)})
    assert answer.status_code == 303, answer.status_code
    return client


def pages(app: Flask) -> list[str]:
    """Every console GET view without URL arguments, and the record pages."""
    found = sorted({rule.rule for rule in app.url_map.iter_rules()
                    if rule.rule.startswith("/ui/") and "GET" in (rule.methods or ())
                    and not rule.arguments and "static" not in rule.endpoint
                    and rule.endpoint not in ("console.auth.sign_in", "console.home",
                                              "console.endpoints.queues")})
    return [*found, "/ui/endpoints/endpoint-50/", "/ui/endpoints/endpoint-50/delete",
            "/ui/sources/source-5/", "/ui/sources/source-5/delete",
            "/ui/sources/source-5/regenerate",
            "/ui/projects/source-5/project-4/", "/ui/projects/source-5/project-4/rules/new",
            "/ui/projects/source-5/project-4/rules/rule-4/edit", "/ui/jobs/?rule=rule-4",
            "/ui/jobs/?status=failed", "/ui/jobs/5000/log"]


def measure(client: FlaskClient, path: str, count: int,
            headers: dict[str, str] | None = None) -> tuple[float, float, int]:
    """p50 and p95 in ms over `count` requests (after 5 warm-ups), and the status."""
    status = 0
    for _ in range(5):
        status = client.get(path, headers=headers).status_code
    times = []
    for _ in range(count):
        started = time.perf_counter()
        answer = client.get(path, headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        status = answer.status_code
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1], status


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100, help="requests per page")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="crossdock-bench-") as workdir:
        settings: Settings = load_settings(
            environ={"CROSSDOCK_DATABASE_URL": f"sqlite:///{Path(workdir) / 'bench.db'}",
                 "CROSSDOCK_SECRET_KEY": generate_secret_key(),
                 "CROSSDOCK_ADMIN_TOKEN": TOKEN, "CROSSDOCK_LOG_LEVEL": "warning",
                 "CROSSDOCK_AMQP_URL": "amqp://guest:guest@127.0.0.1:1/%2F"})
        configure_logging(settings)
        store = open_store(settings)
        started = time.perf_counter()
        fill(store)
        print(f"store filled in {time.perf_counter() - started:.1f} s: {RULES} rules, "
              f"{ENDPOINTS} endpoints, {SOURCES} sources, {JOBS} jobs")
        app = create_app(settings, store=store)
        client = signed_in(app)
        print(f"{'page':45} {'status':>6} {'p50 ms':>8} {'p95 ms':>8}")
        slow = []
        for path in pages(app):
            p50, p95, status = measure(client, path, args.requests)
            mark = "" if p95 < GOAL_MS else "  SLOW"
            print(f"{path:45} {status:>6} {p50:8.1f} {p95:8.1f}{mark}")
            if p95 >= GOAL_MS or status != 200:
                slow.append(path)
        print("\nfragments that need RabbitMQ (answered from the cache, measured apart):")
        p50, p95, status = measure(client, "/ui/endpoints/queues", args.requests,
                                   {"HX-Request": "true"})
        print(f"{'/ui/endpoints/queues (htmx)':45} {status:>6} {p50:8.1f} {p95:8.1f}")
        store.close()
    print("\nall pages under the goal" if not slow else f"\nover the goal or failing: {slow}")
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
