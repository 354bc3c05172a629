"""`Store.job_setting`: a job and what its run reads, in one transaction."""

from __future__ import annotations

import pytest

from shared.store import JobAction, NewJob, RecordNotFoundError, Store
from tests.store.test_store_pairs import make_registries


def test_a_job_comes_with_its_rule_endpoint_source_and_pair(store: Store) -> None:
    regs = make_registries(store)
    forth = regs.a_to_b(store, "a-to-b")
    regs.b_to_a(store, "b-to-a")
    [job] = store.create_jobs([NewJob(forth.id, regs.endpoint_b.id, regs.source_a.id,
                                      "team/app", JobAction.REPLICATE, tag="v1")])

    setting = store.job_setting(job.id)

    assert setting.job == store.get_job(job.id)
    assert setting.rule == store.get_rule(forth.id)
    assert setting.endpoint == store.get_endpoint(regs.endpoint_b.id)
    assert setting.source == store.get_source(regs.source_a.id)
    assert setting.pair is not None and setting.pair == store.find_pair(forth.id)


def test_a_rule_whose_opposite_is_not_over_linked_registries_has_no_pair(store: Store) -> None:
    regs = make_registries(store, link_b=False)
    forth = regs.a_to_b(store, "a-to-b")
    regs.b_to_a(store, "b-to-a")  # opposite, but B's registries are not linked
    [job] = store.create_jobs([NewJob(forth.id, regs.endpoint_b.id, regs.source_a.id,
                                      "team/app", JobAction.REPLICATE, tag="v1")])
    assert store.job_setting(job.id).pair is None
    assert store.find_pair(forth.id) is None


def test_an_unknown_job_is_not_found(store: Store) -> None:
    with pytest.raises(RecordNotFoundError):
        store.job_setting(12345)
