"""The HTTP APIs under contract test, as real processes: control (uWSGI, as ``make run`` serves it),
ingest-frames and ingest-sensors, each ``python -m vigia.<service>`` on a free loopback port, on a
throwaway migrated database, a RabbitMQ vhost of their own and the tests' Redis database (flushed
before and after).

The callers belong to a throwaway organization created for the run (``contract-<hex>``): one admin
whose token the stateless fuzzer uses, one for the stateful and explicit sequences (so nothing the
fuzzer does to users can take the other's session away), a device with its token and an enabled
camera for the gateways. Everything is signed in before any fuzzing: a throttled sign-in can lock
no one out of anything but this organization.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import secrets
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

import httpx
import pytest
import redis

from tests.support.databases import throwaway_database
from tests.support.processes import free_port

ROOT = Path(__file__).resolve().parents[2]
AMQP_HOST = os.environ.get("VIGIA_TEST_AMQP_HOST", "127.0.0.1")
AMQP_MANAGEMENT = os.environ.get("VIGIA_TEST_AMQP_MANAGEMENT", "http://127.0.0.1:15672")
START_TIMEOUT_S = float(os.environ.get("VIGIA_CONTRACT_START_TIMEOUT_S", "90"))
PASSWORD = "contract-" + secrets.token_urlsafe(12)

SERVICES: dict[str, list[str]] = {
    "control": ["-m", "vigia.control", "serve", "--workers", "1", "--threads", "4"],
    "ingest-frames": ["-m", "vigia.ingest_frames"],
    "ingest-sensors": ["-m", "vigia.ingest_sensors"],
}

# Creates the organization and its two admins through the ORM (every field default applies).
_CREATE_ORGANIZATION = textwrap.dedent("""
    import os
    from vigia.control.core.choices import Role
    from vigia.control.tenancy import keys
    from vigia.control.tenancy.models import Organization, User
    slug, password, emails = os.environ["CONTRACT_ORG"], os.environ["CONTRACT_PASSWORD"], os.environ["CONTRACT_EMAILS"]
    org = Organization.objects.create(slug=slug, name="Contract " + slug)
    for email in emails.split():
        User.objects.create_user(email, org=org, password=password, role=Role.ADMIN, name=email.split("@")[0])
    keys.active_signing_key()
""")


@dataclass
class ContractStack:
    """Where the services answer and who calls them (see the module docstring)."""

    urls: dict[str, str]
    logs: Path
    org: str
    fuzz_token: str = ""
    flow_token: str = ""
    device_token: str = ""
    device_id: str = ""
    camera_id: str = ""
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def api(self, token: str) -> httpx.Client:
        """A client of the control API signed in with ``token``."""
        return httpx.Client(base_url=self.urls["control"], headers={"Authorization": f"Bearer {token}"},
                            timeout=30)

    def tails(self, chars: int = 2000) -> str:
        """The end of every service's log, for failure messages."""
        return "\n".join(f"--- {name} ---\n{(self.logs / f'{name}.log').read_text(errors='replace')[-chars:]}"
                         for name in SERVICES)

    def assert_alive(self) -> None:
        for name, proc in self.procs.items():
            assert proc.poll() is None, f"{name} exited with {proc.returncode}\n{self.tails()}"


def _vhost() -> contextlib.AbstractContextManager[str]:
    @contextlib.contextmanager
    def scope() -> Iterator[str]:
        name = f"contract-{uuid.uuid4().hex[:12]}"
        with httpx.Client(base_url=AMQP_MANAGEMENT, auth=("guest", "guest"), timeout=30) as client:
            client.put(f"/api/vhosts/{quote(name, safe='')}").raise_for_status()
            client.put(f"/api/permissions/{quote(name, safe='')}/guest",
                       json={"configure": ".*", "write": ".*", "read": ".*"}).raise_for_status()
            try:
                yield name
            finally:
                client.delete(f"/api/vhosts/{quote(name, safe='')}")
    return scope()


def _wait_ready(stack: ContractStack) -> None:
    pending = dict(stack.urls)
    deadline = time.monotonic() + START_TIMEOUT_S
    while pending:
        stack.assert_alive()
        for name, url in list(pending.items()):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    del pending[name]
        assert time.monotonic() < deadline, f"not ready: {sorted(pending)}\n{stack.tails()}"
        time.sleep(0.2)


def _sign_in(base: str, email: str) -> str:
    answer = httpx.post(f"{base}/api/v1/auth/login", json={"email": email, "password": PASSWORD}, timeout=30)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access"])


