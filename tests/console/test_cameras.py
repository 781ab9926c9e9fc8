"""The console's cameras area in Debian's Chromium (e2e/cameras.spec.ts) against a real control +
live with a migrated database and the demo organization: cameras made through the API, frames fed
into each camera's recent-frame Redis stream exactly as vision writes them (JPEGs made by
ffmpeg), an HLS stream made by ffmpeg and a WebRTC stream (WHEP answered by aiortc, see
``whep.py``) behind a loopback server that plays MediaMTX's part as the platform deploys it —
``/stream/<camera>/index.m3u8`` and ``/webrtc/<camera>/whep`` on the console's origin, every
request allowed or refused by control's ``/internal/mediamtx/auth`` — with everything else passed
to control, as HAProxy does. The HLS camera's WHEP answers are broken SDP, so its tile tries
WebRTC, gives up and falls back to HLS."""

from __future__ import annotations

import base64
import http.client
import json
import mimetypes
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from tests.console.node import playwright
from tests.console.stack import PASSWORD, REDIS_URL, console_stack
from tests.console.whep import WhepServer
from tests.support.databases import throwaway_database
from vigia.common.leases import camera_frames_key

pytestmark = pytest.mark.slow

DEMO_EMAIL = "admin@demo.vigia.local"
VIEWER_EMAIL = "viewer@demo.vigia.local"
FILLERS = 22  # enough tiles that the first one scrolls off screen at both sizes
PLAYER_PAGE = b'<!DOCTYPE html><html><body><video id="video"></video></body></html>'
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-authorization",
              "proxy-authenticate", "content-length"}


def _ffmpeg(*args: str) -> list[str]:
    return ["nice", "-n", "10", "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", *args]


def _jpegs(folder: Path) -> list[bytes]:
    """Ten distinct 320x180 JPEGs (ffmpeg's test pattern, one a second, its clock changing)."""
    folder.mkdir()
    subprocess.run(_ffmpeg("-f", "lavfi", "-i", "testsrc=size=320x180:rate=1", "-frames:v", "10", "-q:v", "5",
                           str(folder / "f%02d.jpg")), check=True, timeout=60)
    return [path.read_bytes() for path in sorted(folder.glob("f*.jpg"))]


