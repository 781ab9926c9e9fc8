"""`python -m vigia.ingest_frames` serves with uvicorn and stops cleanly on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[3]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _read_response(stream: Any) -> tuple[int, bytes]:
    status = int(stream.readline().split()[1])
    length = 0
    while (line := stream.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return status, stream.read(length)


def test_served_gateway_accepts_a_frame_and_shuts_down_cleanly_on_sigterm(
        database_url: str, amqp_url: str, redis_url: str, tenant: Any, make_jpeg: Any) -> None:
    port = _free_port()
    env = {**os.environ, "VIGIA_DATABASE_URL": database_url, "VIGIA_AMQP_URL": amqp_url,
           "VIGIA_REDIS_URL": redis_url, "VIGIA_INGEST_FRAMES_PORT": str(port),
           "VIGIA_INGEST_FRAMES_HOST": "127.0.0.1", "VIGIA_FRAME_DROP_POLL_S": "0"}
    proc = subprocess.Popen([sys.executable, "-m", "vigia.ingest_frames"], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline and proc.poll() is None, "gateway did not become ready"
            time.sleep(0.2)
        response = httpx.post(f"{base}/api/v1/frames", params={"camera": str(tenant.camera)},
                              content=make_jpeg(), headers={**tenant.auth, "Content-Type": "image/jpeg"})
        assert response.status_code == 202, response.text
        # One keep-alive connection, answers written whole by the server's protocol: refusals and
        # acceptances alternate and every answer is framed right.
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            stream = sock.makefile("rb")
            for body, status in ((b"not an image", 415), (make_jpeg(), 202), (make_jpeg(), 202)):
                sock.sendall(f"POST /api/v1/frames?camera={tenant.camera} HTTP/1.1\r\nHost: gw\r\n"
                             f"Authorization: Bearer {tenant.token}\r\nContent-Length: {len(body)}\r\n\r\n"
                             .encode() + body)
                answer = _read_response(stream)
                assert answer[0] == status, answer
                assert json.loads(answer[1])
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
        # uvicorn re-raises the signal once it has shut down cleanly: exit status "killed by SIGTERM".
        assert proc.returncode in (0, -signal.SIGTERM), output[-3000:]
        assert "Application shutdown complete." in output
        assert "Traceback" not in output
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
