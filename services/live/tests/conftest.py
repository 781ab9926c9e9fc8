"""Fixtures for the live service: a real JWKS over HTTP, real tokens, a real uvicorn server on a
free port in the test's event loop, a real broker vhost, and a raw WebSocket client for the
misbehaving-client cases (one that never reads, one that never answers pings)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from services.live.tests.support import KID, Keys, wait_until
from vigia.common.broker import AsyncPublisher
from vigia.live.__main__ import build_server
from vigia.live.config import LiveSettings
from vigia.live.server import LiveServer


@pytest.fixture(scope="session")
def keys() -> Iterator[Keys]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = {**RSAAlgorithm.to_jwk(private.public_key(), as_dict=True), "kid": KID, "use": "sig",
           "alg": "RS256"}
    body = orjson.dumps({"keys": [jwk]})

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/.well-known/jwks.json" else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Keys(private, f"http://127.0.0.1:{server.server_port}/.well-known/jwks.json")
    server.shutdown()
    server.server_close()


@dataclass
class RunningLive:
    server: LiveServer
    settings: LiveSettings
    port: int

    @property
    def hub(self) -> Any:
        return self.server.hub

    def url(self, token: str | None, **params: str) -> str:
        query = {**({"token": token} if token is not None else {}), **params}
        return f"ws://127.0.0.1:{self.port}/api/v1/ws?" + "&".join(f"{k}={v}" for k, v in query.items())


StartLive = Callable[..., Awaitable[RunningLive]]


@pytest.fixture
async def start_live(amqp_url: str, keys: Keys) -> AsyncIterator[StartLive]:
    """Start live servers (settings overridable); each is stopped as SIGTERM would at teardown."""
    running: list[tuple[LiveServer, asyncio.Task[None]]] = []

    async def start(**overrides: Any) -> RunningLive:
        values: dict[str, Any] = {"amqp_url": amqp_url, "jwks_url": keys.jwks_url, "live_port": 0,
                                  "live_host": "127.0.0.1", "jwt_leeway_s": 0, "live_close_timeout_s": 1,
                                  "live_shutdown_grace_s": 2, **overrides}
        settings = LiveSettings(**values)
        server = build_server(settings)
        task = asyncio.create_task(server.serve())
        running.append((server, task))
        await wait_until(lambda: server.started and server.live.ready())
        port = server.servers[0].sockets[0].getsockname()[1]
        return RunningLive(server, settings, port)

    yield start
    for server, _ in running:
        server.should_exit = True
    for _, task in running:
        await asyncio.wait_for(task, 30)


@pytest.fixture
async def publisher(amqp_url: str) -> AsyncIterator[AsyncPublisher]:
    async with AsyncPublisher(amqp_url, declare=True) as pub:
        yield pub
