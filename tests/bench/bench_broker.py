"""Publish throughput with confirms: vigia.common's AsyncPublisher vs raw aio-pika, same run.

    python tests/bench/bench_broker.py [--n 20000] [--window 512] [--rounds 5]

Both sides publish the same kind of small detection envelopes (serialized in the timed loop), to
the same exchange and quorum queues, with publisher confirms, ``mandatory=True``, returns raising,
the same message properties and the same number of confirms outstanding (``--window``). Rounds
alternate between the two sides; each side's figure is its median round, and the ratio is the
median of the per-round ratios (adjacent runs see the same machine load, which on a shared
2-core machine drifts more than the difference being measured). Runs on a vhost it
creates through the management API and deletes afterwards. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from urllib.parse import quote

import aio_pika
import httpx
import orjson

from vigia.common.broker import AsyncPublisher, BrokerSettings, declare_topology
from vigia.common.messages import Envelope, make

AMQP_HOST = os.environ.get("VIGIA_TEST_AMQP_HOST", "127.0.0.1")
MANAGEMENT = os.environ.get("VIGIA_TEST_AMQP_MANAGEMENT", "http://127.0.0.1:15672")
ORG = uuid.uuid4()
CAMERA = uuid.uuid4()


def envelopes(n: int) -> list[Envelope]:
    frame = uuid.uuid4()
    return [make("detection.created", ORG, "bench", {
        "camera": CAMERA, "frame": frame, "captured_at": time.time_ns(), "label": "car",
        "confidence": 0.9, "box": {"x1": 1, "y1": 2, "x2": 30, "y2": 40}}) for _ in range(n)]


async def vigia_round(url: str, batch: list[Envelope], window: int) -> float:
    async with AsyncPublisher(url) as publisher:
        started = time.perf_counter()
        await publisher.publish_many(batch, window=window)
        return len(batch) / (time.perf_counter() - started)


async def raw_round(url: str, batch: list[Envelope], window: int) -> float:
    connection = await aio_pika.connect_robust(url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        exchange = await channel.get_exchange("vigia.events", ensure=False)
        semaphore = asyncio.Semaphore(window)

        async def one(envelope: Envelope) -> None:
            async with semaphore:
                message = aio_pika.Message(
                    envelope.to_json(), content_type="application/json",
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT, message_id=str(envelope.id),
                    type=envelope.type, timestamp=datetime.fromtimestamp(envelope.time / 1e9, UTC),
                    headers={"traceparent": envelope.trace})
                await exchange.publish(message, f"detection.{envelope.org}.{CAMERA}", mandatory=True)

        started = time.perf_counter()
        await asyncio.gather(*(one(e) for e in batch))
        return len(batch) / (time.perf_counter() - started)


async def purge(url: str) -> None:
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        for name in ("recorder.events", "correlator.in"):
            await (await channel.get_queue(name)).purge()


async def main(n: int, window: int, rounds: int) -> dict[str, object]:
    vhost = f"bench-{uuid.uuid4().hex[:10]}"
    url = f"amqp://guest:guest@{AMQP_HOST}:5672/{quote(vhost, safe='')}"
    async with httpx.AsyncClient(base_url=MANAGEMENT, auth=("guest", "guest"), timeout=60) as management:
        (await management.put(f"/api/vhosts/{quote(vhost, safe='')}")).raise_for_status()
        (await management.put(f"/api/permissions/{quote(vhost, safe='')}/guest",
                              json={"configure": ".*", "write": ".*", "read": ".*"})).raise_for_status()
        try:
            connection = await aio_pika.connect(url)
            async with connection:
                await declare_topology(await connection.channel(), BrokerSettings(sensor_shards=1))
            await vigia_round(url, envelopes(min(n, 2000)), window)  # warm-up (both code paths)
            await raw_round(url, envelopes(min(n, 2000)), window)
            results: dict[str, list[float]] = {"vigia": [], "raw": []}
            for r in range(rounds):
                order = ("vigia", "raw") if r % 2 == 0 else ("raw", "vigia")
                for side in order:
                    await purge(url)
                    batch = envelopes(n)
                    rate = await (vigia_round if side == "vigia" else raw_round)(url, batch, window)
                    results[side].append(rate)
        finally:
            await management.delete(f"/api/vhosts/{quote(vhost, safe='')}")
    vigia, raw = statistics.median(results["vigia"]), statistics.median(results["raw"])
    return {"bench": "broker_publish", "n": n, "window": window, "rounds": rounds,
            "vigia_msgs_per_s": round(vigia, 1), "raw_msgs_per_s": round(raw, 1),
            "ratio": round(statistics.median(v / r for v, r in zip(results["vigia"], results["raw"],
                                                                    strict=True)), 3),
            "vigia_rounds": [round(r) for r in results["vigia"]],
            "raw_rounds": [round(r) for r in results["raw"]]}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--window", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    sys.stdout.write(orjson.dumps(asyncio.run(main(args.n, args.window, args.rounds))).decode() + "\n")
