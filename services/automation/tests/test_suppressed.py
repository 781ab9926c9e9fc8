"""The suppressed node run by the automation runtime (a subprocess on the real broker, PostgreSQL
and Redis), on events as the correlator publishes them: a pipeline notifies through ``false`` and
holds what the correlator marked a likely false alarm."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import psycopg

from services.automation.tests.support import Runtime, Tap, future, new_org, new_pipeline
from vigia.common.broker import AsyncPublisher
from vigia.common.messages import Envelope, EventChanged, make


def event(org: uuid.UUID, score: float | None, likely: bool) -> Envelope:
    return make("event.created", org, "correlator-test", EventChanged(
        event=uuid.uuid4(), event_type="correlated_anomaly", severity="high", score=0.8,
        started_at=int(future() * 1e9), site="dock", false_alarm_score=score,
        false_alarm_model=uuid.uuid4() if score is not None else None, likely_false_alarm=likely))


async def test_a_pipeline_holds_the_notifications_of_likely_false_alarms(
        db: psycopg.Connection[Any], broker: AsyncPublisher, tap: Tap, runtimes: Callable[[str], Runtime]) -> None:
    org, channel = new_org(db), uuid.uuid4()
    new_pipeline(db, org, {"nodes": [
        {"id": "events", "type": "event", "config": {}},
        {"id": "held", "type": "suppressed", "config": {}},
        {"id": "alert", "type": "http_post", "config": {"channel": str(channel)}},
    ], "edges": [
        {"source": "events", "source_port": "events", "target": "held"},
        {"source": "held", "source_port": "false", "target": "alert", "target_port": "data"},
    ]})
    runtime = runtimes("a").start()
    await runtime.holding(2)
    marked, scored, unscored = event(org, 0.97, True), event(org, 0.2, False), event(org, None, False)
    await broker.publish_many([marked, scored, unscored])
    await tap.wait(lambda t: len(t.of("action.")) >= 2)
    await asyncio.sleep(1.0)  # nothing else comes
    notified = {a.data.payload["event"] for a in tap.of("action.")}  # type: ignore[attr-defined]
    assert notified == {str(scored.data.event), str(unscored.data.event)}  # type: ignore[union-attr]
    assert runtime.stop() == 0
