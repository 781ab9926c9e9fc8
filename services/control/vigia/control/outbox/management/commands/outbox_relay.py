"""``python -m vigia.control outbox_relay``: publish the outbox to RabbitMQ until SIGTERM."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from vigia.common.observability import health, serve_metrics
from vigia.control.outbox.relay import OutboxRelay

DEFAULT_METRICS_PORT = 9110


class Command(BaseCommand):
    help = "Publish committed outbox rows to the broker (confirms, mandatory) until SIGTERM."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--amqp-url", default=None, help="Broker URL (default: VIGIA_AMQP_URL).")
        parser.add_argument("--batch", type=int, default=None, help="Rows per transaction.")
        parser.add_argument("--metrics-port", type=int, default=None,
                            help="Port of /metrics, /healthz, /readyz (0: none; default VIGIA_METRICS_PORT "
                            f"or {DEFAULT_METRICS_PORT}).")
        parser.add_argument("--once", action="store_true", help="Publish one batch and exit.")

    def handle(self, *args: Any, **options: Any) -> None:
        cfg = settings.VIGIA
        relay = OutboxRelay(options["amqp_url"] or cfg.amqp_url, batch=options["batch"] or cfg.outbox_batch,
                            poll_seconds=cfg.outbox_poll_seconds)
        if options["once"]:
            result = relay.run_once()
            relay.close()
            self.stdout.write(f"published {result.published}, deferred {result.deferred}, "
                              f"broker_failed {result.broker_failed}")
            return
        port = options["metrics_port"]
        if port is None:
            port = cfg.metrics_port or DEFAULT_METRICS_PORT
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        health.add("outbox_relay", lambda: not stop.is_set())
        if port:
            serve_metrics(port)
        relay.run(stop)
