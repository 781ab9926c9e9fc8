"""Counting the frames the broker sheds: ``vigia_frames_dropped_total`` from the management API.

A frame shard queue (``vision.frames.<k>``) drops a frame when it waits longer than its TTL or
when the queue is full (``x-overflow=drop-head``), and RabbitMQ tells no publisher or consumer
about it. But the queue's own statistics account for every message that entered it::

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

Any service can meter perishable queues this way: ``FrameDropMeter(url, vhost, queues).run(5.0)``
(one management API request per poll, whatever the number of queues).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
from prometheus_client import REGISTRY
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from vigia.common.broker.management import management_client

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


def queue_flow(body: dict[str, Any]) -> QueueFlow | None:
    """A queue's counters from its management API object; None while it has no statistics yet."""
    stats = body.get("message_stats")
    if not isinstance(stats, dict) or body.get("messages_ready") is None:
        return None
    return QueueFlow(published=int(stats.get("publish", 0)), delivered=int(stats.get("deliver_get", 0)),
                     redelivered=int(stats.get("redeliver", 0)), ready=int(body["messages_ready"]),
                     unacknowledged=int(body.get("messages_unacknowledged") or 0))


async def read_queue_flows(client: httpx.AsyncClient, vhost: str, queues: Collection[str]) -> dict[str, QueueFlow]:
    """The counters of those of ``queues`` that exist and have statistics, in one request."""
    response = await client.get(f"/api/queues/{quote(vhost, safe='')}", params={
        "columns": "name,messages_ready,messages_unacknowledged,message_stats"})
    response.raise_for_status()
    flows = {}
    for body in response.json():
        if body.get("name") in queues and (flow := queue_flow(body)) is not None:
            flows[body["name"]] = flow
    return flows


class _DropCollector(Collector):
    """Exports every meter's totals; registered once per process."""

    def __init__(self) -> None:
        self.meters: dict[str, FrameDropMeter] = {}

    def collect(self) -> Iterator[Metric]:
        dropped = CounterMetricFamily(
            "vigia_frames_dropped", "Frames the broker dropped from a perishable queue (TTL expired or "
            "queue full), derived from the management API's queue statistics", labels=["vhost", "queue"])
        ready = GaugeMetricFamily("vigia_frames_queue_ready", "Frames waiting in a perishable queue",
                                  labels=["vhost", "queue"])
        for meter in list(self.meters.values()):
            for queue, count in sorted(meter.queues.items()):
                if count.total is None:
                    continue
                dropped.add_metric([meter.vhost, queue], count.total)
                ready.add_metric([meter.vhost, queue], count.ready)
        yield dropped
        yield ready


_COLLECTOR = _DropCollector()
REGISTRY.register(_COLLECTOR)


@dataclass
class DropCount:
    """One queue's running drop total (see the module docstring for why it never goes down)."""

    total: int | None = None  # None until the first successful read
    ready: int = 0
    last: QueueFlow | None = None
    base: int = 0  # total carried over from before the last counter reset
    peak: int = 0  # highest derived drop count since then

    def update(self, flow: QueueFlow) -> None:
        if self.last is not None and flow.published < self.last.published:
            # The counters restarted (queue re-created, statistics reset): carry on from our total.
            self.base, self.peak = self.total or 0, 0
        self.peak = max(self.peak, flow.dropped)
        self.total = self.base + self.peak
        self.last = flow
        self.ready = flow.ready


class FrameDropMeter:
    """Polls the statistics of the frame shard queues and keeps
    ``vigia_frames_dropped_total{vhost,queue}`` and ``vigia_frames_queue_ready{vhost,queue}``."""

    def __init__(self, management_url: str, vhost: str, queues: Sequence[str]) -> None:
        self.management_url = management_url
        self.vhost = vhost
        self.queues = {queue: DropCount() for queue in queues}
        _COLLECTOR.meters[vhost] = self

    @property
    def total(self) -> int | None:
        """Frames dropped from all the queues (None until one of them was read)."""
        totals = [c.total for c in self.queues.values() if c.total is not None]
        return sum(totals) if totals else None

    @property
    def ready(self) -> int:
        """Frames waiting in all the queues, as last read."""
        return sum(c.ready for c in self.queues.values())

    async def poll(self, client: httpx.AsyncClient) -> int | None:
        """Read the statistics once and update the totals; returns :attr:`total`."""
        for queue, flow in (await read_queue_flows(client, self.vhost, self.queues)).items():
            self.queues[queue].update(flow)
        return self.total

    async def run(self, interval: float) -> None:
        """Poll every ``interval`` seconds until cancelled; failures are logged and retried."""
        async with management_client(self.management_url) as client:
            while True:
                try:
                    await self.poll(client)
                except Exception as exc:  # a bad answer must not stop the meter for good
                    log.warning("could not read queue statistics", extra={"vhost": self.vhost, "error": str(exc)})
                await asyncio.sleep(interval)

    def close(self) -> None:
        """Stop exporting this meter's figures."""
        if _COLLECTOR.meters.get(self.vhost) is self:
            del _COLLECTOR.meters[self.vhost]
