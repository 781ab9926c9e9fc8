"""``python -m vigia.forecast`` as a process, and its replicas: the scheduled round forecasts an active
device with the registry's default model, health answers, SIGTERM stops it cleanly and hands the
leader lease over; of two replicas only the lease holder runs rounds."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import numpy as np
from redis.asyncio import Redis
from sqlalchemy import Engine, select

from services.forecast.tests.conftest import minutes
from vigia.common import db
from vigia.forecast import models
from vigia.forecast.schedule import LEADER_KEY, RefreshSchedule


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_the_service_forecasts_active_devices_on_its_schedule_and_stops_cleanly(
        database_url: str, amqp_url: str, redis_url: str, engine: Engine, device: uuid.UUID,
        write_readings: Callable[..., None]) -> None:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    write_readings(minutes(now - timedelta(minutes=90), 50 + np.sin(np.arange(90) / 5)))
    port = free_port()
    env = {**os.environ, "VIGIA_DATABASE_URL": database_url, "VIGIA_AMQP_URL": amqp_url,
           "VIGIA_REDIS_URL": redis_url, "VIGIA_METRICS_PORT": str(port), "VIGIA_FORECAST_REFRESH_S": "600",
           "VIGIA_FORECAST_METRICS": "mag_magnitude", "VIGIA_LOG_JSON": "false"}
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "vigia.forecast", env=env,
                                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        rows: list = []
        for _ in range(600):
            with engine.connect() as conn:
                rows = conn.execute(select(db.forecasts).where(db.forecasts.c.device_id == device)).all()
            if rows:
                break
            await asyncio.sleep(0.1)
        assert len(rows) == 1, "no forecast within 60 s"
        assert rows[0].model in models.names() and len(rows[0].mean) == models.HORIZON
        async with httpx.AsyncClient() as client:
            ready = await client.get(f"http://127.0.0.1:{port}/readyz")
        assert ready.status_code == 200, ready.text
        redis = Redis.from_url(redis_url)
        assert await redis.get(LEADER_KEY) is not None
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, stderr.decode()[-2000:]
    assert await redis.get(LEADER_KEY) is None  # handed over at once
    await redis.aclose()


async def test_of_two_replicas_only_the_lease_holder_runs_rounds(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    rounds: list[str] = []

    def counting(name: str) -> Callable[[datetime], Coroutine[Any, Any, int]]:
        async def refresh(since: datetime) -> int:
            rounds.append(name)
            return 0
        return refresh

    stopping = asyncio.Event()
    replicas = [RefreshSchedule(redis, name, counting(name), interval=0.05, active_s=60, lease_s=0.3)
                for name in ("a", "b")]
    running = [asyncio.create_task(r.run(stopping)) for r in replicas]
    await asyncio.sleep(0.8)
    assert len(rounds) >= 2
    leader = rounds[0]
    stopping.set()
    await asyncio.gather(*running)
    assert await redis.get(LEADER_KEY) is None
    await redis.aclose()
    assert rounds.count(leader) == len(rounds)
