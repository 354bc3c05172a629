"""What names and ids the receiver accepts (pure, no I/O): shared by the API's
schemas and the services that look records up by name or id."""

from __future__ import annotations

import re

#: Names of sources, endpoints and rules: they appear in URLs and queue names.
NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,62}$"
NAME_RE = re.compile(NAME_PATTERN)
#: Largest integer the databases store (ids, limits): bigger ones are refused
#: instead of overflowing the driver.
MAX_INT = 2**63 - 1


def is_id(text: str) -> bool:
    """True when `text` is a decimal id the databases can hold."""
    return text.isdecimal() and text.isascii() and int(text) <= MAX_INT
