"""SecretBox: encryption of secrets at rest, and what a missing or bad key says."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.errors import ConfigurationError
from shared.store import SecretBox, generate_secret_key, open_store


def test_a_secret_round_trips_and_is_not_stored_in_clear() -> None:
    box = SecretBox(generate_secret_key())

    token = box.encrypt("pa55word")

    assert "pa55word" not in token
    assert box.decrypt(token) == "pa55word"
    assert box.encrypt("pa55word") != token  # random IV: equal secrets do not look equal


@pytest.mark.parametrize("key", ["", "  ", ","])
def test_a_missing_key_says_how_to_make_one(key: str) -> None:
    with pytest.raises(ConfigurationError, match="CROSSDOCK_SECRET_KEY is not set") as info:
        SecretBox(key)
    assert "generate one with" in str(info.value) and "crossdock secret-key" in str(info.value)


def test_a_malformed_key_is_refused_without_echoing_it() -> None:
    with pytest.raises(ConfigurationError, match="not a valid Fernet key") as info:
        SecretBox("not-a-real-key-1234")
    assert "not-a-real-key-1234" not in str(info.value)


def test_a_key_list_encrypts_with_the_first_and_decrypts_with_any() -> None:
    old, new = generate_secret_key(), generate_secret_key()
    token_from_old = SecretBox(old).encrypt("s")

    rotated = SecretBox(f"{new}, {old}")

    assert rotated.decrypt(token_from_old) == "s"
    assert SecretBox(new).decrypt(rotated.encrypt("t")) == "t"


def test_a_wrong_key_cannot_decrypt() -> None:
    token = SecretBox(generate_secret_key()).encrypt("s")

    with pytest.raises(ConfigurationError, match="not the key it was encrypted with"):
        SecretBox(generate_secret_key()).decrypt(token)


def test_the_key_stays_out_of_repr() -> None:
    key = generate_secret_key()
    assert key not in repr(SecretBox(key))


def test_a_store_will_not_open_without_a_key(tmp_path: Path) -> None:
    database = tmp_path / "crossdock.db"

    with pytest.raises(ConfigurationError, match="CROSSDOCK_SECRET_KEY is not set"):
        open_store(f"sqlite:///{database}", "")

    assert not database.exists()  # refused before touching the database
