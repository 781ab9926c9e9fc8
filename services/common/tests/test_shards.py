"""Shard queues spread over replicas with Redis leases (vigia.common.shards), against the machine's
Redis and RabbitMQ: real consumers on single-active-consumer queues."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import defaultdict

import aio_pika
import pytest
from redis.asyncio import Redis

from vigia.common.broker import Consumer, MessageMeta
from vigia.common.messages import Envelope, make
from vigia.common.shards import ShardedConsumers, replicas_key, shard_lease_key

ORG = uuid.UUID("0190d5d2-0000-7000-8000-000000000001")
SHARDS = 4
LEASE_MS = 900  # a tick every 0.3 s


def queue(shard: int) -> str:
    return f"test.shards.{shard}"


async def declare_queues(amqp_url: str) -> None:
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        for shard in range(SHARDS):
            await channel.declare_queue(queue(shard), durable=True,
                                        arguments={"x-single-active-consumer": True})


async def publish_one_per_shard(amqp_url: str, tag: str) -> None:
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        for shard in range(SHARDS):
            envelope = make("camera.restart", ORG, tag, {"camera": uuid.uuid4()})
            await channel.default_exchange.publish(aio_pika.Message(envelope.to_json()), routing_key=queue(shard))


class Replica:
    """One replica: its ShardedConsumers and the (shard, source) of every message it handled."""

    def __init__(self, name: str, amqp_url: str, redis: Redis, group: str) -> None:
        self.name = name
        self.handled: list[tuple[int, str]] = []
        self.stopping = asyncio.Event()

        def make_consumer(shard: int) -> Consumer:
            async def handle(envelope: Envelope, meta: MessageMeta) -> None:
                self.handled.append((shard, envelope.source))

            return Consumer(amqp_url, queue(shard), handle, prefetch=4, grace_period=2,
                            connection_name=f"{name}:{shard}")

        self.sharded = ShardedConsumers(redis, group, SHARDS, name, make_consumer, lease_ms=LEASE_MS)
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Run as a service does: ``ShardedConsumers.run`` until :meth:`stop`."""
        self.task = asyncio.create_task(self.sharded.run(self.stopping))

    async def stop(self) -> None:
        self.stopping.set()
        assert self.task is not None
        await asyncio.wait_for(self.task, 30)

    def start_crashable(self) -> None:
        """Tick in a loop of the test's own, which :meth:`crash` can end without any clean-up."""
        async def loop() -> None:
            while True:
                await self.sharded.tick()
                await asyncio.sleep(self.sharded.tick_s)

        self.task = asyncio.create_task(loop())

    async def crash(self) -> None:
        """Stop without handing anything over, as kill -9 would: the consumers die with the process
        (the broker sees their channels close), the leases are left to expire, no goodbye."""
        assert self.task is not None
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        await asyncio.gather(*(c.shutdown() for c in self.sharded.consumers.values()))


