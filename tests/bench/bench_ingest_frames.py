"""ingest-frames throughput: 100 KB JPEGs accepted with confirms vs raw aio-pika confirmed publishing.

    python tests/bench/bench_ingest_frames.py [--seconds 15] [--concurrency 32] [--workers 2]
                                              [--client httpx|raw]

Sets up a database of its own (migrated by the control plane, with one organization, a device
token and one camera per client), a fresh RabbitMQ vhost with the topology (vision.frames bounded
and dropping the oldest, so frames are routable and the broker's memory stays flat), and runs the
gateway with uvicorn (``python -m vigia.ingest_frames``, ``--workers`` processes) in a subprocess.

Phase 1: ``--concurrency`` clients, each with its own keep-alive connection and camera, POST the
same 100 KB JPEG as fast as the gateway answers, for ``--seconds`` (after a 2 s warm-up). Clients
are httpx AsyncClients by default; ``--client raw`` uses a minimal asyncio HTTP/1.1 client that
costs the shared 2-core machine far less CPU, so the figure is closer to the gateway's own limit.
Phase 2, same run, same machine: ``--concurrency`` tasks publish the same body with raw aio-pika
(publisher confirms, mandatory, one channel) to the same exchange and routing keys, gateway idle.

Prints one JSON line: accepted frames/s, client latency p50/p99, raw frames/s, and their ratio
(targets: >= 2000 frames/s and >= 0.4 x raw). Everything it created is removed afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aio_pika
import httpx
import orjson
import psycopg
from PIL import Image, ImageFilter
from sqlalchemy import insert

from vigia.common.auth import new_device_token
from vigia.common.broker import BrokerSettings, declare_topology, frame_message
from vigia.common.db import cameras, device_credentials, devices, make_engine, organizations
from vigia.common.messages import FrameCaptured, make

ROOT = Path(__file__).resolve().parents[2]
AMQP_HOST = os.environ.get("VIGIA_TEST_AMQP_HOST", "127.0.0.1")
MANAGEMENT = os.environ.get("VIGIA_TEST_AMQP_MANAGEMENT", "http://127.0.0.1:15672")
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
FRAMES_MAX_LENGTH = 200
WARMUP_S = 2.0


def jpeg_of_about(target: int = 100 * 1024) -> bytes:
    """A 1280x720 camera-like JPEG (blurred noise) whose quality is chosen to land near ``target``."""
    image = Image.effect_noise((1280, 720), 90).filter(ImageFilter.GaussianBlur(3)).convert("RGB")
    best = b""
    low, high = 5, 95
    while low <= high:
        quality = (low + high) // 2
        out = io.BytesIO()
        image.save(out, "JPEG", quality=quality)
        data = out.getvalue()
        if not best or abs(len(data) - target) < abs(len(best) - target):
            best = data
        if len(data) < target:
            low = quality + 1
        else:
            high = quality - 1
    return best


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def create_database(clients: int) -> tuple[str, str, uuid.UUID, str, list[uuid.UUID]]:
    """A migrated database with one org, one device token and ``clients`` cameras."""
    name = f"vigia_bench_ingest_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    subprocess.run([sys.executable, "-m", "vigia.control", "migrate", "--no-input", "-v", "0"], check=True,
                   env={**os.environ, "VIGIA_DATABASE_URL": url}, cwd=ROOT, capture_output=True)
    now = datetime.now(UTC)
    org, device = uuid.uuid4(), uuid.uuid4()
    token = new_device_token()
    camera_ids = [uuid.uuid4() for _ in range(clients)]
    engine = make_engine(url, pool_size=1)
    try:
        _insert_rows(engine, org, device, token, camera_ids, now)
    except BaseException:
        engine.dispose()
        drop_database(name)
        raise
    engine.dispose()
    return name, url, org, token.token, camera_ids


def _insert_rows(engine: Any, org: uuid.UUID, device: uuid.UUID, token: Any, camera_ids: list[uuid.UUID],
                 now: datetime) -> None:
    common: dict[str, Any] = {"location": "", "site": "", "version": 1, "created_at": now, "updated_at": now}
    with engine.begin() as conn:
        conn.execute(insert(organizations).values(id=org, name="bench", slug=f"bench-{org.hex[:8]}",
                                                  settings={}, created_at=now))
        conn.execute(insert(devices).values(id=device, org_id=org, name="bench", kind="camera", status="ON",
                                            reporting_interval=1.0, config={}, **common))
        conn.execute(insert(device_credentials).values(id=uuid.uuid4(), org_id=org, device_id=device,
                                                       prefix=token.prefix, token_hash=token.token_hash,
                                                       created_at=now))
        for camera in camera_ids:
            conn.execute(insert(cameras).values(id=camera, org_id=org, name=f"cam {camera}", rtsp_url_encrypted="x",
                                                fps=1.0, zones=[], enabled=True, status="online", **common))


def drop_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def summarize(latencies: list[float], elapsed: float) -> dict[str, float]:
    ordered = sorted(latencies)
    if not ordered:
        return {"fps": 0.0, "p50_ms": 0.0, "p99_ms": 0.0}
    return {"fps": round(len(ordered) / elapsed, 1),
            "p50_ms": round(ordered[len(ordered) // 2] * 1000, 2),
            "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 2)}


class Window:
    """Counts only what completes inside the measured window (after the warm-up)."""

    def __init__(self, seconds: float) -> None:
        now = time.perf_counter()
        self.start = now + WARMUP_S
        self.end = self.start + seconds
        self.latencies: list[float] = []
        self.errors: dict[str, int] = {}

    def running(self) -> bool:
        return time.perf_counter() < self.end

    def record(self, started: float, ok: bool, what: str = "") -> None:
        done = time.perf_counter()
        if self.start <= started and done <= self.end:
            if ok:
                self.latencies.append(done - started)
            else:
                self.errors[what] = self.errors.get(what, 0) + 1


async def httpx_client(port: int, token: str, camera: uuid.UUID, body: bytes, window: Window) -> None:
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=30) as client:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "image/jpeg"}
        params = {"camera": str(camera)}
        while window.running():
            started = time.perf_counter()
            response = await client.post("/api/v1/frames", params=params, content=body, headers=headers)
            window.record(started, response.status_code == 202, str(response.status_code))


async def raw_http_client(port: int, token: str, camera: uuid.UUID, body: bytes, window: Window) -> None:
    """HTTP/1.1 keep-alive with a prebuilt request: the cheapest client Python can be."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = (f"POST /api/v1/frames?camera={camera} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               f"Authorization: Bearer {token}\r\nContent-Type: image/jpeg\r\n"
               f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    try:
        while window.running():
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            window.record(started, status == 202, str(status))
    finally:
        writer.close()


