"""The live ASGI app: ``WS /api/v1/ws?token=<JWT>[&types=a,b]``, ``WS /api/v1/cameras/{id}/frames?token=<JWT>``
(a camera's latest frames, see :mod:`vigia.live.frames`), ``/healthz``, ``/readyz``, ``/metrics``.

Admission: the socket is accepted first and then, if refused, closed with a code and a reason the
client can read (a refusal before ``accept`` would be an HTTP 403 browsers cannot tell apart):

=====  ==========================================================================================
4400   bad query parameter (``types``); the reason names it
4401   missing, malformed, forged, ``alg: none``, wrong issuer/audience or expired token; also sent
       when the token expires on an open socket (reconnect with a fresh token)
1013   try again later: the JWKS could not be fetched, or the instance is full
4008   too slow: the client's send queue filled up (see :mod:`vigia.live.hub`)
1011   the client did not answer the server's pings in time (uvicorn keep-alive)
1001   the server is shutting down
=====  ==========================================================================================

Client messages: ``{"type": "ping"}`` → ``{"type": "pong"}``; anything else gets an ``error``
message and the socket stays open.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, MutableMapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
import psycopg
from fastapi import FastAPI, WebSocket
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from redis.asyncio import Redis
from starlette.websockets import WebSocketDisconnect

from vigia.common.auth import AccessClaims, InvalidToken, JWKSClient, KeySetUnavailable
from vigia.common.broker import Consumer, MessageMeta, declare_live_queue
from vigia.common.broker.topology import live_queue_name
from vigia.common.client_address import ClientAddressMiddleware
from vigia.common.messages import Envelope
from vigia.common.observability import HttpMetricsMiddleware
from vigia.live.config import LiveSettings
from vigia.live.frames import (
    CLOSE_NOT_FOUND,
    FRAMES_SENT,
    FRAMES_SKIPPED,
    CameraFeed,
    FrameFeeds,
    frame_message,
    parse_fps,
)
from vigia.live.hub import (
    CLOSE_BAD_REQUEST,
    CLOSE_GOING_AWAY,
    CLOSE_TOO_SLOW,
    CLOSE_TRY_AGAIN_LATER,
    CLOSE_UNAUTHORIZED,
    DISCONNECTS,
    MESSAGES_SENT,
    Client,
    Hub,
    close_reason,
)
from vigia.live.wire import BINDING_KEYS, control_message, parse_types

log = logging.getLogger(__name__)


@dataclass
class Live:
    """What the routes share: settings, the hub, the token verifier and the broker consumer."""

    settings: LiveSettings
    hub: Hub
    jwks: JWKSClient
    instance: str
    consumer: Consumer | None = None
    frames: FrameFeeds | None = None
    #: Set on shutdown: every latest-frame socket closes with 1001.
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    # JWKSClient lets one caller fetch and fails the others while no key is cached yet: verifying
    # under a lock makes them wait for that fetch instead (verification itself never yields).
    verifying: asyncio.Lock = field(default_factory=asyncio.Lock)

    def ready(self) -> bool:
        consumer = self.consumer
        return (consumer is not None and consumer.started.is_set() and not self.hub.closing
                and consumer._connection is not None and not consumer._connection.is_closed)


def create_app(settings: LiveSettings, hub: Hub | None = None) -> FastAPI:
    """The ASGI app; the lifespan starts the broker consumer (in the background, so /healthz
    answers while the broker is still unreachable) and stops it on shutdown."""
    live = Live(settings=settings, hub=hub or Hub(settings.live_max_clients),
                jwks=JWKSClient(settings.jwks_url, settings.jwt_issuer, settings.jwt_audience,
                                cache_seconds=settings.jwks_cache_s, leeway=settings.jwt_leeway_s),
                instance=settings.live_instance or uuid.uuid4().hex[:12])

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        live.consumer = _consumer(live)
        starting = asyncio.create_task(_start(live.consumer, settings.live_port), name="live-consumer-start")
        # Opened in the background: a database that is down refuses tiles (1013), never the feed.
        pool: AsyncConnectionPool = AsyncConnectionPool(
            settings.database_url, min_size=1, max_size=4, timeout=5, open=False, name="live-cameras",
            kwargs={"connect_timeout": 5, "application_name": "vigia-live"})
        await pool.open(wait=False)
        redis = Redis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=5)
        live.frames = FrameFeeds(redis, pool, settings.live_frames_max_fps, settings.live_camera_cache_s)
        try:
            yield
        finally:
            starting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await starting
            live.stopping.set()
            await live.hub.close_all(CLOSE_GOING_AWAY, "server shutting down", "shutdown",
                                     settings.live_shutdown_grace_s)
            await live.consumer.shutdown()
            await live.frames.close()
            await redis.aclose()
            await pool.close()

    app = FastAPI(title="Vigia live", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.live = live
    app.add_middleware(HttpMetricsMiddleware, service="live")
    # Outermost: uvicorn's WebSocket log lines and the routes see the client behind our proxies.
    app.add_middleware(ClientAddressMiddleware, trusted=settings.trusted_proxy_networks)

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        return JSONResponse({"status": "alive"})

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        ok = live.ready()
        return JSONResponse({"status": "ready" if ok else "not ready", "checks": {"broker": ok}},
                            status_code=200 if ok else 503)

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.websocket("/api/v1/ws")
    async def operator_feed(websocket: WebSocket) -> None:
        await websocket.accept()
        client = await _admit(websocket, live)
        if client is None:
            return
        try:
            await _serve(websocket, client, live.settings)
        finally:
            live.hub.remove(client)

    @app.websocket("/api/v1/cameras/{camera}/frames")
    async def camera_frames(websocket: WebSocket, camera: str) -> None:
        await websocket.accept()
        admitted = await _admit_watcher(websocket, live, camera)
        if admitted is None:
            return
        feed, rate, expires_at = admitted
        try:
            await _watch(websocket, live, feed, rate, expires_at)
        finally:
            assert live.frames is not None
            await live.frames.leave(feed)

    return app


# --- the broker side -------------------------------------------------------------------------------

def _consumer(live: Live) -> Consumer:
    settings = live.settings

    async def setup(channel: object) -> None:
        await declare_live_queue(channel, live.instance, BINDING_KEYS, settings.live_queue_max_length)

    async def handle(envelope: Envelope, meta: MessageMeta) -> None:
        live.hub.dispatch(envelope)

    # Failures are not requeued: the queue is private and perishable, a retry could only loop.
    return Consumer(settings.amqp_url, live_queue_name(live.instance), handle,
                    prefetch=settings.live_prefetch, requeue_failures=False, setup=setup, settings=settings,
                    connection_name=f"live:{live.instance}")


async def _start(consumer: Consumer, port: int) -> None:
    try:
        await consumer.start()
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("live consumer failed to start; /readyz stays 503")
        return
    log.info("live ready on :%d, consuming %s", port, consumer.queue_name,
             extra={"port": port, "queue": consumer.queue_name})


# --- one operator socket ---------------------------------------------------------------------------

async def _refuse(websocket: WebSocket, code: int, reason: str, label: str) -> None:
    DISCONNECTS.labels(label).inc()
    with contextlib.suppress(Exception):
        await websocket.close(code, close_reason(reason))


async def _admit(websocket: WebSocket, live: Live) -> Client | None:
    """The registered client for this socket, or None after closing it with the refusal's code."""
    params = websocket.query_params
    try:
        types = parse_types(params.get("types"))
    except ValueError as exc:
        await _refuse(websocket, CLOSE_BAD_REQUEST, str(exc), "bad_request")
        return None
    token = params.get("token")
    if not token:
        await _refuse(websocket, CLOSE_UNAUTHORIZED, "token: missing", "unauthorized")
        return None
    try:
        async with live.verifying:
            claims: AccessClaims = await live.jwks.averify(token)
    except InvalidToken as exc:
        await _refuse(websocket, CLOSE_UNAUTHORIZED, f"token: {exc.reason}", "unauthorized")
        return None
    except KeySetUnavailable:
        await _refuse(websocket, CLOSE_TRY_AGAIN_LATER, "authentication keys unavailable, try again later",
                      "keys_unavailable")
        return None
    client = Client.new(claims.org, claims.sub, types, live.settings.live_send_queue)
    if not live.hub.add(client):
        if live.hub.closing:
            await _refuse(websocket, CLOSE_GOING_AWAY, "server shutting down", "shutdown")
        else:
            await _refuse(websocket, CLOSE_TRY_AGAIN_LATER, "too many clients, try again later", "full")
        return None
    client.expires_at = claims.exp.timestamp() + live.settings.jwt_leeway_s
    return client


