"""Helpers of the live tests: token minting, polling, and a raw WebSocket client."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import struct
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

ISSUER, AUDIENCE, KID = "vigia-control", "vigia", "test-key-1"


@dataclass
class Keys:
    private: rsa.RSAPrivateKey
    jwks_url: str

    def token(self, org: uuid.UUID, *, expires_in: float = 900, key: rsa.RSAPrivateKey | None = None,
              kid: str = KID, **claims: Any) -> str:
        """An access token shaped like control's (RS256, kid, iss, aud, sub, org, role, jti, iat, exp)."""
        now = int(time.time())
        payload = {"iss": ISSUER, "aud": AUDIENCE, "sub": str(uuid.uuid4()), "org": str(org),
                   "role": "operator", "jti": uuid.uuid4().hex, "iat": now, "exp": int(now + expires_in),
                   **claims}
        return jwt.encode(payload, key or self.private, algorithm="RS256", headers={"kid": kid})


async def wait_until(predicate: Callable[[], object], within: float = 30, step: float = 0.02) -> None:
    """Poll ``predicate`` until it is true; fail the test after ``within`` seconds."""
    for _ in range(int(within / step)):
        if predicate():
            return
        await asyncio.sleep(step)
    raise AssertionError(f"condition not met within {within} s")


# --- a raw WebSocket client that does only what a test tells it to ------------------------------------


class RawClient:
    """A WebSocket client over a plain socket with a small receive buffer. It never answers pings
    and reads only when asked, so it can play a stalled or dead operator."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def connect(cls, url: str) -> RawClient:
        rest = url.removeprefix("ws://")
        hostport, _, path = rest.partition("/")
        host, _, port = hostport.partition(":")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: bounds the window
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (host, int(port)))
        reader, writer = await asyncio.open_connection(sock=sock, limit=1024)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write((f"GET /{path} HTTP/1.1\r\nHost: {hostport}\r\nUpgrade: websocket\r\n"
                      f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
                      ).encode())
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head
        return cls(reader, writer)

    async def next_frame(self) -> tuple[int, bytes]:
        """(opcode, payload) of the next frame; raises IncompleteReadError at EOF."""
        first, second = await self.reader.readexactly(2)
        length = second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", await self.reader.readexactly(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", await self.reader.readexactly(8))
        return first & 0x0F, await self.reader.readexactly(length)

    async def close_code(self) -> int | None:
        """Read until the server's close frame (its code) or the end of the connection (None)."""
        try:
            while True:
                opcode, payload = await self.next_frame()
                if opcode == 0x8:
                    return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
        except (asyncio.IncompleteReadError, ConnectionError):
            return None

    def close(self) -> None:
        self.writer.transport.abort()