async def gateway_phase(port: int, token: str, camera_ids: list[uuid.UUID], body: bytes, seconds: float,
                        client: str) -> dict[str, Any]:
    window = Window(seconds)
    run = raw_http_client if client == "raw" else httpx_client
    await asyncio.gather(*(run(port, token, camera, body, window) for camera in camera_ids))
    return {**summarize(window.latencies, seconds), "errors": window.errors}


async def raw_phase(amqp_url: str, org: uuid.UUID, camera_ids: list[uuid.UUID], body: bytes,
                    seconds: float) -> dict[str, Any]:
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        exchange = await channel.get_exchange("vigia.frames", ensure=False)
        window = Window(seconds)

        async def publisher(camera: uuid.UUID) -> None:
            envelope = make("frame.captured", org, "bench", FrameCaptured(camera=camera, width=1280, height=720))
            key = f"frame.{org}.{camera}"
            while window.running():
                started = time.perf_counter()
                await exchange.publish(frame_message(envelope, body), key, mandatory=True)
                window.record(started, True)

        await asyncio.gather(*(publisher(camera) for camera in camera_ids))
        return summarize(window.latencies, seconds)


async def setup_vhost(vhost: str, settings: BrokerSettings) -> str:
    async with httpx.AsyncClient(base_url=MANAGEMENT, auth=("guest", "guest"), timeout=30) as client:
        (await client.put(f"/api/vhosts/{quote(vhost, safe='')}")).raise_for_status()
        (await client.put(f"/api/permissions/{quote(vhost, safe='')}/guest",
                          json={"configure": ".*", "write": ".*", "read": ".*"})).raise_for_status()
    url = f"amqp://guest:guest@{AMQP_HOST}:5672/{quote(vhost, safe='')}"
    connection = await aio_pika.connect(url)
    async with connection:
        await declare_topology(await connection.channel(), settings)
    return url


