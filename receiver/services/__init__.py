"""The receiver's service layer: what the management API and the web console do,
called by both, with no HTTP between them.

Views load their input through the API's marshmallow schemas (the only
validators; the console turns form fields into the same shapes) and pass the
loaded shapes to these functions, with the app's `Services` from
`current_services()`. The functions act on the store and the broker, log what
they did, and return records or small frozen results. They raise:

- `marshmallow.ValidationError` naming a field (a name no record has): 400;
- `RecordNotFoundError` (404), `ConflictError` (409) from the store;
- a `TransientError` (503): the store or RabbitMQ is down, RabbitMQ blocks
  publishes (`BrokerBlockedError`), `errors.QueuesUnavailableError`,
  `errors.NotQueuedError`.

One module per concern: `rules`, `executions`, `jobs` (lists page by key, see
`pages`), `endpoints`, `sources`, `links` (and pairs), `connection` (Test
Connection, see `probe`), `lookup` (records by name); and for the console's
pages `projects` (a source's projects, from `listings`), `queues` (each
endpoint's queue depths) and `schedules` (a cron schedule's next runs). What
needs a registry or RabbitMQ comes from a `refresh.BackgroundCache`: no request
waits on them.
"""

from receiver.services.context import Services, current_services, services_of

__all__ = ["Services", "current_services", "services_of"]
