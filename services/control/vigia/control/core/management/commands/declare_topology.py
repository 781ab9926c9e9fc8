"""Declare every exchange, queue and binding of the broker topology (idempotent)."""

from __future__ import annotations

from typing import Any

import pika
from django.conf import settings
from django.core.management.base import BaseCommand

from vigia.common.broker import BrokerSettings, declare_topology_sync


class Command(BaseCommand):
    help = "Declare Vigia's RabbitMQ topology (exchanges, quorum queues, DLQs, bindings)."

    def handle(self, *args: Any, **options: Any) -> None:
        broker = BrokerSettings(amqp_url=settings.VIGIA.amqp_url)
        connection = pika.BlockingConnection(pika.URLParameters(broker.amqp_url))
        try:
            topology = declare_topology_sync(connection.channel(), broker)
        finally:
            connection.close()
        self.stdout.write(
            f"topology declared: {len(topology.exchanges)} exchanges, {len(topology.queues)} queues, "
            f"{len(topology.bindings)} bindings"
        )
