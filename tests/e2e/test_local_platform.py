"""The embedded platform end to end, as `make run` starts it: control API (uWSGI), outbox relay
and recorder as real processes on a database and a broker vhost of their own.

An operator logs in, adds a camera and sees the change event leave through the outbox without
the RTSP URL; the data plane publishes a detection, the recorder stores it and the operator finds
it by a plate read with an OCR slip. SIGTERM stops every process cleanly.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pika
import psycopg
import pytest

from vigia.common import messages
from vigia.common.broker import AsyncPublisher

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "e2e-operator-password-long"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop_all(procs: dict[str, subprocess.Popen[bytes]]) -> None:
    """SIGTERM every process still running, wait up to 15 s in all, then SIGKILL the rest."""
    for proc in procs.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for proc in procs.values():
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def _manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "vigia.control", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.fixture
def platform(amqp_url: str, tmp_path: Path) -> Iterator[dict[str, object]]:
    database = f"vigia_e2e_{uuid.uuid4().hex[:8]}"
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    port = _free_port()
    env = {
        **os.environ,
        "VIGIA_ENV": "development",
        "VIGIA_DATABASE_URL": f"postgresql://postgres@127.0.0.1:5432/{database}",
        "VIGIA_AMQP_URL": amqp_url,
        "VIGIA_OBJECT_STORE": f"file://{tmp_path / 'objects'}",
        "VIGIA_CONTROL_BIND": f"127.0.0.1:{port}",
        "VIGIA_DEMO_PASSWORD": PASSWORD,
        "VIGIA_OUTBOX_POLL_SECONDS": "0.1",
        "VIGIA_METRICS_PORT": "0",
    }
    _manage(env, "migrate", "--no-input", "-v", "0")
    _manage(env, "declare_topology")
    credentials = _manage(env, "bootstrap_demo")
    procs = {
        name: subprocess.Popen([sys.executable, "-m", "vigia.control", *cmd], env=env, cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for name, cmd in {
            "control": ["serve", "--workers", "1"],
            "relay": ["outbox_relay", "--metrics-port", "0"],
            "recorder": ["recorder", "--metrics-port", "0"],
        }.items()
    }
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert procs["control"].poll() is None, procs["control"].communicate()[0][-3000:]
        assert time.monotonic() < deadline, "control API did not become ready"
        time.sleep(0.3)
    try:
        yield {"base": base, "procs": procs, "amqp_url": amqp_url, "credentials": credentials}
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def _watch_control_exchange(amqp_url: str) -> tuple[pika.BlockingConnection, str]:
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    channel = connection.channel()
    queue = channel.queue_declare("", exclusive=True).method.queue
    channel.queue_bind(queue, "vigia.control", routing_key="camera.#")
    return connection, queue


def _wait_for(predicate, timeout: float = 20.0, what: str = "condition"):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_operator_flow_through_every_local_process(platform: dict[str, object]) -> None:
    base = str(platform["base"])
    amqp_url = str(platform["amqp_url"])
    assert "admin@demo.vigia.local" in str(platform["credentials"])

    login = httpx.post(f"{base}/api/v1/auth/login",
                       json={"email": "admin@demo.vigia.local", "password": PASSWORD})
    assert login.status_code == 200, login.text
    auth = {"Authorization": f"Bearer {login.json()['access']}"}
    me = httpx.get(f"{base}/api/v1/auth/me", headers=auth).json()
    org = me["org"]["id"] if isinstance(me.get("org"), dict) else me["org"]

    watcher, queue = _watch_control_exchange(amqp_url)
    secret_url = "rtsp://gate:s3cr3t-pass@10.1.2.3:554/stream1"
    created = httpx.post(f"{base}/api/v1/cameras/", headers=auth,
                         json={"name": "gate", "rtsp_url": secret_url, "fps": 1, "site": "hq"})
    assert created.status_code == 201, created.text
    assert "s3cr3t-pass" not in created.text
    camera_id = created.json()["id"]

    channel = watcher.channel()

    def next_change() -> bytes | None:
        method, _props, body = channel.basic_get(queue, auto_ack=True)
        return body if method else None

    body = _wait_for(next_change, what="camera.created from the outbox relay")
    watcher.close()
    change = messages.Envelope.from_json(body)
    assert change.type == "camera.created"
    assert str(change.data.camera) == camera_id
    assert b"s3cr3t-pass" not in body and b"rtsp" not in body  # consumers read the URL from the database

    detection = messages.make("detection.created", org, "e2e-vision", {
        "camera": camera_id, "frame": str(uuid.uuid4()), "captured_at": time.time_ns(),
        "label": "car", "confidence": 0.91, "box": {"x1": 10, "y1": 20, "x2": 200, "y2": 140},
        "plate_text": "ABC1D23", "plate_confidence": 0.88,
    })

    async def publish_twice() -> None:
        async with AsyncPublisher(amqp_url) as publisher:
            await publisher.publish(detection)
            await publisher.publish(detection)  # a redelivery: stored once

    asyncio.run(publish_twice())

    def stored() -> list[dict[str, object]]:
        listing = httpx.get(f"{base}/api/v1/detections/", params={"camera": camera_id}, headers=auth)
        assert listing.status_code == 200, listing.text
        return listing.json()["results"]

    rows = _wait_for(stored, what="the recorder to store the detection")
    time.sleep(1.0)  # give the duplicate time to arrive: still one row
    rows = stored()
    assert [row["id"] for row in rows] == [str(detection.id)]

    found = httpx.get(f"{base}/api/v1/detections/search", params={"plate": "ABC1O23"}, headers=auth)
    assert found.status_code == 200, found.text
    assert str(detection.id) in found.text

    for proc in platform["procs"].values():  # type: ignore[attr-defined]
        proc.send_signal(signal.SIGTERM)
    for name, proc in platform["procs"].items():  # type: ignore[attr-defined]
        output = proc.communicate(timeout=30)[0]
        assert proc.returncode == 0, f"{name} exited {proc.returncode}: {output[-2000:]}"
        assert "s3cr3t-pass" not in output, f"{name} logged the RTSP password"
