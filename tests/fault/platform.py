"""The data plane as real processes on infrastructure of the fault tests' own, and the load that
runs through it in each fault round.

:func:`fault_platform` starts a RabbitMQ node, a PostgreSQL cluster and a Redis server of its own
(:mod:`tests.support.servers`: a test may stop, kill and restart them without disturbing anything
else), migrates the database, declares the topology and starts ingest-frames, vision (OpenCV HOG
detector, no OCR), the recorder, ingest-sensors, fusion and the correlator, each as
``python -m vigia.<service>`` the way deploy/local/Procfile starts it.

:func:`run_round` then streams, in a new organization of its own, frames of a few cameras (pushed
to ingest-frames over HTTP by this process: one picture with people, so each frame processed makes
the same known detections) and sensor packets of simulated phones (phonesim over WebSocket), applies
a fault midway, stops the load, waits until the stores settle and returns what was sent,
acknowledged and stored.

Not a test module (no ``test_`` prefix): used by tests/fault/test_fault_rounds.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, ClassVar

import cv2
import httpx
import numpy as np
import psycopg
import redis
import ultralytics
from sqlalchemy import insert

from tests.e2e.sensor_stack import add_phones
from tests.e2e.test_local_platform import stop_all
from tests.support.phones import record_acks
from tests.support.processes import ServiceProcesses, free_port
from tests.support.servers import (
    PostgresCluster,
    RabbitNode,
    RedisServer,
    postgres_cluster,
    rabbitmq_node,
    redis_server,
)
from vigia.common.db import cameras, make_engine
from vigia.simulators.phonesim.testing import PhoneIdentity, SignalConfig, run_phonesim
from vigia.vision.detectors.opencv import OpenCVConfig, OpenCVDetector

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = float(os.environ.get("VIGIA_FAULT_START_TIMEOUT_S", "180"))
HOG_WIDTH = 400  # the frame's own width: HOG runs on it unscaled
# Each round's counts line, for the terminal summary (tests/fault/conftest.py).
ROUND_COUNTS: list[str] = []

SERVICES: dict[str, list[str]] = {
    "ingest-frames": ["-m", "vigia.ingest_frames"],
    "ingest-sensors": ["-m", "vigia.ingest_sensors"],
    "vision": ["-m", "vigia.vision"],
    "recorder": ["-m", "vigia.control", "recorder"],
    "fusion": ["-m", "vigia.fusion"],
    "correlator": ["-m", "vigia.correlator"],
}


def frame_picture() -> bytes:
    """The frame every camera sends: Ultralytics' bus.jpg (people in the street) at 400 px wide."""
    image = cv2.imread(os.path.join(os.path.dirname(ultralytics.__file__), "assets", "bus.jpg"))
    small = cv2.resize(image, (HOG_WIDTH, round(image.shape[0] * HOG_WIDTH / image.shape[1])),
                       interpolation=cv2.INTER_AREA)
    ok, jpeg = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 80])
    assert ok
    return jpeg.tobytes()


def detections_per_frame(jpeg: bytes) -> int:
    """How many detections vision makes of ``jpeg``: the same detector, run here (it is deterministic)."""
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    return len(OpenCVDetector(OpenCVConfig(hog_width=HOG_WIDTH)).detect([image])[0])


