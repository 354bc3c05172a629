"""Harbor-style glob filters on repository and tag names."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.errors import ConfigurationError
from shared.filters import (
    MAX_BRACE_ALTERNATIVES,
    NameFilter,
    check_new_pattern,
    compile_glob,
    from_rule,
    glob_matches,
    passes,
)


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


# -- hostile names: matching never backtracks ----------------------------------------------

HOSTILE_TAG = "1-" * 63 + "x"  # a valid 127-character tag anyone who can push can send


@pytest.mark.parametrize(("pattern", "name", "expected"), [
    ("*-*-*-*-*-*-*-*-*-rc", HOSTILE_TAG, False),  # 9 stars: a regex never came back
    ("*-" * 40 + "rc", HOSTILE_TAG, False),
    ("*-*-*-*-*-*-*-*-*-x", HOSTILE_TAG, True),
    ("?*?*?*?*?*?*?*?*?*?*?*?*rc", "a" * 127, False),
    ("**a**a**a**a**a**a**a**a**a**b", "a" * 255, False),
    ("{*-,**-}" * 12 + "rc", HOSTILE_TAG, False),
    ("**/" * 20 + "x", "a/" * 127 + "b", False),
])
def test_hostile_names_against_backtracking_patterns_get_an_answer(
    pattern: str, name: str, expected: bool
) -> None:
    assert glob_matches(pattern, name) is expected
    assert passes([NameFilter(pattern, excludes=True)], name) is not expected


def test_the_automaton_grows_with_the_pattern_not_with_its_braces() -> None:
    pattern = "{a,b,c,d}" * 8 + "-{x*,y?,**z}"

    compiled = compile_glob(pattern)

    assert compiled.size <= len(pattern) + 1
    assert compiled.alternatives == 4**8 * 3


def _regex_for(pattern: str) -> re.Pattern[str]:
    """The meaning of a glob as a regex: a reference for short names only."""
    out, in_brace = [], False
    for token in re.findall(r"\*\*|.", pattern, re.S):
        if token == "{":
            out.append("(?:")
            in_brace = True
        elif token == "}" and in_brace:
            out.append(")")
            in_brace = False
        elif token == "," and in_brace:
            out.append("|")
        else:
            out.append({"**": "[\\s\\S]*", "*": "[^/]*", "?": "[^/]"}.get(token, re.escape(token)))
    return re.compile("".join(out) + r"\Z")


_PIECES = st.sampled_from(["a", "b", "-", "/", "*", "**", "?", ".", "}", ","])
_GROUP = st.lists(st.lists(_PIECES.filter(lambda p: p not in "},"), max_size=3).map("".join),
                  min_size=1, max_size=3).map(lambda alts: "{" + ",".join(alts) + "}")


@settings(max_examples=400, derandomize=True, deadline=None)
@given(pattern=st.lists(st.one_of(_PIECES, _GROUP), max_size=8).map("".join),
       name=st.text(alphabet="ab-/.}", max_size=10))
def test_matching_agrees_with_the_globs_meaning(pattern: str, name: str) -> None:
    assert glob_matches(pattern, name) is (_regex_for(pattern).match(name) is not None)


# -- the cap on brace alternatives (new filters only) -------------------------------------


def test_a_new_filter_may_spell_out_a_bounded_number_of_alternatives() -> None:
    check_new_pattern("{a,b}" * 6)  # 64

    with pytest.raises(ConfigurationError, match="128 alternatives, more than 64"):
        check_new_pattern("{a,b}" * 7)
    assert MAX_BRACE_ALTERNATIVES == 64


def test_a_stored_filter_past_the_cap_still_matches() -> None:
    stored = "{a,b}" * 10 + "-{1,2,3}"  # 3072 alternatives, saved before the cap

    assert glob_matches(stored, "ab" * 5 + "-3")
    assert not glob_matches(stored, "ab" * 5 + "-4")
