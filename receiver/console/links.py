"""Links into the RabbitMQ management console (``rabbitmq_console_url``). Pure."""

from __future__ import annotations

from urllib.parse import quote, unquote, urlsplit

from shared.amqp_urls import split_amqp_urls


def rabbitmq_queue_url(console_url: str, amqp_url: str, queue: str) -> str | None:
    """The management console's page of `queue`, in the virtual host of `amqp_url`
    (the first node's); None when no console URL is configured."""
    if not console_url:
        return None
    vhost = unquote(urlsplit(split_amqp_urls(amqp_url)[0]).path[1:]) or "/"
    return f"{console_url.rstrip('/')}/#/queues/{quote(vhost, safe='')}/{quote(queue, safe='')}"