async def delete_vhost(vhost: str) -> None:
    async with httpx.AsyncClient(base_url=MANAGEMENT, auth=("guest", "guest"), timeout=30) as client:
        await client.delete(f"/api/vhosts/{quote(vhost, safe='')}")


def wait_ready(port: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("gateway exited during start-up")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                time.sleep(1.0)  # let every worker finish connecting, not just the one that answered
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError("gateway not ready")


async def phases(port: int, token: str, amqp_url: str, org: uuid.UUID, camera_ids: list[uuid.UUID],
                 body: bytes, seconds: float, client: str) -> tuple[dict[str, Any], dict[str, Any]]:
    gateway = await gateway_phase(port, token, camera_ids, body, seconds, client)
    raw = await raw_phase(amqp_url, org, camera_ids, body, seconds)
    return gateway, raw


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--client", choices=("httpx", "raw"), default="httpx")
    args = parser.parse_args()

    body = jpeg_of_about()
    settings = BrokerSettings(frames_max_length=FRAMES_MAX_LENGTH)
    vhost = f"bench-ingest-{uuid.uuid4().hex[:8]}"
    amqp_url = asyncio.run(setup_vhost(vhost, settings))
    try:
        db_name, db_url, org, token, camera_ids = create_database(args.concurrency)
    except BaseException:
        asyncio.run(delete_vhost(vhost))
        raise
    port = free_port()
    env = {**os.environ, "VIGIA_ENV": "development", "VIGIA_DATABASE_URL": db_url, "VIGIA_AMQP_URL": amqp_url,
           "VIGIA_REDIS_URL": os.environ.get("VIGIA_TEST_REDIS_URL", "redis://127.0.0.1:6379/15"),
           "VIGIA_INGEST_FRAMES_HOST": "127.0.0.1", "VIGIA_INGEST_FRAMES_PORT": str(port),
           "VIGIA_INGEST_FRAMES_WORKERS": str(args.workers), "VIGIA_FRAMES_MAX_LENGTH": str(FRAMES_MAX_LENGTH),
           "VIGIA_FRAME_RATE_LIMIT": "100000", "VIGIA_LOG_LEVEL": "WARNING"}
    log = tempfile.TemporaryFile()  # noqa: SIM115 - outlives the try block below, closed in finally
    proc = subprocess.Popen([sys.executable, "-m", "vigia.ingest_frames"], env=env, cwd=ROOT,
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_ready(port, proc)
        gateway, raw = asyncio.run(phases(port, token, amqp_url, org, camera_ids, body, args.seconds,
                                          args.client))
    except BaseException:
        log.seek(0)
        sys.stderr.write(log.read()[-5000:].decode(errors="replace"))
        raise
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        asyncio.run(delete_vhost(vhost))
        drop_database(db_name)
        log.close()
    print(orjson.dumps({
        "bench": "ingest_frames",
        "frame_bytes": len(body),
        "seconds": args.seconds,
        "concurrency": args.concurrency,
        "workers": args.workers,
        "client": args.client,
        "cpus": os.cpu_count(),
        "gateway_fps": gateway["fps"],
        "gateway_p50_ms": gateway["p50_ms"],
        "gateway_p99_ms": gateway["p99_ms"],
        "gateway_errors": gateway["errors"],
        "raw_fps": raw["fps"],
        "raw_p50_ms": raw["p50_ms"],
        "raw_p99_ms": raw["p99_ms"],
        "ratio": round(gateway["fps"] / raw["fps"], 3) if raw["fps"] else None,
        "target_fps": 2000,
        "target_ratio": 0.4,
    }).decode())


if __name__ == "__main__":
    main()