async def until(condition, within: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


@pytest.fixture
async def redis(redis_url: str):  # type: ignore[no-untyped-def]
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def test_two_replicas_split_the_shards_and_each_queue_is_worked_by_its_holder_only(
        amqp_url: str, redis: Redis) -> None:
    await declare_queues(amqp_url)
    group = f"g{uuid.uuid4().hex[:8]}"
    a = Replica("a", amqp_url, redis, group)
    a.start()
    await until(lambda: a.sharded.held == list(range(SHARDS)))  # alone: every shard
    b = Replica("b", amqp_url, redis, group)
    b.start()
    # B joins: A hands half over (its surplus), B takes it; nobody holds a shard twice.
    await until(lambda: len(a.sharded.held) == 2 and len(b.sharded.held) == 2)
    assert set(a.sharded.held).isdisjoint(b.sharded.held)
    holders = await redis.mget([shard_lease_key("/", group, s) for s in range(SHARDS)])
    assert sorted(h.decode() for h in holders) == ["a", "a", "b", "b"]

    await publish_one_per_shard(amqp_url, "round1")
    await until(lambda: len(a.handled) + len(b.handled) == SHARDS)
    assert {s for s, _ in a.handled} == set(a.sharded.held)
    assert {s for s, _ in b.handled} == set(b.sharded.held)

    # A clean stop hands A's shards over at once (no waiting for a lease to expire).
    await a.stop()
    assert await redis.zscore(replicas_key("/", group), "a") is None
    await until(lambda: b.sharded.held == list(range(SHARDS)), within=5)
    await publish_one_per_shard(amqp_url, "round2")
    await until(lambda: sum(1 for _, tag in b.handled if tag == "round2") == SHARDS)
    await b.stop()
    assert await redis.mget([shard_lease_key("/", group, s) for s in range(SHARDS)]) == [None] * SHARDS


async def test_a_crashed_replicas_shards_are_taken_over_when_its_leases_expire(
        amqp_url: str, redis: Redis) -> None:
    await declare_queues(amqp_url)
    group = f"g{uuid.uuid4().hex[:8]}"
    a, b = Replica("a", amqp_url, redis, group), Replica("b", amqp_url, redis, group)
    a.start()
    b.start_crashable()
    await until(lambda: len(a.sharded.held) == 2 and len(b.sharded.held) == 2)
    lost = set(b.sharded.held)
    await b.crash()
    assert await redis.get(shard_lease_key("/", group, min(lost))) == b"b"  # still leased to the dead one
    crashed_at = time.monotonic()
    await until(lambda: a.sharded.held == list(range(SHARDS)), within=10)
    # Not before the dead replica's leases ran out.
    assert time.monotonic() - crashed_at >= LEASE_MS / 1000 * 0.5
    await publish_one_per_shard(amqp_url, "after")
    await until(lambda: {s for s, tag in a.handled if tag == "after"} == set(range(SHARDS)))
    assert lost <= {s for s, tag in a.handled if tag == "after"}
    await a.stop()


async def test_a_lease_taken_by_another_replica_stops_that_shards_consumer(amqp_url: str, redis: Redis) -> None:
    await declare_queues(amqp_url)
    group = f"g{uuid.uuid4().hex[:8]}"
    made: dict[int, list[Consumer]] = defaultdict(list)

    def make_consumer(shard: int) -> Consumer:
        async def handle(envelope: Envelope, meta: MessageMeta) -> None:
            pass

        consumer = Consumer(amqp_url, queue(shard), handle, prefetch=1, grace_period=1)
        made[shard].append(consumer)
        return consumer

    sharded = ShardedConsumers(redis, group, SHARDS, "a", make_consumer, lease_ms=60_000)
    await sharded.tick()
    assert sharded.held == [0, 1, 2, 3]
    # Shard 2's lease ends up with someone else (e.g. it expired during a long pause and was taken):
    await redis.set(shard_lease_key("/", group, 2), "intruder", px=60_000)
    await redis.zadd(replicas_key("/", group), {"intruder": int(time.time() * 1000)})
    await sharded.tick()
    # A stops consuming shard 2 at once and, with two live replicas, keeps only its share of two.
    assert 2 not in sharded.held and len(sharded.held) == 2
    assert made[2][0]._channel is None  # shut down
    assert await redis.get(shard_lease_key("/", group, 2)) == b"intruder"
    await sharded.close()
    assert await redis.get(shard_lease_key("/", group, 2)) == b"intruder"  # never released another's lease


async def test_shards_outside_the_candidates_are_never_taken(amqp_url: str, redis: Redis) -> None:
    await declare_queues(amqp_url)
    group = f"g{uuid.uuid4().hex[:8]}"

    def make_consumer(shard: int) -> Consumer:
        async def handle(envelope: Envelope, meta: MessageMeta) -> None:
            pass

        return Consumer(amqp_url, queue(shard), handle, prefetch=1, grace_period=1)

    sharded = ShardedConsumers(redis, group, SHARDS, "a", make_consumer, lease_ms=60_000, candidates=[1, 3])
    await sharded.tick()
    assert sharded.held == [1, 3]
    assert await redis.get(shard_lease_key("/", group, 0)) is None
    await sharded.close()
