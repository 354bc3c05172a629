"""Two-way pairs of rules, their conflict preference and their sync bases."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from shared.store import (
    EndpointRecord,
    RecordNotFoundError,
    RuleRecord,
    SourceRecord,
    Store,
)
from tests.store.helpers import FakeClock, registry

DIGEST = "sha256:" + "1" * 64


@dataclass(frozen=True)
class Registries:
    """Registries A and B, each a source and an endpoint, linked unless told not to."""

    source_a: SourceRecord
    endpoint_a: EndpointRecord
    source_b: SourceRecord
    endpoint_b: EndpointRecord

    def a_to_b(self, store: Store, name: str, project: str = "team",
               dest_namespace: str | None = None, *, enabled: bool = True) -> RuleRecord:
        return store.create_rule(name=name, source_id=self.source_a.id, project=project,
                                 endpoint_id=self.endpoint_b.id,
                                 dest_namespace=dest_namespace, enabled=enabled)

    def b_to_a(self, store: Store, name: str, project: str = "team",
               dest_namespace: str | None = None, *, enabled: bool = True) -> RuleRecord:
        return store.create_rule(name=name, source_id=self.source_b.id, project=project,
                                 endpoint_id=self.endpoint_a.id,
                                 dest_namespace=dest_namespace, enabled=enabled)


def make_registries(store: Store, *, link_a: bool = True, link_b: bool = True) -> Registries:
    source_a, endpoint_a = registry(store, "a")
    source_b, endpoint_b = registry(store, "b")
    if link_a:
        store.create_link(source_id=source_a.id, endpoint_id=endpoint_a.id)
    if link_b:
        store.create_link(source_id=source_b.id, endpoint_id=endpoint_b.id)
    return Registries(source_a, endpoint_a, source_b, endpoint_b)


# Pairs -----------------------------------------------------------------------------------


def test_opposite_rules_over_linked_registries_are_a_pair(store: Store) -> None:
    regs = make_registries(store)
    forth = regs.a_to_b(store, "a-to-b")
    back = regs.b_to_a(store, "b-to-a", enabled=False)  # enabled or not does not matter

    pair = store.find_pair(back.id)

    assert pair is not None
    assert (pair.first, pair.second) == (forth, back)
    assert pair.preferred_rule_id == forth.id and not pair.preference_set
    assert pair.key == f"{forth.id}-{back.id}"
    assert pair.other(forth.id) == back and pair.other(back.id) == forth
    assert store.find_pair(forth.id) == pair
    assert store.list_pairs() == [pair]


def test_mirrored_namespaces_make_a_pair(store: Store) -> None:
    regs = make_registries(store)
    # team at A is mirror at B, and mirror at B is team at A.
    forth = regs.a_to_b(store, "a-to-b", project="team", dest_namespace="mirror")
    back = regs.b_to_a(store, "b-to-a", project="mirror", dest_namespace="team")

    pair = store.find_pair(forth.id)
    assert pair is not None and pair.second == back


@pytest.mark.parametrize(("project", "dest_namespace"), [
    ("team", None),  # B's team is not where A's team goes
    ("mirror", None),  # B's mirror goes to A's mirror, not to team
    ("other", "team"),
])
def test_namespaces_that_do_not_mirror_make_no_pair(
    store: Store, project: str, dest_namespace: str | None
) -> None:
    regs = make_registries(store)
    forth = regs.a_to_b(store, "a-to-b", project="team", dest_namespace="mirror")
    regs.b_to_a(store, "b-to-a", project=project, dest_namespace=dest_namespace)

    assert store.find_pair(forth.id) is None
    assert store.list_pairs() == []


@pytest.mark.parametrize(("link_a", "link_b"), [(False, True), (True, False)])
def test_without_both_links_there_is_no_pair(store: Store, link_a: bool, link_b: bool) -> None:
    regs = make_registries(store, link_a=link_a, link_b=link_b)
    forth = regs.a_to_b(store, "a-to-b")
    back = regs.b_to_a(store, "b-to-a")

    assert store.find_pair(forth.id) is None
    assert store.find_pair(back.id) is None
    assert store.list_pairs() == []


def test_a_rule_of_one_registry_onto_itself_is_not_its_own_pair(store: Store) -> None:
    regs = make_registries(store)
    onto_itself = store.create_rule(name="loop", source_id=regs.source_a.id, project="team",
                                    endpoint_id=regs.endpoint_a.id)

    assert store.find_pair(onto_itself.id) is None
    assert store.find_pair(999) is None


def test_with_several_opposite_rules_the_lowest_id_pairs(store: Store) -> None:
    regs = make_registries(store)
    forth = regs.a_to_b(store, "a-to-b")
    back_1 = regs.b_to_a(store, "b-to-a-1")
    back_2 = regs.b_to_a(store, "b-to-a-2")

    found = store.find_pair(forth.id)
    assert found is not None and found.other(forth.id) == back_1
    # Each pair is listed once, as find_pair finds it from either of its rules.
    assert [(p.first.id, p.second.id) for p in store.list_pairs()] == [
        (forth.id, back_1.id), (forth.id, back_2.id)]


def test_the_preferred_side_of_a_pair_is_chosen(store: Store) -> None:
    regs = make_registries(store)
    forth = regs.a_to_b(store, "a-to-b")
    back = regs.b_to_a(store, "b-to-a")

    chosen = store.set_pair_preference(back.id, forth.id, back.id)

    assert chosen.preferred_rule_id == back.id and chosen.preference_set
    assert (chosen.first, chosen.second) == (forth, back)
    assert store.find_pair(forth.id) == chosen
    assert store.list_pairs() == [chosen]
    again = store.set_pair_preference(forth.id, back.id, forth.id)  # changed again
    assert again.preferred_rule_id == forth.id and again.preference_set


def test_a_preference_needs_a_pair_and_one_of_its_rules(store: Store) -> None:
    regs = make_registries(store)
    forth = regs.a_to_b(store, "a-to-b")
    back = regs.b_to_a(store, "b-to-a")
    unrelated = regs.a_to_b(store, "other", project="other")

    with pytest.raises(ValueError):
        store.set_pair_preference(forth.id, back.id, unrelated.id)
    with pytest.raises(ValueError):
        store.set_pair_preference(forth.id, forth.id, forth.id)
    with pytest.raises(RecordNotFoundError):
        store.set_pair_preference(forth.id, unrelated.id, forth.id)
    found = store.find_pair(forth.id)
    assert found is not None and not found.preference_set


# Bases -----------------------------------------------------------------------------------


def test_a_base_is_absent_until_set_and_none_means_absent_on_both_sides(
    store: Store, clock: FakeClock
) -> None:
    regs = make_registries(store)
    first = regs.a_to_b(store, "a-to-b")
    second = regs.b_to_a(store, "b-to-a")

    assert store.get_base(first.id, second.id, "team/app", "v1") is None

    store.set_base(first.id, second.id, "team/app", "v1", DIGEST)
    base = store.get_base(first.id, second.id, "team/app", "v1")
    assert base is not None
    assert (base.repository, base.tag, base.digest, base.updated_at) == (
        "team/app", "v1", DIGEST, clock.now)

    clock.advance(5)
    store.set_base(first.id, second.id, "team/app", "v1", None)  # deleted on both sides
    gone = store.get_base(first.id, second.id, "team/app", "v1")
    assert gone is not None and gone.digest is None and gone.updated_at == clock.now
    assert store.get_base(first.id, second.id, "team/app", "v2") is None
    assert store.get_base(first.id, second.id, "team/web", "v1") is None


def test_a_base_names_the_pair_by_its_first_rule(store: Store) -> None:
    regs = make_registries(store)
    first = regs.a_to_b(store, "a-to-b")
    second = regs.b_to_a(store, "b-to-a")

    with pytest.raises(ValueError):
        store.set_base(second.id, first.id, "team/app", "v1", DIGEST)
    with pytest.raises(ValueError):
        store.get_base(second.id, first.id, "team/app", "v1")
    with pytest.raises(RecordNotFoundError):
        store.set_base(first.id, 999, "team/app", "v1", DIGEST)


def test_deleting_a_rule_deletes_its_bases_and_preference(store: Store) -> None:
    regs = make_registries(store)
    first = regs.a_to_b(store, "a-to-b")
    second = regs.b_to_a(store, "b-to-a")
    store.set_base(first.id, second.id, "team/app", "v1", DIGEST)
    store.set_pair_preference(first.id, second.id, second.id)

    store.delete_rule(second.id)

    replacement = regs.b_to_a(store, "b-to-a-again")
    pair = store.find_pair(first.id)
    assert pair is not None and pair.second == replacement and not pair.preference_set
    assert store.get_base(first.id, second.id, "team/app", "v1") is None
