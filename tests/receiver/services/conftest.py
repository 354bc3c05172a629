"""Services called directly, without HTTP: `found` is the app's `Services` (a real
SQLite store and a real RabbitMQ publisher, see `tests.receiver.conftest`)."""

from __future__ import annotations

import pytest
from flask import Flask

from receiver.services import Services, services_of


@pytest.fixture
def found(app: Flask) -> Services:
    return services_of(app)
