"""A test-only server speaking the phone <-> ingest-sensors protocol of issue #4, over a real
``websockets`` server: token auth (query or first frame, 4401 otherwise), hello, packets (object
or array) validated with :class:`vigia.common.messages.SensorPacket`, audio header + binary frame,
cumulative acks, error frames, and knobs to hold acks back and to cut connections."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
from pydantic import ValidationError
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from vigia.common.messages import SensorPacket


@dataclass
class Received:
    """What one device delivered, in arrival order (duplicates included: resends show up twice)."""

    packets: list[dict[str, Any]] = field(default_factory=list)
    audio: list[tuple[dict[str, Any], bytes]] = field(default_factory=list)
    acks: list[int] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    connections: int = 0

    @property
    def seqs(self) -> list[int]:
        return [p["seq"] for p in self.packets] + [h["seq"] for h, _ in self.audio]


class ProtocolServer:
    def __init__(self, tokens: dict[str, str], *, max_frame_bytes: int = 1 << 20, rate_limit: int = 1000,
                 reject: set[int] | None = None) -> None:
        self.tokens = tokens
        self.max_frame_bytes, self.rate_limit = max_frame_bytes, rate_limit
        self.reject = reject or set()  # seqs answered with an error frame
        self.received: dict[str, Received] = defaultdict(Received)
        self.hold_acks = False
        self.frame_sizes: list[int] = []
        self._open: dict[str, set[ServerConnection]] = defaultdict(set)
        self._server: Server | None = None
        self.changed = asyncio.Event()

    @property
    def url(self) -> str:
        assert self._server is not None
        port = next(iter(self._server.sockets)).getsockname()[1]
        return f"ws://127.0.0.1:{port}/api/v1/sensors/ws"

    async def __aenter__(self) -> ProtocolServer:
        self._server = await serve(self._handle, "127.0.0.1", 0, max_size=self.max_frame_bytes, compression=None)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def disconnect(self, device: str | None = None, code: int = 1012) -> None:
        """Cut the connections of ``device`` (all devices if None), as a restarting gateway would."""
        for dev, conns in list(self._open.items()):
            if device is None or dev == device:
                for ws in list(conns):
                    await ws.close(code, "restarting")

    async def wait_for(self, predicate: Any, within: float = 20.0) -> None:
        async def until() -> None:
            while not predicate():
                self.changed.clear()
                await self.changed.wait()
        await asyncio.wait_for(until(), within)

    async def _handle(self, ws: ServerConnection) -> None:
        query = parse_qs(urlsplit(ws.request.path).query)
        token = (query.get("token") or [None])[0]
        if token is None:
            try:
                first = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
                token = first.get("token") if isinstance(first, dict) and first.get("type") == "auth" else None
            except (TimeoutError, orjson.JSONDecodeError, ConnectionClosed):
                token = None
        device = self.tokens.get(token or "")
        if device is None:
            await ws.close(4401, "unknown token")
            return
        got = self.received[device]
        got.connections += 1
        self._open[device].add(ws)
        await ws.send(orjson.dumps({"type": "hello", "device_id": device, "max_frame_bytes": self.max_frame_bytes,
                                    "rate_limit": self.rate_limit}).decode())
        header: dict[str, Any] | None = None
        try:
            async for raw in ws:
                self.frame_sizes.append(len(raw))
                if isinstance(raw, bytes):
                    if header is None:
                        await self._error(ws, got, None, "type", "binary frame without an audio header")
                        continue
                    got.audio.append((header, raw))
                    await self._ack(ws, got, header["seq"])
                    header = None
                    continue
                message = orjson.loads(raw)
                if isinstance(message, dict) and message.get("type") == "audio":
                    header = message
                    continue
                top = 0
                for packet in message if isinstance(message, list) else [message]:
                    top = max(top, packet.get("seq", 0))
                    if packet.pop("device_id", device) != device:
                        await self._error(ws, got, packet.get("seq"), "device_id", "not this token's device")
                    elif packet.get("seq") in self.reject:
                        await self._error(ws, got, packet["seq"], "magnetometer.x", "rejected by the test")
                    else:
                        try:
                            SensorPacket.model_validate(packet)
                        except ValidationError as exc:
                            await self._error(ws, got, packet.get("seq"), str(exc.errors()[0]["loc"]), str(exc))
                            continue
                        got.packets.append(packet)
                await self._ack(ws, got, top)
        except ConnectionClosed:
            pass
        finally:
            self._open[device].discard(ws)
            self.changed.set()

    async def _ack(self, ws: ServerConnection, got: Received, seq: int) -> None:
        self.changed.set()
        if self.hold_acks:
            return
        with contextlib.suppress(ConnectionClosed):
            await ws.send(orjson.dumps({"type": "ack", "seq": seq}).decode())
            got.acks.append(seq)

    async def _error(self, ws: ServerConnection, got: Received, seq: int | None, field_: str, message: str) -> None:
        error = {"type": "error", "seq": seq, "field": field_, "message": message[:200]}
        got.errors.append(error)
        with contextlib.suppress(ConnectionClosed):
            await ws.send(orjson.dumps(error).decode())
