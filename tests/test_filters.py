"""Harbor-style glob filters on repository and tag names."""

from __future__ import annotations

import pytest

from shared.errors import ConfigurationError
from shared.filters import NameFilter, from_rule, glob_matches, passes


@pytest.mark.parametrize(
    ("pattern", "name", "expected"),
    [
        ("library/**", "library/app", True),
        ("library/**", "library/team/app", True),
        ("library/*", "library/team/app", False),
        ("library/*", "library/app", True),
        ("**", "anything/at/all", True),
        ("v?", "v1", True),
        ("v?", "v10", False),
        ("{v1,v2}", "v2", True),
        ("{v1,v2}", "v3", False),
        ("release-{1.*,2.*}", "release-1.4", True),
        ("release-{1.*,2.*}", "release-3.0", False),
        ("a.b", "aXb", False),  # dots are literal
        ("lib/app", "lib/app-extra", False),  # anchored at the end
    ],
)
def test_glob(pattern: str, name: str, expected: bool) -> None:
    assert glob_matches(pattern, name) is expected


def test_every_filter_must_keep_the_name() -> None:
    filters = [NameFilter("lib/**"), NameFilter("lib/tmp/**", excludes=True)]

    assert passes(filters, "lib/app")
    assert not passes(filters, "lib/tmp/x")
    assert not passes(filters, "other/app")
    assert passes([], "whatever")


@pytest.mark.parametrize("pattern", ["{a,b", "{a,{b}}"])
def test_bad_braces_are_configuration_errors(pattern: str) -> None:
    with pytest.raises(ConfigurationError):
        glob_matches(pattern, "a")


def test_a_rules_stored_filters_become_name_filters() -> None:
    from shared.store import FilterDecision, RuleFilter

    stored = (RuleFilter("lib/**"), RuleFilter("lib/tmp/**", FilterDecision.EXCLUDES))

    assert from_rule(stored) == [NameFilter("lib/**"), NameFilter("lib/tmp/**", excludes=True)]
