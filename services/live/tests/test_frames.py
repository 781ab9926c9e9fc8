"""A camera's latest frames over ``WS /api/v1/cameras/{id}/frames``: real PostgreSQL (the migrated
schema), real Redis streams written the way vision writes them, real JWKS, real uvicorn and sockets."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import psycopg
import pytest
import websockets
from prometheus_client import REGISTRY
from redis.asyncio import Redis
from websockets.exceptions import ConnectionClosed

from services.live.tests.conftest import RunningLive, StartLive
from services.live.tests.support import Keys, RawClient, wait_until
from tests.support.databases import migrated_database
from vigia.common.leases import camera_frames_key
from vigia.live.frames import HEADER

DB_NAME = "vigia_live_test"


@pytest.fixture(scope="session")
def database_url() -> str:
    return migrated_database(DB_NAME)


@pytest.fixture
def new_camera(database_url: str) -> Callable[..., tuple[uuid.UUID, uuid.UUID]]:
    """``new_camera(fps=…, org=…)`` → (org, camera), rows committed."""

    def make(fps: float = 30.0, org: uuid.UUID | None = None) -> tuple[uuid.UUID, uuid.UUID]:
        camera = uuid.uuid4()
        with psycopg.connect(database_url, autocommit=True) as db:
            if org is None:
                org = uuid.uuid4()
                db.execute("INSERT INTO organizations (id, name, slug, settings, created_at) "
                           "VALUES (%s, 'Live test', %s, '{}', now())", (org, f"lv-{org.hex[:12]}"))
            db.execute("INSERT INTO cameras (id, org_id, name, rtsp_url_encrypted, fps, zones, location, site, "
                       "enabled, status, version, created_at, updated_at) VALUES (%s, %s, %s, 'x', %s, '[]', '', "
                       "'site', true, 'active', 1, now(), now())", (camera, org, f"cam {camera.hex[:6]}", fps))
        return org, camera

    return make


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def live(start_live: StartLive, database_url: str, redis_url: str) -> RunningLive:
    return await start_live(database_url=database_url, redis_url=redis_url, live_frames_max_fps=30,
                            live_frames_send_timeout_s=1)


def frames_url(live: RunningLive, camera: uuid.UUID | str, token: str | None, **params: str) -> str:
    query = {**({"token": token} if token is not None else {}), **params}
    return (f"ws://127.0.0.1:{live.port}/api/v1/cameras/{camera}/frames?"
            + "&".join(f"{k}={v}" for k, v in query.items()))


def jpeg(n: int, size: int = 64) -> bytes:
    """A stand-in JPEG body that says which frame it is (live passes the bytes through)."""
    return b"\xff\xd8" + n.to_bytes(4, "big") + b"\0" * size + b"\xff\xd9"


async def add_frame(redis: Redis, camera: uuid.UUID, n: int, size: int = 64) -> int:
    """Append frame ``n`` the way vision's ``_keep_recent`` does; its capture time (ns)."""
    captured = time.time_ns()
    await redis.xadd(camera_frames_key(camera), {"t": captured, "jpeg": jpeg(n, size)}, maxlen=120,
                     approximate=True)
    return captured


async def next_frame(ws: Any, within: float = 10) -> tuple[int, int]:
    """(capture ns, frame number) of the next message."""
    async with asyncio.timeout(within):
        message = await ws.recv()
    assert isinstance(message, bytes)
    (captured,) = HEADER.unpack_from(message)
    body = message[HEADER.size:]
    assert body[:2] == b"\xff\xd8" and body[-2:] == b"\xff\xd9"
    return captured, int.from_bytes(body[2:6], "big")


async def close_of(ws: Any, within: float = 10) -> tuple[int | None, str | None]:
    async with asyncio.timeout(within):
        try:
            while True:
                await ws.recv()
        except ConnectionClosed as exc:
            return (exc.rcvd.code, exc.rcvd.reason) if exc.rcvd else (None, None)


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_a_token_is_required_and_checked(live: RunningLive, keys: Keys, new_camera: Any,
                                               redis: Redis) -> None:
    org, camera = new_camera()
    await add_frame(redis, camera, 1)
    async with websockets.connect(frames_url(live, camera, None)) as ws:
        assert await close_of(ws) == (4401, "token: missing")
    async with websockets.connect(frames_url(live, camera, keys.token(org, expires_in=-60))) as ws:
        code, _ = await close_of(ws)
        assert code == 4401
    async with websockets.connect(frames_url(live, camera, keys.token(org))) as ws:
        assert (await next_frame(ws))[1] == 1


async def test_another_organizations_camera_answers_like_an_unknown_one(
        live: RunningLive, keys: Keys, new_camera: Any, redis: Redis) -> None:
    _, camera = new_camera()
    other_org, _ = new_camera()
    await add_frame(redis, camera, 1)
    answers = []
    for target in (camera, uuid.uuid4(), "not-a-uuid"):
        async with websockets.connect(frames_url(live, target, keys.token(other_org))) as ws:
            answers.append(await close_of(ws))
    assert answers == [(4404, "camera: not found")] * 3
    assert not live.server.live.frames.feeds  # nothing was polled for them


