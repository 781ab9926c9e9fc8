"""``python -m vigia.control mediamtx_sync``: keep MediaMTX's camera paths in sync, until SIGTERM.

Start-up: reconcile every enabled camera with MediaMTX's path list (retrying until MediaMTX
answers), then consume ``camera.*`` change messages from ``mediamtx.control`` (bound to
``vigia.control``) and sync the camera each one names. A message is acked only after MediaMTX
accepted the change; a failure is retried by the broker up to its delivery limit, then dead-lettered.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections

from vigia.common.broker import BrokerSettings, Consumer, declare_topology
from vigia.common.broker.consumer import MessageMeta
from vigia.common.broker.topology import CONTROL, DLX, dlq_name
from vigia.common.messages import Envelope
from vigia.common.observability import health, serve_metrics
from vigia.control.cameras.mediamtx import MediaMTXPaths, MediaMTXSettings, reconcile, sync_camera

log = logging.getLogger("vigia.control.mediamtx_sync")

MEDIAMTX_CONTROL = "mediamtx.control"
CAMERA_CHANGES = ("camera.created", "camera.updated", "camera.deleted")


async def declare_sync_queue(channel: Any, broker: BrokerSettings) -> None:
    """The topology, plus this worker's queue shaped like every durable queue of the topology module."""
    await declare_topology(channel, broker)
    queue = await channel.declare_queue(MEDIAMTX_CONTROL, durable=True, arguments={
        "x-queue-type": "quorum", "x-delivery-limit": broker.delivery_limit,
        "x-dead-letter-exchange": DLX, "x-dead-letter-routing-key": MEDIAMTX_CONTROL})
    await queue.bind(CONTROL, "camera.#")
    dlq = await channel.declare_queue(dlq_name(MEDIAMTX_CONTROL), durable=True,
                                      arguments={"x-queue-type": "quorum"})
    await dlq.bind(DLX, MEDIAMTX_CONTROL)


class CameraPathSync:
    """The handler: one camera change message -> that camera's MediaMTX path."""

    def __init__(self, paths: MediaMTXPaths, settings: MediaMTXSettings) -> None:
        self.paths = paths
        self.settings = settings

    def _sync(self, envelope: Envelope) -> str:
        close_old_connections()
        return sync_camera(self.paths, self.settings, envelope.data.camera)  # type: ignore[attr-defined]

    async def __call__(self, envelope: Envelope, meta: MessageMeta) -> None:
        if envelope.type not in CAMERA_CHANGES:
            return  # camera.restart and the like: nothing for MediaMTX
        done = await asyncio.to_thread(self._sync, envelope)
        log.info("mediamtx path synced", extra={"camera": str(envelope.data.camera),  # type: ignore[attr-defined]
                                                "type": envelope.type, "done": done})


class Command(BaseCommand):
    help = "Reconcile MediaMTX's paths with the enabled cameras, then follow camera.* changes."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="Reconcile once and exit.")
        parser.add_argument("--metrics-port", type=int, default=None,
                            help="Port of /metrics, /healthz, /readyz (0: none; default VIGIA_METRICS_PORT).")

    def handle(self, *args: Any, **options: Any) -> None:
        cfg = settings.VIGIA
        sync_settings = MediaMTXSettings()
        paths = MediaMTXPaths(sync_settings.mediamtx_api_url, sync_settings.mediamtx_api_user,
                              sync_settings.mediamtx_api_password.get_secret_value())
        try:
            if options["once"]:
                try:
                    report = reconcile(paths, sync_settings)
                except Exception as exc:
                    raise CommandError(f"mediamtx sync failed: {exc}") from exc
                self.stdout.write(json.dumps({"added": report.added, "patched": report.patched,
                                              "deleted": report.deleted}))
                return
            self._reconcile_until_reachable(paths, sync_settings)
            broker = BrokerSettings()
            consumer = Consumer(cfg.amqp_url, MEDIAMTX_CONTROL, CameraPathSync(paths, sync_settings),
                                settings=broker, connection_name="mediamtx-sync",
                                setup=lambda channel: declare_sync_queue(channel, broker))
            health.add("consumer", consumer.started.is_set)
            port = options["metrics_port"] if options["metrics_port"] is not None else cfg.metrics_port
            if port:
                serve_metrics(port)
            asyncio.run(consumer.run())
        finally:
            paths.close()

    def _reconcile_until_reachable(self, paths: MediaMTXPaths, sync_settings: MediaMTXSettings) -> None:
        delay = 0.5
        while True:
            try:
                reconcile(paths, sync_settings)
                return
            except Exception as exc:  # MediaMTX starting or down: keep trying, with back-off
                log.warning("mediamtx not reachable; retrying", extra={"error": str(exc)[:200], "in_s": delay})
                time.sleep(delay)
                delay = min(delay * 2, 30)
