"""Serving the built operator console (services/console, a Vite single-page app) at ``/``.

Files of the build are served as they are (``assets/`` are content-hashed: cached for a year);
every other path outside the API's prefixes answers ``index.html``, so a deep link such as
``/events?severity=critical`` opens the page the console's router draws for it. The page learns
where the live feed is from a ``<meta name="vigia-live-url">`` filled in here, and the map's style
from ``<meta name="vigia-map-style">`` (empty: the console's built-in offline style), and is sent
with a Content-Security-Policy that allows only this origin, that feed and, when a map style is
configured, the style's origin (its tiles, glyphs and sprites).

When the console has not been built, ``/`` answers 503 with the command that builds it.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBase
from django.utils._os import safe_join
from django.utils.html import escape
from django.views.decorators.http import require_safe

from vigia.control.core.health import not_found

#: Top-level path segments that belong to the API and the service endpoints, never to the console.
RESERVED_PREFIXES = ("api", "healthz", "readyz", "metrics", "objects", "internal", "static", ".well-known")
#: The URL pattern of the console: anything whose first segment is not reserved.
PATH_PATTERN = r"^(?!(?:{})(?:/|$))(?P<path>.*)$".format("|".join(p.replace(".", r"\.") for p in RESERVED_PREFIXES))

SOURCE_BUILD = Path(__file__).resolve().parents[4] / "console" / "dist"
LIVE_URL_META = '<meta name="vigia-live-url" content="" />'
MAP_STYLE_META = '<meta name="vigia-map-style" content="" />'
NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Vigia console not built</title></head>
<body><h1>The Vigia console has not been built</h1>
<p>Build it with <code>make console</code>
(or <code>cd services/console &amp;&amp; npm ci &amp;&amp; npm run build</code>) and reload this page;
<code>make run</code> builds it for you. Looked for <code>{index}</code>.</p>
<p>The API is available meanwhile: <a href="/api/docs">/api/docs</a>.</p></body></html>
"""


def build_dir() -> Path:
    """Where the built console is: the ``console_dir`` setting, else the source tree's build."""
    configured = settings.VIGIA.console_dir
    return Path(configured) if configured else SOURCE_BUILD


def live_url(request: HttpRequest) -> str:
    """The live feed's WebSocket URL for this request (``{host}`` is the host the page came from)."""
    host = request.get_host()  # validated against ALLOWED_HOSTS
    hostname = host if host.endswith("]") else host.rsplit(":", 1)[0]  # keep an IPv6 literal whole
    return str(settings.VIGIA.console_live_url).replace("{host}", hostname)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def content_security_policy(live: str, map_style: str = "") -> str:
    """Scripts, styles and data from this origin only; WebSocket to the live feed's origin; the
    map style's origin for its style, tiles, glyphs and sprites only when one is configured. The
    map's worker is a file of the build (``worker-src 'self'``), never a blob."""
    tiles = _origin(map_style)
    return "; ".join([
        "default-src 'self'", "script-src 'self'", "worker-src 'self'", "style-src 'self'",
        f"img-src 'self' data: blob: {tiles}".strip(), f"connect-src 'self' {_origin(live)} {tiles}".strip(),
        "font-src 'self'", "media-src 'self' blob:",
        "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "form-action 'self'",
    ])


@require_safe
def serve(request: HttpRequest, path: str = "") -> HttpResponseBase:
    """A file of the build, or ``index.html`` for a route of the console (see the module docstring)."""
    root = build_dir()
    index = root / "index.html"
    if not index.is_file():
        return HttpResponse(NOT_BUILT.format(index=escape(str(index))), status=503,
                            content_type="text/html; charset=utf-8", headers={"Retry-After": "60"})
    if path and path != "index.html":
        try:
            candidate = Path(safe_join(root, path))
        except SuspiciousFileOperation:
            return not_found(request)
        if candidate.is_file():
            return _file(candidate, immutable=path.startswith("assets/"))
        if path.startswith("assets/") or "." in path.rsplit("/", 1)[-1]:
            return not_found(request)  # a missing file is a 404, not the app
    live = live_url(request)
    map_style = str(settings.VIGIA.console_map_style_url).strip()
    html = index.read_text(encoding="utf-8").replace(
        LIVE_URL_META, f'<meta name="vigia-live-url" content="{escape(live)}" />').replace(
        MAP_STYLE_META, f'<meta name="vigia-map-style" content="{escape(map_style)}" />')
    return HttpResponse(html, content_type="text/html; charset=utf-8", headers={
        "Cache-Control": "no-cache", "Content-Security-Policy": content_security_policy(live, map_style)})


def _file(path: Path, immutable: bool) -> FileResponse:
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    response = FileResponse(path.open("rb"), content_type=content_type)
    response["Cache-Control"] = "public, max-age=31536000, immutable" if immutable else "no-cache"
    return response
