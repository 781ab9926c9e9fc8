"""Reaching RabbitMQ's management API, and naming the vhost an AMQP URL points at."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit, urlunsplit

import httpx


def vhost_of(amqp_url: str) -> str:
    """The vhost an AMQP URL names (``/`` when it names none)."""
    path = urlsplit(amqp_url).path
    return unquote(path[1:]) if len(path) > 1 else "/"


def management_client(management_url: str, timeout: float = 10.0) -> httpx.AsyncClient:
    """An HTTP client for the management API at ``management_url``; credentials in the URL become
    basic auth (``guest``/``guest`` when it carries none)."""
    parts = urlsplit(management_url)
    auth = (unquote(parts.username or "guest"), unquote(parts.password or "guest"))
    host = parts.hostname or "127.0.0.1"
    netloc = f"[{host}]" if ":" in host else host
    if parts.port:
        netloc += f":{parts.port}"
    base = urlunsplit((parts.scheme or "http", netloc, parts.path.rstrip("/"), "", ""))
    return httpx.AsyncClient(base_url=base, auth=auth, timeout=timeout)
