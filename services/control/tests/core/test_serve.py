"""``python -m vigia.control serve`` (gunicorn, gthread): a kept-alive connection is closed after
``VIGIA_CONTROL_KEEPALIVE_REQUESTS`` requests, the last answered with ``Connection: close``, so
clients reconnect and the accept spreads them over the workers again (gunicorn_conf.pre_request)."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.processes import answers, free_port

ROOT = Path(__file__).resolve().parents[4]
EVERY = 5


@pytest.fixture(scope="module")
def served() -> Iterator[int]:
    port = free_port()
    env = {**os.environ, "VIGIA_CONTROL_KEEPALIVE_REQUESTS": str(EVERY)}
    server = subprocess.Popen([sys.executable, "-m", "vigia.control", "serve", "--bind", f"127.0.0.1:{port}",
                               "--workers", "2", "--threads", "2"], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not answers(f"http://127.0.0.1:{port}/healthz"):
            assert server.poll() is None and time.monotonic() < deadline, "control did not start"
            time.sleep(0.2)
        yield port
    finally:
        server.terminate()
        server.wait(30)


def test_a_kept_alive_connection_is_closed_after_its_quota_of_requests(served: int) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", served, timeout=10)
    headers: list[str | None] = []
    for _ in range(2 * EVERY):
        connection.request("GET", "/healthz")
        answer = connection.getresponse()
        answer.read()
        assert answer.status == 200
        headers.append(answer.getheader("Connection"))
        if answer.will_close:
            connection.close()
    connection.close()
    # Each connection answers EVERY requests; only the last says close, and then it is closed.
    assert headers == (["keep-alive"] * (EVERY - 1) + ["close"]) * 2
