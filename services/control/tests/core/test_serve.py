"""``python -m vigia.control serve`` (uWSGI) as a real process: every answer closes its connection
and says so, a request head a browser and a bearer token can fill is read, the log holds one
"control ready" line and no start-up banner, and SIGTERM stops it gracefully."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.processes import answers, free_port

ROOT = Path(__file__).resolve().parents[4]


class Served:
    def __init__(self, port: int, process: subprocess.Popen[bytes], log: Path) -> None:
        self.port, self.process, self.log = port, process, log


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="vigia-serve-") as tmp:
        log = Path(tmp) / "control.log"
        with log.open("wb") as out:
            server = subprocess.Popen([sys.executable, "-m", "vigia.control", "serve", "--bind", f"127.0.0.1:{port}",
                                       "--workers", "2", "--threads", "2"], env=dict(os.environ), cwd=ROOT,
                                      stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while not answers(f"http://127.0.0.1:{port}/healthz"):
                assert server.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
            yield Served(port, server, log)
        finally:
            if server.poll() is None:
                server.kill()
                server.wait(10)


def test_every_answer_closes_its_connection_and_says_so(served: Served) -> None:
    for _ in range(3):
        connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=10)
        connection.request("GET", "/healthz")
        answer = connection.getresponse()
        assert answer.read() and answer.status == 200
        assert answer.getheader("Connection") == "close" and answer.will_close
        connection.close()


def test_a_long_request_head_is_read(served: Served) -> None:
    # uWSGI reads 4 KiB of head by default; a 20 KB bearer token is read and refused as a token.
    connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=10)
    connection.request("GET", "/api/v1/cameras/", headers={"Authorization": "Bearer " + "a" * 20_000})
    answer = connection.getresponse()
    assert answer.status == 401
    assert b"token" in answer.read()


def test_the_log_says_ready_once_and_shows_no_banner(served: Served) -> None:
    deadline = time.monotonic() + 10
    while "control ready" not in served.log.read_text() and time.monotonic() < deadline:
        time.sleep(0.2)
    lines = served.log.read_text().splitlines()
    assert [line for line in lines if "control ready" in line] == [
        f"control ready on 127.0.0.1:{served.port} (2 workers x 2 threads)"]
    assert not [line for line in lines if "uWSGI" in line or "***" in line or "spawned" in line]
    assert any("GET /healthz => 200" in line for line in lines)  # the request log


def test_sigterm_stops_it_gracefully_and_the_port_is_free(served: Served) -> None:
    # Last: the module's server stops here.
    served.process.send_signal(signal.SIGTERM)
    assert served.process.wait(30) == 0
    lines = served.log.read_text().splitlines()
    assert lines[-1].endswith("graceful shutdown triggered...")  # one line says it stopped, no farewells
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", served.port)) != 0
