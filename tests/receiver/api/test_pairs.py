"""``/api/v1/pairs``: two opposite rules over linked registries, and their preferred side."""

from __future__ import annotations

import pytest

from shared.store import Store
from tests.receiver.api.conftest import Api


@pytest.fixture
def paired(api: Api) -> Api:
    """Registries A (source `a`, endpoint `a-ep`) and B (`b`, `b-ep`), linked; rule
    `a-to-b` copies project lib from A to B, `b-to-a` back."""
    for side, port in (("a", 5231), ("b", 5232)):
        api.source(side, f"http://localhost:{port}")
        api.endpoint(f"{side}-ep", f"http://127.0.0.1:{port}")
        api.ok("POST", "/links", {"source": side, "endpoint": f"{side}-ep"}, 201)
    api.rule("a-to-b", source="a", endpoint="b-ep", enabled=False)
    api.rule("b-to-a", source="b", endpoint="a-ep", enabled=False)
    return api


def test_a_pair_is_listed_with_its_rules_registries_and_default_side(paired: Api) -> None:
    [pair] = paired.ok("GET", "/pairs")["items"]

    first, second = (paired.ok("GET", f"/rules/{name}")["id"] for name in ("a-to-b", "b-to-a"))
    assert pair == {
        "id": f"{first}-{second}",
        "rules": [
            {"id": first, "name": "a-to-b", "source": "a", "endpoint": "b-ep", "project": "lib"},
            {"id": second, "name": "b-to-a", "source": "b", "endpoint": "a-ep",
             "project": "lib"},
        ],
        "registries": [{"source": "a", "endpoint": "a-ep"}, {"source": "b", "endpoint": "b-ep"}],
        "preferred": {"rule": "a-to-b", "rule_id": first, "source": "a", "default": True},
    }
    assert paired.ok("GET", f"/pairs/{first}-{second}") == pair
    assert paired.ok("GET", f"/pairs/{second}-{first}") == pair  # either order


def test_the_preferred_side_is_set_and_read_back(paired: Api, store: Store) -> None:
    [pair] = paired.ok("GET", "/pairs")["items"]
    key = pair["id"]

    chosen = paired.call("PUT", f"/pairs/{key}/preferred", {"rule": "b-to-a"})
    back = paired.call("PUT", f"/pairs/{key}/preferred", {"rule": "a-to-b"})

    assert chosen.status_code == 200
    assert chosen.get_json()["preferred"] == {
        "rule": "b-to-a", "rule_id": pair["rules"][1]["id"], "source": "b", "default": False}
    # Choosing the first rule again is still an operator's choice, not the default.
    assert back.get_json()["preferred"]["default"] is False
    assert paired.ok("GET", "/pairs")["items"][0]["preferred"]["rule"] == "a-to-b"
    stored = store.find_pair(pair["rules"][0]["id"])
    assert stored is not None and stored.preference_set


@pytest.mark.parametrize("key", ["1-3", "1-1", "x", "1-", "01-x", "1-2-3",
                                 f"1-{2**63}", "99999999999999999999-1"])
def test_what_is_not_a_pair_is_404(paired: Api, key: str) -> None:
    shown = paired.get(f"/pairs/{key}")
    chosen = paired.call("PUT", f"/pairs/{key}/preferred", {"rule": "a-to-b"})

    assert shown.status_code == chosen.status_code == 404


def test_unlinking_breaks_the_pair(paired: Api) -> None:
    [link, _other] = paired.ok("GET", "/links")["items"]

    paired.delete(f"/links/{link['id']}")

    assert paired.ok("GET", "/pairs")["items"] == []
    assert paired.get("/pairs/1-2").status_code == 404


@pytest.mark.parametrize(("body", "message"), [
    ({"rule": "nope"}, "Rule 'nope' is not in pair 1-2: give 'a-to-b' or 'b-to-a'."),
    ({"rule": "Bad Name"}, "Use 1-63 lower-case"),
    ({}, "Missing data"),
    ({"rule": 1}, "Not a valid string"),
])
def test_a_preference_names_one_of_the_pairs_rules(
    paired: Api, body: dict[str, object], message: str
) -> None:
    paired.rule("other", source="a", endpoint="a-ep", project="misc", enabled=False)

    response = paired.call("PUT", "/pairs/1-2/preferred", body)

    assert response.status_code == 400
    assert message in " ".join(response.get_json()["error"]["fields"]["rule"])


def test_a_preference_takes_no_other_field(paired: Api) -> None:
    response = paired.call("PUT", "/pairs/1-2/preferred", {"rule": "a-to-b", "default": True})

    assert response.status_code == 400 and "default" in response.get_json()["error"]["fields"]
