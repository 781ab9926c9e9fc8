"""``python -m vigia.control recorder``: store what the data plane publishes, until SIGTERM.

Start-up: engine -> recorder -> consumer on ``recorder.events`` (declaring the topology first;
a message meeting the database down is retried in place, not dead-lettered) -> metrics -> consume
until SIGTERM, finish in-flight messages, exit.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from sqlalchemy.exc import InterfaceError, OperationalError

from vigia.common.broker import BrokerSettings, Consumer, declare_topology
from vigia.common.broker.topology import RECORDER_EVENTS
from vigia.common.db import database_ready, make_engine
from vigia.common.observability import health, serve_metrics
from vigia.control.observations.recorder import Recorder

DEFAULT_METRICS_PORT = 9111
log = logging.getLogger("vigia.control.recorder")


async def consume(consumer: Consumer, metrics_port: int) -> None:
    """Run ``consumer`` until SIGTERM, saying once that the recorder is ready."""
    running = asyncio.create_task(consumer.run())
    started = asyncio.create_task(consumer.started.wait())
    await asyncio.wait([running, started], return_when=asyncio.FIRST_COMPLETED)
    if consumer.started.is_set():
        log.info("recorder ready: consuming %s, metrics on :%d", consumer.queue_name, metrics_port,
                 extra={"queue": consumer.queue_name, "prefetch": consumer.prefetch, "metrics_port": metrics_port})
    started.cancel()
    await running


class Command(BaseCommand):
    help = "Consume recorder.events and store detections, events, anomalies and device status."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--amqp-url", default=None, help="Broker URL (default: VIGIA_AMQP_URL).")
        parser.add_argument("--queue", default=RECORDER_EVENTS, help="Queue to consume.")
        parser.add_argument("--prefetch", type=int, default=None,
                            help="Unacked messages in flight (default: VIGIA_PREFETCH).")
        parser.add_argument("--metrics-port", type=int, default=None,
                            help="Port of /metrics, /healthz, /readyz (0: none; default "
                            f"VIGIA_METRICS_PORT or {DEFAULT_METRICS_PORT}).")

    def handle(self, *args: Any, **options: Any) -> None:
        cfg = settings.VIGIA
        broker = BrokerSettings()
        prefetch = options["prefetch"] or broker.prefetch
        engine = make_engine(cfg.database_url, pool_size=min(prefetch, 10), application_name="vigia-recorder")
        recorder = Recorder(engine)
        # The database away (restarting, failing over) is no fault of the message: hold it and retry.
        consumer = Consumer(options["amqp_url"] or cfg.amqp_url, options["queue"], recorder,
                            prefetch=prefetch, settings=broker, connection_name="recorder",
                            setup=lambda channel: declare_topology(channel, broker),
                            unavailable=(OperationalError, InterfaceError))
        health.add("database", lambda: database_ready(engine))
        health.add("consumer", consumer.started.is_set)
        port = options["metrics_port"]
        if port is None:
            port = cfg.metrics_port or DEFAULT_METRICS_PORT
        if port:
            serve_metrics(port)
        try:
            asyncio.run(consume(consumer, port))
        finally:
            engine.dispose()
