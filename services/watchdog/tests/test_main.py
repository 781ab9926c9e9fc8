"""``python -m vigia.watchdog`` as a process: it restarts a frozen camera, flags a device that
reports again, answers health and
metrics on its port, and on SIGTERM exits cleanly, releasing the leader lease."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from redis.asyncio import Redis

from services.watchdog.tests.conftest import AddCamera, AddDevice, Taps
from vigia.watchdog.cameras import last_frame_key
from vigia.watchdog.devices import last_seen_key
from vigia.watchdog.lease import LEADER_KEY

JANITOR_DONE = r"^watchdog_retention_last_run_timestamp_seconds (\S+)$"
DLQ_REPORTED = r'^vigia_dlq_messages\{queue="[^"]+\.dlq"\} 0\.0$'


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_watchdog_process_restarts_frozen_camera_and_releases_its_lease_on_sigterm(
        database_url: str, amqp_url: str, redis: Redis, add_camera: AddCamera, add_device: AddDevice,
        taps: Taps, tmp_path: Path) -> None:
    camera = add_camera()
    await redis.set(last_frame_key(camera), str(time.time_ns() - 60 * 1_000_000_000))
    device = add_device(status="OFF", interval=3600)
    await redis.set(last_seen_key(device), str(time.time_ns()))
    port = free_port()
    redis_url = redis.connection_pool.connection_kwargs
    env = {**os.environ, "VIGIA_DATABASE_URL": database_url, "VIGIA_AMQP_URL": amqp_url,
           "VIGIA_REDIS_URL": f"redis://127.0.0.1:6379/{redis_url['db']}", "VIGIA_METRICS_PORT": str(port),
           "VIGIA_WATCHDOG_INSTANCE": "test-process", "VIGIA_WATCHDOG_TICK_S": "0.2",
           "VIGIA_OBJECT_STORE": f"file://{tmp_path}/objects"}  # its object lifecycle job: not the repo's var/
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "vigia.watchdog", env=env,
                                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        restarts: list[dict[str, object]] = []
        statuses: list[dict[str, object]] = []
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            for _ in range(600):
                restarts += await taps.take("restarts")
                statuses += await taps.take("device_status")
                try:
                    ready = (await http.get("/readyz")).status_code == 200
                except httpx.TransportError:
                    ready = False
                if ready and restarts and statuses:
                    metrics = (await http.get("/metrics")).text
                    # the janitor jobs run beside: wait for their first results too
                    if re.search(JANITOR_DONE, metrics, re.M) and re.search(DLQ_REPORTED, metrics, re.M):
                        break
                await asyncio.sleep(0.1)
            assert ready and [m["routing_key"] for m in restarts] == [f"camera.restart.{camera}"]
            metrics = (await http.get("/metrics")).text
        assert f'watchdog_restarts_total{{camera="{camera}"}} 1.0' in metrics
        assert "watchdog_is_leader 1.0" in metrics
        assert [m["routing_key"] for m in statuses] == [f"device.status.{device_org(statuses)}.{device}"]
        assert 'watchdog_devices{status="ON"} 1.0' in metrics
        assert 'watchdog_device_transitions_total{previous="OFF",status="ON"} 1.0' in metrics
        # the janitor jobs ran in the same process: retention finished, the topology's DLQs are reported
        last_run = re.search(JANITOR_DONE, metrics, re.M)
        assert last_run is not None and float(last_run.group(1)) > 0
        assert re.search(DLQ_REPORTED, metrics, re.M)
        assert await redis.get(LEADER_KEY) == b"test-process"
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
        assert process.returncode == 0, stderr.decode()[-2000:]
        assert await redis.get(LEADER_KEY) is None
        assert b"rtsp" not in stderr.lower()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def device_org(messages: list[dict[str, object]]) -> object:
    return messages[0]["org"]
