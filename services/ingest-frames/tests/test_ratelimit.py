"""The per-camera rate limiter against real Redis: exact across replicas, reserving in blocks."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator, Callable

import pytest
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from vigia.ingest_frames.ratelimit import RATE_LIMIT_CALLS, RATE_LIMIT_UNAVAILABLE, CameraRateLimiter


@pytest.fixture
async def limiters(redis_url: str) -> AsyncIterator[Callable[[int], CameraRateLimiter]]:
    """``limiters(limit)``: a limiter with a Redis connection of its own, like one gateway process."""
    clients: list[Redis] = []

    def make(limit: int) -> CameraRateLimiter:
        clients.append(Redis.from_url(redis_url))
        return CameraRateLimiter(clients[-1], limit)

    yield make
    for client in clients:
        await client.aclose()


def _calls() -> float:
    return RATE_LIMIT_CALLS._value.get()


async def test_concurrent_frames_on_two_replicas_never_exceed_the_limit_and_get_unique_seqs(
        limiters: Callable[[int], CameraRateLimiter]) -> None:
    camera = uuid.uuid4()
    first, second = limiters(20), limiters(20)
    decisions = await asyncio.gather(*(limiter.admit(camera) for _ in range(40) for limiter in (first, second)))
    allowed = [d for d in decisions if d.allowed]
    assert len(allowed) == 20
    assert sorted(d.seq for d in allowed) == list(range(1, 21))
    assert {d.retry_after_s for d in decisions if not d.allowed} == {1}


async def test_a_busy_camera_reserves_blocks_and_numbers_its_frames_without_gaps(
        limiters: Callable[[int], CameraRateLimiter]) -> None:
    limiter, camera = limiters(1000), uuid.uuid4()
    before = _calls()
    seqs = [(await limiter.admit(camera)).seq for _ in range(200)]
    assert seqs == list(range(1, 201))  # one process, one window: consecutive
    assert _calls() - before < 40  # blocks grow with the camera's rate


async def test_a_full_window_refuses_locally_until_it_ends(limiters: Callable[[int], CameraRateLimiter]) -> None:
    limiter, camera, other = limiters(5), uuid.uuid4(), uuid.uuid4()
    assert [(await limiter.admit(camera)).allowed for _ in range(5)] == [True] * 5
    before = _calls()
    refused = [await limiter.admit(camera) for _ in range(50)]
    assert not any(d.allowed for d in refused)
    assert _calls() - before == 1  # the first refusal learnt the window is full; the rest cost nothing
    assert (await limiter.admit(other)).allowed  # per camera
    await asyncio.sleep(1.05)
    assert (await limiter.admit(camera)).allowed


async def test_frames_pass_with_seq_zero_while_redis_is_unreachable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.5, socket_timeout=0.5,
                   retry=Retry(NoBackoff(), 0))
    try:
        limiter = CameraRateLimiter(client, 1)
        before = RATE_LIMIT_UNAVAILABLE._value.get()
        decisions = await asyncio.gather(*(limiter.admit(uuid.uuid4()) for _ in range(3)))
        assert [(d.allowed, d.seq) for d in decisions] == [(True, 0)] * 3
        assert RATE_LIMIT_UNAVAILABLE._value.get() - before == 3
    finally:
        await client.aclose()
