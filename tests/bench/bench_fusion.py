"""Fusion benchmark: packets/s per worker, and telemetry rows/s of the fusion writer vs a bare COPY.

Run: ``.venv/bin/python tests/bench/bench_fusion.py [--devices 100] [--packets 100000] [--rows 200000]``
Prints ONE JSON line.

Set-up, all on this machine (a database ``vigia_fusion_bench`` migrated by control, a throw-away
RabbitMQ vhost, Redis db 10):

* ``detect_packets_per_s``: the detectors alone (magnetic, IMU, humanoid; in process) over
  ``--packets`` packets of ``--devices`` phones in batches of 50;
* ``worker_packets_per_s``: one ``python -m vigia.fusion`` process (4 shard queues) draining
  ``--packets`` packets pre-published as 50-packet ``sensor.batch`` messages: decode, detectors,
  COPY, commit, ack. Timed from the worker's readiness until the last row is committed;
* ``writer_rows_per_s`` vs ``bare_copy_rows_per_s``: the same ``--rows`` rows stored by the fusion
  writer (packets -> rows -> COPY in a savepoint, 5000-row transactions) and by a bare psycopg
  binary COPY of pre-built tuples in 5000-row transactions, into the same table, alternating
  five rounds each (the table truncated before each). ``writer_vs_copy`` is the ratio of the best
  rounds (target >= 0.5); ``writer_vs_copy_median_paired`` the median ratio of back-to-back pairs,
  steadier on a shared machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import socket
import subprocess
import sys
import time
import uuid
from urllib.parse import quote

import httpx
import psycopg

from vigia.common.broker import AsyncPublisher
from vigia.common.messages import SensorBatch, SensorPacket, make
from vigia.fusion.config import FusionSettings
from vigia.fusion.service import FusionService
from vigia.fusion.state import DeviceStates
from vigia.fusion.telemetry import TelemetryWriter, bare_copy, packet_rows

SERVER = os.environ.get("VIGIA_TEST_PG", "postgresql://postgres@127.0.0.1:5432")
DB_NAME = os.environ.get("VIGIA_BENCH_FUSION_DB", "vigia_fusion_bench")
REDIS_URL = os.environ.get("VIGIA_BENCH_REDIS_URL", "redis://127.0.0.1:6379/10")
MANAGEMENT = os.environ.get("VIGIA_TEST_AMQP_MANAGEMENT", "http://127.0.0.1:15672")
AMQP_HOST = os.environ.get("VIGIA_TEST_AMQP_HOST", "127.0.0.1")
BATCH = 50


def database() -> str:
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,)).fetchone():
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    url = f"{SERVER}/{DB_NAME}"
    subprocess.run([sys.executable, "-m", "vigia.control", "migrate", "--no-input", "-v", "0"],
                   env={**os.environ, "VIGIA_DATABASE_URL": url}, check=True, timeout=600)
    return url


def phone_packets(devices: int, total: int, seed_t: int) -> list[tuple[uuid.UUID, list[SensorPacket]]]:
    """``total`` packets of ``devices`` phones at 20 Hz, in 50-packet batches, round robin."""
    ids = [uuid.uuid4() for _ in range(devices)]
    per_device = max(BATCH, total // devices)
    batches = []
    for start in range(0, per_device, BATCH):
        for d, device in enumerate(ids):
            batch = []
            for i in range(start, min(start + BATCH, per_device)):
                mag = 45 + 0.3 * math.sin(i * 1.3 + d) + (8.0 if i % 997 == 500 else 0.0)
                batch.append(SensorPacket(
                    timestamp=seed_t + i * 50_000_000, seq=i + 1,
                    magnetometer={"x": 20.0, "y": 10.0, "z": 38.0, "magnitude": mag},
                    accelerometer={"x": 0.01 * math.sin(i), "y": 9.81, "z": 0.02},
                    gyroscope={"x": 0.001, "y": 0.002, "z": 0.003 * math.cos(i)},
                    orientation={"roll": 0.0, "pitch": 1.5, "yaw": 0.1}, audio_peak=0.2,
                    humanoid_detected=i % 400 == 0, bluetooth_devices_count=2))
            batches.append((device, batch))
    return batches


def bench_detectors(batches: list[tuple[uuid.UUID, list[SensorPacket]]], org: uuid.UUID) -> tuple[float, int]:
    settings = FusionSettings()
    service = FusionService(DeviceStates(settings), None, None, None)  # type: ignore[arg-type]
    envelopes = [make("sensor.batch", org, "bench", SensorBatch(device=d, packets=p)) for d, p in batches]
    count = sum(len(p) for _, p in batches)
    started = time.perf_counter()
    anomalies = sum(len(service.analyse_batch(e)) for e in envelopes)
    return count / (time.perf_counter() - started), anomalies


def bench_writer(url: str, batches: list[tuple[uuid.UUID, list[SensorPacket]]], org: uuid.UUID,
                 rounds: int = 5) -> dict[str, float]:
    prebuilt = [row for d, p in batches for row in packet_rows(org, d, p)]
    count = len(prebuilt)
    writer = TelemetryWriter(url)
    conn = psycopg.connect(url)
    best = {"writer": 0.0, "bare": 0.0}
    ratios: list[float] = []
    bare_rate = 1.0
    chunk = 5000 // BATCH
    for _ in range(rounds):
        for kind in ("bare", "writer"):
            conn.execute("TRUNCATE telemetry")
            conn.commit()
            started = time.perf_counter()
            if kind == "bare":
                for i in range(0, count, 5000):
                    bare_copy(conn, prebuilt[i:i + 5000])
            else:
                for i in range(0, len(batches), chunk):
                    rows = [row for d, p in batches[i:i + chunk] for row in packet_rows(org, d, p)]
                    writer.write(rows)
            rate = count / (time.perf_counter() - started)
            best[kind] = max(best[kind], rate)
            if kind == "writer":
                ratios.append(rate / bare_rate)
            else:
                bare_rate = rate
    conn.execute("TRUNCATE telemetry")
    conn.commit()
    conn.close()
    writer.close()
    best["median_paired_ratio"] = sorted(ratios)[len(ratios) // 2]
    return best


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def publish_batches(amqp_url: str, batches: list[tuple[uuid.UUID, list[SensorPacket]]], org: uuid.UUID) -> None:
    settings = FusionSettings(amqp_url=amqp_url, sensor_shards=4)
    async with AsyncPublisher(amqp_url, settings=settings, declare=True) as publisher:
        await publisher.publish_many(
            [make("sensor.batch", org, "bench", SensorBatch(device=d, packets=p)) for d, p in batches])


def bench_worker(url: str, batches: list[tuple[uuid.UUID, list[SensorPacket]]], org: uuid.UUID) -> float:
    vhost = f"bench-fusion-{uuid.uuid4().hex[:8]}"
    mgmt = httpx.Client(base_url=MANAGEMENT, auth=("guest", "guest"), timeout=30)
    mgmt.put(f"/api/vhosts/{quote(vhost, safe='')}").raise_for_status()
    mgmt.put(f"/api/permissions/{quote(vhost, safe='')}/guest",
             json={"configure": ".*", "write": ".*", "read": ".*"}).raise_for_status()
    amqp_url = f"amqp://guest:guest@{AMQP_HOST}:5672/{quote(vhost, safe='')}"
    total = sum(len(p) for _, p in batches)
    process = None
    try:
        asyncio.run(publish_batches(amqp_url, batches, org))
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("TRUNCATE telemetry")
            port = free_port()
            process = subprocess.Popen(
                [sys.executable, "-m", "vigia.fusion"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                env={**os.environ, "VIGIA_DATABASE_URL": url, "VIGIA_AMQP_URL": amqp_url, "VIGIA_REDIS_URL": REDIS_URL,
                     "VIGIA_METRICS_PORT": str(port), "VIGIA_SENSOR_SHARDS": "4", "VIGIA_LOG_LEVEL": "WARNING"})
            with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
                for _ in range(600):
                    try:
                        if http.get("/readyz").status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    time.sleep(0.05)
            started = time.perf_counter()
            while True:
                row = conn.execute("SELECT count(*) FROM telemetry").fetchone()
                if row and row[0] >= total:
                    break
                time.sleep(0.05)
            elapsed = time.perf_counter() - started
            conn.execute("TRUNCATE telemetry")
        return total / elapsed
    finally:
        if process is not None:
            process.terminate()
            process.wait(30)
        mgmt.delete(f"/api/vhosts/{quote(vhost, safe='')}")
        mgmt.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=100)
    parser.add_argument("--packets", type=int, default=100_000, help="packets for the detector and worker runs")
    parser.add_argument("--rows", type=int, default=200_000, help="rows for the writer vs COPY comparison")
    args = parser.parse_args()
    url = database()
    org = uuid.uuid4()
    t0 = time.time_ns() - 3600 * 10**9
    packets = phone_packets(args.devices, args.packets, t0)
    detect_rate, anomalies = bench_detectors(packets, org)
    worker_rate = bench_worker(url, packets, org)
    writer = bench_writer(url, phone_packets(args.devices, args.rows, t0), org)
    print(json.dumps({
        "bench": "fusion",
        "devices": args.devices,
        "packets": sum(len(p) for _, p in packets),
        "detect_packets_per_s": round(detect_rate),
        "detect_anomalies": anomalies,
        "worker_packets_per_s": round(worker_rate),
        "writer_rows": sum(len(p) for _, p in phone_packets(args.devices, args.rows, t0)),
        "writer_rows_per_s": round(writer["writer"]),
        "bare_copy_rows_per_s": round(writer["bare"]),
        "writer_vs_copy": round(writer["writer"] / writer["bare"], 3),
        "writer_vs_copy_median_paired": round(writer["median_paired_ratio"], 3),
        "target_writer_vs_copy": 0.5,
    }))


if __name__ == "__main__":
    main()
