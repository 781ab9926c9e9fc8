"""The platform as `make run` starts it, for the console's end-to-end browser test: every process of
deploy/local/Procfile, with the command line written there, on a database, a broker vhost, a Redis
database, an object-store directory and loopback ports of the test's own.

What differs from `make run`, and why: each service's port and each simulator's files (truth logs,
tokens, the demo password) are the test's own, so the test runs beside a developer's `make run`;
and phonesim's seeded episodes are postponed by an hour (``--quiet-start``), so the only
correlated event of the run is the one the test asks for (``POST /inject``) — a seeded one at the
same site would fold the requested one into itself. Nothing else is changed: the detector, the
plate reader, the correlator's settings and the simulators' rates are the Procfile's.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, ClassVar

import httpx
import redis

from tests.console.stack import PASSWORD, _manage
from tests.support.processes import ROOT, ServiceProcesses, free_port

PROCFILE = ROOT / "deploy" / "local" / "Procfile"
REDIS_URL = os.environ.get("VIGIA_TEST_CONSOLE_PLATFORM_REDIS_URL", "redis://127.0.0.1:6379/14")
START_TIMEOUT_S = float(os.environ.get("VIGIA_E2E_START_TIMEOUT_S", "180"))
EMAIL = "admin@demo.vigia.local"
# Services that answer /readyz on a port of their own (the HTTP servers), the others on their metrics port.
HTTP_PORT_VARIABLE = {"live": "VIGIA_LIVE_PORT", "ingest-frames": "VIGIA_INGEST_FRAMES_PORT",
                      "ingest-sensors": "VIGIA_INGEST_SENSORS_PORT"}
SIMULATORS = ("camsim", "phonesim")
_ASSIGNMENT = re.compile(r"^[A-Z_][A-Z0-9_]*=")


def procfile(path: Path = PROCFILE) -> dict[str, tuple[dict[str, str], list[str]]]:
    """Each process of a Procfile: its variables (``NAME=value`` before the command) and its argv
    after the interpreter (``.venv/bin/python``)."""
    processes: dict[str, tuple[dict[str, str], list[str]]] = {}
    for line in path.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, _, command = line.partition(":")
        words = shlex.split(command)
        variables: dict[str, str] = {}
        while words and _ASSIGNMENT.match(words[0]):
            key, _, value = words.pop(0).partition("=")
            variables[key] = value
        assert words and words[0].endswith("/python"), f"{path}: {name} does not run the venv's python: {line}"
        processes[name.strip()] = (variables, words[1:])
    return processes


def with_options(argv: list[str], **options: Any) -> list[str]:
    """``argv`` with each ``--option value`` replaced (``snake_case`` keyword for ``--kebab-case``),
    or appended where absent."""
    out = list(argv)
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        if flag in out:
            out[out.index(flag) + 1] = str(value)
        else:
            out += [flag, str(value)]
    return out


@dataclass
class PlatformStack(ServiceProcesses):
    """The running processes (see the module docstring)."""

    commands: ClassVar[dict[str, list[str]]] = {}

    env: dict[str, dict[str, str]]
    logs: Path
    ports: dict[str, int]
    argv: dict[str, list[str]]
    files_dir: Path
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    files: list[IO[bytes]] = field(default_factory=list)
    starts: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.commands = self.argv  # type: ignore[misc]  # per stack: the Procfile's, rewritten

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.ports['control']}"

    @property
    def camsim_commands(self) -> str:
        return f"http://127.0.0.1:{self.ports['camsim-commands']}"

    @property
    def phonesim_commands(self) -> str:
        return f"http://127.0.0.1:{self.ports['phonesim-commands']}"

    def ready_url(self, service: str) -> str | None:
        if service == "control":
            return f"{self.base}/readyz"
        if service in SIMULATORS:
            return None  # ready once what they registered is listed (:meth:`wait_registered`)
        return f"http://127.0.0.1:{self.ports[service]}/readyz"

    def login(self) -> str:
        r = httpx.post(f"{self.base}/api/v1/auth/login", json={"email": EMAIL, "password": PASSWORD}, timeout=30)
        assert r.status_code == 200, r.text
        return str(r.json()["access"])

    def wait_registered(self, cameras: int, phones: int, timeout: float = START_TIMEOUT_S) -> None:
        """Until the API lists the simulators' cameras and phones (camsim and phonesim register
        them through it at start, as in `make run`)."""
        headers = {"Authorization": f"Bearer {self.login()}"}
        deadline = time.monotonic() + timeout
        with httpx.Client(base_url=self.base, headers=headers, timeout=30) as api:
            while True:
                self.assert_alive(*SIMULATORS)
                listed = (len(api.get("/api/v1/cameras/").json()["results"]),
                          len(api.get("/api/v1/devices/").json()["results"]))
                if listed >= (cameras, phones):
                    return
                assert time.monotonic() < deadline, (
                    f"cameras and phones listed {listed}, expected {(cameras, phones)}\n{self.tails(*SIMULATORS)}")
                time.sleep(0.5)


@contextmanager
def platform_stack(tmp: Path, database_url: str, amqp_url: str, console_dir: Path,
                   redis_url: str = REDIS_URL) -> Iterator[PlatformStack]:
    """Every Procfile process, started at once as honcho does, on ``database_url`` (migrated) and
    ``amqp_url``; returns when each answers its readiness check and the simulators' cameras and
    phones are registered. Stopped (SIGTERM, then SIGKILL) afterwards; Redis db flushed."""
    processes = procfile()
    ports = {name: free_port() for name in processes}
    ports |= {"camsim-rtsp": free_port(), "camsim-commands": free_port(), "phonesim-commands": free_port()}
    files = tmp / "var"
    files.mkdir(parents=True, exist_ok=True)
    (files / "demo-password").write_text(PASSWORD + "\n")
    control = f"http://127.0.0.1:{ports['control']}"
    common = {
        **os.environ,
        "VIGIA_ENV": "development",
        "VIGIA_DATABASE_URL": database_url,
        "VIGIA_AMQP_URL": amqp_url,
        "VIGIA_REDIS_URL": redis_url,
        "VIGIA_OBJECT_STORE": f"file://{tmp / 'objects'}",
        "VIGIA_DEMO_PASSWORD": PASSWORD,
        "VIGIA_LOG_JSON": "true",
        "VIGIA_CONTROL_BIND": f"127.0.0.1:{ports['control']}",
        "VIGIA_CONTROL_URL": control,
        "VIGIA_JWKS_URL": f"{control}/.well-known/jwks.json",
        "VIGIA_CONSOLE_DIR": str(console_dir),
        "VIGIA_CONSOLE_LIVE_URL": f"ws://{{host}}:{ports['live']}/api/v1/ws",
        "VIGIA_NOTIFIER_PUBLIC_URL": control,
        "VIGIA_LIVE_HOST": "127.0.0.1",
        "VIGIA_INGEST_FRAMES_HOST": "127.0.0.1",
        "VIGIA_INGEST_SENSORS_HOST": "127.0.0.1",
        "VIGIA_PHONESIM_URL": f"ws://127.0.0.1:{ports['ingest-sensors']}/api/v1/sensors/ws",
        **{variable: str(ports[service]) for service, variable in HTTP_PORT_VARIABLE.items()},
    }
    env: dict[str, dict[str, str]] = {}
    argv: dict[str, list[str]] = {}
    for name, (variables, args) in processes.items():
        env[name] = {**common, **variables, "VIGIA_METRICS_PORT": str(ports[name])}
        if name == "camsim":
            args = with_options(args, port=ports["camsim-rtsp"], commands=ports["camsim-commands"],
                                truth=files / "camsim-truth.jsonl", password_file=files / "demo-password")
        elif name == "phonesim":
            args = with_options(args, commands=ports["phonesim-commands"], truth=files / "phonesim-truth.jsonl",
                                tokens=files / "phonesim-tokens.jsonl", password_file=files / "demo-password",
                                quiet_start=3600)
        argv[name] = args
    flush = redis.Redis.from_url(redis_url)
    flush.flushdb()
    _manage(common, "declare_topology", "bootstrap_demo")
    logs = tmp / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    stack = PlatformStack(env=env, logs=logs, ports=ports, argv=argv, files_dir=files)
    try:
        for name in processes:
            stack.start(name)
        stack.wait_ready(timeout=START_TIMEOUT_S)
        yield stack
    finally:
        for name in list(stack.procs):
            if stack.procs[name].poll() is None:
                try:
                    stack.stop(name, timeout=30)
                except subprocess.TimeoutExpired:
                    stack.kill(name)
        for log in stack.files:
            log.close()
        flush.flushdb()
        flush.close()
