"""Helpers of the automation tests: rows in the database, graphs, detections, a tap on what the
runtime publishes, and the runtime as a subprocess (``python -m vigia.automation``)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import psycopg
from redis.asyncio import Redis

from vigia.common.messages import Envelope, make

ROOT = Path(__file__).resolve().parents[3]
REDIS_URL = os.environ.get("VIGIA_TEST_AUTOMATION_REDIS_URL", "redis://127.0.0.1:6379/5")
SHARDS = 2
# How long a test waits for something that should happen before calling it lost: a guard, not a
# speed claim (a loaded 2-core machine has taken over 20 s to start a runtime and see a message).
GUARD_S = 60.0
PHONE = "+5511999990000"
DOOR = {"name": "door", "points": [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]}


def new_org(db: psycopg.Connection[Any]) -> uuid.UUID:
    org = uuid.uuid4()
    db.execute("INSERT INTO organizations (id, name, slug, settings, created_at) VALUES (%s, %s, %s, '{}', now())",
               (org, "Automation test", f"au-{org.hex[:12]}"))
    return org


def new_camera(db: psycopg.Connection[Any], org: uuid.UUID, zones: list[dict[str, Any]] | None = None) -> uuid.UUID:
    camera = uuid.uuid4()
    db.execute("INSERT INTO cameras (id, org_id, name, rtsp_url_encrypted, fps, zones, location, site, enabled, "
               "status, version, created_at, updated_at) VALUES (%s, %s, %s, 'x', 1, %s, '', 'site', true, "
               "'active', 1, now(), now())", (camera, org, f"cam {camera.hex[:6]}", orjson.dumps(zones or []).decode()))
    return camera


def new_pipeline(db: psycopg.Connection[Any], org: uuid.UUID, graph: dict[str, Any], state: str = "running",
                 name: str | None = None) -> uuid.UUID:
    pipeline = uuid.uuid4()
    db.execute("INSERT INTO pipelines (id, org_id, name, description, graph, state, version, created_at, updated_at) "
               "VALUES (%s, %s, %s, '', %s, %s, 1, now(), now())",
               (pipeline, org, name or f"p-{pipeline.hex[:8]}", orjson.dumps(graph).decode(), state))
    return pipeline


def detection_graph(camera: uuid.UUID, channel: uuid.UUID) -> dict[str, Any]:
    """camera -> people -> WhatsApp: fires on every person the camera sees."""
    return {"nodes": [
        {"id": "cam", "type": "camera_rtsp", "config": {"camera": str(camera)}},
        {"id": "people", "type": "object_detection", "config": {"classes": ["person"], "confidence": 0.5}},
        {"id": "loiter", "type": "loitering", "config": {"seconds": 3600}},  # a stateful node fed too
        {"id": "alert", "type": "http_post", "config": {"channel": str(channel)}},
    ], "edges": [
        {"source": "cam", "source_port": "detections", "target": "people", "target_port": "detections"},
        {"source": "people", "source_port": "detections", "target": "loiter", "target_port": "detections"},
        {"source": "people", "source_port": "detections", "target": "alert", "target_port": "data"},
    ]}


def loitering_graph(camera: uuid.UUID, channel: uuid.UUID, seconds: float = 3, output: str = "whatsapp",
                    output_id: str = "wa") -> dict[str, Any]:
    """camera -> loitering in the door zone -> WhatsApp (or another output)."""
    config: dict[str, Any] = {"channel": str(channel)}
    if output in ("whatsapp", "telegram"):
        config["recipients"] = [PHONE if output == "whatsapp" else "12345"]
    return {"nodes": [
        {"id": "cam", "type": "camera_rtsp", "config": {"camera": str(camera)}},
        {"id": "loiter", "type": "loitering", "config": {"zones": ["door"], "seconds": seconds}},
        {"id": output_id, "type": output, "config": config},
    ], "edges": [
        {"source": "cam", "source_port": "detections", "target": "loiter", "target_port": "detections"},
        {"source": "loiter", "source_port": "events", "target": output_id, "target_port": "events"},
    ]}


def person(org: uuid.UUID, camera: uuid.UUID, at_s: float, track: str = "t1") -> Envelope:
    """A person standing at the bottom middle of a 1280x720 frame, seen at ``at_s`` (epoch s)."""
    return make("detection.created", org, "vision-test", {
        "camera": camera, "frame": uuid.uuid4(), "captured_at": int(at_s * 1e9), "label": "person",
        "confidence": 0.9, "track": track, "box": {"x1": 600, "y1": 400, "x2": 680, "y2": 700}})


def future() -> float:
    """An observation time an hour ahead of the wall clock (a camera's clock running ahead): no node
    compares a detection's time with a tick's (ADR 0004). Ticks do age a dwell by the wall time since
    its latest detection was taken, so the tests' dwells (30 s) outlast the gaps between batches."""
    return datetime.now(UTC).timestamp() + 3600


@dataclass
class Tap:
    """Every message of ``keys`` on an exchange, as envelopes, in arrival order."""

    seen: list[Envelope] = field(default_factory=list)

    def of(self, type_prefix: str) -> list[Envelope]:
        return [e for e in self.seen if e.type.startswith(type_prefix)]

    async def wait(self, until: Callable[[Tap], bool], within: float = GUARD_S) -> None:
        deadline = asyncio.get_running_loop().time() + within
        while not until(self):
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"timed out; saw {[(e.type, e.data) for e in self.seen]}")
            await asyncio.sleep(0.05)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Runtime:
    """``python -m vigia.automation`` against the test's vhost and database."""

    def __init__(self, amqp_url: str, database_url: str, vhost: str, name: str) -> None:
        self.vhost = vhost
        self.name = name
        self.env = {**os.environ, "VIGIA_AMQP_URL": amqp_url, "VIGIA_DATABASE_URL": database_url,
                    "VIGIA_REDIS_URL": REDIS_URL, "VIGIA_AUTOMATION_SHARDS": str(SHARDS),
                    "VIGIA_SHARD_LEASE_MS": "1500", "VIGIA_AUTOMATION_INSTANCE": name,
                    "VIGIA_METRICS_PORT": str(free_port()), "VIGIA_LOG_LEVEL": "WARNING",
                    "VIGIA_AUTOMATION_TICK_S": "0.5"}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Runtime:
        self.process = subprocess.Popen([sys.executable, "-m", "vigia.automation"], env=self.env, cwd=ROOT)
        return self

    async def holding(self, shards: int, within: float = GUARD_S) -> None:
        """Wait until this runtime holds ``shards`` shard leases."""
        redis = Redis.from_url(REDIS_URL)
        try:
            deadline = asyncio.get_running_loop().time() + within
            while True:
                holders = await redis.mget([f"shards:{self.vhost}:automation:{k}" for k in range(SHARDS)])
                if sum(1 for h in holders if h == self.name.encode()) >= shards:
                    return
                assert self.process is not None and self.process.poll() is None, "the runtime exited"
                if asyncio.get_running_loop().time() > deadline:
                    raise AssertionError(f"{self.name} holds {holders}")
                await asyncio.sleep(0.1)
        finally:
            await redis.aclose()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(30)


def rows(db: psycopg.Connection[Any], query: str, *params: Any) -> list[tuple[Any, ...]]:
    return db.execute(query, params).fetchall()
