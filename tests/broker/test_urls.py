"""Hiding passwords in URLs, and reading `amqp_url`'s list (pure functions)."""

from __future__ import annotations

import pytest

from shared.amqp_urls import redact_url, split_amqp_urls


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("amqp://guest:guest@127.0.0.1:5672/%2F", "amqp://guest@127.0.0.1:5672/%2F"),
        ("amqp://a:one@h1/%2F,amqps://b:t:w@o@h2:5671/v?heartbeat=2",
         "amqp://a@h1/%2F,amqps://b@h2:5671/v?heartbeat=2"),
        ("cannot connect to amqp://u:p1@h1/x: refused; amqp://u:p2@h2/x: timeout",
         "cannot connect to amqp://u@h1/x: refused; amqp://u@h2/x: timeout"),
        ("amqp://h1:5672/%2F and amqp://u@h2", "amqp://h1:5672/%2F and amqp://u@h2"),
    ],
)
def test_every_password_in_a_text_is_hidden(text: str, shown: str) -> None:
    assert redact_url(text) == shown


def test_a_list_is_split_in_order_and_trimmed() -> None:
    assert split_amqp_urls(" amqp://h1/%2F ,amqps://u:p@h2:5671/v") == (
        "amqp://h1/%2F", "amqps://u:p@h2:5671/v")


def test_a_malformed_entry_is_named_by_position_without_its_text() -> None:
    with pytest.raises(ValueError, match="URL 2 of 2 must start with amqp://") as caught:
        split_amqp_urls("amqp://u:pa@h1/%2F,ss@h2/%2F")  # a raw comma in a password
    assert "ss@h2" not in str(caught.value)
