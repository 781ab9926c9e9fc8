"""Benchmark: sustained sensor packets/s through ingest-sensors into RabbitMQ with confirms.

    .venv/bin/python tests/bench/bench_ingest_sensors.py [--phones 200] [--packets-per-frame 25]
        [--window 4] [--seconds 15] [--warmup 3]

Set-up (real parts only): a database of its own migrated by the control plane, ``--phones`` devices
with their tokens, a fresh RabbitMQ vhost with Vigia's topology, and the gateway served by
``python -m vigia.ingest_sensors`` (one process, uvloop). The simulated phones run in another process
(asyncio, one ``websockets`` connection each): each sends arrays of ``--packets-per-frame`` packets and
keeps at most ``--window`` frames unacknowledged, like a phone that buffers what is not acked yet.

Measured over ``--seconds`` after ``--warmup``: packets acknowledged per second (an ack is sent only
after the broker's confirm) and the ack latency percentiles (send of a frame -> the ack covering it,
seen by the phone). In the same run, as the peer figure: raw aio-pika confirmed publishing of
pre-encoded 50-packet SensorBatch bodies to the same exchange (packets/s), and the ratio.

Prints ONE JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import orjson
import psycopg

ROOT = Path(__file__).resolve().parents[2]
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
MANAGEMENT = "http://127.0.0.1:15672"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cpu_seconds(pid: int | None) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _packet(seq: int, now: int) -> dict[str, Any]:
    return {"timestamp": now, "seq": seq,
            "magnetometer": {"x": 21.5, "y": -4.25, "z": 40.0, "magnitude": 45.6},
            "accelerometer": {"x": 0.01, "y": 0.02, "z": 9.81}, "gyroscope": {"x": 0.0, "y": 0.1, "z": 0.0},
            "orientation": {"roll": 0.1, "pitch": 0.2, "yaw": 1.5}, "audio_peak": 0.3,
            "humanoid_detected": False, "bluetooth_devices_count": 2}


# --- the phones (a separate process) ---------------------------------------------------------------


def _phones_process(url: str, tokens: list[str], per_frame: int, window: int, warmup: float, seconds: float,
                    out: Any) -> None:
    import uvloop

    out.put(uvloop.run(_phones(url, tokens, per_frame, window, warmup, seconds, out)))


async def _phones(url: str, tokens: list[str], per_frame: int, window: int, warmup: float,
                  seconds: float, out: Any) -> dict[str, Any]:
    import websockets

    loop = asyncio.get_running_loop()
    start = loop.time()
    measure_from, measure_to = start + warmup, start + warmup + seconds
    loop.call_at(measure_from, out.put, "start")
    loop.call_at(measure_to, out.put, "end")
    acked_packets = 0
    latencies: list[float] = []
    errors = 0
    closes: list[int] = []

    async def phone(token: str) -> None:
        nonlocal acked_packets, errors
        async with websockets.connect(f"{url}?token={token}", max_size=2**22, compression=None) as ws:
            hello = orjson.loads(await ws.recv())
            assert hello["type"] == "hello", hello
            seq = time.time_ns() // 1000  # time-based, as phonesim does
            inflight: list[tuple[int, float]] = []  # (last seq of frame, sent at)
            room = asyncio.Event()
            room.set()
            done = False

            async def reader() -> None:
                nonlocal acked_packets, errors
                async for raw in ws:
                    frame = orjson.loads(raw)
                    if frame["type"] == "ack":
                        now = loop.time()
                        while inflight and inflight[0][0] <= frame["seq"]:
                            _, sent = inflight.pop(0)
                            if measure_from <= now <= measure_to:
                                acked_packets += per_frame
                                latencies.append(now - sent)
                        room.set()
                    elif frame["type"] == "error":
                        errors += 1

            read = asyncio.create_task(reader())
            try:
                while not done:
                    while len(inflight) >= window:
                        room.clear()
                        await room.wait()
                    now_ns = time.time_ns()
                    packets = [_packet(seq + i, now_ns) for i in range(1, per_frame + 1)]
                    seq += per_frame
                    inflight.append((seq, loop.time()))
                    await ws.send(orjson.dumps(packets).decode())
                    done = loop.time() > measure_to
            finally:
                read.cancel()

    results = await asyncio.gather(*(phone(t) for t in tokens), return_exceptions=True)
    failures = [repr(r) for r in results if isinstance(r, BaseException)]
    closes = [c for c in closes if c]
    latencies.sort()

    def pct(q: float) -> float | None:
        return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 2) if latencies else None

    return {"packets_per_s": acked_packets / seconds, "ack_p50_ms": pct(0.50), "ack_p99_ms": pct(0.99),
            "errors": errors, "failures": failures[:3], "failed_phones": len(failures)}


# --- raw confirmed publishing (the peer figure) ----------------------------------------------------


async def _raw_publish(amqp_url: str, org: uuid.UUID, device: uuid.UUID, seconds: float) -> float:
    import aio_pika

    from vigia.common.messages import make

    now = time.time_ns()
    body = make("sensor.batch", org, "bench", {"device": device, "packets": [_packet(i, now) for i in range(50)]}
                ).to_json()
    key = f"sensor.{org}.{device}"
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        exchange = await channel.get_exchange("vigia.sensors", ensure=False)
        confirmed = 0
        window = asyncio.Semaphore(256)
        stop = time.monotonic() + seconds

        async def one() -> None:
            nonlocal confirmed
            try:
                await exchange.publish(aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                                                        message_id=str(uuid.uuid4()), type="sensor.batch"),
                                       key, mandatory=True)
                confirmed += 1
            finally:
                window.release()

        tasks = set()
        started = time.monotonic()
        while time.monotonic() < stop:
            await window.acquire()
            task = asyncio.create_task(one())
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks)
        return confirmed * 50 / (time.monotonic() - started)
    finally:
        await connection.close()


# --- set-up ----------------------------------------------------------------------------------------


def _make_database() -> tuple[str, str]:
    name = f"vigia_sensors_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    done = subprocess.run([sys.executable, "-m", "vigia.control", "migrate", "--no-input", "-v", "0"],
                          env={**os.environ, "VIGIA_DATABASE_URL": url}, cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    if done.returncode:
        raise RuntimeError(done.stderr[-2000:])
    return name, url


def _make_phones(database_url: str, count: int) -> tuple[uuid.UUID, list[tuple[uuid.UUID, str]]]:
    from sqlalchemy import insert

    from vigia.common.auth import new_device_token
    from vigia.common.db import device_credentials, devices, make_engine, organizations

    engine = make_engine(database_url, pool_size=1)
    now = datetime.now(UTC)
    org = uuid.uuid4()
    phones = []
    with engine.begin() as conn:
        conn.execute(insert(organizations).values(id=org, name="bench", slug=f"bench-{org.hex[:8]}", settings={},
                                                  created_at=now))
        for i in range(count):
            device, token = uuid.uuid4(), new_device_token()
            conn.execute(insert(devices).values(id=device, org_id=org, name=f"phone-{i}", kind="phone", status="ON",
                                                reporting_interval=1.0, config={}, location="", site="bench",
                                                version=1, created_at=now, updated_at=now))
            conn.execute(insert(device_credentials).values(id=uuid.uuid4(), org_id=org, device_id=device,
                                                           prefix=token.prefix, token_hash=token.token_hash,
                                                           created_at=now))
            phones.append((device, token.token))
    engine.dispose()
    return org, phones


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--phones", type=int, default=200)
    parser.add_argument("--packets-per-frame", type=int, default=25)
    parser.add_argument("--window", type=int, default=8, help="unacked frames per phone")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--raw-seconds", type=float, default=5.0)
    args = parser.parse_args()

    vhost = f"bench-sensors-{uuid.uuid4().hex[:8]}"
    management = httpx.Client(base_url=MANAGEMENT, auth=("guest", "guest"), timeout=30)
    management.put(f"/api/vhosts/{quote(vhost, safe='')}").raise_for_status()
    management.put(f"/api/permissions/{quote(vhost, safe='')}/guest",
                   json={"configure": ".*", "write": ".*", "read": ".*"}).raise_for_status()
    amqp_url = f"amqp://guest:guest@127.0.0.1:5672/{quote(vhost, safe='')}"
    db_name, database_url = _make_database()
    redis_url = os.environ.get("VIGIA_BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
    proc = None
    phones: list[tuple[uuid.UUID, str]] = []
    try:
        org, phones = _make_phones(database_url, args.phones)
        port = _free_port()
        env = {**os.environ, "VIGIA_DATABASE_URL": database_url, "VIGIA_AMQP_URL": amqp_url,
               "VIGIA_REDIS_URL": redis_url,
               "VIGIA_INGEST_SENSORS_PORT": str(port), "VIGIA_INGEST_SENSORS_HOST": "127.0.0.1",
               "VIGIA_SENSORS_RATE_LIMIT": "1000000", "VIGIA_LOG_LEVEL": "WARNING"}
        profile = os.environ.get("VIGIA_BENCH_PROFILE")  # a path: the gateway runs under cProfile
        command = [sys.executable, "-m", "vigia.ingest_sensors"] if not profile else [sys.executable, "-c", (
            "import cProfile, signal; from vigia.ingest_sensors.__main__ import main\n"
            "signal.signal(signal.SIGTERM, lambda *_: None)  # uvicorn re-raises it after its shutdown\n"
            "profiler = cProfile.Profile(); profiler.enable()\n"
            f"try:\n    main()\nfinally:\n    profiler.disable(); profiler.dump_stats({profile!r})\n")]
        proc = subprocess.Popen(command, env=env, cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("gateway did not become ready")
            time.sleep(0.2)

        out: Any = mp.get_context("spawn").Queue()
        client = mp.get_context("spawn").Process(target=_phones_process, args=(
            f"ws://127.0.0.1:{port}/api/v1/sensors/ws", [t for _, t in phones], args.packets_per_frame,
            args.window, args.warmup, args.seconds, out))
        client.start()
        assert out.get(timeout=120) == "start"
        cpu_before = _cpu_seconds(proc.pid), _cpu_seconds(client.pid)
        assert out.get(timeout=args.seconds + 60) == "end"
        cpu_after = _cpu_seconds(proc.pid), _cpu_seconds(client.pid)
        result = out.get(timeout=120)
        client.join(30)
        gateway_cpu = cpu_after[0] - cpu_before[0]
        phones_cpu = cpu_after[1] - cpu_before[1]
        acked = result["packets_per_s"] * args.seconds

        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        raw = asyncio.run(_raw_publish(amqp_url, org, phones[0][0], args.raw_seconds))
        print(orjson.dumps({
            "bench": "ingest_sensors", "phones": args.phones, "packets_per_frame": args.packets_per_frame,
            "window_frames": args.window, "seconds": args.seconds, "cpus": os.cpu_count(),
            "accepted_packets_per_s": round(result["packets_per_s"]), "ack_p50_ms": result["ack_p50_ms"],
            "ack_p99_ms": result["ack_p99_ms"], "error_frames": result["errors"],
            "failed_phones": result["failed_phones"], "failures": result["failures"],
            "gateway_cpu_share": round(gateway_cpu / args.seconds, 2),
            "phones_cpu_share": round(phones_cpu / args.seconds, 2),
            # What one dedicated core would sustain at the measured cost per packet (contention-free).
            "gateway_packets_per_cpu_s": round(acked / gateway_cpu) if gateway_cpu else None,
            "raw_confirmed_publish_packets_per_s": round(raw),
            "ratio_vs_raw": round(result["packets_per_s"] / raw, 3) if raw else None,
            "target_packets_per_s": 50_000,
        }).decode())
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        management.delete(f"/api/vhosts/{quote(vhost, safe='')}")
        if phones:
            import redis

            with redis.Redis.from_url(redis_url) as client_redis:
                client_redis.delete(*(f"device:{device}:last_seen" for device, _ in phones))
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
