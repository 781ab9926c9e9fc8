"""``python -m vigia.correlator`` as a process: killed (SIGKILL) in the middle of an incident and
started again, it carries on with the same incident — one event.created, then updates of that
event — and it answers health and metrics, and exits cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from services.correlator.tests.conftest import REDIS_URL, Site, Tap, anomaly, events_of, person
from services.correlator.tests.test_correlation_broker import ended, free_port
from vigia.common.broker import AsyncPublisher
from vigia.common.messages import EventChanged

MS = 1_000_000


async def start(env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(sys.executable, "-m", "vigia.correlator", env=env,
                                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


async def test_restart_mid_incident_continues_the_same_event(
        database_url: str, amqp_url: str, redis_prefix: str, tmp_path: Path, publisher: AsyncPublisher,
        tap: Tap, make_site: Callable[..., Site]) -> None:
    site = make_site()
    port = free_port()
    env = {**os.environ, "VIGIA_DATABASE_URL": database_url, "VIGIA_AMQP_URL": amqp_url,
           "VIGIA_REDIS_URL": REDIS_URL, "VIGIA_CORRELATOR_REDIS_PREFIX": redis_prefix,
           "VIGIA_OBJECT_STORE": f"file://{tmp_path / 'objects'}", "VIGIA_METRICS_PORT": str(port),
           "VIGIA_INCIDENT_QUIET_S": "4", "VIGIA_CORRELATOR_TICK_S": "0.1", "VIGIA_EVIDENCE_MARGIN_S": "0"}
    first = await start(env)
    second = None
    try:
        now = time.time_ns()
        await publisher.publish(anomaly(site, "magnetic", now))
        await publisher.publish(anomaly(site, "audio_voice", now + 200 * MS))
        await tap.collect(lambda seen: bool(events_of(seen, "event.created")), within=60)
        first.kill()  # no goodbye: state is whatever reached Redis
        await first.wait()

        later = now + 3000 * MS  # observed inside the quiet gap, but a window apart from the first two
        seen = person(site, later)
        await publisher.publish(anomaly(site, "magnetic", later - 100 * MS))
        await publisher.publish(seen)
        second = await start(env)
        messages = await tap.collect(ended, within=60)
        # A kill between the confirm and the state write replays the creation: the same message
        # (same envelope id, same event), which consumers dedupe; never a second incident.
        assert len({e.id for e in events_of(messages, "event.created")}) == 1
        events = {e.data.event for e in messages if isinstance(e.data, EventChanged)}
        assert len(events) == 1
        final = messages[-1].data
        assert isinstance(final, EventChanged) and final.ended_at is not None
        assert str(seen.id) in {s.ref for s in final.sources} and len(final.sources) == 4
        assert final.score == 0.8  # its best window (magnetic + audio); the person came seconds later

        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            for _ in range(100):
                try:
                    if (await http.get("/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            assert (await http.get("/healthz")).status_code == 200
            assert (await http.get("/readyz")).status_code == 200
            metrics = (await http.get("/metrics")).text
        assert 'correlator_events_total{change="closed"} 1.0' in metrics
        second.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(second.communicate(), 30)
        assert second.returncode == 0, stderr.decode()[-2000:]
    finally:
        for process in (first, second):
            if process is not None and process.returncode is None:
                process.kill()
                await process.wait()
