"""`receiver.services.sources` and `receiver.services.endpoints`, without HTTP."""

from __future__ import annotations

import pytest

from receiver.api.schemas import endpoint_create, source_create, source_patch
from receiver.services import Services, endpoints, sources
from receiver.services.errors import QueuesUnavailableError
from shared.store import Store
from tests.receiver.conftest import Records

UNREACHABLE = "amqp://guest:guest@127.0.0.1:1/%2F"


def test_a_source_gets_a_secret_shown_by_the_change_that_set_it(found: Services,
                                                               store: Store) -> None:
    created = sources.create_source(found, source_create.load(
        {"name": "origin", "kind": "distribution", "url": "http://origin.test:5000"}))
    changed = sources.update_source(found, created.source,
                                    source_patch.load({"verify_tls": False}, partial=True))
    regenerated = sources.update_source(found, created.source, source_patch.load(
        {"regenerate_webhook_secret": True}, partial=True))

    assert created.secret and len(created.secret) >= 32
    assert changed.secret is None  # kept: not shown again
    assert regenerated.secret not in (None, created.secret)
    assert store.source_webhook_secret(created.source.id) == regenerated.secret
    assert created.secret not in repr(created)


def test_an_endpoint_that_looks_like_a_source_is_warned_about(found: Services,
                                                              records: Records) -> None:
    records.source("http://registry.test:5000", name="origin")
    change = endpoints.create_endpoint(found, endpoint_create.load(
        {"name": "mirror", "url": "http://registry.test:5000"}))

    assert change.endpoint.name == "mirror"
    assert [w for w in change.warnings if "looks like source 'origin'" in w]


def test_an_endpoint_is_not_deleted_while_rabbitmq_is_unreachable(
    found: Services, store: Store, records: Records
) -> None:
    endpoint = records.endpoint(name="mirror")
    found.settings = found.settings.replace(amqp_url=UNREACHABLE)

    with pytest.raises(QueuesUnavailableError, match="endpoint mirror was not deleted"):
        endpoints.delete_endpoint(found, endpoint)
    assert store.get_endpoint_by_name("mirror").id == endpoint.id
