"""The face_recognition node run by the automation runtime (a subprocess on the real broker,
PostgreSQL and Redis), on face detections as vision publishes them, injected here (the simulated
cameras draw no faces): only the chosen enrolled person's face fires the pipeline's action."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import psycopg

from services.automation.tests.support import Runtime, Tap, future, new_camera, new_org, new_pipeline, person
from vigia.common.broker import AsyncPublisher
from vigia.common.messages import Envelope, make


def face(org: uuid.UUID, camera: uuid.UUID, identity: uuid.UUID | None, distance: float, track: str) -> Envelope:
    return make("detection.created", org, "vision-test", {
        "camera": camera, "frame": uuid.uuid4(), "captured_at": int(future() * 1e9), "label": "face",
        "confidence": 0.9, "track": track, "box": {"x1": 620, "y1": 410, "x2": 660, "y2": 450},
        "identity": identity, "identity_distance": distance})


async def test_a_pipeline_fires_on_the_chosen_enrolled_persons_face_only(
        db: psycopg.Connection[Any], broker: AsyncPublisher, tap: Tap, runtimes: Callable[[str], Runtime]) -> None:
    org = new_org(db)
    camera, channel = new_camera(db, org), uuid.uuid4()
    ana, bruno = uuid.uuid4(), uuid.uuid4()
    new_pipeline(db, org, {"nodes": [
        {"id": "cam", "type": "camera_rtsp", "config": {"camera": str(camera)}},
        {"id": "ana", "type": "face_recognition", "config": {"people": [str(ana)]}},
        {"id": "alert", "type": "http_post", "config": {"channel": str(channel)}},
    ], "edges": [
        {"source": "cam", "source_port": "detections", "target": "ana", "target_port": "detections"},
        {"source": "ana", "source_port": "faces", "target": "alert", "target_port": "data"},
    ]})
    runtime = runtimes("a").start()
    await runtime.holding(2)
    await broker.publish_many([
        person(org, camera, future(), track="t1"),
        face(org, camera, bruno, 0.41, "t2:face"),
        face(org, camera, None, 0.77, "t3:face"),
        face(org, camera, ana, 0.33, "t1:face"),
    ])
    await tap.wait(lambda t: len(t.of("action.")) >= 1)
    await asyncio.sleep(1.0)  # nothing else comes
    (action,) = tap.of("action.")
    payload = action.data.payload  # type: ignore[attr-defined]
    assert (payload["identity"], payload["identity_distance"], payload["track"]) == (str(ana), 0.33, "t1:face")
    assert runtime.stop() == 0
