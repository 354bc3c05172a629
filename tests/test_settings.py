"""Settings: YAML file under CROSSDOCK_* variables, one frozen object, clear errors."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from shared.errors import ConfigurationError
from shared.settings import Settings, load_settings


def test_defaults_without_file_or_environment() -> None:
    assert load_settings(environ={}) == Settings()


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    config = tmp_path / "crossdock.yml"
    config.write_text("blob_workers: 3\nqueue_type: classic\nretry_delays: [1, 2]\n")

    settings = load_settings(environ={
        "CROSSDOCK_CONFIG": str(config),
        "CROSSDOCK_BLOB_WORKERS": "9",
        "CROSSDOCK_COPY_REFERRERS": "false",
    })

    assert settings.blob_workers == 9
    assert settings.queue_type == "classic"
    assert settings.retry_delays == (1, 2)
    assert settings.copy_referrers is False


def test_settings_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings().blob_workers = 2  # type: ignore[misc]


def test_list_settings_from_the_environment() -> None:
    settings = load_settings(environ={"CROSSDOCK_RETRY_DELAYS": "30, 120,300"})

    assert settings.retry_delays == (30, 120, 300)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"CROSSDOCK_BLOB_WORKERS": "many"}, "blob_workers"),
        ({"CROSSDOCK_BLOB_WORKERS": "0"}, "at least 1"),
        ({"CROSSDOCK_QUEUE_TYPE": "stream"}, "quorum, classic"),
        ({"CROSSDOCK_COPY_REFERRERS": "perhaps"}, "copy_referrers"),
        ({"CROSSDOCK_CONFIG": "/nonexistent/crossdock.yml"}, "cannot read"),
        ({"CROSSDOCK_CONSUMER_PREFETCH": "-1"}, "consumer_prefetch must be 0"),
    ],
)
def test_bad_values_name_the_setting(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        load_settings(environ=environ)


def test_unknown_key_in_file_is_an_error(tmp_path: Path) -> None:
    config = tmp_path / "c.yml"
    config.write_text("blob_wrkers: 3\n")

    with pytest.raises(ConfigurationError, match="unknown setting"):
        load_settings(config, environ={})


def test_the_retired_echo_window_is_accepted_ignored_and_warned_about(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "crossdock.yml"
    config.write_text("echo_window_seconds: 600\n")

    settings = load_settings(config, environ={"CROSSDOCK_ECHO_WINDOW_SECONDS": "60"})

    assert not hasattr(settings, "echo_window_seconds")
    assert "echo_window_seconds is deprecated and ignored" in capsys.readouterr().err


def test_a_list_of_broker_urls_is_accepted() -> None:
    urls = "amqp://u:p@rabbit1:5672/%2F, amqps://u:p@rabbit2:5671/%2F?heartbeat=10"

    assert load_settings(environ={"CROSSDOCK_AMQP_URL": urls}).amqp_url == urls


@pytest.mark.parametrize(
    "value",
    [
        "amqp://u:secret@rabbit1:5672/%2F,",  # a stray comma
        "amqp://u:secret@rabbit1:5672/%2F,rabbit2:5672",  # the list needs full URLs
        "http://u:secret@rabbit1/",
        "amqp://u:secret@rabbit1:notaport/%2F",
        "amqp://u:secret@/%2F",
        "amqp://u:secret@rabbit1/a/b",
    ],
)
def test_a_malformed_broker_url_list_names_the_setting_and_hides_passwords(value: str) -> None:
    with pytest.raises(ConfigurationError, match="amqp_url") as caught:
        load_settings(environ={"CROSSDOCK_AMQP_URL": value})
    assert "secret" not in str(caught.value)


def test_the_broker_connect_timeout_must_be_positive() -> None:
    assert load_settings(environ={}).amqp_connect_timeout == 1.0
    with pytest.raises(ConfigurationError, match="amqp_connect_timeout"):
        load_settings(environ={"CROSSDOCK_AMQP_CONNECT_TIMEOUT": "0"})


def test_the_console_settings_default_to_plain_http_and_no_rabbitmq_links() -> None:
    settings = load_settings(environ={})

    assert settings.behind_tls_proxy is False
    assert settings.rabbitmq_console_url == ""


def test_the_console_settings_from_the_environment() -> None:
    settings = load_settings(environ={"CROSSDOCK_BEHIND_TLS_PROXY": "true",
                                      "CROSSDOCK_RABBITMQ_CONSOLE_URL": "http://127.0.0.1:15672"})

    assert settings.behind_tls_proxy is True
    assert settings.rabbitmq_console_url == "http://127.0.0.1:15672"


@pytest.mark.parametrize(("value", "message"), [
    ("127.0.0.1:15672", "http:// or https:// URL"),
    ("ftp://mq.example", "http:// or https:// URL"),
    ("http://", "with a host"),
    ("http://guest:guest@127.0.0.1:15672", "user name or password"),
    ("http://127.0.0.1:15672/#/queues", "without a query or #fragment"),
    ("http://127.0.0.1:99999", "is not a URL"),
])
def test_a_bad_rabbitmq_console_url_names_the_setting(value: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=f"rabbitmq_console_url: .*{message}"):
        load_settings(environ={"CROSSDOCK_RABBITMQ_CONSOLE_URL": value})


def test_behind_tls_proxy_must_be_a_boolean() -> None:
    with pytest.raises(ConfigurationError, match="behind_tls_proxy"):
        load_settings(environ={"CROSSDOCK_BEHIND_TLS_PROXY": "sometimes"})
