"""Automation through the broker: 10 organizations x 10 pipelines reading the same cameras.

    python tests/bench/bench_automation_broker.py [--orgs 10] [--pipelines 10] [--detections 5000]

Sets up a migrated database (kept: ``VIGIA_BENCH_AUTOMATION_DB``, default vigia_bench_automation,
through tests/support/databases.py), a fresh RabbitMQ vhost with the topology, and per organization
two cameras and ``--pipelines`` running pipelines of 4 nodes reading both: one fires an HTTP POST
action on every person (camera -> object_detection -> data_transform -> http_post), the others
follow each person's dwell (camera -> object_detection -> loitering -> whatsapp, state written
on every detection, firing only after an hour). So each detection passes every pipeline of its
organization.

1. Raw publish rate (the peer): the same detection messages published with confirms into the
   vhost while no runtime consumes (they wait in automation.<k>; purged afterwards).
2. Throughput: ``python -m vigia.automation`` (``--replicas`` subprocesses sharing 4 shards) is started, the detections
   are published as fast as confirms allow, and the clock stops at the last action message
   (one per detection) on a queue bound to vigia.actions. detections/s = detections / that time.
3. Latency: detections paced at ``--rate`` per second; each one's time from its publish to its
   action's arrival; p50/p95/max in ms (goal: p95 < 50 ms).

Prints one JSON line. The vhost is deleted afterwards; the database is kept between runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aio_pika
import httpx
import orjson
import psycopg

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.support.databases import migrated_database  # noqa: E402
from vigia.common.broker import AsyncPublisher, BrokerSettings, declare_topology  # noqa: E402
from vigia.common.messages import Envelope, make  # noqa: E402

AMQP_HOST = os.environ.get("VIGIA_TEST_AMQP_HOST", "127.0.0.1")
MANAGEMENT = os.environ.get("VIGIA_TEST_AMQP_MANAGEMENT", "http://127.0.0.1:15672")
REDIS_URL = os.environ.get("VIGIA_BENCH_REDIS_URL", "redis://127.0.0.1:6379/5")
DB_NAME = os.environ.get("VIGIA_BENCH_AUTOMATION_DB", "vigia_bench_automation")
SHARDS = 4


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def graph(cameras: list[uuid.UUID], firing: bool) -> dict[str, Any]:
    ids = [str(c) for c in cameras]
    middle = ({"id": "shape", "type": "data_transform", "config": {"set": {"rule": "bench"}}} if firing
              else {"id": "dwell", "type": "loitering", "config": {"seconds": 3600}})
    out = ({"id": "post", "type": "http_post", "config": {"channel": str(uuid.uuid4())}} if firing
           else {"id": "wa", "type": "whatsapp", "config": {"channel": str(uuid.uuid4()),
                                                            "recipients": ["+5511999990000"]}})
    in_port, out_port = ("data", "data") if firing else ("detections", "events")
    return {"nodes": [
        {"id": "cam", "type": "camera_rtsp", "config": {"cameras": ids}},
        {"id": "people", "type": "object_detection", "config": {"classes": ["person"], "confidence": 0.5}},
        middle, out,
    ], "edges": [
        {"source": "cam", "source_port": "detections", "target": "people", "target_port": "detections"},
        {"source": "people", "source_port": "detections", "target": middle["id"], "target_port": in_port},
        {"source": middle["id"], "source_port": out_port, "target": out["id"],
         "target_port": "data" if firing else "events"},
    ]}


def prepare(database_url: str, orgs: int, pipelines: int) -> list[tuple[uuid.UUID, list[uuid.UUID]]]:
    out = []
    with psycopg.connect(database_url, autocommit=True) as conn:
        for _ in range(orgs):
            org = uuid.uuid4()
            conn.execute("INSERT INTO organizations (id, name, slug, settings, created_at) "
                         "VALUES (%s, 'bench', %s, '{}', now())", (org, f"bench-{org.hex[:12]}"))
            cameras = [uuid.uuid4(), uuid.uuid4()]
            for camera in cameras:
                conn.execute("INSERT INTO cameras (id, org_id, name, rtsp_url_encrypted, fps, zones, location, "
                             "site, enabled, status, version, created_at, updated_at) VALUES (%s, %s, %s, 'x', 5, "
                             "'[]', '', 's', true, 'active', 1, now(), now())", (camera, org, camera.hex[:8]))
            for k in range(pipelines):
                conn.execute("INSERT INTO pipelines (id, org_id, name, description, graph, state, version, "
                             "created_at, updated_at) VALUES (%s, %s, %s, '', %s, 'running', 1, now(), now())",
                             (uuid.uuid4(), org, f"bench-{k}", orjson.dumps(graph(cameras, k == 0)).decode()))
            out.append((org, cameras))
    return out


def detection(org: uuid.UUID, camera: uuid.UUID, n: int) -> Envelope:
    return make("detection.created", org, "bench", {
        "camera": camera, "frame": uuid.uuid4(), "captured_at": time.time_ns(), "label": "person",
        "confidence": 0.9, "track": f"t{n % 20}", "box": {"x1": 100, "y1": 100, "x2": 200, "y2": 400}})


def workload(orgs: list[tuple[uuid.UUID, list[uuid.UUID]]], count: int) -> list[Envelope]:
    return [detection(orgs[n % len(orgs)][0], orgs[n % len(orgs)][1][n // len(orgs) % 2], n) for n in range(count)]


def start_runtime(amqp_url: str, database_url: str, vhost: str, profile: str | None = None, replica: int = 0
                  ) -> subprocess.Popen[bytes]:
    env = {**os.environ, "VIGIA_AMQP_URL": amqp_url, "VIGIA_DATABASE_URL": database_url,
           "VIGIA_REDIS_URL": REDIS_URL, "VIGIA_AUTOMATION_SHARDS": str(SHARDS),
           "VIGIA_METRICS_PORT": str(free_port()), "VIGIA_LOG_LEVEL": "WARNING",
           "VIGIA_AUTOMATION_INSTANCE": f"bench-{vhost}-{replica}", "VIGIA_SHARD_LEASE_MS": "3000"}
    profiling = ["-m", "cProfile", "-o", profile] if profile else []
    return subprocess.Popen([sys.executable, *profiling, "-m", "vigia.automation"], env=env, cwd=ROOT)


async def _until(done: Any, what: str, within: float, runtime: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.perf_counter() + within
    while not done():
        if time.perf_counter() > deadline or (runtime is not None and runtime.poll() is not None):
            raise RuntimeError(f"{what}: timed out")
        await asyncio.sleep(0.005)


async def measure(args: argparse.Namespace, orgs: list[tuple[uuid.UUID, list[uuid.UUID]]], amqp_url: str,
                  database_url: str, vhost: str) -> dict[str, Any]:
    runtimes: list[subprocess.Popen[bytes]] = []
    try:
        connection = await aio_pika.connect(amqp_url)
        channel = await connection.channel()
        await declare_topology(channel, BrokerSettings(automation_shards=SHARDS))
        actions = await channel.declare_queue("bench.actions", exclusive=True)
        await actions.bind("vigia.actions", "action.webhook")
        arrivals: dict[str, float] = {}

        async def take(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            payload = orjson.loads(message.body)["data"]["payload"]
            arrivals[payload["frame"]] = time.perf_counter()
            await message.ack()

        await actions.consume(take)
        publisher = await AsyncPublisher(amqp_url).connect()

        # 1. The peer: the same messages, confirmed, nobody consuming.
        raw = workload(orgs, args.detections)
        started = time.perf_counter()
        await publisher.publish_many(raw)
        raw_rate = len(raw) / (time.perf_counter() - started)
        for shard in range(SHARDS):
            await (await channel.get_queue(f"automation.{shard}")).purge()

        for replica in range(args.replicas):
            runtimes.append(await asyncio.to_thread(start_runtime, amqp_url, database_url, vhost, args.profile,
                                                    replica))
        if args.replicas > 1:  # the shards spread over the replicas (fair share) before the clock starts
            await asyncio.sleep(3.0)
        runtime = runtimes[0]
        # Warm-up: every organization loaded (its first detection) before the clock starts.
        warm = workload(orgs, len(orgs) * 2)
        await publisher.publish_many(warm)
        await _until(lambda: len(arrivals) >= len(warm), "warm-up", 60, runtime)

        # 2. Throughput through the broker.
        arrivals.clear()
        batch = workload(orgs, args.detections)
        started = time.perf_counter()
        await publisher.publish_many(batch)
        await _until(lambda: len(arrivals) >= len(batch), "throughput", 300, runtime)
        through = len(batch) / (max(arrivals.values()) - started)

        # 3. Latency, paced.
        arrivals.clear()
        sent: dict[str, float] = {}
        paced = workload(orgs, args.latency_detections)
        period = 1 / args.rate
        next_at = time.perf_counter()
        for envelope in paced:
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
            sent[str(envelope.data.frame)] = time.perf_counter()  # type: ignore[attr-defined]
            await publisher.publish(envelope)
            next_at += period
        with contextlib.suppress(RuntimeError):
            await _until(lambda: len(arrivals) >= len(paced), "latency", 60, runtime)
        latencies = sorted((arrivals[f] - sent[f]) * 1000 for f in sent if f in arrivals)
        await publisher.close()
        await connection.close()
        return {
            "bench": "automation_broker", "replicas": args.replicas, "orgs": args.orgs,
            "pipelines_per_org": args.pipelines, "nodes_per_pipeline": 4, "detections": args.detections,
            "detections_per_s": round(through, 1), "raw_publish_per_s": round(raw_rate, 1),
            "ratio": round(through / raw_rate, 3), "pipeline_runs_per_s": round(through * args.pipelines, 1),
            "latency_rate_per_s": args.rate, "latency_samples": len(latencies),
            "latency_lost": len(paced) - len(latencies),
            "latency_p50_ms": round(statistics.median(latencies), 2),
            "latency_p95_ms": round(latencies[int(len(latencies) * 0.95) - 1], 2),
            "latency_max_ms": round(latencies[-1], 2), "goal_p95_ms": 50,
        }
    finally:
        for process in runtimes:
            process.terminate()
            await asyncio.to_thread(process.wait, 30)


def main(args: argparse.Namespace) -> dict[str, Any]:
    database_url = migrated_database(DB_NAME)
    orgs = prepare(database_url, args.orgs, args.pipelines)
    vhost = f"bench-automation-{uuid.uuid4().hex[:8]}"
    management = httpx.Client(base_url=MANAGEMENT, auth=("guest", "guest"), timeout=30)
    management.put(f"/api/vhosts/{quote(vhost, safe='')}").raise_for_status()
    management.put(f"/api/permissions/{quote(vhost, safe='')}/guest",
                   json={"configure": ".*", "write": ".*", "read": ".*"}).raise_for_status()
    try:
        return asyncio.run(measure(args, orgs, f"amqp://guest:guest@{AMQP_HOST}:5672/{quote(vhost, safe='')}",
                                   database_url, vhost))
    finally:
        management.delete(f"/api/vhosts/{quote(vhost, safe='')}")
        ids = [o for o, _ in orgs]
        with psycopg.connect(database_url, autocommit=True) as conn:  # the database is kept, its rows not
            for table in ("pipeline_node_state", "pipeline_node_counters", "pipeline_runs", "pipelines", "cameras"):
                conn.execute(f"DELETE FROM {table} WHERE org_id = ANY(%s)", (ids,))
            conn.execute("DELETE FROM organizations WHERE id = ANY(%s)", (ids,))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orgs", type=int, default=10)
    parser.add_argument("--pipelines", type=int, default=10)
    parser.add_argument("--detections", type=int, default=5000)
    parser.add_argument("--latency-detections", type=int, default=400)
    parser.add_argument("--rate", type=float, default=100.0, help="paced detections per second (latency)")
    parser.add_argument("--replicas", type=int, default=1, help="automation replicas sharing the 4 shards")
    parser.add_argument("--profile", help="write the runtime's cProfile statistics to this file")
    print(orjson.dumps(main(parser.parse_args())).decode())
