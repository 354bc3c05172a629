"""`receiver.services.rules`, called as the console calls it: with the shapes the
API's schemas load, without HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from marshmallow import ValidationError

from receiver.api.rule_schemas import rule_create
from receiver.services import Services, rules
from shared.broker import BrokerBlockedError, Publisher
from shared.store import ConflictError, ExecutionTrigger, RecordNotFoundError, Store
from tests.receiver.conftest import Records


def rule_shape(**fields: Any) -> dict[str, Any]:
    """What `RuleCreateSchema` loads from a body: the console's form gives the same."""
    loaded: dict[str, Any] = rule_create.load({
        "name": "lib-to-mirror", "source": "origin", "project": "lib", "endpoint": "mirror",
        "enabled": False, **fields})
    return loaded


@pytest.fixture
def origin(records: Records) -> None:
    records.source(name="origin")


def test_a_rule_with_a_new_endpoint_creates_both(found: Services, store: Store,
                                                 origin: None) -> None:
    change = rules.create_rule(found, rule_shape(endpoint={
        "name": "mirror", "url": "http://mirror.test:5000", "username": "robot",
        "password": "s3cret-enough"}))

    endpoint = store.get_endpoint_by_name("mirror")
    assert change.rule.endpoint_id == endpoint.id and change.started is None
    assert store.endpoint_credentials(endpoint.id).password == "s3cret-enough"


def test_a_rule_that_cannot_be_recorded_takes_its_new_endpoint_back(
    found: Services, store: Store, origin: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(**_fields: Any) -> None:
        raise ConflictError("refused")

    monkeypatch.setattr(store, "create_rule", refuse)
    with pytest.raises(ConflictError):
        rules.create_rule(found, rule_shape(endpoint={"name": "mirror",
                                                      "url": "http://mirror.test:5000"}))
    with pytest.raises(RecordNotFoundError):
        store.get_endpoint_by_name("mirror")


def test_names_no_record_has_are_field_errors(found: Services, records: Records,
                                              origin: None) -> None:
    with pytest.raises(ValidationError) as raised:
        rules.create_rule(found, rule_shape(source="nowhere"))
    assert raised.value.messages == {"source": ["No source named 'nowhere'."]}
    with pytest.raises(ValidationError) as raised:
        rules.create_rule(found, rule_shape(endpoint="nowhere"))
    assert raised.value.messages == {"endpoint": ["No endpoint named 'nowhere'."]}


def test_an_enabled_rule_starts_its_initial_sync(found: Services, store: Store,
                                                 records: Records, origin: None) -> None:
    records.endpoint(name="mirror")
    change = rules.create_rule(found, rule_shape(enabled=True))

    assert change.started is not None and change.started.queued
    execution = store.get_execution(change.started.execution_id)
    assert (execution.rule_id, execution.trigger) == (change.rule.id, ExecutionTrigger.INITIAL)


def test_enabling_and_running(found: Services, store: Store, records: Records,
                              origin: None) -> None:
    records.endpoint(name="mirror")
    rule = rules.create_rule(found, rule_shape()).rule
    with pytest.raises(ConflictError, match="disabled"):
        rules.run_rule(found, rule)

    enabled = rules.enable_rule(found, rule)
    again = rules.enable_rule(found, enabled.rule)
    ran = rules.run_rule(found, enabled.rule)

    assert enabled.rule.enabled and enabled.started is not None
    assert again.started is None  # already on: nothing starts
    assert store.get_execution(ran.execution_id).trigger == ExecutionTrigger.MANUAL
    assert not rules.disable_rule(found, enabled.rule).enabled


class BlockedPublisher(Publisher):
    blocked = True  # type: ignore[assignment]


def test_a_blocked_broker_is_refused_before_the_rule_changes(
    found: Services, store: Store, records: Records, origin: None
) -> None:
    records.endpoint(name="mirror")
    rule = rules.create_rule(found, rule_shape()).rule
    found.publisher = BlockedPublisher(found.settings)

    with pytest.raises(BrokerBlockedError):
        rules.enable_rule(found, rule)
    assert not store.get_rule(rule.id).enabled
