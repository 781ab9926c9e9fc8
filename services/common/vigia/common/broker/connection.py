"""Robust aio-pika connections: first connect with back-off, then aio-pika's automatic reconnect."""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any

import aio_pika
from aio_pika.abc import AbstractRobustConnection
from aio_pika.exceptions import CONNECTION_EXCEPTIONS

log = logging.getLogger(__name__)


def redact(url: str) -> str:
    """The URL without its password, for logs."""
    scheme, sep, rest = url.partition("://")
    if "@" not in rest:
        return url
    creds, _, host = rest.rpartition("@")
    user = creds.split(":", 1)[0]
    return f"{scheme}{sep}{user}:***@{host}"


async def connect(url: str, *, name: str | None = None, attempts: int | None = None,
                  max_delay: float = 30.0, reconnect_interval: float = 2.0,
                  **kwargs: Any) -> AbstractRobustConnection:
    """A robust connection to ``url``.

    ``connect_robust`` reconnects (and restores channels, qos, declarations and consumers) after
    a connection is lost, but fails if the *first* attempt fails; this retries that first attempt
    with exponential back-off (0.5 s doubling up to ``max_delay``, with jitter) ``attempts`` times
    (None: forever) so a service can start before the broker does.
    """
    delay = 0.5
    attempt = 0
    properties: dict[str, Any] | None = {"connection_name": name} if name else None
    while True:
        attempt += 1
        try:
            return await aio_pika.connect_robust(url, reconnect_interval=reconnect_interval,
                                                 client_properties=properties,
                                                 **kwargs)
        except CONNECTION_EXCEPTIONS as exc:
            if attempts is not None and attempt >= attempts:
                raise
            log.warning("broker unreachable, retrying", extra={"amqp": redact(url), "attempt": attempt,
                                                               "retry_in_s": round(delay, 2),
                                                               "error": str(exc)})
            await asyncio.sleep(delay * (0.8 + random.random() * 0.4))
            delay = min(delay * 2, max_delay)