async def _serve(websocket: WebSocket, client: Client, settings: LiveSettings) -> None:
    """Run the socket until the client leaves or a close is requested (slow, expired, shutdown)."""
    loop = asyncio.get_running_loop()
    expiry = loop.call_later(max(0.0, client.expires_at - time.time()),
                             client.close, CLOSE_UNAUTHORIZED, "token: expired", "expired")
    reader = asyncio.create_task(_read(websocket, client))
    writer = asyncio.create_task(_write(websocket, client))
    closing = asyncio.create_task(client.closing.wait())
    try:
        await asyncio.wait({reader, writer, closing}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        expiry.cancel()
        for task in (reader, writer, closing):
            task.cancel()
        await asyncio.gather(reader, writer, closing, return_exceptions=True)
    if client.close_code is None:
        DISCONNECTS.labels("client").inc()
        return
    DISCONNECTS.labels(client.label).inc()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(websocket.close(client.close_code, client.close_text),
                               settings.live_close_timeout_s)


# --- one console tile: a camera's latest frames -----------------------------------------------------

async def _admit_watcher(websocket: WebSocket, live: Live, camera: str) -> tuple[CameraFeed, float, float] | None:
    """The feed, the watcher's frame rate and its token's expiry; None after closing the refusal."""
    frames = live.frames
    if frames is None or live.stopping.is_set():
        await _refuse(websocket, CLOSE_GOING_AWAY, "server shutting down", "shutdown")
        return None
    try:
        requested = parse_fps(websocket.query_params.get("fps"))
    except ValueError as exc:
        await _refuse(websocket, CLOSE_BAD_REQUEST, str(exc), "bad_request")
        return None
    claims = await _verified(websocket, live)
    if claims is None:
        return None
    try:
        camera_id = uuid.UUID(camera)
    except ValueError:
        camera_id = None
    try:
        info = await frames.camera(camera_id) if camera_id is not None else None
    except (psycopg.Error, PoolTimeout):
        log.warning("could not look the camera up", exc_info=True)
        await _refuse(websocket, CLOSE_TRY_AGAIN_LATER, "cameras unavailable, try again later", "unavailable")
        return None
    # Another organization's camera answers exactly like one that does not exist.
    if info is None or camera_id is None or str(info.org) != str(claims.org):
        await _refuse(websocket, CLOSE_NOT_FOUND, "camera: not found", "not_found")
        return None
    if frames.watching >= live.settings.live_max_clients:
        await _refuse(websocket, CLOSE_TRY_AGAIN_LATER, "too many clients, try again later", "full")
        return None
    return frames.watch(camera_id, info), frames.rate(info, requested), \
        claims.exp.timestamp() + live.settings.jwt_leeway_s


async def _verified(websocket: WebSocket, live: Live) -> AccessClaims | None:
    token = websocket.query_params.get("token")
    if not token:
        await _refuse(websocket, CLOSE_UNAUTHORIZED, "token: missing", "unauthorized")
        return None
    try:
        async with live.verifying:
            return await live.jwks.averify(token)
    except InvalidToken as exc:
        await _refuse(websocket, CLOSE_UNAUTHORIZED, f"token: {exc.reason}", "unauthorized")
    except KeySetUnavailable:
        await _refuse(websocket, CLOSE_TRY_AGAIN_LATER, "authentication keys unavailable, try again later",
                      "keys_unavailable")
    return None


async def _watch(websocket: WebSocket, live: Live, feed: CameraFeed, rate: float, expires_at: float) -> None:
    """Send the camera's newest frames, at most ``rate`` a second, until the client leaves, its
    token expires, a send stalls or the server stops."""
    settings = live.settings
    outcome: list[tuple[int, str, str]] = []

    async def send() -> None:
        last: tuple[bytes, int] | None = None
        loop = asyncio.get_running_loop()
        while True:
            frame = await feed.newer_than(last[0] if last else None)
            if last is not None and frame.seq > last[1] + 1:
                FRAMES_SKIPPED.inc(frame.seq - last[1] - 1)
            started = loop.time()
            try:
                await asyncio.wait_for(websocket.send_bytes(frame_message(frame.captured_ns, frame.jpeg)),
                                       settings.live_frames_send_timeout_s)
            except TimeoutError:
                outcome.append((CLOSE_TOO_SLOW, "too slow: a frame could not be sent in time", "slow"))
                return
            FRAMES_SENT.inc()
            last = (frame.entry, frame.seq)
            await asyncio.sleep(max(0.0, 1.0 / rate - (loop.time() - started)))

    async def expire() -> None:
        await asyncio.sleep(max(0.0, expires_at - time.time()))
        outcome.append((CLOSE_UNAUTHORIZED, "token: expired", "expired"))

    async def stop() -> None:
        await live.stopping.wait()
        outcome.append((CLOSE_GOING_AWAY, "server shutting down", "shutdown"))

    tasks = {asyncio.create_task(coro) for coro in (_drain(websocket), send(), expire(), stop())}
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    if not outcome:
        DISCONNECTS.labels("client").inc()
        return
    code, reason, label = outcome[0]
    DISCONNECTS.labels(label).inc()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(websocket.close(code, close_reason(reason)), settings.live_close_timeout_s)


async def _received(websocket: WebSocket) -> AsyncIterator[MutableMapping[str, Any]]:
    """What the client sends, until it disconnects."""
    while True:
        try:
            message = await websocket.receive()
        except (WebSocketDisconnect, RuntimeError):
            return
        if message["type"] == "websocket.disconnect":
            return
        yield message


async def _drain(websocket: WebSocket) -> None:
    """Read (and ignore) what the client sends until it disconnects."""
    async for _ in _received(websocket):
        pass


async def _write(websocket: WebSocket, client: Client) -> None:
    while True:
        feed_type, text = await client.queue.get()
        await websocket.send_text(text)
        MESSAGES_SENT.labels(feed_type).inc()


async def _read(websocket: WebSocket, client: Client) -> None:
    """Answer the client's messages until it disconnects."""
    async for message in _received(websocket):
        text = message.get("text")
        kind = None
        if text is not None:
            try:
                payload = orjson.loads(text)
                kind = payload.get("type") if isinstance(payload, dict) else None
            except orjson.JSONDecodeError:
                pass
        if kind == "ping":
            client.offer("pong", control_message("pong", time=time.time_ns()))
        else:
            client.offer("error", control_message("error", error={
                "code": "unsupported_message", "message": 'type: expected a JSON object {"type": "ping"}',
                "fields": {"type": "only ping is accepted"}}))
