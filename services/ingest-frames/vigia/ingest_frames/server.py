"""uvicorn's httptools protocol, tuned for the gateway: one system call per response, and a
whole frame read without pausing the socket.

uvicorn writes a response's status line and headers as soon as the app sends
``http.response.start``, then the body on ``http.response.body``: two ``send()`` calls, two TCP
segments and two wake-ups of the client for a 100-byte answer. On this machine those two calls
were the gateway's second largest cost after publishing the frame itself. Here the connection's
transport is wrapped so that everything written during one step of the event loop goes out
together at the end of it (``loop.call_soon``): the response leaves in one ``send()`` a few
microseconds later, and nothing else changes (flow control, keep-alive, close all reach the real
transport; a close first sends what is waiting).

uvicorn also stops reading a connection (``pause_reading``) once 64 KiB of a request body wait for
the app, and resumes when the app asks for them: for a 100 KB frame that is two more system calls
per request and an extra trip through the event loop. Here the mark is :data:`BODY_HIGH_WATER`
(256 KiB), above a typical frame, so a frame is read as fast as it arrives; memory per connection
stays bounded by that mark.

Used by ``python -m vigia.ingest_frames`` when httptools is installed (uvicorn[standard]).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

BODY_HIGH_WATER = 256 * 1024


class CoalescingTransport:
    """A transport proxy that joins the writes of one event-loop step into one ``write``."""

    __slots__ = ("_buffer", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._buffer: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        if not self._buffer:
            self._loop.call_soon(self.flush)
        self._buffer.append(bytes(data))

    def writelines(self, lines: Any) -> None:
        for data in lines:
            self.write(data)

    def flush(self) -> None:
        """Hand what was written to the real transport (dropped once it is closing)."""
        if not self._buffer:
            return
        data = self._buffer[0] if len(self._buffer) == 1 else b"".join(self._buffer)
        self._buffer.clear()
        if not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._buffer.clear()
        self._transport.abort()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(len(data) for data in self._buffer)

    def __getattr__(self, name: str) -> Any:  # is_closing, get_extra_info, pause_reading...
        return getattr(self._transport, name)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol over a :class:`CoalescingTransport`, pausing reads at
    :data:`BODY_HIGH_WATER` bytes of unread body instead of 64 KiB."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]

    def on_body(self, body: bytes) -> None:
        # uvicorn's own on_body, with the higher mark.
        if (self.parser.should_upgrade() and self._should_upgrade()) or self.cycle.response_complete:
            return
        self.cycle.body += body
        if len(self.cycle.body) > BODY_HIGH_WATER:
            self.flow.pause_reading()
        self.cycle.message_event.set()
