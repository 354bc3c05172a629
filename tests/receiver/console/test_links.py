"""Links to queues in the RabbitMQ management console."""

from __future__ import annotations

from receiver.console.links import rabbitmq_queue_url


def test_a_queue_link_names_the_virtual_host_and_the_queue() -> None:
    assert rabbitmq_queue_url("http://127.0.0.1:15672/", "amqp://u:p@h:5672/%2F",
                              "crossdock.endpoint.mirror.work") == (
        "http://127.0.0.1:15672/#/queues/%2F/crossdock.endpoint.mirror.work")
    assert rabbitmq_queue_url("https://mq.example/rabbit", "amqp://h/prod,amqp://g/prod",
                              "q a") == "https://mq.example/rabbit/#/queues/prod/q%20a"
    assert rabbitmq_queue_url("http://mq", "amqp://h", "q") == "http://mq/#/queues/%2F/q"


def test_no_console_url_no_link() -> None:
    assert rabbitmq_queue_url("", "amqp://h/%2F", "q") is None
