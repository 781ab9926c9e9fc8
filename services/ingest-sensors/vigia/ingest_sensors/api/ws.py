"""WS /api/v1/sensors/ws: one phone, one device, a stream of packets and audio chunks.

1. Auth: ``?token=<device token>`` or a first text frame ``{"type":"auth","token":"..."}`` within
   ``sensors_auth_timeout_s``; a missing, unknown or revoked token closes the socket with 4401.
2. The server says ``{"type":"hello","device_id":..,"max_frame_bytes":N,"rate_limit":R}``.
3. Text frames: a packet, an array of packets, or an audio header followed by one binary frame of
   PCM16 LE mono samples. Acks (cumulative, after the broker's confirms) and error frames come back;
   a bad item gets an error frame and the socket stays open.
4. Closes: 1008 over the rate limit, 1009 frame too large, 1013 broker unavailable, 1012 on a
   gateway restart; before each, what was accepted is published and acked.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import orjson
from fastapi import APIRouter, WebSocket
from pydantic import ValidationError
from starlette.websockets import WebSocketDisconnect

from vigia.common.auth import DeviceIdentity, InvalidToken
from vigia.ingest_sensors.gateway import SERVICE_RESTART, Gateway
from vigia.ingest_sensors.metrics import CLOSES, CONNECTIONS, PACKETS_REJECTED
from vigia.ingest_sensors.session import CloseConnection, SensorSession
from vigia.ingest_sensors.wire import AuthMessage, PacketChecker

router = APIRouter()
log = logging.getLogger(__name__)

UNAUTHORIZED = 4401
TRY_AGAIN_LATER = 1013


@router.websocket("/api/v1/sensors/ws")
async def sensor_socket(websocket: WebSocket) -> None:
    """Stream a phone's sensor packets and audio into the broker (protocol in the module docstring)."""
    gateway: Gateway = websocket.app.state.gateway
    await websocket.accept()
    if gateway.draining:
        await websocket.close(SERVICE_RESTART, "gateway restarting")
        return
    identity = await _authenticate(websocket, gateway)
    if identity is not None:
        await SensorSocket(websocket, gateway, identity).run()


async def _authenticate(websocket: WebSocket, gateway: Gateway) -> DeviceIdentity | None:
    """The device of the socket's token, or None after closing it with 4401."""
    token = websocket.query_params.get("token")
    if not token:
        try:
            async with asyncio.timeout(gateway.settings.sensors_auth_timeout_s):
                message = await websocket.receive()
        except TimeoutError:
            await _close(websocket, UNAUTHORIZED, "no auth message in time")
            return None
        if message["type"] == "websocket.disconnect":
            return None
        try:
            token = AuthMessage.model_validate_json(message.get("text") or b"").token
        except ValidationError:
            await _close(websocket, UNAUTHORIZED, 'the first message must be {"type":"auth","token":"..."}')
            return None
    try:
        return await gateway.devices.authenticate(token)
    except InvalidToken as exc:
        await _close(websocket, UNAUTHORIZED, exc.reason)
        return None


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    CLOSES.labels(str(code)).inc()
    with contextlib.suppress(Exception):  # the phone may be gone already
        await websocket.close(code, reason[:120])


class SensorSocket:
    """Reads frames into a :class:`SensorSession` until the phone leaves or the socket must close."""

    def __init__(self, websocket: WebSocket, gateway: Gateway, identity: DeviceIdentity) -> None:
        self.websocket = websocket
        self.gateway = gateway
        self.identity = identity
        self._task = asyncio.current_task()
        self._waiting = False  # parked in receive() or in back-pressure: safe to cancel
        self._interrupt: tuple[int, str] | None = None

    def interrupt(self, code: int, reason: str = "gateway restarting") -> None:
        """Stop reading (drain: 1012; broker failure: 1013); :meth:`run` then settles and closes."""
        if self._interrupt is None:
            self._interrupt = (code, reason)
            if self._waiting and self._task is not None:
                self._task.cancel()

    async def _send(self, text: str) -> None:
        await self.websocket.send({"type": "websocket.send", "text": text})

    async def run(self) -> None:
        settings = self.gateway.settings
        session = SensorSession(
            self.identity, self.gateway.intake, self.gateway.limiter,
            PacketChecker(self.identity.device, self.gateway.window), self.gateway.limits, self._send,
            on_failure=lambda: self.interrupt(TRY_AGAIN_LATER, "broker unavailable: resend unacked items"))
        self.gateway.opened(self)
        CONNECTIONS.inc()
        code, reason, phone_gone = 1000, "", False
        try:
            await self._send(orjson.dumps({
                "type": "hello", "device_id": str(self.identity.device),
                "max_frame_bytes": settings.sensors_max_frame_bytes,
                "rate_limit": settings.sensors_rate_limit}).decode())
            phone_gone = await self._read(session)
        except CloseConnection as exc:
            code, reason = exc.code, exc.reason
            PACKETS_REJECTED.labels(exc.metric).inc()
        except asyncio.CancelledError:
            if self._interrupt is None or self._task is None:
                raise
            self._task.uncancel()
        except (OSError, WebSocketDisconnect):  # the transport broke under us
            phone_gone = True
        if self._interrupt is not None:
            code, reason = self._interrupt
        try:
            session.closed = phone_gone
            await session.finish(settings.confirm_timeout_s + 1)
            if session.failure is not None:
                code, reason = TRY_AGAIN_LATER, "broker unavailable: resend unacked items"
            if not phone_gone:
                await _close(self.websocket, code, reason)
            else:
                CLOSES.labels("gone").inc()
        finally:
            CONNECTIONS.dec()
            self.gateway.closed(self)

    async def _read(self, session: SensorSession) -> bool:
        """Feed frames to the session until the phone disconnects (True) or an interrupt (False)."""
        websocket = self.websocket
        while self._interrupt is None:
            self._waiting = True
            message = await websocket.receive()
            self._waiting = False
            if message["type"] == "websocket.disconnect":
                return True
            text = message.get("text")
            out = session.receive_text(text) if text is not None else session.receive_bytes(
                message.get("bytes") or b"")
            for frame in out:
                await self._send(frame)
            self._waiting = True
            await session.wait_for_room()
            self._waiting = False
        return False
