"""What a registry was found to have or do, and for how long that is believed."""

from __future__ import annotations

from shared.registry.facts import MEMORY, RegistryFacts
from tests.support.clock import ManualClock


def test_a_learnt_fact_is_believed_for_a_while_then_unknown_again() -> None:
    clock = ManualClock()
    facts = RegistryFacts(clock=clock)
    assert facts.get("some fact") is None

    facts.learn("some fact", True)
    clock.now += MEMORY - 1
    assert facts.get("some fact") is True

    clock.now += 1
    assert facts.get("some fact") is None


def test_only_one_caller_finds_out_an_unknown_fact() -> None:
    facts = RegistryFacts(clock=ManualClock())

    claims = [facts.claim("some fact") for _ in range(3)]

    assert claims == [True, False, False]
    assert facts.get("some fact") is None  # still being found out


def test_a_fact_that_could_not_be_told_can_be_found_out_again() -> None:
    facts = RegistryFacts(clock=ManualClock())
    assert facts.claim("some fact")

    facts.forget("some fact")

    assert facts.claim("some fact")


def test_an_abandoned_finding_out_is_given_up_after_a_while() -> None:
    clock = ManualClock()
    facts = RegistryFacts(clock=clock)
    assert facts.claim("some fact")

    clock.now += MEMORY

    assert facts.claim("some fact")
