"""control serves the built console at / with a fallback to index.html for deep links, and never
in place of the API or the service endpoints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client

# Requests run in a transaction (ATOMIC_REQUESTS) even when they read no table.
pytestmark = pytest.mark.django_db

INDEX = """<!doctype html><html><head><meta name="vigia-live-url" content="" />
<meta name="vigia-map-style" content="" />
<script type="module" src="/assets/index-abc123.js"></script></head><body><div id="root"></div></body></html>"""


@pytest.fixture
def console_build(tmp_path: Path, settings: Any) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text(INDEX)
    (tmp_path / "assets" / "index-abc123.js").write_text("console.log('vigia')")
    (tmp_path / "favicon.svg").write_text("<svg/>")
    settings.VIGIA = settings.VIGIA.model_copy(update={"console_dir": str(tmp_path),
                                                       "console_live_url": "ws://{host}:8003/api/v1/ws"})
    return tmp_path


def test_root_and_deep_links_answer_the_index_with_the_live_url_and_a_csp(console_build):
    client = Client()
    for path in ("/", "/dashboard", "/events?severity=critical&since=2026-01-01", "/cameras/1b2c/zones"):
        response = client.get(path, HTTP_HOST="vigia.example.com:8000")
        assert response.status_code == 200, path
        html = response.content.decode()
        assert '<div id="root">' in html
        assert '<meta name="vigia-live-url" content="ws://vigia.example.com:8003/api/v1/ws" />' in html
        assert response["Cache-Control"] == "no-cache"
        csp = response["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "connect-src 'self' ws://vigia.example.com:8003" in csp


def test_built_files_are_served_and_hashed_assets_cached_for_good(console_build):
    client = Client()
    asset = client.get("/assets/index-abc123.js")
    assert asset.status_code == 200
    assert b"".join(asset.streaming_content) == b"console.log('vigia')"
    assert "javascript" in asset["Content-Type"]
    assert "immutable" in asset["Cache-Control"]
    assert client.get("/favicon.svg")["Cache-Control"] == "no-cache"


def test_missing_files_and_escapes_are_404_not_the_app(console_build):
    client = Client()
    assert client.get("/assets/gone-999.js").status_code == 404
    assert client.get("/robots.txt").status_code == 404
    assert client.get("/..%2f..%2fetc/passwd").status_code == 404


def test_the_console_never_shadows_the_api_or_service_endpoints(console_build):
    client = Client()
    unknown_api = client.get("/api/v1/no-such-thing")
    assert unknown_api.status_code == 404 and unknown_api.json()["error"]["code"] == "not_found"
    assert client.get("/api/v1/auth/me").status_code == 401
    assert client.get("/healthz").json() == {"status": "alive"}
    assert client.get("/metrics")["Content-Type"].startswith("text/plain")
    assert client.get("/.well-known/jwks.json")["Content-Type"] == "application/json"
    for path in ("/objects/", "/internal/nothing", "/readyz/extra", "/static/x.css"):
        assert client.get(path)["Content-Type"].startswith("application/json"), path


def test_without_a_build_root_explains_how_to_build_it(tmp_path, settings):
    settings.VIGIA = settings.VIGIA.model_copy(update={"console_dir": str(tmp_path / "absent")})
    response = Client().get("/")
    assert response.status_code == 503
    assert b"make console" in response.content
    assert Client().get("/healthz").status_code == 200


def test_only_reads_are_served(console_build):
    assert Client().post("/dashboard").status_code == 405


def test_the_map_needs_no_network_unless_a_style_is_configured(console_build, settings):
    html, csp = _index()
    assert '<meta name="vigia-map-style" content="" />' in html
    assert "img-src 'self' data: blob:;" in csp and "worker-src 'self'" in csp
    assert "tiles.example.org" not in csp

    settings.VIGIA = settings.VIGIA.model_copy(update={
        "console_map_style_url": "https://tiles.example.org/styles/basic.json?key=a&b=1"})
    html, csp = _index()
    assert '<meta name="vigia-map-style" content="https://tiles.example.org/styles/basic.json?key=a&amp;b=1" />' \
        in html
    directives = dict(part.split(" ", 1) for part in csp.split("; "))
    assert directives["img-src"] == "'self' data: blob: https://tiles.example.org"
    assert directives["connect-src"] == "'self' ws://vigia.example.com:8003 https://tiles.example.org"
    assert directives["script-src"] == "'self'" and directives["worker-src"] == "'self'"


def _index() -> tuple[str, str]:
    response = Client().get("/fleet/map", HTTP_HOST="vigia.example.com:8000")
    assert response.status_code == 200
    return response.content.decode(), response["Content-Security-Policy"]