@dataclass
class FaultPlatform(ServiceProcesses):
    """Handles on the servers and the service processes (see the module docstring)."""

    commands: ClassVar[dict[str, list[str]]] = SERVICES

    rabbit: RabbitNode
    postgres: PostgresCluster
    redis_server: RedisServer
    database_url: str
    logs: Path
    ports: dict[str, int]
    env: dict[str, dict[str, str]]
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    files: list[IO[bytes]] = field(default_factory=list)
    starts: dict[str, int] = field(default_factory=dict)
    picture: bytes = b""
    detections_per_frame: int = 0

    def ready_url(self, service: str) -> str | None:
        return f"http://127.0.0.1:{self.ports[service]}/readyz"

    def wait_ready(self, *services: str, timeout: float = START_TIMEOUT_S) -> None:
        super().wait_ready(*services, timeout=timeout)

    # --- the stores ---

    def sql(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.database_url, connect_timeout=5) as conn:
            return conn.execute(query, params).fetchall()

    def dead_letters(self) -> dict[str, int]:
        """Messages in the dead-letter queues (``<queue>.dlq``) of the broker, by queue."""
        queues = httpx.get(f"{self.rabbit.management_url}/api/queues", auth=("guest", "guest"), timeout=10).json()
        return {q["name"]: q.get("messages", 0) for q in queues if q["name"].endswith(".dlq") and q.get("messages")}

    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.redis_server.url, socket_timeout=2)

    def add_cameras(self, org: uuid.UUID, count: int, site: str) -> list[uuid.UUID]:
        """``count`` enabled cameras of ``org``, written straight into the database."""
        now = datetime.now(UTC)
        ids = [uuid.uuid4() for _ in range(count)]
        engine = make_engine(self.database_url, pool_size=1)
        try:
            with engine.begin() as conn:
                conn.execute(insert(cameras), [
                    {"id": camera, "org_id": org, "name": f"fault-camera-{i + 1}", "rtsp_url_encrypted": "",
                     "fps": 2.0, "zones": [], "location": "", "site": site, "enabled": True,
                     "status": "provisioning", "version": 1, "created_at": now, "updated_at": now}
                    for i, camera in enumerate(ids)])
        finally:
            engine.dispose()
        return ids


@contextlib.contextmanager
def fault_platform(tmp: Path) -> Iterator[FaultPlatform]:
    """Servers and services for the duration of the block; everything is stopped and removed after,
    failures included."""
    logs = tmp / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as servers:
        postgres = servers.enter_context(postgres_cluster())
        database_url = postgres.create_database("vigia")
        redis_srv = servers.enter_context(redis_server())
        # The migrations (the slow part) run while the broker node boots.
        migrating = subprocess.Popen([sys.executable, "-c", "from tests.support.databases import migrate; "
                                      f"migrate({database_url!r})"], cwd=ROOT, stderr=subprocess.PIPE)
        try:
            rabbit = servers.enter_context(rabbitmq_node())
        finally:
            _, stderr = migrating.communicate(timeout=600)
        assert migrating.returncode == 0, stderr.decode(errors="replace")[-3000:]
        ports = {s: free_port() for s in SERVICES}
        base = {
            **os.environ,
            "VIGIA_ENV": "development",
            "VIGIA_DATABASE_URL": database_url,
            "VIGIA_AMQP_URL": rabbit.amqp_url,
            "VIGIA_AMQP_MANAGEMENT_URL": rabbit.management_url,
            "VIGIA_REDIS_URL": redis_srv.url,
            "VIGIA_OBJECT_STORE": f"file://{tmp / 'objects'}",
            "VIGIA_LOG_JSON": "true",
            # Frames wait out a fault in their queue instead of expiring (the default TTL is 10 s);
            # leases of a killed replica expire within seconds.
            "VIGIA_FRAME_TTL_MS": "120000",
            "VIGIA_FRAME_SHARDS": "4",
            "VIGIA_SHARD_LEASE_MS": "3000",
        }
        per_service: dict[str, dict[str, str]] = {
            "ingest-frames": {"VIGIA_INGEST_FRAMES_HOST": "127.0.0.1",
                              "VIGIA_INGEST_FRAMES_PORT": str(ports["ingest-frames"]),
                              "VIGIA_FRAME_DROP_POLL_S": "0"},
            "ingest-sensors": {"VIGIA_INGEST_SENSORS_HOST": "127.0.0.1",
                               "VIGIA_INGEST_SENSORS_PORT": str(ports["ingest-sensors"])},
            "vision": {"VIGIA_VISION_DETECTOR": "opencv", "VIGIA_VISION_OCR": "false",
                       "VIGIA_VISION_SNAPSHOTS": "false", "VIGIA_VISION_HOG_WIDTH": str(HOG_WIDTH),
                       "VIGIA_METRICS_PORT": str(ports["vision"])},
            "recorder": {"VIGIA_METRICS_PORT": str(ports["recorder"])},
            "fusion": {"VIGIA_METRICS_PORT": str(ports["fusion"]), "VIGIA_FUSION_INSTANCE": "fault-fusion",
                       "VIGIA_FUSION_BATCH_LINGER_MS": "50"},
            # A person alone raises an incident (weight 0.7 >= threshold 0.6), so the frames make
            # incidents; evidence (ffmpeg) is not what these tests are about.
            "correlator": {"VIGIA_METRICS_PORT": str(ports["correlator"]),
                           "VIGIA_CORRELATION_WEIGHT_HUMANOID": "0.7", "VIGIA_EVIDENCE_DELAY_S": "3600"},
        }
        picture = frame_picture()
        platform = FaultPlatform(rabbit, postgres, redis_srv, database_url, logs, ports,
                                 {s: {**base, **per_service[s]} for s in SERVICES},
                                 picture=picture, detections_per_frame=detections_per_frame(picture))
        assert platform.detections_per_frame > 0
        done = subprocess.run([sys.executable, "-m", "vigia.control", "declare_topology"], cwd=ROOT,
                              env=platform.env["recorder"], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-3000:]
        try:
            for service in SERVICES:
                platform.start(service)
            platform.wait_ready()
            yield platform
        finally:
            stop_all(platform.procs)
            for f in platform.files:
                f.close()


