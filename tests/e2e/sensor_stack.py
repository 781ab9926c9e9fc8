"""The sensor platform as real processes, for the issue #4 acceptance tests.

:func:`sensor_stack` starts, on a database, a broker vhost, a Redis database and an object-store
directory of its own, any of: the control API with its outbox relay and recorder, ingest-sensors,
fusion, correlator and live, each as ``python -m vigia.<service>`` the way deploy/local/Procfile
starts it, and returns once every process answers its readiness check. Logs go to files (a pipe
nobody reads would block a chatty process); :meth:`SensorStack.tails` shows them in failures.
Services can be stopped, killed and started again on the same ports (:meth:`SensorStack.start`,
:meth:`SensorStack.stop`, :meth:`SensorStack.kill`).

Not a test module (no ``test_`` prefix): imported by tests/e2e/test_sensor_platform.py and
tests/e2e/test_sensor_zero_loss.py.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, ClassVar

import httpx
import psycopg
import redis
from sqlalchemy import insert

from tests.e2e.test_local_platform import PASSWORD, _free_port, _manage, stop_all
from tests.support.processes import ServiceProcesses
from vigia.common.auth import new_device_token
from vigia.common.db import device_credentials, devices, make_engine, organizations

ROOT = Path(__file__).resolve().parents[2]
EMAIL = "admin@demo.vigia.local"
POSTGRES = "postgresql://postgres@127.0.0.1:5432"
# A Redis database of these tests' own (flushed before and after): the correlator's state, the
# audio and frame streams and last_seen keys must not meet another suite's.
REDIS_URL = os.environ.get("VIGIA_TEST_E2ESENSORS_REDIS_URL", "redis://127.0.0.1:6379/5")
START_TIMEOUT_S = float(os.environ.get("VIGIA_E2E_START_TIMEOUT_S", "120"))

SERVICES: dict[str, list[str]] = {
    "control": ["-m", "vigia.control", "serve", "--workers", "1"],
    "relay": ["-m", "vigia.control", "outbox_relay", "--metrics-port", "0"],
    "recorder": ["-m", "vigia.control", "recorder", "--metrics-port", "0"],
    "ingest-sensors": ["-m", "vigia.ingest_sensors"],
    "fusion": ["-m", "vigia.fusion"],
    "correlator": ["-m", "vigia.correlator"],
    "live": ["-m", "vigia.live"],
}
CONTROL_PLANE = ("control", "relay", "recorder")


@dataclass
class SensorStack(ServiceProcesses):
    """Handles on a running stack (see the module docstring)."""

    commands: ClassVar[dict[str, list[str]]] = SERVICES

    database_url: str
    amqp_url: str
    redis_url: str
    objects: Path
    logs: Path
    ports: dict[str, int]
    env: dict[str, dict[str, str]]
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    files: list[IO[bytes]] = field(default_factory=list)
    starts: dict[str, int] = field(default_factory=dict)

    # --- where things are ---

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.ports['control']}"

    @property
    def sensors_ws(self) -> str:
        return f"ws://127.0.0.1:{self.ports['ingest-sensors']}/api/v1/sensors/ws"

    @property
    def live_ws(self) -> str:
        return f"ws://127.0.0.1:{self.ports['live']}/api/v1/ws"

    def ready_url(self, service: str) -> str | None:
        if service in ("control", "ingest-sensors", "live", "fusion", "correlator"):
            return f"http://127.0.0.1:{self.ports[service]}/readyz"
        return None  # relay and recorder have no port of their own here

    def wait_ready(self, *services: str, timeout: float = START_TIMEOUT_S) -> None:
        super().wait_ready(*services, timeout=timeout)

    # --- the operator's side ---

    def login(self) -> str:
        r = httpx.post(f"{self.base}/api/v1/auth/login", json={"email": EMAIL, "password": PASSWORD}, timeout=30)
        assert r.status_code == 200, r.text
        return str(r.json()["access"])

    def api(self, token: str) -> httpx.Client:
        return httpx.Client(base_url=self.base, headers={"Authorization": f"Bearer {token}"}, timeout=30)

    # --- the stores ---

    def sql(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.database_url) as conn:
            return conn.execute(query, params).fetchall()

    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.redis_url)


@contextlib.contextmanager
def sensor_stack(tmp: Path, amqp_url: str, *, services: tuple[str, ...], env: dict[str, dict[str, str]] | None = None,
                 redis_url: str = REDIS_URL, name: str = "vigia_e2esensors") -> Iterator[SensorStack]:
    """Run ``services`` for the duration of the block on a fresh database (migrated; the demo
    organization bootstrapped when the control plane runs); ``env`` adds variables per service.
    Everything is stopped (SIGTERM, then SIGKILL) and the database dropped afterwards."""
    database = f"{name}_{uuid.uuid4().hex[:8]}"
    database_url = f"{POSTGRES}/{database}"
    logs = tmp / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    objects = tmp / "objects"
    ports = {s: _free_port() for s in SERVICES}
    base_env = {
        **os.environ,
        "VIGIA_ENV": "development",
        "VIGIA_DATABASE_URL": database_url,
        "VIGIA_AMQP_URL": amqp_url,
        "VIGIA_REDIS_URL": redis_url,
        "VIGIA_OBJECT_STORE": f"file://{objects}",
        "VIGIA_DEMO_PASSWORD": PASSWORD,
        "VIGIA_LOG_JSON": "true",
        "VIGIA_METRICS_PORT": "0",
    }
    per_service: dict[str, dict[str, str]] = {
        "control": {"VIGIA_CONTROL_BIND": f"127.0.0.1:{ports['control']}", "VIGIA_OUTBOX_POLL_SECONDS": "0.1"},
        "relay": {"VIGIA_OUTBOX_POLL_SECONDS": "0.1"},
        "ingest-sensors": {"VIGIA_INGEST_SENSORS_HOST": "127.0.0.1",
                           "VIGIA_INGEST_SENSORS_PORT": str(ports["ingest-sensors"])},
        "fusion": {"VIGIA_METRICS_PORT": str(ports["fusion"]), "VIGIA_FUSION_INSTANCE": "e2e-fusion"},
        "correlator": {"VIGIA_METRICS_PORT": str(ports["correlator"]),
                       "VIGIA_CORRELATOR_REDIS_PREFIX": f"e2e-{uuid.uuid4().hex[:6]}:"},
        "live": {"VIGIA_LIVE_HOST": "127.0.0.1", "VIGIA_LIVE_PORT": str(ports["live"]),
                 "VIGIA_JWKS_URL": f"http://127.0.0.1:{ports['control']}/.well-known/jwks.json"},
    }
    for service, extra in (env or {}).items():
        per_service.setdefault(service, {}).update(extra)
    stack = SensorStack(database_url, amqp_url, redis_url, objects, logs, ports,
                        {s: {**base_env, **per_service.get(s, {})} for s in SERVICES})

    redis_client = redis.Redis.from_url(redis_url)
    redis_client.flushdb()
    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    try:
        _manage(base_env, "migrate", "--no-input", "-v", "0")
        _manage(base_env, "declare_topology")
        if "control" in services:
            _manage(base_env, "bootstrap_demo")
        for service in services:
            stack.start(service)
        stack.wait_ready(*services)
        yield stack
    finally:
        stop_all(stack.procs)
        for f in stack.files:
            f.close()
        with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        redis_client.flushdb()
        redis_client.close()


@dataclass(frozen=True)
class Phone:
    """A device row with its token, written straight into the database (as the control plane would)."""

    org: uuid.UUID
    device: uuid.UUID
    token: str


def add_phones(database_url: str, count: int, *, org: uuid.UUID | None = None, site: str = "e2e",
               reporting_interval: float = 1.0) -> list[Phone]:
    """``count`` phones (with tokens) in ``org``, or in a new organization when None."""
    engine = make_engine(database_url, pool_size=1)
    now = datetime.now(UTC)
    phones = []
    try:
        with engine.begin() as conn:
            if org is None:
                org = uuid.uuid4()
                conn.execute(insert(organizations).values(id=org, name=f"org {org}", slug=f"org-{org.hex[:12]}",
                                                          settings={}, created_at=now))
            device_rows, credential_rows = [], []
            for i in range(count):
                device, token = uuid.uuid4(), new_device_token()
                device_rows.append({"id": device, "org_id": org, "name": f"e2e-phone-{i + 1}", "kind": "phone",
                                    "status": "ON", "reporting_interval": reporting_interval, "config": {},
                                    "location": "", "site": site, "version": 1, "created_at": now,
                                    "updated_at": now})
                credential_rows.append({"id": uuid.uuid4(), "org_id": org, "device_id": device,
                                        "prefix": token.prefix, "token_hash": token.token_hash, "created_at": now})
                phones.append(Phone(org, device, token.token))
            conn.execute(insert(devices), device_rows)
            conn.execute(insert(device_credentials), credential_rows)
    finally:
        engine.dispose()
    return phones


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.3) -> Any:
    """The first truthy value of ``predicate()``, polled until ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out after {timeout:g} s waiting for {what}"
        time.sleep(interval)
