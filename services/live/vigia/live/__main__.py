"""``python -m vigia.live``: the operators' WebSocket feed on port 8003.

Start-up: configure logging, read settings, build the app (its lifespan connects to the broker,
declares ``live.<instance>`` and starts consuming), serve HTTP/WebSocket with uvicorn, and on
SIGTERM close every socket with 1001, stop consuming and exit.
"""

from __future__ import annotations

import logging
import math

import uvicorn

from vigia.common.observability import configure_logging
from vigia.live.app import create_app
from vigia.live.config import LiveSettings
from vigia.live.server import LiveServer, TokenRedactingFilter, protocol_class


def build_server(settings: LiveSettings) -> LiveServer:
    """The uvicorn server running the live app with the given settings."""
    app = create_app(settings)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        # Through the root handlers (configure_logging's), whatever configured uvicorn before us:
        # uvicorn's own dictConfig stops propagation and would bypass our format.
        logger.propagate = True
        logger.setLevel(logging.NOTSET)
        if not any(isinstance(f, TokenRedactingFilter) for f in logger.filters):
            logger.addFilter(TokenRedactingFilter())
    config = uvicorn.Config(
        app, host=settings.live_host, port=settings.live_port, lifespan="on", log_config=None,
        ws=protocol_class(settings.live_close_timeout_s),
        ws_ping_interval=settings.live_ping_interval_s, ws_ping_timeout=settings.live_ping_timeout_s,
        ws_max_size=settings.live_max_message_bytes,
        # uvicorn counts whole seconds; never less than the grace we promise clients
        timeout_graceful_shutdown=math.ceil(settings.live_shutdown_grace_s),
        access_log=False,
        proxy_headers=False,  # the client address is vigia.common.client_address's (see app.py)
    )
    return LiveServer(config, app.state.live, settings.live_shutdown_grace_s)


def main() -> None:
    settings = LiveSettings()
    configure_logging(settings.log_level, settings.log_json)
    build_server(settings).run()


if __name__ == "__main__":
    main()
