"""Notifier throughput: webhook deliveries per second through the notifier, against a bare httpx
loop posting the same signed bodies to the same receiver in the same run (the peer).

    python tests/bench/bench_notifier.py [--actions 3000] [--connections 16] [--prefetch 16]

Sets up a kept database (``vigia_bench_notifier``, migrated by the control plane) with one
organization and one webhook channel (rate limit out of the way), a fresh RabbitMQ vhost, a
Redis key prefix, and a loopback webhook receiver in a process of its own (uvicorn, checking
nothing: both sides pay the same receiver). Then:

1. peer: ``--actions`` POSTs with an HMAC-SHA256 signature header, ``--connections`` at a time,
   from one asyncio loop with one ``httpx.AsyncClient`` — what a minimal sender achieves; run
   before and after the notifier, the better run is the reference (the machine is shared);
2. notifier: ``--actions`` action.webhook messages are queued first, then ``python -m
   vigia.notifier`` (``--prefetch`` actions in flight, ``--connections`` HTTP connections) starts;
   the clock runs from the receiver's first
   notifier request to its last. Every delivery is claimed, rate-limited, rendered, signed, sent
   and recorded in PostgreSQL (its claim and its outcome each committed before the next step, in
   statements shared with the deliveries claimed or finished about the same time), exactly as in
   production.

Prints one JSON line: both rates, their ratio and the goals (>= 500 deliveries/s, ratio >= 0.7),
the CPU milliseconds per delivery of the notifier process (from its first delivery to its last
commit) and of the peer, plus the deliveries recorded as delivered (must equal --actions).
``--py-spy PATH`` samples the notifier with py-spy (speedscope format), ``--profile PATH`` runs it
under cProfile. The vhost and Redis keys are
removed afterwards; the database is kept (its rows are per-run organization).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import os
import signal
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import orjson
import psycopg

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.support.databases import migrated_database  # noqa: E402
from tests.support.processes import free_port, wait_ready  # noqa: E402
from vigia.common.broker import AsyncPublisher  # noqa: E402
from vigia.common.messages import ActionRequested, make  # noqa: E402
from vigia.common.secrets_at_rest import DEV_FERNET_KEY, encrypt  # noqa: E402

AMQP_HOST = os.environ.get("VIGIA_TEST_AMQP_HOST", "127.0.0.1")
MANAGEMENT = os.environ.get("VIGIA_TEST_AMQP_MANAGEMENT", "http://127.0.0.1:15672")
REDIS_URL = os.environ.get("VIGIA_BENCH_NOTIFIER_REDIS_URL", "redis://127.0.0.1:6379/8")
DB_NAME = os.environ.get("VIGIA_BENCH_NOTIFIER_DB", "vigia_bench_notifier")
SECRET = "bench-webhook-secret-0123456789"
GOAL_PER_S, GOAL_RATIO = 500, 0.7

RECEIVER = '''
import sys, time
from starlette.applications import Starlette
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
import uvicorn
state = {"count": 0, "first": 0.0, "last": 0.0}
async def hook(request):
    await request.body()
    now = time.perf_counter()
    if state["count"] == 0:
        state["first"] = now
    state["count"] += 1
    state["last"] = now
    return Response(b'{"ok":true}', media_type="application/json")
async def stats(request):
    if request.method == "DELETE":
        state.update(count=0, first=0.0, last=0.0)
    return JSONResponse(state)
app = Starlette(routes=[Route("/hook", hook, methods=["POST"]), Route("/stats", stats, methods=["GET", "DELETE"])])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
'''

# The notifier under cProfile timed by its thread's CPU clock: on a shared machine, wall time
# charges waiting for a core to whatever call was running.
PROFILED = """
import cProfile, sys, time
from vigia.notifier.app import main
profile = cProfile.Profile(time.thread_time)
try:
    profile.runcall(main)
finally:
    profile.dump_stats(sys.argv[1])
