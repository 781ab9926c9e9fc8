"""RTSP URLs: validation at the edge and the masked form the API shows instead of the URL."""

from __future__ import annotations

import re
from urllib.parse import SplitResult, urlsplit

MAX_LENGTH = 2048
SCHEMES = ("rtsp", "rtsps")
_FORBIDDEN = re.compile(r"[\s\x00-\x1f\x7f]")


class InvalidRtspUrl(ValueError):
    """The text is not an RTSP URL Vigia can pull from."""


def parse(url: str) -> SplitResult:
    """Validate ``url`` and return its parts; raises :class:`InvalidRtspUrl` saying why.

    Messages never echo the URL: it may hold credentials.
    """
    if not isinstance(url, str) or not url:
        raise InvalidRtspUrl("must be a non-empty string")
    if len(url) > MAX_LENGTH:
        raise InvalidRtspUrl(f"must be at most {MAX_LENGTH} characters")
    if _FORBIDDEN.search(url):
        raise InvalidRtspUrl("must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidRtspUrl("is not a valid URL (bad host or port)") from exc
    if parts.scheme.lower() not in SCHEMES:
        raise InvalidRtspUrl("scheme must be rtsp:// or rtsps://")
    if not parts.hostname:
        raise InvalidRtspUrl("must name a host")
    if port is not None and not 0 < port < 65536:
        raise InvalidRtspUrl("port must be between 1 and 65535")
    return parts


def mask(url: str) -> str:
    """``rtsp://***:***@host:554/path``: the URL with its user, password and query hidden."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "rtsp://***"
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host + (f":{port}" if port else "")
    if parts.username or parts.password:
        netloc = ("***:***@" if parts.password else "***@") + netloc
    query = "?***" if parts.query else ""
    return f"{parts.scheme}://{netloc}{parts.path}{query}"


def secrets_of(url: str) -> list[str]:
    """The pieces of ``url`` that must never be shown: the URL itself, user, password, query."""
    try:
        parts = urlsplit(url)
        pieces = [url, parts.username or "", parts.password or "", parts.query]
    except ValueError:
        pieces = [url]
    return [p for p in pieces if p and len(p) >= 3]


def scrub(text: str, url: str) -> str:
    """``text`` with every secret piece of ``url`` replaced by ``***`` (for tool output)."""
    for piece in sorted(secrets_of(url), key=len, reverse=True):
        text = text.replace(piece, "***")
    return text
