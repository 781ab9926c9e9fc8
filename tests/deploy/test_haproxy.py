"""haproxy/haproxy.cfg: `haproxy -c` accepts it, and HAProxy run on loopback with a throwaway
certificate in front of the real live and ingest-sensors services (started as processes, as in
deploy/local/Procfile) redirects HTTP to HTTPS, sets HSTS, hides the Server header, routes /api to
Kong, /stream and /webrtc to MediaMTX, the operator console's files and deep links to control, the operator and
sensor WebSockets through TLS to their gateways, and answers 429 past the rate limit.

Kong and MediaMTX cannot run here (neither is packaged for this machine): a small HTTP server that
echoes the request line stands in for each (and for control), which is enough to see what HAProxy
forwarded."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from tests.support.databases import throwaway_database

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "haproxy" / "haproxy.cfg"
RATE_LIMIT = 60  # requests per 10 s per client address, set through HAPROXY_RATE_LIMIT

pytestmark = pytest.mark.skipif(shutil.which("haproxy") is None,
                                reason="haproxy is not installed (deploy/local/bootstrap.sh installs it)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def self_signed(directory: Path) -> Path:
    """A throwaway certificate for 127.0.0.1 and its key, concatenated as HAProxy reads them."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "vigia.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    pem = directory / "vigia.pem"
    pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return pem


class Echo(ThreadingHTTPServer):
    """Stand-in for Kong / MediaMTX: answers every request with what it received, and a Server
    header HAProxy must remove."""

    def __init__(self, name: str) -> None:
        self.name = name
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                body = json.dumps({"upstream": outer.name, "method": self.command, "path": self.path,
                                   "proto": self.headers.get("X-Forwarded-Proto"),
                                   "forwarded_for": self.headers.get("X-Forwarded-For")}).encode()
                self.send_response(200)
                self.send_header("Server", f"{outer.name}/1.0")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_DELETE = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def addr(self) -> str:
        return f"127.0.0.1:{self.server_port}"


def wait_ready(url: str, proc: subprocess.Popen[str], what: str, within: float = 30) -> None:
    deadline = time.monotonic() + within
    while True:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise AssertionError(f"{what} exited: {proc.communicate()[0][-3000:]}")
        assert time.monotonic() < deadline, f"{what} did not become ready"
        time.sleep(0.1)


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    """A migrated database of this module (device tokens live in control's tables)."""
    with throwaway_database("vigia_edge") as url:
        yield url


@pytest.fixture(scope="module")
def amqp_module_url() -> Iterator[str]:
    """A broker vhost of this module (the root conftest's amqp_vhost is per test)."""
    vhost = f"edge-{uuid.uuid4().hex[:8]}"
    api = httpx.Client(base_url="http://127.0.0.1:15672/api", auth=("guest", "guest"), timeout=10)
    api.put(f"/vhosts/{vhost}").raise_for_status()
    api.put(f"/permissions/{vhost}/guest", json={"configure": ".*", "write": ".*", "read": ".*"}).raise_for_status()
    try:
        yield f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
    finally:
        api.delete(f"/vhosts/{vhost}")
        api.close()