"""


async def create_vhost() -> str:
    name = f"bench-notifier-{uuid.uuid4().hex[:8]}"
    async with httpx.AsyncClient(base_url=MANAGEMENT, auth=("guest", "guest")) as client:
        (await client.put(f"/api/vhosts/{quote(name, safe='')}")).raise_for_status()
        (await client.put(f"/api/permissions/{quote(name, safe='')}/guest",
                          json={"configure": ".*", "write": ".*", "read": ".*"})).raise_for_status()
    return name


async def delete_vhost(name: str) -> None:
    async with httpx.AsyncClient(base_url=MANAGEMENT, auth=("guest", "guest")) as client:
        await client.delete(f"/api/vhosts/{quote(name, safe='')}")


async def receiver_stats(http: httpx.AsyncClient, reset: bool = False) -> dict[str, Any]:
    response = await (http.delete("/stats") if reset else http.get("/stats"))
    return dict(response.json())


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_per_delivery_ms(pid: int, since: tuple[float, int] | None, delivered: int) -> float | None:
    if since is None or delivered <= since[1]:
        return None
    return round((cpu_seconds(pid) - since[0]) * 1000 / (delivered - since[1]), 3)


async def peer(url: str, actions: int, concurrency: int) -> tuple[float, float]:
    """The bare loop: signed JSON POSTs, ``concurrency`` at a time; deliveries per second and CPU
    milliseconds per delivery (this process runs nothing else meanwhile)."""
    body = orjson.dumps({"action": str(uuid.uuid4()), "text": "[Vigia] Intrusão (high) em doca 3",
                         "payload": {"title": "Intrusão", "severity": "high", "site": "doca 3"}})
    headers = {"Content-Type": "application/json",
               "X-Vigia-Signature": "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()}
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(actions):
        queue.put_nowait(n)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits) as client:
        async def worker() -> None:
            while not queue.empty():
                queue.get_nowait()
                (await client.post(url, content=body, headers={**headers, "Idempotency-Key": uuid.uuid4().hex})
                 ).raise_for_status()

        started, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return actions / (time.perf_counter() - started), (time.process_time() - cpu) * 1000 / actions


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--actions", type=int, default=3000)
    parser.add_argument("--connections", type=int, default=16, help="HTTP connections (peer and notifier)")
    parser.add_argument("--prefetch", type=int, default=16, help="actions the notifier handles at once")
    parser.add_argument("--profile", metavar="PATH", help="run the notifier under cProfile, stats written to PATH")
    parser.add_argument("--py-spy", metavar="PATH", help="sample the notifier with py-spy (installed in the venv), "
                        "a speedscope profile written to PATH")
    args = parser.parse_args()

    database = migrated_database(DB_NAME)
    vhost = await create_vhost()
    amqp_url = f"amqp://guest:guest@{AMQP_HOST}:5672/{quote(vhost, safe='')}"
    prefix = f"bench-notifier-{uuid.uuid4().hex[:8]}:"
    port = free_port()
    receiver = await asyncio.create_subprocess_exec(sys.executable, "-c", RECEIVER, str(port))
    notifier: asyncio.subprocess.Process | None = None
    spy: asyncio.subprocess.Process | None = None
    try:
        org, channel = uuid.uuid4(), uuid.uuid4()
        config = {"url": f"http://127.0.0.1:{port}/hook", "secret": SECRET, "rate_per_s": 100_000, "burst": 100_000}
        with psycopg.connect(database, autocommit=True) as conn:
            conn.execute("INSERT INTO organizations (id, name, slug, settings, created_at) "
                         "VALUES (%s, 'bench', %s, '{}', now())", (org, f"bench-{org.hex[:12]}"))
            conn.execute("INSERT INTO notification_channels (id, org_id, kind, name, config_encrypted, enabled, "
                         "created_at, updated_at) VALUES (%s, %s, 'webhook', 'bench', %s, true, now(), now())",
                         (channel, org, encrypt(orjson.dumps(config).decode(), DEV_FERNET_KEY)))
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as stats_http:
            for _ in range(100):
                try:
                    await receiver_stats(stats_http)
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            peer_rate, peer_cpu_ms = await peer(f"http://127.0.0.1:{port}/hook", args.actions, args.connections)
            await receiver_stats(stats_http, reset=True)

            async with AsyncPublisher(amqp_url, declare=True) as publisher:
                envelopes = [make("action.webhook", org, "bench", ActionRequested(
                    channel=channel, event=uuid.uuid4(),
                    payload={"title": "Intrusão", "severity": "high", "site": "doca 3"}))
                    for _ in range(args.actions)]
                await publisher.publish_many(envelopes)
            metrics_port = free_port()
            env = {**os.environ, "VIGIA_ENV": "test", "VIGIA_DATABASE_URL": database, "VIGIA_AMQP_URL": amqp_url,
                   "VIGIA_REDIS_URL": REDIS_URL, "VIGIA_NOTIFIER_REDIS_PREFIX": prefix,
                   "VIGIA_FERNET_KEYS": DEV_FERNET_KEY, "VIGIA_NOTIFIER_ALLOWED_NETWORKS": "127.0.0.1/32",
                   "VIGIA_PREFETCH": str(args.prefetch), "VIGIA_METRICS_PORT": str(metrics_port),
                   "VIGIA_NOTIFIER_HTTP_CONNECTIONS": str(args.connections), "VIGIA_LOG_LEVEL": "WARNING"}
            command = ["-c", PROFILED, args.profile] if args.profile else ["-m", "vigia.notifier"]
            notifier = await asyncio.create_subprocess_exec(sys.executable, *command, env=env)
            await wait_ready(notifier, metrics_port, "notifier", within_s=30)
            if args.py_spy:
                spy = await asyncio.create_subprocess_exec(
                    str(Path(sys.executable).with_name("py-spy")), "record", "--pid", str(notifier.pid),
                    "--rate", "250", "--format", "speedscope", "--output", args.py_spy,
                    stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
            # The notifier's CPU is counted from the first delivery seen to the last one committed,
            # so start-up (imports, connections) is left out.
            cpu_from: tuple[float, int] | None = None
            deadline = time.monotonic() + max(120, args.actions / 50)
            while (stats := await receiver_stats(stats_http))["count"] < args.actions:
                if cpu_from is None and stats["count"] > 0:
                    cpu_from = (cpu_seconds(notifier.pid), stats["count"])
                if time.monotonic() > deadline:
                    raise SystemExit(f"only {stats['count']} of {args.actions} deliveries arrived")
                await asyncio.sleep(0.05 if cpu_from is None else 0.2)
            rate = (stats["count"] - 1) / max(1e-9, stats["last"] - stats["first"])
            await asyncio.sleep(0.5)  # the last results are committed after the receiver answered
            cpu_ms = cpu_per_delivery_ms(notifier.pid, cpu_from, args.actions)
            # The peer again, now that the notifier is idle: the better of its two runs is the reference.
            peer_after, peer_cpu_after = await peer(f"http://127.0.0.1:{port}/hook", args.actions, args.connections)
        peer_rate, peer_cpu_ms = max(peer_rate, peer_after), min(peer_cpu_ms, peer_cpu_after)
        with psycopg.connect(database, autocommit=True) as conn:
            delivered = conn.execute("SELECT count(*) FROM notification_deliveries WHERE org_id = %s "
                                     "AND status = 'delivered'", (org,)).fetchone()
        print(orjson.dumps({
            "bench": "notifier_webhook", "actions": args.actions, "connections": args.connections,
            "prefetch": args.prefetch,
            "deliveries_per_s": round(rate, 1), "peer_httpx_per_s": round(peer_rate, 1),
            "ratio": round(rate / peer_rate, 3), "cpu_ms_per_delivery": cpu_ms,
            "peer_cpu_ms_per_delivery": round(peer_cpu_ms, 3), "goal_per_s": GOAL_PER_S, "goal_ratio": GOAL_RATIO,
            "meets_goals": rate >= GOAL_PER_S and rate / peer_rate >= GOAL_RATIO,
            "recorded_delivered": delivered[0] if delivered else 0, "received": stats["count"],
            "load_average_1m": round(os.getloadavg()[0], 2), "cpus": os.cpu_count(),
        }).decode())
    finally:
        for process in (notifier, receiver):
            if process is not None and process.returncode is None:
                process.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(process.wait(), 30)
                except TimeoutError:
                    process.kill()
        if spy is not None:  # py-spy writes its profile once the notifier is gone
            try:
                await asyncio.wait_for(spy.wait(), 30)
            except TimeoutError:
                spy.kill()
        await delete_vhost(vhost)
        import redis.asyncio as aioredis

        client = aioredis.Redis.from_url(REDIS_URL)
        async for key in client.scan_iter(match=f"{prefix}*"):
            await client.delete(key)
        await client.aclose()


if __name__ == "__main__":
    asyncio.run(main())
