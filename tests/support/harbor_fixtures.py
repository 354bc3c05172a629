"""pytest fixture `harbor`: a started `HarborFake` (admin `admin` / `Harbor12345`).

Import it into a conftest: `from tests.support.harbor_fixtures import harbor`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.harbor import ADMIN_USER, DEFAULT_ADMIN_PASSWORD, HarborFake

HARBOR_ADMIN = (ADMIN_USER, DEFAULT_ADMIN_PASSWORD)


@pytest.fixture
def harbor(tmp_path: Path) -> Iterator[HarborFake]:
    """A Harbor fake with its own registry under `tmp_path`; stopped at teardown."""
    with HarborFake(tmp_path / "harbor", admin_password=DEFAULT_ADMIN_PASSWORD) as fake:
        yield fake
