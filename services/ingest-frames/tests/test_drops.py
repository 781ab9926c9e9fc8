"""Frames the broker sheds from the vision.frames.<k> queues (queue full, TTL expired) are counted."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from vigia.common.broker.management import vhost_of
from vigia.ingest_frames.drops import QueueFlow


def test_dropped_is_what_entered_and_was_neither_delivered_nor_waiting() -> None:
    flow = QueueFlow(published=100, delivered=30, redelivered=5, ready=10, unacknowledged=3)
    assert flow.dropped == 100 - (30 - 5) - 10


def test_vhost_is_read_from_the_amqp_url() -> None:
    assert vhost_of("amqp://u:p@h:5672/%2F") == "/"
    assert vhost_of("amqp://u:p@h:5672/") == "/"
    assert vhost_of("amqp://u:p@h:5672/test-1") == "test-1"


async def _dropped(client: Any) -> float | None:
    """Frames dropped from all the shard queues (None before the meter read any)."""
    text = (await client.get("/metrics")).text
    found = re.findall(r'vigia_frames_dropped_total\{queue="vision\.frames\.\d+",vhost="[^"]+"\} (\S+)', text)
    return sum(float(value) for value in found) if found else None


async def test_frames_beyond_max_length_or_past_their_ttl_raise_the_drop_counter(
        running: Any, settings_for: Any, tenant: Any, make_jpeg: Any) -> None:
    # The camera's shard queue holds 5 frames for 0.3 s here: 20 pushed means 15 shed at once, 5 expiring.
    gw = await running(settings_for(frames_max_length=5, frame_ttl_ms=300, frame_drop_poll_s=0.5))
    for _ in range(20):
        assert (await gw.post_frame(tenant, make_jpeg())).status_code == 202
    # The management plugin refreshes queue statistics every 5 s by default.
    for _ in range(60):
        if await _dropped(gw.client) == 20:
            break
        await asyncio.sleep(0.5)
    assert await _dropped(gw.client) == 20
    assert gw.gateway.drop_meter is not None and gw.gateway.drop_meter.ready == 0
    # Later drops add to the total.
    for _ in range(3):
        assert (await gw.post_frame(tenant, make_jpeg())).status_code == 202
    for _ in range(60):
        if await _dropped(gw.client) == 23:
            break
        await asyncio.sleep(0.5)
    assert await _dropped(gw.client) == 23
