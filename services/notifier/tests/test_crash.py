"""Fault: the notifier process is killed (SIGKILL) while a webhook request is in flight, and the
channel then answers 500 three times. The action is delivered exactly once — the stand-in accepts
its idempotency key once — and every attempt is recorded, the interrupted one included."""

from __future__ import annotations

import asyncio
import signal
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import psycopg
import pytest

from services.notifier.tests.conftest import MakeChannel, action, deliveries, notifier_env, wait_for
from services.notifier.tests.standins import WEBHOOK_SECRET, HttpStandIn
from tests.support.processes import wait_ready
from vigia.common.broker import AsyncPublisher

Start = Callable[[], Any]


@pytest.fixture
async def notifier_process(database_url: str, amqp_url: str, redis_prefix: str, standin: HttpStandIn
                           ) -> AsyncIterator[Start]:
    """``await start()``: a ``python -m vigia.notifier`` process, ready; every one is stopped at the end."""
    processes: list[asyncio.subprocess.Process] = []

    async def start() -> asyncio.subprocess.Process:
        env = notifier_env(database_url, amqp_url, redis_prefix, standin, VIGIA_NOTIFIER_LEASE_S="2",
                           VIGIA_NOTIFIER_TIMEOUT_S="3",
                           VIGIA_NOTIFIER_RETRY_DELAYS_MS="100,200,300,400,500", VIGIA_LOG_LEVEL="WARNING")
        process = await asyncio.create_subprocess_exec(sys.executable, "-m", "vigia.notifier", env=env,
                                                       stdout=asyncio.subprocess.DEVNULL)
        processes.append(process)
        await wait_ready(process, int(env["VIGIA_METRICS_PORT"]), "notifier", within_s=20)
        return process

    yield start
    for process in processes:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), 30)


async def test_killed_mid_delivery_then_500_three_times_is_delivered_exactly_once(
        notifier_process: Start, publisher: AsyncPublisher, standin: HttpStandIn, org: uuid.UUID,
        make_channel: MakeChannel, db: psycopg.Connection[Any]) -> None:
    channel = make_channel("webhook", {"url": f"{standin.url}/hook/a", "secret": WEBHOOK_SECRET})
    standin.hold = asyncio.Event()  # the first request hangs until the notifier is dead
    standin.script = [500, 500, 500]
    first = await notifier_process()
    envelope = action("webhook", org, channel)
    await publisher.publish(envelope)
    await asyncio.wait_for(standin.arrived.wait(), 20)

    first.kill()  # SIGKILL: no ack, no attempt result, the lease left behind
    await first.wait()
    held, standin.hold = standin.hold, None
    standin.dropped.add(id(standin.received[0]))
    held.set()

    await notifier_process()  # the broker redelivers the unacked action to the new process
    await wait_for(lambda: deliveries(db, envelope.id)[0].status == "delivered", within=30, what="delivery")

    [row] = deliveries(db, envelope.id)
    assert row.tries == [(1, "interrupted"), (2, "failed"), (3, "failed"), (4, "failed"), (5, "delivered")]
    assert [r.status for r in standin.received] == [0, 500, 500, 500, 200]  # 0: the client was gone
    keys = [r.headers["idempotency-key"] for r in standin.received]
    assert len(set(keys)) == 1                       # the same delivery every time
    assert len(standin.accepted("webhook")) == 1     # and accepted exactly once
    await asyncio.sleep(0.5)                         # nothing else arrives after the delivery
    assert len(standin.received) == 5
