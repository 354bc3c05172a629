"""`crossdock receiver`: the Flask app under gunicorn (threaded workers).

With more than one worker process, Prometheus counters live in a shared
directory (prometheus_client's multiprocess mode) so `/metrics` adds up every
worker, whichever one answers. gunicorn's own lines go through crossdock's log
(JSON records, one per line), and its control socket stays off: gunicorn would
put it at one path per user (``$XDG_RUNTIME_DIR/gunicorn.ctl``), so every
receiver on a host would take it from the one before.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger as GunicornLogger

from shared.settings import Settings

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


class ReceiverServer(BaseApplication):  # type: ignore[misc]
    """gunicorn, configured from settings instead of a config file."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        super().__init__()

    def load_config(self) -> None:
        options: dict[str, Any] = {
            "bind": self.settings.receiver_bind,
            "workers": self.settings.receiver_workers,
            "threads": self.settings.receiver_threads,
            "worker_class": "gthread",
            "accesslog": None,  # the app logs one line per request itself
            "loglevel": self.settings.log_level,
            "graceful_timeout": 30,
            "timeout": 60,
            "child_exit": _child_exit,
            "logger_class": _GunicornLog,
            "control_socket_disable": True,  # gunicorn >= 25.1 (pinned in pyproject.toml)
        }
        if self.settings.receiver_workers > 1:
            # A worker accepts every connection it can, and a client's kept-alive
            # connection stays with the worker that took it: a burst of clients
            # connecting at once can all land on one worker while another idles.
            # Taking only a few more connections than it has threads leaves the
            # rest to the other workers (waiting in the listen backlog meanwhile).
            options["worker_connections"] = self.settings.receiver_threads + 4
        for key, value in options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        """In each worker: the app, and a scheduler thread (only one acts at a time)."""
        from receiver.app import create_app
        from receiver.scheduler import Scheduler
        from receiver.services import services_of
        from shared.logging import configure_logging

        configure_logging(self.settings)
        app = create_app(self.settings)
        found = services_of(app)
        Scheduler(found.store, found.publisher.publish_jobs,
                  republish_after=self.settings.republish_after_seconds,
                  metrics=found.metrics).start()
        return app


class _GunicornLog(GunicornLogger):  # type: ignore[misc]
    """gunicorn's start-up, worker and error lines, through crossdock's log handler."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for logger in (self.error_log, self.access_log):
            for handler in [h for h in logger.handlers if getattr(h, "_gunicorn", False)]:
                logger.removeHandler(handler)
            logger.propagate = True  # to the root logger, set up by `configure_logging`


def _child_exit(_server: Any, worker: Any) -> None:
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def serve(settings: Settings) -> None:
    """Run the receiver until SIGTERM/SIGINT."""
    cleanup = None
    if settings.receiver_workers > 1 and not os.environ.get(MULTIPROC_ENV):
        cleanup = tempfile.mkdtemp(prefix="crossdock-metrics-")
        os.environ[MULTIPROC_ENV] = cleanup
    master = os.getpid()
    try:
        ReceiverServer(settings).run()
    finally:
        # A worker is a fork of this process, and its exit unwinds through here too:
        # only the master removes the directory every worker writes to.
        if cleanup and os.getpid() == master:
            shutil.rmtree(cleanup, ignore_errors=True)
