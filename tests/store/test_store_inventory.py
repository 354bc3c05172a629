"""The inventory: what each rule wrote at its endpoint and still answers for."""

from __future__ import annotations

from typing import Any

import pytest

from shared.store import FilterDecision, RecordNotFoundError, RuleFilter, RuleRecord, Store
from tests.store.helpers import FakeClock

DIGEST = "sha256:" + "1" * 64
OTHER_DIGEST = "sha256:" + "2" * 64


def stock(store: Store, rule: RuleRecord) -> None:
    """Entries for team/app:v1, team/app:v2-rc, team/web:v1 (as at the endpoint: mirror/...)."""
    for repository, tag in (("team/app", "v1"), ("team/app", "v2-rc"), ("team/web", "v1")):
        store.record_inventory(rule.id, repository.replace("team", "mirror"), tag, repository,
                               DIGEST)


def names(store: Store, rule: RuleRecord) -> list[tuple[str, str]]:
    return [(entry.repository, entry.tag) for entry in store.list_inventory(rule.id)]


def test_entries_are_recorded_listed_and_replaced(
    store: Store, rule: RuleRecord, clock: FakeClock
) -> None:
    store.record_inventory(rule.id, "mirror/web", "v1", "team/web", DIGEST)
    store.record_inventory(rule.id, "mirror/app", "v1", "team/app", DIGEST)
    clock.advance(10)
    store.record_inventory(rule.id, "mirror/app", "v1", "team/app", OTHER_DIGEST)  # re-pushed

    entries = store.list_inventory(rule.id)
    assert [(e.repository, e.tag, e.source_repository, e.digest) for e in entries] == [
        ("mirror/app", "v1", "team/app", OTHER_DIGEST),
        ("mirror/web", "v1", "team/web", DIGEST),
    ]
    assert entries[0].rule_id == rule.id and entries[0].updated_at == clock.now
    assert [e.repository for e in store.list_inventory(rule.id, "mirror/web")] == ["mirror/web"]
    assert store.list_inventory(999) == []
    with pytest.raises(RecordNotFoundError):
        store.record_inventory(999, "mirror/app", "v1", "team/app", DIGEST)


def test_an_entry_is_forgotten_only_while_it_names_the_digest_given(
    store: Store, rule: RuleRecord
) -> None:
    stock(store, rule)

    assert not store.forget_inventory(rule.id, "mirror/app", "v1", OTHER_DIGEST)
    assert store.forget_inventory(rule.id, "mirror/app", "v1", DIGEST)
    assert store.forget_inventory(rule.id, "mirror/web", "v1")
    assert not store.forget_inventory(rule.id, "mirror/web", "v1")
    assert names(store, rule) == [("mirror/app", "v2-rc")]


@pytest.mark.parametrize("change", [
    {"project": "other"},
    {"dest_namespace": "elsewhere"},
    {"dest_namespace": None},
    "endpoint",
])
def test_moving_a_rule_forgets_its_whole_inventory(
    store: Store, rule: RuleRecord, change: Any
) -> None:
    rule = store.update_rule(rule.id, dest_namespace="mirror")
    stock(store, rule)
    if change == "endpoint":
        change = {"endpoint_id": store.create_endpoint(name="c", kind="registry",
                                                       url="https://c.example.com").id}

    store.update_rule(rule.id, **change)

    assert names(store, rule) == []


def test_other_changes_keep_the_inventory(store: Store, rule: RuleRecord) -> None:
    stock(store, rule)

    store.update_rule(rule.id, enabled=False, description="paused", prune=True,
                      project=rule.project, dest_namespace=None,
                      endpoint_id=rule.endpoint_id, repo_filters=[], tag_filters=())

    assert len(names(store, rule)) == 3


def test_narrower_filters_forget_the_entries_they_leave_out(
    store: Store, rule: RuleRecord
) -> None:
    other = store.create_rule(name="other", source_id=rule.source_id, project="team",
                              endpoint_id=rule.endpoint_id)
    stock(store, rule)
    stock(store, other)

    store.update_rule(rule.id, repo_filters=[{"pattern": "team/app"}])
    assert names(store, rule) == [("mirror/app", "v1"), ("mirror/app", "v2-rc")]

    store.update_rule(rule.id, tag_filters=[
        RuleFilter(pattern="*-rc", decision=FilterDecision.EXCLUDES)])
    assert names(store, rule) == [("mirror/app", "v1")]
    assert len(names(store, other)) == 3  # another rule's entries are not touched


def test_a_failed_update_forgets_nothing(store: Store, rule: RuleRecord) -> None:
    stock(store, rule)

    with pytest.raises(RecordNotFoundError):
        store.update_rule(rule.id, project="other", endpoint_id=999)

    assert len(names(store, rule)) == 3


def test_deleting_a_rule_deletes_its_inventory(
    store: Store, rule: RuleRecord, raw_query: Any
) -> None:
    stock(store, rule)

    store.delete_rule(rule.id)

    assert raw_query("SELECT count(*) FROM inventory") == [(0,)]
