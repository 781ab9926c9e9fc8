"""Counting the frames the broker sheds: ``vigia_frames_dropped_total`` from the management API.

``vision.frames`` drops a frame when it waits longer than its TTL or when the queue is full
(``x-overflow=drop-head``), and RabbitMQ tells no publisher or consumer about it. But the queue's
own statistics account for every message that entered it::

    dropped = published - (delivered - redelivered) - ready

(``published``: messages routed into the queue; ``delivered``: ``deliver_get``, which counts a
redelivered message again, hence ``- redelivered``; ``ready``: waiting now. Unacknowledged
messages were delivered already and are not subtracted twice.)

Accuracy: exact at rest. The management plugin refreshes these counters every
``collect_statistics_interval`` (5 s by default), so the metric lags by up to that plus the poll
period, and the counters are not read atomically, so a snapshot taken under load can be off by the
frames in flight at that instant. A frame nacked back into the queue appears briefly as -1. The
exported total therefore never goes down: it follows the derived value upwards, and when the
counters restart from zero (queue re-created, statistics database reset) it carries on from where it
was. Every replica that polls reports the same queue's figure; aggregate it with ``max``, not
``sum``. Frames a consumer rejects are not counted here (the consumer counts them as ``dropped``).

Any service can meter a queue this way: ``FrameDropMeter(url, vhost).run(5.0)``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
from prometheus_client import REGISTRY
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from vigia.common.broker.management import management_client
from vigia.common.broker.topology import VISION_FRAMES

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class QueueFlow:
    """A queue's lifetime message counters as the management API reports them."""

    published: int
    delivered: int
    redelivered: int
    ready: int
    unacknowledged: int

    @property
    def dropped(self) -> int:
        """Messages that entered the queue and left it without being delivered (may dip below 0
        for an instant, see the module docstring)."""
        return self.published - (self.delivered - self.redelivered) - self.ready


async def read_queue_flow(client: httpx.AsyncClient, vhost: str, queue: str) -> QueueFlow | None:
    """The queue's counters; None while the queue does not exist or has no statistics yet."""
    response = await client.get(f"/api/queues/{quote(vhost, safe='')}/{quote(queue, safe='')}")
    if response.status_code == 404:
        return None
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    stats = body.get("message_stats")
    if not isinstance(stats, dict) or body.get("messages_ready") is None:
        return None
    return QueueFlow(published=int(stats.get("publish", 0)), delivered=int(stats.get("deliver_get", 0)),
                     redelivered=int(stats.get("redeliver", 0)), ready=int(body["messages_ready"]),
                     unacknowledged=int(body.get("messages_unacknowledged") or 0))


class _DropCollector(Collector):
    """Exports every meter's total; registered once per process."""

    def __init__(self) -> None:
        self.meters: dict[tuple[str, str], FrameDropMeter] = {}

    def collect(self) -> Iterator[Metric]:
        dropped = CounterMetricFamily(
            "vigia_frames_dropped", "Frames the broker dropped from a perishable queue (TTL expired or "
            "queue full), derived from the management API's queue statistics", labels=["vhost", "queue"])
        ready = GaugeMetricFamily("vigia_frames_queue_ready", "Frames waiting in a perishable queue",
                                  labels=["vhost", "queue"])
        for (vhost, queue), meter in list(self.meters.items()):
            if meter.total is None:
                continue
            dropped.add_metric([vhost, queue], meter.total)
            ready.add_metric([vhost, queue], meter.ready)
        yield dropped
        yield ready


_COLLECTOR = _DropCollector()
REGISTRY.register(_COLLECTOR)


class FrameDropMeter:
    """Polls one queue's statistics and keeps ``vigia_frames_dropped_total{vhost,queue}``."""

    def __init__(self, management_url: str, vhost: str, queue: str = VISION_FRAMES) -> None:
        self.management_url = management_url
        self.vhost = vhost
        self.queue = queue
        self.total: int | None = None  # None until the first successful read
        self.ready = 0
        self._last: QueueFlow | None = None
        self._base = 0  # total carried over from before the last counter reset
        self._peak = 0  # highest derived drop count since then
        _COLLECTOR.meters[(vhost, queue)] = self

    async def poll(self, client: httpx.AsyncClient) -> int | None:
        """Read the statistics once and update :attr:`total`; returns it."""
        flow = await read_queue_flow(client, self.vhost, self.queue)
        if flow is None:
            return self.total
        if self._last is not None and flow.published < self._last.published:
            # The counters restarted (queue re-created, statistics reset): carry on from our total.
            self._base, self._peak = self.total or 0, 0
        self._peak = max(self._peak, flow.dropped)
        self.total = self._base + self._peak
        self._last = flow
        self.ready = flow.ready
        return self.total

    async def run(self, interval: float) -> None:
        """Poll every ``interval`` seconds until cancelled; failures are logged and retried."""
        async with management_client(self.management_url) as client:
            while True:
                try:
                    await self.poll(client)
                except Exception as exc:  # a bad answer must not stop the meter for good
                    log.warning("could not read queue statistics", extra={
                        "queue": self.queue, "error": str(exc)})
                await asyncio.sleep(interval)

    def close(self) -> None:
        """Stop exporting this meter's figures."""
        if _COLLECTOR.meters.get((self.vhost, self.queue)) is self:
            del _COLLECTOR.meters[(self.vhost, self.queue)]
