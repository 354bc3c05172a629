"""A Harbor v2 fake for tests, in front of a real `docker-registry` (protocols.md §8.1, §11).

Harbor itself cannot run here; this is the one stand-in: its REST API, token service
and `/v2/` rules are reproduced from the API description, while every byte of image
content lives in (and every listing comes from) a real registry.
"""

from tests.support.harbor.fake import ADMIN_USER, DEFAULT_ADMIN_PASSWORD, HarborFake
from tests.support.harbor.webhooks import Delivery, Policy

__all__ = ["ADMIN_USER", "DEFAULT_ADMIN_PASSWORD", "Delivery", "HarborFake", "Policy"]