def _feed(cameras: list[str], jpegs: list[bytes], stop: threading.Event) -> None:
    """What vision's _keep_recent does for every frame of these cameras, twice a second."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        n = 0
        while not stop.wait(0.5):
            for camera in cameras:
                client.xadd(camera_frames_key(camera), {"t": time.time_ns(), "jpeg": jpegs[n % len(jpegs)]},
                            maxlen=120, approximate=True)
            n += 1
    finally:
        for camera in cameras:
            client.delete(camera_frames_key(camera))
        client.close()


class _Edge(BaseHTTPRequestHandler):
    """HAProxy's part: /stream/ and /webrtc/ to "MediaMTX" (files of the ffmpeg HLS output; WHEP
    sessions of ``whep`` for ``webrtc_camera``, broken answers for ``hls_camera``; each request
    authorised by control as MediaMTX's authMethod http asks it), anything else to control.
    ``GET /__whep`` tells the test how many WHEP sessions were answered and are still open."""

    control_port: int
    hls_dir: Path
    whep: WhepServer
    webrtc_camera: str
    hls_camera: str
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _control(self, method: str, path: str, body: bytes | None, headers: dict[str, str]) -> http.client.HTTPResponse:
        conn = http.client.HTTPConnection("127.0.0.1", self.control_port, timeout=60)
        conn.request(method, path, body=body, headers=headers)
        return conn.getresponse()

    def _authorised(self, camera: str, protocol: str) -> bool:
        """Whether control lets this request's token read ``camera`` (else the refusal is sent)."""
        password = ""
        authorization = self.headers.get("Authorization", "")
        if authorization.startswith("Basic "):
            password = base64.b64decode(authorization[6:]).decode().partition(":")[2]
        decision = self._control("POST", "/internal/mediamtx/auth", json.dumps({
            "user": "jwt", "password": password, "token": "", "ip": "127.0.0.1", "action": "read", "path": camera,
            "protocol": protocol, "id": None, "query": ""}).encode(), {"Content-Type": "application/json"})
        decision.read()
        if decision.status >= 300:
            self._send(decision.status, b"", {})
            return False
        return True

    def _stream(self) -> None:
        parts = self.path.split("?", 1)[0].split("/")  # "", "stream", camera, file
        if len(parts) != 4:
            return self._send(404, b"", {})
        if not self._authorised(parts[2], "hls"):
            return None
        if parts[3] == "":  # MediaMTX's player page of the path
            return self._send(200, PLAYER_PAGE, {"Content-Type": "text/html"})
        file = self.hls_dir / parts[3]
        if parts[3] not in {p.name for p in self.hls_dir.iterdir()}:
            return self._send(404, b"", {})
        kind = "application/vnd.apple.mpegurl" if file.suffix == ".m3u8" else mimetypes.guess_type(file.name)[0]
        self._send(200, file.read_bytes(), {"Content-Type": kind or "video/mp2t", "Cache-Control": "no-cache"})

    def _proxy(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        answer = self._control(self.command, self.path, body, headers)
        data = answer.read()
        self.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in HOP_BY_HOP:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _webrtc(self) -> None:
        parts = self.path.split("?", 1)[0].split("/")  # "", "webrtc", camera, ["whep", [session]]
        camera = parts[2] if len(parts) > 2 else ""
        if camera not in (self.webrtc_camera, self.hls_camera):
            return self._proxy()  # as if no stream server served WebRTC: control's page or 404
        if not self._authorised(camera, "webrtc"):
            return None
        if self.command == "GET" and parts[3:] == [""]:  # MediaMTX's reader page of the path
            return self._send(200, PLAYER_PAGE, {"Content-Type": "text/html"})
        if self.command == "POST" and parts[3:] == ["whep"]:
            offer = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            if camera == self.hls_camera:
                return self._send(201, b"v=0\r\n", {"Content-Type": "application/sdp", "Location": self.path + "/0"})
            answer, session = self.whep.answer(offer)
            return self._send(201, answer.encode(), {"Content-Type": "application/sdp",
                                                     "Location": f"/webrtc/{camera}/whep/{session}"})
        if self.command == "DELETE" and len(parts) == 5 and parts[3] == "whep":
            ended = camera == self.hls_camera or self.whep.hang_up(parts[4])
            return self._send(200 if ended else 404, b"", {})
        return self._send(405, b"", {})

    def _handle(self) -> None:
        if self.path == "/__whep":
            self._send(200, json.dumps({"answered": self.whep.answered, "open": len(self.whep.sessions)}).encode(),
                       {"Content-Type": "application/json"})
        elif self.path.startswith("/stream/"):
            self._stream()
        elif self.path.startswith("/webrtc/"):
            self._webrtc()
        else:
            self._proxy()

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _handle


@dataclass
class Cameras:
    base: str
    hls_base: str
    expected: dict[str, str]


def _hls(folder: Path) -> subprocess.Popen[bytes]:
    """A live HLS stream (H.264, 1 s segments with their wall-clock time) written into ``folder``."""
    folder.mkdir()
    return subprocess.Popen(_ffmpeg(
        "-re", "-f", "lavfi", "-i", "testsrc=size=320x180:rate=10", "-c:v", "libx264", "-preset", "ultrafast",
        "-tune", "zerolatency", "-pix_fmt", "yuv420p", "-g", "10", "-f", "hls", "-hls_time", "1", "-hls_list_size", "6",
        "-hls_flags", "delete_segments+program_date_time+independent_segments", str(folder / "index.m3u8")))


@pytest.fixture
def cameras(tmp_path: Path, amqp_url: str, console_dist: Path) -> Iterator[Cameras]:
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed (make bootstrap installs it)")
    jpegs = _jpegs(tmp_path / "jpegs")
    hls = _hls(tmp_path / "hls")
    whep = WhepServer()
    stop = threading.Event()
    with throwaway_database("vigia_console_cameras") as database_url, \
            console_stack(tmp_path, database_url, amqp_url, console_dist) as stack:
        edge = None
        try:
            with httpx.Client(base_url=stack.base, timeout=30) as http:
                login = http.post("/api/v1/auth/login", json={"email": DEMO_EMAIL, "password": PASSWORD})
                assert login.status_code == 200, login.text
                auth = {"Authorization": f"Bearer {login.json()['access']}"}

                def camera(name: str, fps: float = 1, **fields: Any) -> str:
                    made = http.post("/api/v1/cameras/", headers=auth, json={
                        "name": name, "rtsp_url": "rtsp://user:secret@127.0.0.1:9/stream", "fps": fps,
                        "site": "matriz", "location": fields.pop("location", "pátio"), **fields})
                    assert made.status_code == 201, made.text
                    return str(made.json()["id"])

                viewer = http.post("/api/v1/users/", headers=auth, json={
                    "email": VIEWER_EMAIL, "name": "Vigia viewer", "role": "viewer", "password": PASSWORD})
                assert viewer.status_code == 201, viewer.text

                # The grid lists the newest first: the fed camera, made last, is the first tile.
                for n in range(FILLERS):
                    camera(f"Câmera {n + 1:02d}")
                zones = {project: camera(f"Zonas {project}", fps=2) for project in ("desktop", "phone")}
                hls_camera = camera("HLS portaria", fps=2)
                webrtc_camera = camera("WebRTC doca", fps=2)
                fed = camera("Portão principal", fps=2, location="entrada norte")
            feeder = threading.Thread(target=_feed, args=([fed, *zones.values()], jpegs, stop), daemon=True)
            feeder.start()
            for _ in range(100):  # a playlist with two segments before the browser asks
                playlist = tmp_path / "hls" / "index.m3u8"
                if playlist.exists() and playlist.read_text().count("#EXTINF") >= 2:
                    break
                time.sleep(0.2)
            handler = type("Edge", (_Edge,), {"control_port": stack.port, "hls_dir": tmp_path / "hls", "whep": whep,
                                              "webrtc_camera": webrtc_camera, "hls_camera": hls_camera})
            edge = ThreadingHTTPServer(("127.0.0.1", 0), handler)
            threading.Thread(target=edge.serve_forever, daemon=True).start()
            yield Cameras(stack.base, f"http://127.0.0.1:{edge.server_port}", {
                "VIGIA_CONSOLE_FED_CAMERA": fed, "VIGIA_CONSOLE_HLS_CAMERA": hls_camera,
                "VIGIA_CONSOLE_WEBRTC_CAMERA": webrtc_camera,
                "VIGIA_CONSOLE_ZONES_CAMERA_DESKTOP": zones["desktop"],
                "VIGIA_CONSOLE_ZONES_CAMERA_PHONE": zones["phone"],
                "VIGIA_CONSOLE_CAMERAS": str(FILLERS + 5)})
        except BaseException:
            print(stack.tails())
            raise
        finally:
            stop.set()
            if edge is not None:
                edge.shutdown()
                edge.server_close()
            hls.terminate()
            hls.wait(timeout=10)
            whep.close()


def test_cameras_grid_zones_form_and_hls_in_the_browser(cameras: Cameras, tmp_path: Path) -> None:
    playwright("cameras.spec.ts", cameras.base, tmp_path, {
        "VIGIA_CONSOLE_EMAIL": DEMO_EMAIL, "VIGIA_CONSOLE_PASSWORD": PASSWORD,
        "VIGIA_CONSOLE_VIEWER_EMAIL": VIEWER_EMAIL, "VIGIA_CONSOLE_HLS_URL": cameras.hls_base, **cameras.expected})