async def test_the_latest_frame_first_then_newer_ones_in_order(live: RunningLive, keys: Keys, new_camera: Any,
                                                                redis: Redis) -> None:
    org, camera = new_camera(fps=30)
    for n in range(1, 4):
        await add_frame(redis, camera, n)
    async with websockets.connect(frames_url(live, camera, keys.token(org))) as ws:
        got = [await next_frame(ws)]
        assert got[0][1] == 3  # the newest, not the backlog
        sent = {3: 0}
        for n in range(4, 24):
            sent[n] = await add_frame(redis, camera, n)
            await asyncio.sleep(0.05)
        while got[-1][1] != 23:
            got.append(await next_frame(ws))
    numbers = [n for _, n in got]
    assert numbers == sorted(set(numbers))  # in order, none twice
    assert len(numbers) >= 10  # at 20 fps added, 30 allowed: most arrive
    assert all(captured == sent[n] for captured, n in got[1:])  # vision's capture time, as written


async def test_frames_are_rate_limited_to_the_cameras_fps_and_the_clients_ask(
        live: RunningLive, keys: Keys, new_camera: Any, redis: Redis) -> None:
    org, camera = new_camera(fps=4)
    await add_frame(redis, camera, 0)
    received: dict[str, list[int]] = {"camera": [], "asked": []}

    async def watch(name: str, **params: str) -> None:
        async with websockets.connect(frames_url(live, camera, keys.token(org), **params)) as ws:
            try:
                async with asyncio.timeout(2.5):
                    while True:
                        received[name].append((await next_frame(ws))[1])
            except TimeoutError:
                pass

    async def produce() -> None:
        for n in range(1, 60):  # 20 frames a second for 3 s
            await add_frame(redis, camera, n)
            await asyncio.sleep(0.05)

    producer = asyncio.create_task(produce())
    await asyncio.gather(watch("camera"), watch("asked", fps="1"))
    producer.cancel()
    assert 5 <= len(received["camera"]) <= 12  # ~4 a second for 2.5 s
    assert 1 <= len(received["asked"]) <= 4  # ~1 a second
    assert metric("live_camera_frames_skipped_total") > 0


async def test_a_client_that_stops_reading_neither_holds_others_back_nor_stays(
        live: RunningLive, keys: Keys, new_camera: Any, redis: Redis) -> None:
    org, camera = new_camera(fps=30)
    big = 256 * 1024  # a few frames fill the stalled socket's buffers
    await add_frame(redis, camera, 0, big)
    stalled = await RawClient.connect(frames_url(live, camera, keys.token(org)))
    frames = live.server.live.frames
    slow_before = metric("vigia_live_disconnects_total", reason="slow")
    try:
        await wait_until(lambda: frames.watching == 1)
        async with websockets.connect(frames_url(live, camera, keys.token(org)), max_size=None) as ws:
            await next_frame(ws)
            latest = 0
            for n in range(1, 40):
                await add_frame(redis, camera, n, big)
                await asyncio.sleep(0.05)
            while latest != 39:
                latest = (await next_frame(ws, within=3))[1]
            # The stalled socket is closed once a frame could not be sent within the timeout (1 s).
            await wait_until(lambda: frames.watching == 1, within=10)
        assert metric("vigia_live_disconnects_total", reason="slow") == slow_before + 1
    finally:
        stalled.close()


async def test_leaving_stops_polling_the_cameras_stream(live: RunningLive, keys: Keys, new_camera: Any,
                                                        redis: Redis) -> None:
    org, camera = new_camera(fps=30)
    await add_frame(redis, camera, 1)
    frames = live.server.live.frames
    async with websockets.connect(frames_url(live, camera, keys.token(org))) as one, \
            websockets.connect(frames_url(live, camera, keys.token(org))) as two:
        await next_frame(one)
        await next_frame(two)
        assert list(frames.feeds) == [camera] and frames.feeds[camera].watchers == 2  # one poller for both
        feed = frames.feeds[camera]
    await wait_until(lambda: not frames.feeds and frames.watching == 0, within=5)
    assert feed._task is None  # its poller was cancelled


async def test_the_socket_closes_when_the_token_expires(live: RunningLive, keys: Keys, new_camera: Any,
                                                        redis: Redis) -> None:
    org, camera = new_camera()
    await add_frame(redis, camera, 1)
    async with websockets.connect(frames_url(live, camera, keys.token(org, expires_in=2))) as ws:
        await next_frame(ws)
        assert await close_of(ws, within=10) == (4401, "token: expired")
    await wait_until(lambda: live.server.live.frames.watching == 0, within=5)


async def test_a_bad_fps_is_refused(live: RunningLive, keys: Keys, new_camera: Any) -> None:
    org, camera = new_camera()
    async with websockets.connect(frames_url(live, camera, keys.token(org), fps="fast")) as ws:
        assert await close_of(ws) == (4400, "fps: expected a number")


async def test_the_token_in_a_tiles_url_never_reaches_the_logs(live: RunningLive, keys: Keys, new_camera: Any,
                                                              redis: Redis, caplog: pytest.LogCaptureFixture) -> None:
    org, camera = new_camera()
    await add_frame(redis, camera, 1)
    token = keys.token(org)
    caplog.set_level("INFO")
    async with websockets.connect(frames_url(live, camera, token, fps="2")) as ws:
        await next_frame(ws)
    assert f"/api/v1/cameras/{camera}/frames?token=***" in caplog.text
    assert token not in caplog.text and token.split(".")[2] not in caplog.text
