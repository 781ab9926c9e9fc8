"""``python -m vigia.ingest_frames``: serve the frame gateway with uvicorn.

Start-up, top-down: configure logging, read settings, hand the app factory to uvicorn (uvloop and
httptools when installed, the latter through :mod:`.server`'s protocol that writes each response
in one system call; ``--workers`` processes). Each worker's lifespan connects to the
database, Redis and the broker (declaring the topology) and starts the drop meter. On SIGTERM
uvicorn stops accepting connections, lets requests in flight finish (each waits for its broker
confirm) for up to VIGIA_SHUTDOWN_GRACE_S, then closes the broker connection.
"""

from __future__ import annotations

import importlib.util

import uvicorn

from vigia.common.observability import configure_logging
from vigia.ingest_frames.app import SERVICE
from vigia.ingest_frames.settings import IngestFramesSettings


def http_protocol() -> str:
    """uvicorn's ``http`` option: httptools with coalesced writes when installed, else uvicorn's pick."""
    if importlib.util.find_spec("httptools") is None:
        return "auto"
    return "vigia.ingest_frames.server:CoalescingHttpToolsProtocol"


def main() -> None:
    settings = IngestFramesSettings(service_name=SERVICE)
    configure_logging(settings.log_level, settings.log_json)
    uvicorn.run(
        "vigia.ingest_frames.app:main_app",
        factory=True,
        host=settings.ingest_frames_host,
        port=settings.ingest_frames_port,
        workers=settings.ingest_frames_workers,
        loop="auto",
        http=http_protocol(),
        ws="none",  # no WebSocket routes
        access_log=False,  # thousands of frames a second: metrics, not log lines
        log_config=None,  # keep our JSON logging
        proxy_headers=False,  # the client address is vigia.common.client_address's (see app.py)
        timeout_graceful_shutdown=int(settings.shutdown_grace_s),
    )


if __name__ == "__main__":
    main()