@dataclass
class Edge:
    http: str
    https: str
    stats: str
    cafile: str
    kong: Echo
    mediamtx: Echo
    mediamtx_webrtc: Echo
    control: Echo

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.cafile)


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory, database_url: str, amqp_module_url: str) -> Iterator[Edge]:
    tmp = tmp_path_factory.mktemp("edge")
    cert = self_signed(tmp)
    jwks = Echo("jwks")  # live needs a JWKS URL; a bad token is refused before any key is fetched
    kong, mediamtx, control = Echo("kong"), Echo("mediamtx"), Echo("control")
    mediamtx_webrtc = Echo("mediamtx-webrtc")
    live_port, sensors_port = free_port(), free_port()
    http_port, https_port, stats_port = free_port(), free_port(), free_port()
    base = {**os.environ, "VIGIA_AMQP_URL": amqp_module_url, "VIGIA_LOG_JSON": "true"}
    procs: list[subprocess.Popen[str]] = []

    def spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
        proc = subprocess.Popen(args, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        procs.append(proc)
        return proc

    try:
        live = spawn([sys.executable, "-m", "vigia.live"], {
            **base, "VIGIA_JWKS_URL": f"http://{jwks.addr}/.well-known/jwks.json", "VIGIA_LIVE_PORT": str(live_port),
            "VIGIA_LIVE_HOST": "127.0.0.1", "VIGIA_LIVE_SHUTDOWN_GRACE_S": "2"})
        sensors = spawn([sys.executable, "-m", "vigia.ingest_sensors"], {
            **base, "VIGIA_DATABASE_URL": database_url, "VIGIA_REDIS_URL": "redis://127.0.0.1:6379/0",
            "VIGIA_INGEST_SENSORS_PORT": str(sensors_port), "VIGIA_INGEST_SENSORS_HOST": "127.0.0.1",
            "VIGIA_SENSOR_SHARDS": "1", "VIGIA_SHUTDOWN_GRACE_S": "2"})
        wait_ready(f"http://127.0.0.1:{live_port}/readyz", live, "live")
        wait_ready(f"http://127.0.0.1:{sensors_port}/readyz", sensors, "ingest-sensors")
        haproxy = spawn(["haproxy", "-db", "-f", str(CONFIG)], {
            **os.environ, "HAPROXY_HTTP_BIND": f"127.0.0.1:{http_port}",
            "HAPROXY_HTTPS_BIND": f"127.0.0.1:{https_port}", "HAPROXY_STATS_BIND": f"127.0.0.1:{stats_port}",
            "HAPROXY_HTTPS_PORT": str(https_port), "HAPROXY_CERT": str(cert),
            "HAPROXY_RATE_LIMIT": str(RATE_LIMIT), "HAPROXY_STATS_AUTH": "admin:secret",
            "HAPROXY_MAXCONN": "500",
            "KONG_ADDR": kong.addr, "LIVE_ADDR": f"127.0.0.1:{live_port}",
            "INGEST_SENSORS_ADDR": f"127.0.0.1:{sensors_port}", "MEDIAMTX_HLS_ADDR": mediamtx.addr,
            "MEDIAMTX_WEBRTC_ADDR": mediamtx_webrtc.addr, "CONTROL_ADDR": control.addr})
        wait_ready(f"http://admin:secret@127.0.0.1:{stats_port}/stats", haproxy, "haproxy")
        yield Edge(f"http://127.0.0.1:{http_port}", f"https://127.0.0.1:{https_port}",
                   f"http://127.0.0.1:{stats_port}", str(cert), kong, mediamtx, mediamtx_webrtc, control)
    finally:
        for proc in reversed(procs):
            stop(proc)
        for server in (jwks, kong, mediamtx, mediamtx_webrtc, control):
            server.shutdown()
            server.server_close()


def test_haproxy_accepts_the_config(tmp_path: Path) -> None:
    cert = self_signed(tmp_path)
    done = subprocess.run(["haproxy", "-c", "-f", str(CONFIG)], env={**os.environ, "HAPROXY_CERT": str(cert)},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Configuration file is valid" in done.stdout + done.stderr


def test_plain_http_is_redirected_to_https(edge: Edge) -> None:
    response = httpx.get(f"{edge.http}/api/v1/cameras/?page=2", follow_redirects=False)
    assert response.status_code == 301
    location = response.headers["location"]
    assert location.startswith("https://127.0.0.1") and location.endswith("/api/v1/cameras/?page=2")


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1_1 is deprecated:DeprecationWarning")
def test_tls_is_1_2_or_newer(edge: Edge) -> None:
    host, port = edge.https.removeprefix("https://").split(":")
    old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    old.check_hostname, old.verify_mode = False, ssl.CERT_NONE
    old.minimum_version = old.maximum_version = ssl.TLSVersion.TLSv1_1
    old.set_ciphers("ALL:@SECLEVEL=0")
    with pytest.raises(ssl.SSLError), socket.create_connection((host, int(port)), timeout=5) as raw, \
            old.wrap_socket(raw, server_hostname=host):
        pass
    ctx = edge.ssl_context()
    with socket.create_connection((host, int(port)), timeout=5) as raw, \
            ctx.wrap_socket(raw, server_hostname=host) as tls:
        assert tls.version() in ("TLSv1.2", "TLSv1.3")


def test_api_goes_to_kong_over_tls_with_hsts_and_no_server_header(edge: Edge) -> None:
    with httpx.Client(verify=edge.ssl_context()) as client:
        response = client.get(f"{edge.https}/api/v1/cameras/?x=1")
        jwks = client.get(f"{edge.https}/.well-known/jwks.json")
    assert response.status_code == 200
    assert response.json() == {"upstream": "kong", "method": "GET", "path": "/api/v1/cameras/?x=1",
                               "proto": "https", "forwarded_for": "127.0.0.1"}
    assert jwks.json()["upstream"] == "kong"
    assert response.headers["strict-transport-security"].startswith("max-age=")
    assert "server" not in response.headers


def test_the_console_and_its_deep_links_go_to_control_but_not_controls_own_endpoints(edge: Edge) -> None:
    with httpx.Client(verify=edge.ssl_context()) as client:
        upstream = {path: client.get(f"{edge.https}{path}").json()["upstream"] for path in (
            "/", "/events?severity=high", "/settings/audit", "/assets/index-abc123.js", "/favicon.svg",
            "/healthz", "/readyz", "/metrics", "/internal/mediamtx/auth", "/objects/evidence/x", "/api/docs")}
    assert upstream == {
        "/": "control", "/events?severity=high": "control", "/settings/audit": "control",
        "/assets/index-abc123.js": "control", "/favicon.svg": "control",
        # control's own endpoints are not on the edge (Kong routes none but /objects/ and /api/).
        "/healthz": "kong", "/readyz": "kong", "/metrics": "kong", "/internal/mediamtx/auth": "kong",
        "/objects/evidence/x": "kong", "/api/docs": "kong"}


def test_stream_goes_to_mediamtx_hls_without_the_prefix(edge: Edge) -> None:
    with httpx.Client(verify=edge.ssl_context()) as client:
        response = client.get(f"{edge.https}/stream/cam-1/index.m3u8")
    assert response.json()["upstream"] == "mediamtx"
    assert response.json()["path"] == "/cam-1/index.m3u8"
    assert "server" not in response.headers


def test_webrtc_signalling_goes_to_mediamtx_webrtc_without_the_prefix(edge: Edge) -> None:
    with httpx.Client(verify=edge.ssl_context()) as client:
        offer = client.post(f"{edge.https}/webrtc/cam-1/whep", content=b"v=0\r\n",
                            headers={"Content-Type": "application/sdp"})
        hang_up = client.delete(f"{edge.https}/webrtc/cam-1/whep/3f1a")
    assert offer.json()["upstream"] == hang_up.json()["upstream"] == "mediamtx-webrtc"
    assert (offer.json()["method"], offer.json()["path"]) == ("POST", "/cam-1/whep")
    assert (hang_up.json()["method"], hang_up.json()["path"]) == ("DELETE", "/cam-1/whep/3f1a")
    assert "server" not in offer.headers


def test_gateway_errors_carry_hsts_and_no_server_header(edge: Edge) -> None:
    # live answers /api/v1/ws without an Upgrade with its own error; the headers are still ours.
    with httpx.Client(verify=edge.ssl_context()) as client:
        response = client.get(f"{edge.https}/api/v1/ws")
    assert "server" not in response.headers
    assert "strict-transport-security" in response.headers


async def _close_code(url: str, ctx: ssl.SSLContext) -> int | None:
    async with websockets.connect(url, ssl=ctx, open_timeout=10) as ws:
        try:
            while True:
                await asyncio.wait_for(ws.recv(), 15)
        except websockets.ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd is not None else None


async def test_operator_websocket_reaches_live_through_tls(edge: Edge) -> None:
    # 4401 is live's own close code for a bad token: the upgrade went through HAProxy to live.
    url = edge.https.replace("https://", "wss://") + "/api/v1/ws?token=not-a-jwt"
    assert await _close_code(url, edge.ssl_context()) == 4401


async def test_camera_frames_websocket_reaches_live_through_tls(edge: Edge) -> None:
    # The console's tiles: /api/v1/cameras/<id>/frames is live's, the rest of /api/v1/cameras/ control's.
    camera = "4f8e6a2c-0000-4000-8000-000000000001"
    url = edge.https.replace("https://", "wss://") + f"/api/v1/cameras/{camera}/frames?token=x"
    assert await _close_code(url, edge.ssl_context()) == 4401


async def test_sensor_websocket_reaches_ingest_sensors_through_tls(edge: Edge) -> None:
    # /api/v1/sensors/ws exists only in ingest-sensors; an unknown device token closes with 4401.
    url = edge.https.replace("https://", "wss://") + "/api/v1/sensors/ws?token=unknown-device-token"
    assert await _close_code(url, edge.ssl_context()) == 4401


def test_stats_page_needs_credentials(edge: Edge) -> None:
    assert httpx.get(f"{edge.stats}/stats").status_code == 401
    page = httpx.get(f"{edge.stats}/stats", auth=("admin", "secret"))
    assert page.status_code == 200 and "ingest_sensors" in page.text


def test_past_the_rate_limit_clients_get_429(edge: Edge) -> None:
    # Runs last in this module: it exhausts the loopback address's budget.
    statuses = []
    with httpx.Client(verify=edge.ssl_context()) as client:
        for _ in range(RATE_LIMIT + 10):
            statuses.append(client.get(f"{edge.https}/api/v1/cameras/").status_code)
        refused = client.get(f"{edge.https}/api/v1/cameras/")
        # Frame pushes are exempt here (Kong limits the frames route on its own).
        frame = client.post(f"{edge.https}/api/v1/frames", content=b"jpeg")
    assert statuses[:10] == [200] * 10
    assert 429 in statuses and set(statuses) == {200, 429}
    assert refused.status_code == 429
    assert refused.json() == {"detail": "too many requests"}
    assert "strict-transport-security" in refused.headers
    assert frame.status_code == 200 and frame.json()["path"] == "/api/v1/frames"
