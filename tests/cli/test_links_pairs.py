"""`crossdock links|pairs ...` against a live receiver, and the API's look-alike
warnings printed by `sources`, `endpoints` and `rules`."""

from __future__ import annotations

import json

import pytest

from tests.cli.conftest import LiveApi, Operator
from tests.cli.test_operator import one_error_line


def warnings_of(stderr: str) -> list[str]:
    lines = stderr.strip().splitlines()
    assert all(line.startswith("crossdock: warning: ") for line in lines), stderr
    return [line.removeprefix("crossdock: warning: ") for line in lines]


def two_registries(live_api: LiveApi) -> None:
    """Registries A (source `a`, endpoint `a-ep`) and B (`b`, `b-ep`), straight in the
    store."""
    store = live_api.store
    for side, port in (("a", 5231), ("b", 5232)):
        store.create_source(name=side, kind="distribution", url=f"http://localhost:{port}",
                            webhook_secret="s" * 32)
        store.create_endpoint(name=f"{side}-ep", kind="registry",
                              url=f"http://127.0.0.1:{port}")


def test_links_are_created_listed_updated_and_deleted(
    operator: Operator, live_api: LiveApi
) -> None:
    two_registries(live_api)

    created = operator("links", "create", "--source", "a", "--endpoint", "a-ep")
    second = operator("links", "create", "--source", "b", "--endpoint", "b-ep",
                      "--harbor-account", "robot$crossdock")
    listed = operator("links", "list")
    updated = operator("links", "update", "2", "--clear-harbor-account")
    shown = json.loads(operator("links", "show", "2", "--json").stdout)
    deleted = operator("links", "delete", "1")

    assert created.exit_code == 0, created.stderr
    assert created.stdout.startswith("created link 1\n")
    assert "source:          a\nendpoint:        a-ep\n" in created.stdout
    assert created.stderr == ""
    # The account on a registry that is not Harbor is accepted, with a warning.
    assert warnings_of(second.stderr) == [
        "harbor_account is only read from Harbor registries; source 'b' and endpoint "
        "'b-ep' are not Harbor"]
    header, *rows = listed.stdout.splitlines()
    assert header.split() == ["ID", "SOURCE", "ENDPOINT", "HARBOR", "ACCOUNT", "UPDATED"]
    assert [row.split()[:4] for row in rows] == [["1", "a", "a-ep", "-"],
                                                 ["2", "b", "b-ep", "robot$crossdock"]]
    assert updated.exit_code == 0 and "Harbor account:  -" in updated.stdout
    assert shown["harbor_account"] is None and shown["source"] == "b"
    assert deleted.stdout == "deleted link 1\n"
    assert [link.id for link in live_api.store.list_links()] == [2]


def test_link_errors_are_one_line(operator: Operator, live_api: LiveApi) -> None:
    two_registries(live_api)
    operator("links", "create", "--source", "a", "--endpoint", "a-ep")

    taken = operator("links", "create", "--source", "a", "--endpoint", "b-ep")
    unknown = operator("links", "create", "--source", "nope", "--endpoint", "b-ep")
    missing = operator("links", "show", "7")

    assert taken.exit_code == unknown.exit_code == missing.exit_code == 1
    assert "already linked" in one_error_line(taken.stderr)
    assert one_error_line(unknown.stderr) == (
        "the request has invalid fields: source: No source named 'nope'")
    assert one_error_line(missing.stderr) == "link 7 not found"


@pytest.mark.parametrize("args", [
    ("links", "update", "1"),
    ("links", "update", "1", "--harbor-account", "x", "--clear-harbor-account"),
    ("links", "create", "--source", "a"),
    ("links", "delete", "one"),
    ("pairs", "prefer", "1-2"),
])
def test_bad_usage_exits_2(operator: Operator, args: tuple[str, ...]) -> None:
    assert operator(*args).exit_code == 2


def test_pairs_are_listed_and_their_preferred_side_changed(
    operator: Operator, live_api: LiveApi
) -> None:
    two_registries(live_api)
    for side in ("a", "b"):
        operator("links", "create", "--source", side, "--endpoint", f"{side}-ep")
    operator("rules", "create", "a-to-b", "--source", "a", "--endpoint", "b-ep",
             "--project", "lib", "--disabled")
    operator("rules", "create", "b-to-a", "--source", "b", "--endpoint", "a-ep",
             "--project", "lib", "--disabled")

    before = operator("pairs", "list")
    preferred = operator("pairs", "prefer", "1-2", "--rule", "b-to-a")
    after = operator("pairs", "list")
    shown = operator("pairs", "show", "2-1")
    wrong = operator("pairs", "prefer", "1-2", "--rule", "nope")
    not_a_pair = operator("pairs", "prefer", "1-3", "--rule", "a-to-b")

    header, row = before.stdout.splitlines()
    assert header.split() == ["PAIR", "RULES", "PREFERRED"]
    assert row.split("  ")[0] == "1-2"
    assert "a-to-b (a -> b-ep), b-to-a (b -> a-ep)" in row
    assert row.endswith("a-to-b: source a wins (default)")
    assert preferred.stdout == "pair 1-2: b-to-a: source b wins\n"
    assert after.stdout.splitlines()[1].endswith("b-to-a: source b wins")
    assert "registries:  source a = endpoint a-ep, source b = endpoint b-ep" in shown.stdout
    assert wrong.exit_code == not_a_pair.exit_code == 1
    assert "rule: Rule 'nope' is not in pair 1-2" in one_error_line(wrong.stderr)
    assert one_error_line(not_a_pair.stderr) == "rules 1 and 3 are not a two-way pair"


def test_look_alike_registries_and_rules_are_warned_about_on_stderr(
    operator: Operator, live_api: LiveApi
) -> None:
    source = operator("sources", "create", "a", "--url", "http://127.0.0.1:5231")
    endpoint = operator("endpoints", "create", "a-ep", "--url", "http://localhost:5231")
    updated = operator("sources", "update", "a", "--no-tls-verify")
    other = operator("endpoints", "create", "b-ep", "--url", "http://localhost:5232")
    operator("sources", "create", "b", "--url", "http://127.0.0.1:5232")
    operator("rules", "create", "a-to-b", "--source", "a", "--endpoint", "b-ep",
             "--project", "lib", "--disabled")
    rule = operator("rules", "create", "b-to-a", "--source", "b", "--endpoint", "a-ep",
                    "--project", "lib", "--disabled")
    as_json = operator("endpoints", "update", "a-ep", "--no-tls-verify", "--json")

    assert [source.exit_code, endpoint.exit_code, rule.exit_code] == [0, 0, 0]
    assert source.stderr == "" and other.stderr == ""
    [warning] = warnings_of(endpoint.stderr)
    assert warning.startswith("endpoint 'a-ep' at http://localhost:5231 looks like source 'a' "
                              "at http://127.0.0.1:5231, but they are not linked: link them")
    assert "`crossdock links create --source a --endpoint a-ep`" in warning
    assert len(warnings_of(updated.stderr)) == 1
    assert warnings_of(rule.stderr)[0].startswith(
        "rules 'b-to-a' and 'a-to-b' look like the two directions of one two-way sync")
    assert "created rule b-to-a" in rule.stdout and "warning" not in rule.stdout
    assert json.loads(as_json.stdout)["warnings"] == warnings_of(as_json.stderr)
