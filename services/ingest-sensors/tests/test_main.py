"""`python -m vigia.ingest_sensors` serves for real; on SIGTERM every socket publishes what it
holds, is acked, and closed with 1012 before the process exits; nothing acknowledged is lost."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import websockets

ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_sigterm_flushes_and_acks_every_socket_then_closes_1012(
        database_url: str, amqp_url: str, redis_url: str, phone: Any, other_phone: Any, tap: Any,
        make_packet: Any) -> None:
    sensors = await tap()
    port = free_port()
    env = {**os.environ, "VIGIA_DATABASE_URL": database_url, "VIGIA_AMQP_URL": amqp_url,
           "VIGIA_REDIS_URL": redis_url, "VIGIA_INGEST_SENSORS_PORT": str(port),
           "VIGIA_INGEST_SENSORS_HOST": "127.0.0.1", "VIGIA_SENSOR_SHARDS": "1",
           # Packets wait in the buffers far longer than the test: only the drain can publish them.
           "VIGIA_SENSORS_BATCH_LINGER_MS": "5000"}
    proc = subprocess.Popen([sys.executable, "-m", "vigia.ingest_sensors"], env=env, cwd=ROOT,  # noqa: ASYNC220
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        async with httpx.AsyncClient() as http:
            while True:
                try:
                    if (await http.get(f"{base}/readyz", timeout=2)).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline and proc.poll() is None, "gateway did not become ready"
                await asyncio.sleep(0.2)
            metrics = (await http.get(f"{base}/metrics")).text
            assert "vigia_sensor_connections" in metrics

        sockets = []
        for device in (phone, other_phone):
            ws = await websockets.connect(f"ws://127.0.0.1:{port}/api/v1/sensors/ws?token={device.token}")
            assert orjson.loads(await ws.recv())["type"] == "hello"
            await ws.send(orjson.dumps([make_packet(seq) for seq in range(1, 6)]).decode())
            sockets.append(ws)
        await asyncio.sleep(0.3)  # let the gateway read the frames
        proc.send_signal(signal.SIGTERM)

        for ws in sockets:
            frames = []
            try:
                while True:
                    frames.append(orjson.loads(await asyncio.wait_for(ws.recv(), 15)))
            except websockets.ConnectionClosed as closed:
                assert closed.rcvd is not None and closed.rcvd.code == 1012
            assert frames == [{"type": "ack", "seq": 5}]

        output, _ = await asyncio.to_thread(proc.communicate, timeout=30)
        assert proc.returncode == 0, output[-3000:]
        assert "Traceback" not in output, output[-3000:]
        assert phone.token not in output and other_phone.token not in output  # tokens never logged
        batches = await sensors.batches()
        assert sorted((b["data"]["device"], [p["seq"] for p in b["data"]["packets"]]) for b in batches) == sorted(
            (str(device.device), [1, 2, 3, 4, 5]) for device in (phone, other_phone))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


async def test_readyz_reports_each_dependency(serve: Any, settings_for: Any) -> None:
    served = await serve(settings_for())
    async with httpx.AsyncClient() as http:
        ready = await http.get(f"{served.http}/readyz")
        assert ready.status_code == 200
        assert ready.json() == {"status": "ready", "checks": {"broker": True, "redis": True, "database": True}}
        assert (await http.get(f"{served.http}/healthz")).status_code == 200
    broken = await serve(settings_for(redis_url="redis://127.0.0.1:1/0"))
    async with httpx.AsyncClient() as http:
        answer = await http.get(f"{broken.http}/readyz")
    assert answer.status_code == 503
    assert answer.json()["checks"]["redis"] is False
