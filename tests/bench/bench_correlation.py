"""Correlation latency: from publishing the anomaly that completes a correlation to the event.

    python tests/bench/bench_correlation.py [--rounds 200] [--no-live]

Sets up a database of its own (migrated by the control plane, one organization, one phone and one
camera on each of ``--rounds`` sites), a fresh RabbitMQ vhost with the topology, and runs the
correlator (``python -m vigia.correlator``) and, unless ``--no-live``, the live WebSocket server
(``python -m vigia.live``, tokens checked against a JWKS served by this script) as subprocesses.

Each round uses a new site: publish a magnetic anomaly, then (timed from here) an audio anomaly
of the same site 100 ms later in observation time; stop the clock when event.created for that
site arrives (a) on a queue bound to vigia.events like live's (``event.#`` etc., exclusive) and
(b) as ``new_event`` on an operator's live WebSocket. Rounds run one after the other.

Prints one JSON line: p50/p95/max for both paths in ms (target p95 < 300 ms). Everything it
created (database, vhost, Redis keys, files) is removed afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote

import aio_pika
import httpx
import jwt
import orjson
import psycopg
import redis
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from sqlalchemy import insert

from vigia.common.broker import AsyncPublisher, declare_live_queue
from vigia.common.db import cameras, devices, make_engine, organizations
from vigia.common.messages import Envelope, make

AMQP_HOST = os.environ.get("VIGIA_TEST_AMQP_HOST", "127.0.0.1")
MANAGEMENT = os.environ.get("VIGIA_TEST_AMQP_MANAGEMENT", "http://127.0.0.1:15672")
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
REDIS_URL = os.environ.get("VIGIA_BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
DB_NAME = "vigia_correlator_bench"
KID = "bench-key"
MS = 1_000_000
WARMUP = 5


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def create_database(sites: int) -> tuple[str, uuid.UUID, list[tuple[str, uuid.UUID]]]:
    """A migrated database with one org and ``sites`` sites of one phone and one camera each."""
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    url = f"{PG_SERVER}/{DB_NAME}"
    subprocess.run([sys.executable, "-m", "vigia.control", "migrate", "--no-input", "-v", "0"], check=True,
                   env={**os.environ, "VIGIA_DATABASE_URL": url}, timeout=600)
    org, now, placed = uuid.uuid4(), datetime.now(UTC), []
    engine = make_engine(url, pool_size=1)
    with engine.begin() as conn:
        conn.execute(insert(organizations).values(id=org, name="bench", slug="bench", settings={}, created_at=now))
        for i in range(sites):
            site, phone, camera = f"bench-{i}", uuid.uuid4(), uuid.uuid4()
            conn.execute(insert(devices).values(
                id=phone, org_id=org, name=f"phone {i}", kind="phone", status="ON", reporting_interval=1.0,
                location="", site=site, config={}, version=1, created_at=now, updated_at=now))
            conn.execute(insert(cameras).values(
                id=camera, org_id=org, name=f"cam {i}", rtsp_url_encrypted="x", fps=1.0, zones=[], location="",
                site=site, enabled=True, status="active", version=1, created_at=now, updated_at=now))
            placed.append((site, phone))
    engine.dispose()
    return url, org, placed


def drop_database() -> None:
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')


@contextmanager
def vhost() -> Iterator[str]:
    name = f"bench-correlation-{uuid.uuid4().hex[:8]}"
    with httpx.Client(base_url=MANAGEMENT, auth=("guest", "guest"), timeout=30) as client:
        client.put(f"/api/vhosts/{quote(name, safe='')}").raise_for_status()
        client.put(f"/api/permissions/{quote(name, safe='')}/guest",
                   json={"configure": ".*", "write": ".*", "read": ".*"}).raise_for_status()
        try:
            yield f"amqp://guest:guest@{AMQP_HOST}:5672/{quote(name, safe='')}"
        finally:
            client.delete(f"/api/vhosts/{quote(name, safe='')}")


@contextmanager
def jwks() -> Iterator[tuple[rsa.RSAPrivateKey, str]]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    body = orjson.dumps({"keys": [{**RSAAlgorithm.to_jwk(private.public_key(), as_dict=True), "kid": KID,
                                   "use": "sig", "alg": "RS256"}]})

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield private, f"http://127.0.0.1:{server.server_port}/.well-known/jwks.json"
    finally:
        server.shutdown()
        server.server_close()


def token(private: rsa.RSAPrivateKey, org: uuid.UUID) -> str:
    now = int(time.time())
    return jwt.encode({"iss": "vigia-control", "aud": "vigia", "sub": str(uuid.uuid4()), "org": str(org),
                       "role": "operator", "jti": uuid.uuid4().hex, "iat": now, "exp": now + 3600},
                      private, algorithm="RS256", headers={"kid": KID})


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)
    return {"p50_ms": round(statistics.median(ordered) * 1000, 2),
            "p95_ms": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1000, 2),
            "max_ms": round(ordered[-1] * 1000, 2)}


async def wait_http(url: str, within: float = 60) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(int(within * 10)):
            try:
                if (await client.get(url)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} never became ready")


async def measure(args: argparse.Namespace, amqp_url: str, database_url: str, org: uuid.UUID,
                  sites: list[tuple[str, uuid.UUID]], objects: str, prefix: str) -> dict[str, Any]:
    base_env = {**os.environ, "VIGIA_DATABASE_URL": database_url, "VIGIA_AMQP_URL": amqp_url,
                "VIGIA_REDIS_URL": REDIS_URL, "VIGIA_LOG_LEVEL": "WARNING", "VIGIA_ENV": "test"}
    processes: list[asyncio.subprocess.Process] = []
    async with AsyncPublisher(amqp_url, declare=True) as publisher:
        correlator_port = free_port()
        processes.append(await asyncio.create_subprocess_exec(
            sys.executable, "-m", "vigia.correlator", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env={**base_env, "VIGIA_METRICS_PORT": str(correlator_port), "VIGIA_CORRELATOR_REDIS_PREFIX": prefix,
                 "VIGIA_OBJECT_STORE": f"file://{objects}", "VIGIA_INCIDENT_QUIET_S": "1",
                 "VIGIA_EVIDENCE_MARGIN_S": "0"}))
        arrived_queue: dict[str, float] = {}
        arrived_ws: dict[str, float] = {}
        signal_arrival = asyncio.Event()
        connection = await aio_pika.connect(amqp_url)
        channel = await connection.channel()
        live_like = await declare_live_queue(channel, "bench-correlation")

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            envelope = Envelope.from_json(message.body)
            if envelope.type == "event.created":
                arrived_queue.setdefault(envelope.data.site, time.perf_counter())  # type: ignore[attr-defined]
                signal_arrival.set()

        await live_like.consume(on_message, no_ack=True)
        ws_task = None
        with jwks() as (private, jwks_url):
            if not args.no_live:
                import websockets

                live_port = free_port()
                processes.append(await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "vigia.live", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                    env={**base_env, "VIGIA_LIVE_PORT": str(live_port), "VIGIA_JWKS_URL": jwks_url}))
                await wait_http(f"http://127.0.0.1:{live_port}/readyz")
                socket_ = await websockets.connect(
                    f"ws://127.0.0.1:{live_port}/api/v1/ws?token={token(private, org)}")

                async def read_ws() -> None:
                    async for raw in socket_:
                        message = orjson.loads(raw)
                        if message.get("type") == "new_event" and message.get("change") == "created":
                            arrived_ws.setdefault(message["event"]["site"], time.perf_counter())
                            signal_arrival.set()

                ws_task = asyncio.create_task(read_ws())
            await wait_http(f"http://127.0.0.1:{correlator_port}/readyz")
            queue_lat: list[float] = []
            ws_lat: list[float] = []
            for i, (site, phone) in enumerate(sites):
                now = time.time_ns()
                await publisher.publish(make("anomaly.detected", org, "bench", {
                    "device": phone, "kind": "magnetic", "severity": "high", "score": 4.2, "observed_at": now}))
                trigger = make("anomaly.detected", org, "bench", {
                    "device": phone, "kind": "audio_infrasound", "severity": "medium", "score": 3.3,
                    "observed_at": now + 100 * MS})
                started = time.perf_counter()
                await publisher.publish(trigger)
                deadline = started + 10
                while (site not in arrived_queue or (ws_task is not None and site not in arrived_ws)) \
                        and time.perf_counter() < deadline:
                    signal_arrival.clear()
                    with suppress(TimeoutError):
                        await asyncio.wait_for(signal_arrival.wait(), 0.5)
                if i < WARMUP:
                    continue
                if site in arrived_queue:
                    queue_lat.append(arrived_queue[site] - started)
                if site in arrived_ws:
                    ws_lat.append(arrived_ws[site] - started)
            if ws_task is not None:
                ws_task.cancel()
                await socket_.close()
        await connection.close()
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            await asyncio.wait_for(process.wait(), 30)
        except TimeoutError:
            process.kill()
    rounds = len(sites) - WARMUP
    return {"bench": "correlation", "rounds": rounds, "queue": {**percentiles(queue_lat), "received": len(queue_lat)},
            "live_ws": {**percentiles(ws_lat), "received": len(ws_lat)} if not args.no_live else None,
            "target_p95_ms": 300}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--no-live", action="store_true", help="measure the queue path only")
    args = parser.parse_args()
    database_url, org, sites = create_database(args.rounds + WARMUP)
    prefix = f"bench-correlator-{uuid.uuid4().hex[:8]}:"
    try:
        with vhost() as amqp_url, tempfile.TemporaryDirectory() as objects:
            result = asyncio.run(measure(args, amqp_url, database_url, org, sites, objects, prefix))
    finally:
        drop_database()
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(match=f"{prefix}*"):
            client.delete(key)
        client.close()
    print(orjson.dumps(result).decode())


if __name__ == "__main__":
    main()
