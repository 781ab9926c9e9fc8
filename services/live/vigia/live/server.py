"""uvicorn, adjusted for a fan-out server that must not be held hostage by clients that stop reading.

* :func:`protocol_class`: uvicorn's sans-I/O WebSocket protocol, plus two guarantees it lacks:
  a close frame is written even while the peer has stopped reading (uvicorn would wait for the
  write buffer to drain first, i.e. forever), and a connection still open ``close_timeout`` + 1 s
  after the application finished is aborted (``transport.close()`` alone waits to flush forever).
  Memory per stalled client stays bounded: one pending message and one close frame.
* :class:`LiveServer`: on shutdown, closes every operator socket with 1001 (going away) before
  uvicorn's own shutdown would close them with 1012.
"""

from __future__ import annotations

import logging
import re
import socket
from typing import TYPE_CHECKING, Any

import uvicorn
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from vigia.common.observability import CleanExitOnSignal
from vigia.live.hub import CLOSE_GOING_AWAY, Hub

if TYPE_CHECKING:
    from vigia.live.app import Live

_TOKEN_IN_QUERY = re.compile(r"(?i)(token=)[^&\s\"]+")


class TokenRedactingFilter(logging.Filter):
    """Masks ``token=...`` in log lines: uvicorn logs the WebSocket path with its query string."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "token=" in message.lower():
            record.msg, record.args = _TOKEN_IN_QUERY.sub(r"\1***", message), None
        return True


def protocol_class(close_timeout: float) -> type[WebSocketsSansIOProtocol]:
    """The WebSocket protocol class to give ``uvicorn.Config(ws=...)``."""

    class LiveWebSocketProtocol(WebSocketsSansIOProtocol):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.close_timeout = close_timeout

        async def send(self, message: Any) -> None:
            if message["type"] == "websocket.close" and self.handshake_complete and not self.disconnected:
                # One close frame past the high-water mark is bounded; waiting for a drain is not.
                self.writable.set()
            await super().send(message)

        async def run_asgi(self) -> None:
            await super().run_asgi()
            if not self.disconnected:
                self.loop.call_later(self.close_timeout + 1.0, self._abort_if_connected)

        def _abort_if_connected(self) -> None:
            if not self.disconnected:
                self.transport.abort()

    return LiveWebSocketProtocol


class LiveServer(CleanExitOnSignal, uvicorn.Server):
    """uvicorn's server, closing operator sockets with 1001 before its own shutdown."""

    def __init__(self, config: uvicorn.Config, live: Live, grace: float) -> None:
        super().__init__(config)
        self.live = live
        self.hub: Hub = live.hub
        self.grace = grace

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()  # stop accepting first, so no new client slips in during the close
        self.live.stopping.set()  # latest-frame sockets close with 1001 alongside the feed's
        await self.hub.close_all(CLOSE_GOING_AWAY, "server shutting down", "shutdown", self.grace)
        await super().shutdown(sockets)
