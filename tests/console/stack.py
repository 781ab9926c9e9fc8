"""The stack a console test needs: control (serving the built console, with a migrated database and
the demo organization) and live (the feed), on free loopback ports, with the broker in a vhost of
the test's own and Redis db 2; and, for the areas that need them, the outbox relay and the
recorder (``extra``)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, ClassVar

from tests.support.processes import ROOT, ServiceProcesses, free_port

REDIS_URL = os.environ.get("VIGIA_TEST_CONSOLE_REDIS_URL", "redis://127.0.0.1:6379/2")
PASSWORD = "console-smoke-password-42"


@dataclass
class ConsoleStack(ServiceProcesses):
    """control and live, started by :func:`console_stack`."""

    commands: ClassVar[dict[str, list[str]]] = {
        "control": ["-m", "vigia.control", "serve", "--workers", "1"],
        "live": ["-m", "vigia.live"],
        "relay": ["-m", "vigia.control", "outbox_relay", "--metrics-port", "0"],
        "recorder": ["-m", "vigia.control", "recorder", "--metrics-port", "0"],
        "notifier": ["-m", "vigia.notifier"],
        "fusion": ["-m", "vigia.fusion"],
        "automation": ["-m", "vigia.automation"],
        "forecast": ["-m", "vigia.forecast"],
    }
    env: dict[str, dict[str, str]]
    logs: Path
    port: int
    live_port: int
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    files: list[IO[bytes]] = field(default_factory=list)
    starts: dict[str, int] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ready_url(self, service: str) -> str | None:
        return {"control": f"{self.base}/readyz", "live": f"http://127.0.0.1:{self.live_port}/readyz"}.get(service)


# Django's management commands, several in one interpreter (each python start-up costs seconds).
_MANAGE = """
import os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vigia.control.settings")
import django
django.setup()
from django.core.management import call_command
for command in sys.argv[1:]:
    call_command(command)
"""


def _manage(env: dict[str, str], *commands: str) -> None:
    """Run the control plane's management ``commands`` (no arguments) in order, in one process."""
    done = subprocess.run([sys.executable, "-c", _MANAGE, *commands], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, f"manage {' '.join(commands)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"


@contextmanager
def console_stack(tmp: Path, database_url: str, amqp_url: str, console_dir: Path,
                  extra: Sequence[str] = ()) -> Iterator[ConsoleStack]:
    """control serving ``console_dir`` and live, ready, with the ``extra`` services ("relay",
    "recorder") started too; all stopped afterwards (logs in ``tmp/logs``)."""
    port, live_port = free_port(), free_port()
    common = {
        **os.environ,
        "VIGIA_ENV": "development",
        "VIGIA_DATABASE_URL": database_url,
        "VIGIA_AMQP_URL": amqp_url,
        "VIGIA_REDIS_URL": REDIS_URL,
        "VIGIA_OBJECT_STORE": f"file://{tmp / 'objects'}",
        "VIGIA_DEMO_PASSWORD": PASSWORD,
        "VIGIA_METRICS_PORT": "0",
        "VIGIA_LOG_JSON": "true",
        "VIGIA_OUTBOX_POLL_SECONDS": "0.1",
    }
    env = {
        "control": {**common, "VIGIA_CONTROL_BIND": f"127.0.0.1:{port}", "VIGIA_CONSOLE_DIR": str(console_dir),
                    "VIGIA_CONSOLE_LIVE_URL": f"ws://{{host}}:{live_port}/api/v1/ws"},
        "live": {**common, "VIGIA_LIVE_HOST": "127.0.0.1", "VIGIA_LIVE_PORT": str(live_port),
                 "VIGIA_JWKS_URL": f"http://127.0.0.1:{port}/.well-known/jwks.json"},
        **{service: common for service in extra},
    }
    if "notifier" in env:  # 0 means its fixed default port to the notifier: give it a free one
        env["notifier"] = {**common, "VIGIA_METRICS_PORT": str(free_port())}
    for fixed in ("automation", "fusion", "forecast"):  # their metrics port 0 means a fixed default: a free one instead
        if fixed in env:
            env[fixed] = {**common, "VIGIA_METRICS_PORT": str(free_port())}
    _manage(common, "declare_topology", "bootstrap_demo")
    logs = tmp / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    stack = ConsoleStack(env=env, logs=logs, port=port, live_port=live_port)
    try:
        stack.start("control")
        stack.start("live")
        for service in extra:
            stack.start(service)
        stack.wait_ready(timeout=90)
        yield stack
    finally:
        for name in list(stack.procs):
            if stack.procs[name].poll() is None:
                stack.stop(name, timeout=30)
        for log in stack.files:
            log.close()
