"""The Harbor fake's public entry point; the implementation is `tests.support.harbor`."""

from tests.support.harbor import ADMIN_USER, DEFAULT_ADMIN_PASSWORD, Delivery, HarborFake, Policy
from tests.support.harbor.client import bearer_session, fetch_token, token_claims

__all__ = [
    "ADMIN_USER",
    "DEFAULT_ADMIN_PASSWORD",
    "Delivery",
    "HarborFake",
    "Policy",
    "bearer_session",
    "fetch_token",
    "token_claims",
]