def _stop(procs: dict[str, subprocess.Popen[bytes]]) -> None:
    for proc in procs.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs.values():
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


@pytest.fixture(scope="session")
def contract_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ContractStack]:
    """The three HTTP services running for the contract tests, with the organization's callers."""
    tmp = tmp_path_factory.mktemp("contract")
    redis_url = os.environ.get("VIGIA_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    store = redis.Redis.from_url(redis_url)
    store.flushdb()
    files: list[IO[bytes]] = []
    procs: dict[str, subprocess.Popen[bytes]] = {}
    with throwaway_database("vigia_contract") as database_url, _vhost() as vhost:
        ports = {name: free_port() for name in SERVICES}
        stack = ContractStack(urls={name: f"http://127.0.0.1:{port}" for name, port in ports.items()},
                              logs=tmp, org=f"contract-{uuid.uuid4().hex[:8]}", procs=procs)
        env = {
            **os.environ,
            "VIGIA_ENV": "development",
            "VIGIA_DATABASE_URL": database_url,
            "VIGIA_AMQP_URL": f"amqp://guest:guest@{AMQP_HOST}:5672/{quote(vhost, safe='')}",
            "VIGIA_REDIS_URL": redis_url,
            "VIGIA_OBJECT_STORE": f"file://{tmp / 'objects'}",
            "VIGIA_LOG_JSON": "true",
            "VIGIA_METRICS_PORT": "0",
            "VIGIA_CONTROL_BIND": f"127.0.0.1:{ports['control']}",
            # ?check=true probes the fuzzer's made-up RTSP URLs: give up on each quickly.
            "VIGIA_FFPROBE_TIMEOUT": "0.5",
            "VIGIA_INGEST_FRAMES_HOST": "127.0.0.1",
            "VIGIA_INGEST_FRAMES_PORT": str(ports["ingest-frames"]),
            "VIGIA_FRAME_DROP_POLL_S": "0",
            # A revoked device token is refused at once (test_flows.py), not after the cache's 15 s.
            "VIGIA_DEVICE_CACHE_S": "0",
            "VIGIA_SENSORS_DEVICE_CACHE_S": "0",
            "VIGIA_INGEST_SENSORS_HOST": "127.0.0.1",
            "VIGIA_INGEST_SENSORS_PORT": str(ports["ingest-sensors"]),
        }
        emails = [f"fuzz@{stack.org}.test", f"flow@{stack.org}.test"]
        created = subprocess.run([sys.executable, "-m", "vigia.control", "shell", "-c", _CREATE_ORGANIZATION],
                                 env={**env, "CONTRACT_ORG": stack.org, "CONTRACT_PASSWORD": PASSWORD,
                                      "CONTRACT_EMAILS": " ".join(emails)},
                                 cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert created.returncode == 0, created.stderr[-3000:]
        try:
            for name, argv in SERVICES.items():
                log = open(tmp / f"{name}.log", "wb")  # noqa: SIM115 - closed at teardown
                files.append(log)
                procs[name] = subprocess.Popen([sys.executable, *argv], cwd=ROOT, env=env,
                                               stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
            _wait_ready(stack)
            stack.fuzz_token = _sign_in(stack.urls["control"], emails[0])
            stack.flow_token = _sign_in(stack.urls["control"], emails[1])
            with stack.api(stack.flow_token) as api:
                device = api.post("/api/v1/devices/", json={"name": "contract phone", "kind": "phone"})
                assert device.status_code == 201, device.text
                stack.device_id, stack.device_token = device.json()["id"], device.json()["token"]
                camera = api.post("/api/v1/cameras/", json={"name": "contract camera",
                                                            "rtsp_url": "rtsp://127.0.0.1:9/contract"})
                assert camera.status_code == 201, camera.text
                stack.camera_id = camera.json()["id"]
            yield stack
            stack.assert_alive()
        finally:
            _stop(procs)
            for log in files:
                log.close()
            store.flushdb()
            store.close()


def openapi_document(service: str) -> dict[str, Any]:
    """The OpenAPI document ``service`` serves, built in this process (schemathesis needs it when
    tests are collected, before the services run; a test compares it with the served one)."""
    if service == "control":
        from drf_spectacular.generators import SchemaGenerator
        from drf_spectacular.renderers import OpenApiJsonRenderer

        document = SchemaGenerator().get_schema(request=None, public=True)
        return dict(json.loads(OpenApiJsonRenderer().render(document)))
    module = importlib.import_module(f"vigia.{service.replace('-', '_')}.app")
    return dict(json.loads(json.dumps(module.create_app().openapi())))
