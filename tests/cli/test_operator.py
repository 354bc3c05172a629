"""The operator commands against a live receiver: `crossdock endpoints|sources|rules|
jobs|executions ...` as an operator types them, in-process (`operator`) and through
the real console script (`console`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from cli.api_client import error_message
from cli.tables import details, duration, mark, table, truncate, when
from shared.store import JobAction, JobStatus, NewJob, RuleRecord
from tests.cli.conftest import ADMIN_TOKEN, Console, LiveApi, Operator
from tests.support.registry_server import RegistryServer, free_port

LONG_ERROR = "PUT manifest lib/app:v1 refused: " + "the registry said no " * 20 + "(the end)"


def seed_rule(live_api: LiveApi, *, enabled: bool = False) -> RuleRecord:
    """Endpoint `mirror`, source `origin` and rule `lib-to-mirror`, straight in the store."""
    store = live_api.store
    endpoint = store.create_endpoint(name="mirror", kind="registry", url="http://mirror.test")
    source = store.create_source(name="origin", kind="distribution", url="http://origin.test",
                                 webhook_secret="s" * 32)
    return store.create_rule(name="lib-to-mirror", source_id=source.id,
                             endpoint_id=endpoint.id, project="lib", enabled=enabled)


def failed_job(live_api: LiveApi, rule: RuleRecord, error: str = LONG_ERROR) -> int:
    (job,) = live_api.store.create_jobs([NewJob(
        rule_id=rule.id, endpoint_id=rule.endpoint_id, source_id=rule.source_id,
        repository="lib/app", tag="v1", action=JobAction.REPLICATE)])
    live_api.store.mark_finished(job.id, JobStatus.FAILED, error)
    live_api.store.append_log(job.id, "error", error)
    return job.id


def one_error_line(stderr: str) -> str:
    """The single ``crossdock: error: ...`` line a failure prints (never a traceback)."""
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    assert lines[0].startswith("crossdock: error: "), stderr
    return lines[0].removeprefix("crossdock: error: ")


# -- endpoints, sources, rules ----------------------------------------------------------


def test_endpoint_source_and_rule_created_then_listed(
    operator: Operator, live_api: LiveApi
) -> None:
    endpoint = operator("endpoints", "create", "mirror", "--url", "http://mirror.test:5000/",
                        "--username", "bob", "--password-stdin", input="pw from stdin\n")
    source = operator("sources", "create", "origin", "--url", "http://origin.test:5000")
    rule = operator("rules", "create", "lib-to-mirror", "--source", "origin",
                    "--endpoint", "mirror", "--project", "lib", "--dest-namespace", "copies/lib",
                    "--repo-filter", "lib/**", "--exclude-repo", "lib/tmp-*",
                    "--tag-filter", "v*", "--exclude-tag", "*-rc", "--no-deletes",
                    "--no-referrers", "--schedule", "0 3 * * *", "--prune", "--disabled",
                    "--description", "nightly copy")

    assert [endpoint.exit_code, source.exit_code, rule.exit_code] == [0, 0, 0], (
        endpoint.stderr + source.stderr + rule.stderr)
    assert "url:         http://mirror.test:5000\n" in endpoint.stdout  # normalised by the API
    assert "password:    set" in endpoint.stdout
    assert live_api.store.endpoint_credentials(
        live_api.store.get_endpoint_by_name("mirror").id).password == "pw from stdin"
    secret = live_api.store.source_webhook_secret(live_api.store.get_source_by_name("origin").id)
    assert f"webhook secret (shown once, keep it): {secret}" in source.stdout
    assert "notifications:\n  endpoints:\n  - name: crossdock-origin" in source.stdout
    assert f"url: {live_api.url}/webhooks/origin" in source.stdout
    assert f"- Bearer {secret}" in source.stdout
    assert "repositories:       lib/**, not lib/tmp-*" in rule.stdout
    assert "execution" not in rule.stdout  # created disabled: no initial sync
    stored = live_api.store.get_rule_by_name("lib-to-mirror")
    assert [(f.pattern, f.decision) for f in stored.tag_filters] == [
        ("v*", "matches"), ("*-rc", "excludes")]
    assert (stored.replicate_deletes, stored.copy_referrers, stored.override, stored.prune,
            stored.enabled, stored.schedule) == (False, False, True, True, False, "0 3 * * *")


def test_lists_are_aligned_tables_or_the_apis_json(operator: Operator, live_api: LiveApi) -> None:
    seed_rule(live_api)
    live_api.store.create_endpoint(name="harbor-eu", kind="harbor", url="https://harbor.eu.test",
                                   verify_tls=False)

    endpoints = operator("endpoints", "list")
    rules = operator("rules", "list")
    as_json = json.loads(operator("endpoints", "list", "--json").stdout)
    rules_json = json.loads(operator("rules", "list", "--json").stdout)
    sources_json = json.loads(operator("sources", "list", "--json").stdout)

    header, *rows = endpoints.stdout.splitlines()
    assert header.split() == ["NAME", "KIND", "URL", "USERNAME", "TLS", "UPDATED"]
    assert rows[0].split()[:5] == ["harbor-eu", "harbor", "https://harbor.eu.test", "-", "not"]
    assert header.index("KIND") == rows[0].index("harbor ") == rows[1].index("registry")
    assert "lib-to-mirror  no " in rules.stdout
    assert [e["name"] for e in as_json["items"]] == ["harbor-eu", "mirror"]
    assert rules_json["items"][0]["source"] == "origin"
    assert sources_json["items"][0]["notification"]["webhook_url"].endswith("/webhooks/origin")


def test_update_and_delete(operator: Operator, live_api: LiveApi) -> None:
    seed_rule(live_api)

    endpoint = operator("endpoints", "update", "mirror", "--no-tls-verify", "--clear-password")
    source = operator("sources", "update", "origin", "--regenerate-secret")
    rule = operator("rules", "update", "lib-to-mirror", "--tag-filter", "v2.*",
                    "--clear-schedule", "--override")
    in_use = operator("endpoints", "delete", "mirror")
    deleted = [operator("rules", "delete", "lib-to-mirror"),
               operator("endpoints", "delete", "mirror"), operator("sources", "delete", "origin")]

    assert endpoint.exit_code == 0 and "verify TLS:  no" in endpoint.stdout
    new_secret = source.stdout.split("webhook secret (shown once, keep it): ")[1].split()[0]
    assert new_secret != "s" * 32 and f"Bearer {new_secret}" in source.stdout
    assert rule.exit_code == 0 and "tags:               v2.*" in rule.stdout
    assert in_use.exit_code == 1 and "rule" in one_error_line(in_use.stderr)
    assert [r.stdout for r in deleted] == [
        "deleted rule lib-to-mirror\n", "deleted endpoint mirror\n", "deleted source origin\n"]
    assert live_api.store.list_endpoints() == []


def test_api_errors_are_one_line_with_the_field_errors(operator: Operator) -> None:
    invalid = operator("endpoints", "create", "Bad_Name", "--url", "ftp://mirror.test/x")
    bad_glob = operator("rules", "create", "r", "--source", "s", "--endpoint", "e",
                        "--project", "lib", "--repo-filter", "{a")
    missing = operator("rules", "show", "nope")

    assert invalid.exit_code == bad_glob.exit_code == missing.exit_code == 1
    message = one_error_line(invalid.stderr)
    assert message.startswith("the request has invalid fields: ")
    assert "url: Use http://host[:port] or https://host[:port]" in message
    assert "name: Use 1-63 lower-case letters" in message
    assert "repo_filters.0.pattern: filter '{a': unbalanced brace" in one_error_line(
        bad_glob.stderr)
    assert one_error_line(missing.stderr) == "no rule named 'nope'"


# -- executions and jobs ----------------------------------------------------------------


def test_enable_and_run_print_execution_ids_and_jobs_show_them(
    operator: Operator, live_api: LiveApi
) -> None:
    seed_rule(live_api)

    enabled = operator("rules", "enable", "lib-to-mirror")
    again = operator("rules", "enable", "lib-to-mirror")
    ran = operator("rules", "run", "lib-to-mirror", "--json")
    initial, manual = sorted(e.id for e in live_api.store.list_executions())
    jobs = operator("jobs", "list", "--rule", "lib-to-mirror", "--execution", str(initial))
    (job,) = live_api.store.list_jobs(execution_id=initial)
    shown = operator("jobs", "show", str(job.id))
    executions = operator("executions", "list", "--rule", "lib-to-mirror")
    execution = operator("executions", "show", str(manual), "--json")

    assert enabled.stdout == f"enabled rule lib-to-mirror: execution {initial} started\n"
    assert again.stdout == "rule lib-to-mirror was already enabled\n"
    assert json.loads(ran.stdout)["execution_id"] == manual
    header, row = jobs.stdout.splitlines()
    assert header.split()[:6] == ["ID", "STATUS", "ACTION", "RULE", "ENDPOINT", "IMAGE"]
    assert row.split()[:6] == [str(job.id), "pending", "sync", "lib-to-mirror", "mirror", "lib"]
    assert f"execution:   {initial}\n" in shown.stdout
    assert [line.split()[:3] for line in executions.stdout.splitlines()[1:]] == [
        [str(manual), "lib-to-mirror", "manual"], [str(initial), "lib-to-mirror", "initial"]]
    assert json.loads(execution.stdout)["trigger"] == "manual"


def test_an_enabled_rule_starts_its_initial_sync_when_created(
    operator: Operator, live_api: LiveApi
) -> None:
    seed_rule(live_api)

    created = operator("rules", "create", "second", "--source", "origin", "--endpoint",
                       "mirror", "--project", "apps")
    disabled = operator("rules", "disable", "second")

    (execution,) = live_api.store.list_executions(
        rule_id=live_api.store.get_rule_by_name("second").id)
    assert created.exit_code == 0, created.stderr
    assert created.stdout.splitlines()[-1] == f"execution {execution.id} started"
    assert disabled.stdout == "disabled rule second\n"
    assert not live_api.store.get_rule_by_name("second").enabled


def test_long_errors_are_cut_in_tables_and_complete_in_show_and_log(
    operator: Operator, live_api: LiveApi
) -> None:
    job_id = failed_job(live_api, seed_rule(live_api))

    listed = operator("jobs", "list", "--status", "failed")
    shown = operator("jobs", "show", str(job_id))
    log = operator("jobs", "log", str(job_id))
    as_json = json.loads(operator("jobs", "show", str(job_id), "--json").stdout)

    row = listed.stdout.splitlines()[1]
    assert "lib/app:v1" in row and row.endswith("…") and "(the end)" not in row
    assert LONG_ERROR in shown.stdout
    assert log.stdout.rstrip().endswith(f"error    {LONG_ERROR}")
    assert as_json["error"] == LONG_ERROR


def test_retry_a_failed_job_then_a_pending_one_gets_the_apis_conflict(
    operator: Operator, live_api: LiveApi
) -> None:
    job_id = failed_job(live_api, seed_rule(live_api, enabled=True))

    retried = operator("jobs", "retry", str(job_id))
    again = operator("jobs", "retry", str(job_id))

    assert retried.exit_code == 0 and retried.stdout == f"job {job_id} queued again (pending)\n"
    assert again.exit_code == 1
    assert one_error_line(again.stderr) == (
        f"job {job_id} is pending, not failed: only a failed job can be retried")


def test_redrive_reports_what_it_moved(operator: Operator, live_api: LiveApi) -> None:
    seed_rule(live_api)

    redriven = operator("endpoints", "redrive", "mirror")

    assert redriven.exit_code == 0, redriven.stderr
    assert redriven.stdout.startswith("moved 0 message(s) from mirror's failed queue")


# -- Test Connection --------------------------------------------------------------------


def test_ping_a_real_registry_prints_ticks_and_exits_0(
    operator: Operator, live_api: LiveApi, registry: RegistryServer
) -> None:
    live_api.store.create_endpoint(name="local", kind="registry", url=registry.url)

    stored = operator("endpoints", "ping", "local")
    unsaved = operator("endpoints", "ping", "--url", registry.url, "--project", "lib")

    for run in (stored, unsaved):
        assert run.exit_code == 0, run.output
        lines = run.stdout.splitlines()
        assert lines[0].startswith("✓ connection") and f"connected to {registry.host}" in lines[0]
        assert all(line.startswith("✓ ") for line in lines[:-1])
        assert lines[-1].startswith(f"{registry.url}: ready")
    assert "✓ push" in unsaved.stdout and "lib/crossdock-connection-test" in unsaved.stdout


def test_ping_a_closed_port_exits_1_with_the_reason(operator: Operator) -> None:
    url = f"http://127.0.0.1:{free_port()}"

    run = operator("endpoints", "ping", "--url", url)
    as_json = operator("endpoints", "ping", "--url", url, "--json")

    assert run.exit_code == as_json.exit_code == 1
    assert run.stdout.startswith("✗ connection")
    assert one_error_line(run.stderr).startswith(f"{url}: cannot connect to")
    assert "connection refused" in run.stderr
    assert json.loads(as_json.stdout)["ok"] is False


# -- the real console script, and what goes wrong ---------------------------------------


def test_console_script_creates_and_lists_as_json(console: Console, live_api: LiveApi) -> None:
    created = console(live_api.env, "endpoints", "create", "mirror", "--url",
                      "http://mirror.test:5000", "--json")
    listed = console(live_api.env, "endpoints", "--api", live_api.url + "/api/v1/", "list",
                     "--json")

    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["name"] == "mirror"
    assert [e["url"] for e in json.loads(listed.stdout)["items"]] == ["http://mirror.test:5000"]


def test_console_script_with_a_wrong_token_or_no_api(console: Console, live_api: LiveApi) -> None:
    wrong = console({**live_api.env, "CROSSDOCK_ADMIN_TOKEN": "not-the-token"}, "rules", "list")
    down_url = f"http://127.0.0.1:{free_port()}"
    down = console({"CROSSDOCK_API_URL": down_url, "CROSSDOCK_ADMIN_TOKEN": ADMIN_TOKEN},
                   "jobs", "list")

    assert wrong.returncode == down.returncode == 1
    assert one_error_line(wrong.stderr) == (
        "the API refused the admin token (set CROSSDOCK_ADMIN_TOKEN or --token)")
    assert one_error_line(down.stderr) == (
        f"cannot reach the crossdock API at {down_url}: is `crossdock receiver` running?")


def test_wrong_token_option_in_process(operator: Operator) -> None:
    run = operator("executions", "--token", "nope", "list")

    assert run.exit_code == 1
    assert "refused the admin token" in one_error_line(run.stderr)


@pytest.mark.parametrize("args", [
    ("endpoints", "create", "mirror"),  # --url is required
    ("jobs", "list", "--status", "sideways"),
    ("jobs", "show", "0"),
    ("endpoints", "ping"),  # neither a name nor --url
    ("endpoints", "create", "m", "--url", "http://m.test", "--password", "p", "--password-stdin"),
    ("endpoints", "update", "mirror"),  # nothing to change
    ("rules", "update", "r", "--schedule", "@daily", "--clear-schedule"),
    ("endpoints", "--api", "127.0.0.1:8080", "list"),
    ("rules", "frobnicate"),
])
def test_bad_usage_exits_2(operator: Operator, args: tuple[str, ...]) -> None:
    run = operator(*args)

    assert run.exit_code == 2, run.output
    assert "Traceback" not in run.output


@pytest.mark.parametrize("args", [
    ("jobs", "log", "abc"), ("jobs", "list", "--limit", "many"), ("links", "delete", "x1"),
])
def test_a_number_that_is_not_one_is_called_so(operator: Operator, args: tuple[str, ...]) -> None:
    run = operator(*args)

    assert run.exit_code == 2
    assert f"{args[-1]!r} is not a valid whole number." in run.output
    assert "integer range" not in run.output


def test_no_token_at_all_is_a_usage_error(operator: Operator) -> None:
    run = operator("endpoints", "list", env={"CROSSDOCK_ADMIN_TOKEN": None})

    assert run.exit_code == 2
    assert one_error_line(run.stderr) == "no admin token: set CROSSDOCK_ADMIN_TOKEN or pass --token"


def test_help_needs_no_token(operator: Operator) -> None:
    run = operator("rules", "create", "--help", env={"CROSSDOCK_ADMIN_TOKEN": None})

    assert run.exit_code == 0 and "--exclude-tag PATTERN" in run.stdout


# -- pure helpers -----------------------------------------------------------------------


def test_error_message_flattens_nested_field_errors() -> None:
    body = {"error": {"code": "invalid", "message": "the request has invalid fields",
                      "fields": {"tag_filters": {"1": {"pattern": ["Bad.", "Worse."]}},
                                 "_schema": ["Give a name."]}}}

    assert error_message(400, body) == (
        "the request has invalid fields: tag_filters.1.pattern: Bad Worse; request: Give a name")
    assert error_message(502, "<html>", "Bad Gateway") == "the API answered 502 Bad Gateway"


def test_table_aligns_columns_without_trailing_spaces() -> None:
    text = table(["ID", "NAME", "ERROR"], [[1, "a", None], [12, "long-name", "x\n  y"]])

    assert text.splitlines() == ["ID  NAME       ERROR", "1   a          -",
                                 "12  long-name  x y"]


def test_details_truncate_and_times() -> None:
    now = datetime(2025, 3, 4, 12, 0, tzinfo=UTC).astimezone()
    today = now.replace(hour=9, minute=5, second=7).astimezone(UTC).isoformat()
    earlier = (now - timedelta(days=40)).astimezone(UTC).isoformat()

    assert details([("id", 3), ("enabled", False), ("log", "a\nb")]) == (
        "id:       3\nenabled:  no\nlog:      a\n          b")
    assert truncate("x" * 100, 10) == "x" * 9 + "…" and truncate(None) == "-"
    assert when(today, now) == "09:05:07"
    assert when(earlier, now) == (now - timedelta(days=40)).strftime("%Y-%m-%d %H:%M:%S")
    assert when(None) == "-"
    assert duration(earlier, today) == "957h05m"
    assert duration("2025-01-01T00:00:00+00:00", "2025-01-01T00:02:05+00:00") == "2m05s"
    assert mark(True) == "✓" and mark(False, "ascii") == "FAIL"
