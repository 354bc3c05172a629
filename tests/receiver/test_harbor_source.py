"""Harbor as a notifying source: its webhooks, in both payload formats, drive
replication through the receiver and a consumer (the Harbor fake sends them)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests

from consumers.service import ConsumerService
from shared.store import JobStatus, Store
from tests.receiver.conftest import WEBHOOK_SECRET, LiveReceiver, Records, wait_until
from tests.support.harbor import HarborFake
from tests.support.harbor.client import bearer_session
from tests.support.harbor_fixtures import HARBOR_ADMIN
from tests.support.images import list_state, push_image
from tests.support.registry_server import RegistryServer


@pytest.mark.parametrize("payload_format", ["Default", "CloudEvents"])
def test_harbor_pushes_and_deletes_are_replicated(
    payload_format: str, harbor: HarborFake, registry2: RegistryServer,
    live_receiver: LiveReceiver, records: Records, store: Store,
    start_consumer: Callable[..., ConsumerService],
) -> None:
    username, password = HARBOR_ADMIN
    source = records.source(harbor.url, kind="harbor", username=username, password=password)
    endpoint = records.endpoint(registry2.url)
    records.rule(source, endpoint)
    harbor.create_project("lib")
    harbor.add_webhook("lib", live_receiver.webhook_url(source.name),
                       auth_header=f"Bearer {WEBHOOK_SECRET}",
                       payload_format=payload_format)  # type: ignore[arg-type]
    start_consumer()

    with bearer_session(harbor.url, *HARBOR_ADMIN, "lib/app") as session:
        image = push_image(harbor.url, "lib/app", "v1", session=session)
    wait_until(lambda: list_state(registry2.url, "lib/app") == {"v1": image.digest},
               what="the push to be replicated")

    deleted = requests.delete(
        f"{harbor.url}/api/v2.0/projects/lib/repositories/app/artifacts/{image.digest}",
        auth=HARBOR_ADMIN, timeout=10)
    assert deleted.status_code == 200
    wait_until(lambda: list_state(registry2.url, "lib/app") == {},
               what="the delete to be replicated")

    deliveries = [d for d in harbor.deliveries if d.ok]
    assert {d.payload_format for d in deliveries} == {payload_format}
    assert {d.event_type for d in deliveries} >= {"PUSH_ARTIFACT", "DELETE_ARTIFACT"}
    assert all(job.status != JobStatus.FAILED for job in store.list_jobs())
