"""Registry clients for a job's source and endpoint, built from the store's records.

Clients are cached per record and rebuilt when the record changes (its
`updated_at`), so a password change takes effect on the next job.
"""

from __future__ import annotations

import threading
from datetime import datetime

from shared.registry import RegistryClient, RegistryConfig
from shared.settings import Settings
from shared.store import EndpointRecord, SourceRecord, Store


class RegistryDirectory:
    """One `RegistryClient` per source and endpoint, thread-safe."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self._store = store
        self._settings = settings
        self._clients: dict[tuple[str, int], tuple[datetime, RegistryClient]] = {}
        self._lock = threading.Lock()

    def source(self, record: SourceRecord) -> RegistryClient:
        return self._client("source", record)

    def endpoint(self, record: EndpointRecord) -> RegistryClient:
        return self._client("endpoint", record)

    def _client(self, kind: str, record: SourceRecord | EndpointRecord) -> RegistryClient:
        key = (kind, record.id)
        with self._lock:
            cached = self._clients.get(key)
            if cached is not None and cached[0] == record.updated_at:
                return cached[1]
        if kind == "source":
            credentials = self._store.source_credentials(record.id)
        else:
            credentials = self._store.endpoint_credentials(record.id)
        client = RegistryClient(RegistryConfig(
            url=record.url,
            username=credentials.username,
            password=credentials.password,
            verify_tls=record.verify_tls,
            ca_bundle=record.ca_bundle,
            connect_timeout=self._settings.connect_timeout,
            read_timeout=self._settings.read_timeout,
            pool_size=self._settings.blob_workers + self._settings.consumer_concurrency + 4,
        ))
        with self._lock:
            old = self._clients.get(key)
            self._clients[key] = (record.updated_at, client)
        if old is not None and old[1] is not client:
            old[1].close()
        return client

    def close(self) -> None:
        with self._lock:
            clients = [client for _stamp, client in self._clients.values()]
            self._clients.clear()
        for client in clients:
            client.close()