# --- one round of load with a fault in the middle ---------------------------------------------


@dataclass
class FrameLoad:
    """Frames pushed by this process: every attempt is ``sent``; a 202 is acknowledged (frame id ->
    monotonic time of the answer); anything else (an error status, no answer) is refused."""

    sent: int = 0
    acked: dict[uuid.UUID, float] = field(default_factory=dict)
    refused: dict[str, int] = field(default_factory=dict)


async def push_frames(base: str, token: str, camera: uuid.UUID, picture: bytes, fps: float, load: FrameLoad,
                      stop: asyncio.Event) -> None:
    """Push ``picture`` as ``camera``'s frames at ``fps`` (capture time: now) until ``stop``."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "image/jpeg"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=20) as http:
        next_at = time.monotonic()
        while not stop.is_set():
            load.sent += 1
            try:
                response = await http.post("/api/v1/frames", content=picture,
                                           params={"camera": str(camera), "captured_at": str(time.time_ns())})
                if response.status_code == 202:
                    load.acked[uuid.UUID(response.json()["id"])] = time.monotonic()
                else:
                    load.refused[str(response.status_code)] = load.refused.get(str(response.status_code), 0) + 1
            except httpx.TransportError as exc:
                load.refused[type(exc).__name__] = load.refused.get(type(exc).__name__, 0) + 1
            next_at += 1 / fps
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), max(0.0, next_at - time.monotonic()))


@dataclass
class RoundResult:
    """What one round sent, got acknowledged and found stored (see :func:`run_round`)."""

    name: str
    org: uuid.UUID
    cameras: list[uuid.UUID]
    frames: FrameLoad
    # frame id -> (detection rows, distinct detection ids) of every frame with a stored detection
    detections: dict[uuid.UUID, tuple[int, int]]
    packets_made: int
    packets_acked: dict[str, set[int]]
    phone_stats: dict[str, Any]
    telemetry: dict[str, list[int]]  # device -> stored seqs (with repeats, if any)
    marks: dict[str, float]  # monotonic times of the fault's steps

    def summary(self, expected_per_frame: int) -> str:
        stored_frames = len(self.detections)
        duplicates = sum(rows - expected_per_frame for rows, _ in self.detections.values() if rows > expected_per_frame)
        telemetry_rows = sum(len(s) for s in self.telemetry.values())
        distinct_rows = sum(len(set(s)) for s in self.telemetry.values())
        acked = sum(len(s) for s in self.packets_acked.values())
        return (f"[fault round: {self.name}] frames sent={self.frames.sent} acknowledged={len(self.frames.acked)} "
                f"refused={sum(self.frames.refused.values())} {self.frames.refused} "
                f"stored={stored_frames} (x{expected_per_frame} detections) duplicate detections={duplicates}; "
                f"packets sent={self.packets_made} acknowledged={acked} stored={distinct_rows} "
                f"duplicates={telemetry_rows - distinct_rows}")


async def run_round(platform: FaultPlatform, name: str, fault: Callable[[dict[str, float]], Awaitable[None]], *,
                    load_s: float, fault_at_s: float, cameras: int = 2, fps: float = 2.0, phones: int = 20,
                    phone_rate: float = 5.0, settle_s: float = 90.0) -> RoundResult:
    """Stream frames and packets of a new organization for ``load_s`` seconds, ``await fault(marks)``
    ``fault_at_s`` seconds in (the load goes on meanwhile), stop the load (the phones drain what is
    unacknowledged), then wait until every acknowledged frame and packet is stored or ``settle_s``
    passed, and read back what was stored."""
    made = add_phones(platform.database_url, phones, site=f"fault-{name}")
    org = made[0].org
    camera_ids = platform.add_cameras(org, cameras, site=f"fault-{name}")
    frames = FrameLoad()
    acked: dict[str, set[int]] = {str(p.device): set() for p in made}
    marks: dict[str, float] = {}
    stop = asyncio.Event()
    base = f"http://127.0.0.1:{platform.ports['ingest-frames']}"
    config = SignalConfig(rate=phone_rate, audio_rate=0)  # telemetry is what must not be lost
    identities = [PhoneIdentity(str(p.device), p.token) for p in made]
    ws = f"ws://127.0.0.1:{platform.ports['ingest-sensors']}/api/v1/sensors/ws"
    async with run_phonesim(identities, ws, config=config, drain_timeout=90.0, backoff_max=2.0, auth="query") as fleet:
        for phone in fleet.phones:
            record_acks(phone.link, acked[phone.identity.device])
        pushers = [asyncio.create_task(push_frames(base, made[0].token, c, platform.picture, fps, frames, stop))
                   for c in camera_ids]
        started = time.monotonic()
        marks["load_started"] = started
        await asyncio.sleep(fault_at_s)
        await fault(marks)
        await asyncio.sleep(max(0.0, started + load_s - time.monotonic()))
        stop.set()
        await asyncio.gather(*pushers)
        marks["load_stopped"] = time.monotonic()
    # Leaving the block stopped sampling and waited for the phones to drain their buffers.
    stats = fleet.stats()["totals"]
    packets_made = sum(p.packets for p in fleet.phones)

    def stored_detections() -> dict[uuid.UUID, tuple[int, int]]:
        rows = platform.sql("SELECT frame_id, count(*), count(DISTINCT id) FROM detections WHERE org_id = %s "
                            "GROUP BY frame_id", org)
        return {r[0]: (int(r[1]), int(r[2])) for r in rows}

    def stored_telemetry() -> dict[str, list[int]]:
        by_device: dict[str, list[int]] = {str(p.device): [] for p in made}
        for device, seq in platform.sql("SELECT device_id, seq FROM telemetry WHERE org_id = %s", org):
            by_device[str(device)].append(int(seq))
        return by_device

    deadline = time.monotonic() + settle_s
    while True:
        detections, telemetry = stored_detections(), stored_telemetry()
        settled = set(frames.acked) <= set(detections) and all(
            acked[d] <= set(s) for d, s in telemetry.items())
        if settled or time.monotonic() > deadline:
            break
        await asyncio.sleep(1.0)
    await asyncio.sleep(2.0)  # anything late (a duplicate) shows meanwhile
    return RoundResult(name, org, camera_ids, frames, stored_detections(), packets_made, acked, stats,
                       stored_telemetry(), marks)

