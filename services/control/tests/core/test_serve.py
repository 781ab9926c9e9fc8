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


APP = '''
import os, time

def application(environ, start_response):
    if environ["PATH_INFO"] == "/slow":
        time.sleep(3)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(os.getpid()).encode()]
'''


def test_a_worker_with_every_thread_busy_leaves_new_connections_to_the_others(tmp_path: Path) -> None:
    """Two workers of one thread: while one answers a slow request, every new connection is
    accepted and answered by the other (gthread's own worker takes about half of them and keeps
    them waiting behind the slow request)."""
    (tmp_path / "pid_app.py").write_text(APP)
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "pid_app:application", "--chdir", str(tmp_path),
                               "--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "1",
                               "--worker-class", "vigia.control.gunicorn_worker.GatedThreadWorker"],
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not answers(f"http://127.0.0.1:{port}/"):
            assert server.poll() is None and time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.2)
        time.sleep(1)  # both workers up
        slow = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        slow.request("GET", "/slow")
        time.sleep(0.5)  # taken by one worker, which now has no thread free
        answered_by = []
        for _ in range(10):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            connection.request("GET", "/")
            answered_by.append(connection.getresponse().read().decode())
            connection.close()
        busy = slow.getresponse().read().decode()
        slow.close()
        assert busy not in answered_by and len(set(answered_by)) == 1
    finally:
        server.terminate()
        server.wait(30)
