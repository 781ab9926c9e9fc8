"""Serving the app with uvicorn, and draining its sockets on SIGTERM before uvicorn closes them.

Left to itself, uvicorn answers SIGTERM by closing every WebSocket with 1012 at once, so the
batches a socket holds would be published after their phone was gone, and never acked (the phone
would resend them: nothing lost, but needless duplicates). :class:`DrainingServer` first stops
listening, then lets every socket publish what it holds, wait for the confirms, send its last ack
and close with 1012 itself; only then does uvicorn's own shutdown run, given only what is left of
the drain's budget (``shutdown_grace_s`` bounds the whole shutdown, not each of its steps).
"""

from __future__ import annotations

import logging
import math
import re
import socket
from typing import Any

import uvicorn
from fastapi import FastAPI

from vigia.common.observability import CleanExitOnSignal
from vigia.ingest_sensors.gateway import Gateway
from vigia.ingest_sensors.settings import IngestSensorsSettings

WS_SIZE_HEADROOM = 2  # frames up to this x the limit reach the app, which closes 1009 gracefully
_TOKEN_IN_QUERY = re.compile(r"(token=)[^&\s\"']+")


class RedactQueryTokens(logging.Filter):
    """uvicorn logs each WebSocket's path with its query: mask ``?token=<device token>`` in it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(isinstance(a, str) and "token=" in a for a in record.args):
            record.args = tuple(_redact(arg) for arg in record.args)
        return True


def _redact(arg: Any) -> Any:
    return _TOKEN_IN_QUERY.sub(r"\1***", arg) if isinstance(arg, str) else arg


_REDACTION = RedactQueryTokens()


def uvicorn_config(app: FastAPI, settings: IngestSensorsSettings, *, host: str | None = None,
                   port: int | None = None) -> uvicorn.Config:
    """The uvicorn configuration of the gateway (uvloop, httptools, websockets' sans-I/O protocol)."""
    for name in ("uvicorn.error", "uvicorn.access"):
        if _REDACTION not in logging.getLogger(name).filters:
            logging.getLogger(name).addFilter(_REDACTION)
    return uvicorn.Config(
        app, host=host or settings.ingest_sensors_host,
        port=settings.ingest_sensors_port if port is None else port,
        loop="uvloop", http="httptools", ws="websockets-sansio",
        ws_max_size=settings.sensors_max_frame_bytes * WS_SIZE_HEADROOM,
        ws_per_message_deflate=False,  # compressing small JSON frames costs more CPU than it saves
        # The client address is vigia.common.client_address's (the app's middleware), not uvicorn's.
        access_log=False, log_config=None, proxy_headers=False,
        timeout_graceful_shutdown=int(settings.shutdown_grace_s) + 1,
    )


class DrainingServer(CleanExitOnSignal, uvicorn.Server):
    """uvicorn's server, whose shutdown drains the gateway's sockets first (see module docstring)."""

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()  # no new connections while draining
        state: Any = getattr(self.config.app, "state", None)
        gateway: Gateway | None = getattr(state, "gateway", None)
        if gateway is not None:
            settings: IngestSensorsSettings = state.settings
            await gateway.drain(settings.shutdown_grace_s)
            # uvicorn then waits for the connections left: only for what the drain's budget left
            self.config.timeout_graceful_shutdown = math.ceil(gateway.drain_left()) + 1
        await super().shutdown(sockets)
