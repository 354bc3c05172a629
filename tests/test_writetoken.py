"""Write tokens in the User-Agent: signed with the first key, accepted with any, never forged."""

from __future__ import annotations

import hashlib
import hmac
import re

import pytest
from cryptography.fernet import Fernet
from hypothesis import given
from hypothesis import strategies as st

from shared.errors import ConfigurationError
from shared.registry.transport import USER_AGENT
from shared.writetoken import WriteToken, token_from_user_agent, user_agent_for

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()
OTHER_KEY = Fernet.generate_key().decode()


def test_a_token_round_trips_through_its_user_agent() -> None:
    user_agent = user_agent_for(WriteToken(7, 2), OLD_KEY)

    assert re.fullmatch(r"crossdock/0\.1 \(\+write 7\.2\.[0-9a-f]{16}\)", user_agent)
    assert user_agent.startswith(USER_AGENT + " ")
    assert token_from_user_agent(user_agent, OLD_KEY) == WriteToken(7, 2)


@pytest.mark.parametrize(("job_id", "attempt"), [(0, 0), (1, 1), (10**18 - 1, 999_999_999)])
def test_extreme_job_ids_and_attempts_round_trip(job_id: int, attempt: int) -> None:
    token = WriteToken(job_id, attempt)

    assert token_from_user_agent(user_agent_for(token, OLD_KEY), OLD_KEY) == token


def test_the_first_key_signs_and_every_listed_key_verifies() -> None:
    signed_before = user_agent_for(WriteToken(5, 1), OLD_KEY)
    rotated = f"{NEW_KEY}, {OLD_KEY}"
    signed_after = user_agent_for(WriteToken(5, 1), rotated)

    assert signed_after == user_agent_for(WriteToken(5, 1), NEW_KEY)
    assert signed_after != signed_before
    assert token_from_user_agent(signed_before, rotated) == WriteToken(5, 1)
    assert token_from_user_agent(signed_after, rotated) == WriteToken(5, 1)
    assert token_from_user_agent(signed_after, OLD_KEY) is None  # old key alone: unknown


def test_a_token_signed_with_an_unknown_key_is_none() -> None:
    assert token_from_user_agent(user_agent_for(WriteToken(7, 2), OTHER_KEY), OLD_KEY) is None


def test_the_mac_is_not_keyed_with_the_fernet_key_itself() -> None:
    user_agent = user_agent_for(WriteToken(7, 2), OLD_KEY)
    raw = hmac.new(OLD_KEY.encode(), b"7.2", hashlib.sha256).hexdigest()[:16]

    assert raw not in user_agent


def test_changing_the_job_or_the_attempt_breaks_the_mac() -> None:
    user_agent = user_agent_for(WriteToken(7, 2), OLD_KEY)
    mac = user_agent.rsplit(".", 1)[1].rstrip(")")

    for job, attempt in [(7, 3), (8, 2), (2, 7), (72, 0)]:
        forged = f"crossdock/0.1 (+write {job}.{attempt}.{mac})"
        assert token_from_user_agent(forged, OLD_KEY) is None


def test_a_flipped_mac_digit_is_none() -> None:
    user_agent = user_agent_for(WriteToken(7, 2), OLD_KEY)
    last = user_agent[-2]
    flipped = user_agent[:-2] + ("0" if last != "0" else "1") + ")"

    assert token_from_user_agent(flipped, OLD_KEY) is None


def test_truncated_tokens_are_none() -> None:
    user_agent = user_agent_for(WriteToken(7, 2), OLD_KEY)

    for end in range(len(user_agent)):
        assert token_from_user_agent(user_agent[:end], OLD_KEY) is None


def test_leading_zeros_and_other_spellings_of_the_numbers_are_none() -> None:
    mac = user_agent_for(WriteToken(7, 2), OLD_KEY).rsplit(".", 1)[1].rstrip(")")

    for numbers in ["07.2", "7.02", "+7.2", "7 .2", "\u0667.2"]:  # the last: Arabic-Indic 7
        assert token_from_user_agent(f"crossdock/0.1 (+write {numbers}.{mac})", OLD_KEY) is None


@pytest.mark.parametrize("user_agent", [
    None, "", "crossdock/0.1", "python-requests/2.34.2", "curl/7.88.1",
    "Go-http-client/1.1", "crossdock/0.1 (+write)", "crossdock/0.1 (+write 7.2.)",
    "crossdock/0.1 (+write a.b.0123456789abcdef)",
    "crossdock/0.1 (+write 7.2.0123456789ABCDEF)",
    "prefix crossdock/0.1 (+write 7.2.0123456789abcdef)",
    "crossdock/0.1 (+write 99999999999999999999999.2.0123456789abcdef)",
])
def test_junk_user_agents_are_none(user_agent: str | None) -> None:
    assert token_from_user_agent(user_agent, OLD_KEY) is None


def test_a_copy_of_a_token_moved_behind_another_product_is_none() -> None:
    user_agent = user_agent_for(WriteToken(7, 2), OLD_KEY)

    assert token_from_user_agent("skopeo/1.13 " + user_agent, OLD_KEY) is None


def test_without_a_key_nothing_is_signed_and_nothing_accepted() -> None:
    user_agent = user_agent_for(WriteToken(7, 2), OLD_KEY)

    with pytest.raises(ConfigurationError):
        user_agent_for(WriteToken(7, 2), "")
    assert token_from_user_agent(user_agent, "") is None
    assert token_from_user_agent(user_agent, " , ") is None


@pytest.mark.parametrize(("job_id", "attempt"), [(-1, 0), (0, -1), (10**18, 0)])
def test_out_of_range_tokens_cannot_be_made(job_id: int, attempt: int) -> None:
    with pytest.raises(ValueError):
        WriteToken(job_id, attempt)


def test_tokens_are_frozen_and_hashable() -> None:
    assert len({WriteToken(1, 1), WriteToken(1, 1), WriteToken(1, 2)}) == 2


@given(st.one_of(st.none(), st.text(), st.text(alphabet="crossdok/0.1 (+write)0123456789abcdef")),
       st.text())
def test_any_string_and_any_key_never_raise(user_agent: str | None, secret_key: str) -> None:
    assert token_from_user_agent(user_agent, secret_key) is None


@given(st.integers(0, 10**18 - 1), st.integers(0, 10**18 - 1),
       st.sampled_from([OLD_KEY, f"{NEW_KEY},{OLD_KEY}", "any opaque string"]))
def test_any_token_round_trips(job_id: int, attempt: int, secret_key: str) -> None:
    token = WriteToken(job_id, attempt)

    assert token_from_user_agent(user_agent_for(token, secret_key), secret_key) == token
