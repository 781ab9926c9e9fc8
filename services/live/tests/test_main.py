"""``python -m vigia.live`` serves for real and exits 0 after a graceful SIGTERM (not 143)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_process_serves_and_exits_zero_on_sigterm(amqp_url: str, keys) -> None:
    port = _free_port()
    env = {**os.environ, "VIGIA_AMQP_URL": amqp_url, "VIGIA_JWKS_URL": keys.jwks_url,
           "VIGIA_LIVE_PORT": str(port), "VIGIA_LIVE_HOST": "127.0.0.1", "VIGIA_LIVE_SHUTDOWN_GRACE_S": "2"}
    proc = subprocess.Popen([sys.executable, "-m", "vigia.live"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, proc.communicate()[0][-3000:]
            assert time.monotonic() < deadline, "live did not become ready"
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=30)[0]
        assert proc.returncode == 0, output[-3000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
