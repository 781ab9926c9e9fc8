"""RTSP credentials never rest in clear: not in the database, not on the broker, not in the logs.

The control API (uWSGI) and the outbox relay run as real processes on a database and a broker
vhost of their own, with the topology declared as ``make migrate`` does it. An operator creates a
camera whose URL holds a password, then changes it; the relay publishes both changes; one copy of
each is dead-lettered (a consumer giving up on it). Then the whole database dump (``pg_dump``; bytea
columns such as the outbox bodies appear hex-encoded there, so the hex form is searched too), every
message of every queue of the vhost, DLQs included (listed by the management API, read by consuming
without an ack), and everything the processes logged are searched for the password: it is nowhere.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pika
import psycopg
import pytest

from tests.support.databases import SERVER, migrated_database
from tests.support.processes import free_port
from vigia.common.broker.topology import CORRELATOR_CONTROL, STREAMER_CONTROL, dlq_name

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "security-operator-password-long"
SECRET = "s3cret"
CREATED_URL = f"rtsp://user:{SECRET}@127.0.0.1:8554/x"
UPDATED_URL = f"rtsp://user:{SECRET}-2@127.0.0.1:8554/y"


@contextmanager
def _database() -> Iterator[str]:
    """A fresh database copied from a migrated template (kept between runs: migrating anew each
    time would take most of this suite's time), dropped on exit."""
    template = migrated_database("vigia_security_template")
    name = f"vigia_security_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template.rsplit("/", 1)[1]}"')
    try:
        yield f"{SERVER}/{name}"
    finally:
        with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "vigia.control", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout + done.stderr


@pytest.fixture
def platform(amqp_url: str, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """Control API and outbox relay as processes; their output (logs) goes to files in ``tmp_path``."""
    with _database() as database_url:
        port = free_port()
        env = {**os.environ, "VIGIA_ENV": "development", "VIGIA_DATABASE_URL": database_url,
               "VIGIA_AMQP_URL": amqp_url, "VIGIA_OBJECT_STORE": f"file://{tmp_path / 'objects'}",
               "VIGIA_CONTROL_BIND": f"127.0.0.1:{port}", "VIGIA_DEMO_PASSWORD": PASSWORD,
               "VIGIA_OUTBOX_POLL_SECONDS": "0.1", "VIGIA_METRICS_PORT": "0", "VIGIA_LOG_LEVEL": "DEBUG"}
        setup_log = _manage(env, "declare_topology") + _manage(env, "bootstrap_demo")
        logs = {name: tmp_path / f"{name}.log" for name in ("control", "relay")}
        commands = {"control": ["serve", "--workers", "1"], "relay": ["outbox_relay", "--metrics-port", "0"]}
        procs = {name: subprocess.Popen([sys.executable, "-m", "vigia.control", *commands[name]], env=env,
                                        cwd=ROOT, stdout=logs[name].open("wb"), stderr=subprocess.STDOUT)
                 for name in commands}
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert procs["control"].poll() is None, logs["control"].read_text()[-3000:]
                assert time.monotonic() < deadline, "control API did not become ready"
                time.sleep(0.2)
            yield {"base": base, "database_url": database_url, "logs": logs, "setup_log": setup_log}
        finally:
            for proc in procs.values():
                proc.terminate()
            for proc in procs.values():
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(10)


def _published_camera_changes(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM outbox WHERE type LIKE 'camera.%%' "
                           "AND published_at IS NOT NULL").fetchone()
    return int(row[0]) if row else 0


def _wait_for(predicate: Any, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def _every_message(management: httpx.Client, amqp_url: str, vhost: str) -> dict[str, list[str]]:
    """queue -> each message (properties, headers and body as text) of every queue of ``vhost``, read
    by consuming without an ack (single-active-consumer queues refuse basic.get) and left in place."""
    queues = [q["name"] for q in management.get(f"/api/queues/{quote(vhost, safe='')}").json()]
    found: dict[str, list[str]] = {}
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        for queue in queues:
            channel = connection.channel()
            waiting = channel.queue_declare(queue, passive=True).method.message_count  # exact, unlike the listing
            found[queue] = []
            for method, properties, body in channel.consume(queue, inactivity_timeout=5) if waiting else ():
                assert method is not None, f"{queue}: {len(found[queue])} of {waiting} messages delivered"
                found[queue].append(f"{properties!r} {body.decode('utf-8', 'replace')}")
                if len(found[queue]) == waiting:
                    break
            channel.close()  # nothing acked: every message goes back to its queue
    finally:
        connection.close()
    return found


def _dead_letter(management: httpx.Client, vhost: str, queue: str) -> None:
    """What a consumer that gives up on every message of ``queue`` does: reject without requeue."""
    management.post(f"/api/queues/{quote(vhost, safe='')}/{quote(queue, safe='')}/get",
                    json={"count": 10_000, "ackmode": "reject_requeue_false", "encoding": "auto"}).raise_for_status()


def test_camera_credentials_are_nowhere_in_the_database_the_queues_or_the_logs(
        platform: dict[str, Any], amqp_url: str, amqp_vhost: str, amqp_management: httpx.Client) -> None:
    base = platform["base"]
    login = httpx.post(f"{base}/api/v1/auth/login", json={"email": "admin@demo.vigia.local", "password": PASSWORD})
    assert login.status_code == 200, login.text
    auth = {"Authorization": f"Bearer {login.json()['access']}"}

    created = httpx.post(f"{base}/api/v1/cameras/", headers=auth,
                         json={"name": "gate", "rtsp_url": CREATED_URL, "fps": 1, "site": "hq"})
    assert created.status_code == 201, created.text
    camera = created.json()["id"]
    updated = httpx.patch(f"{base}/api/v1/cameras/{camera}/", headers=auth, json={"rtsp_url": UPDATED_URL, "fps": 2})
    assert updated.status_code == 200, updated.text
    shown = httpx.get(f"{base}/api/v1/cameras/{camera}/", headers=auth)
    assert shown.status_code == 200 and SECRET not in shown.text + created.text + updated.text

    _wait_for(lambda: _published_camera_changes(platform["database_url"]) == 2, "the relay to publish both changes")
    _dead_letter(amqp_management, amqp_vhost, CORRELATOR_CONTROL)

    # Where the secret would be, if anywhere: the changes reached the queues and the DLQ.
    messages = _every_message(amqp_management, amqp_url, amqp_vhost)
    assert len(messages) >= 10
    assert len(messages[STREAMER_CONTROL]) == 2 and len(messages[dlq_name(CORRELATOR_CONTROL)]) == 2
    leaking_queues = {queue: bodies for queue, bodies in messages.items() if any(SECRET in b for b in bodies)}
    assert leaking_queues == {}

    dump = subprocess.run(["pg_dump", "--no-owner", platform["database_url"]], capture_output=True, text=True,
                          timeout=120, check=True).stdout
    assert "rtsp_url_encrypted" in dump and "camera.updated" in dump  # the dump holds the camera and its messages
    assert SECRET not in dump
    assert SECRET.encode().hex() not in dump  # bytea (the outbox bodies) is dumped hex-encoded

    logs = platform["setup_log"] + "".join(path.read_text(errors="replace") for path in platform["logs"].values())
    assert "PATCH /api/v1/cameras/" in logs and "outbox relay ready" in logs  # both processes' logs are here
    assert SECRET not in logs
