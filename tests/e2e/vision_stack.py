"""The vision platform as real processes, for the e2e tests and the latency benchmark.

:func:`vision_stack` starts, on a database, a broker vhost, a Redis database and an object-store
directory of its own: camsim (real RTSP, with its ground-truth log), the control API with its
outbox relay and recorder, and any of streamer, vision (CPU, OpenCV detector, the CRNN plate reader), live and
watchdog, each as ``python -m vigia.<service>`` the way deploy/local/Procfile starts it. The slow
starters (vision loads torch and the plate reader; camsim; the migrations) run side by side, and the
function returns only once every process answers its readiness check, so a caller's clock can
start at the camera's creation. Logs go to files (a pipe nobody reads would block a chatty
process); :meth:`VisionStack.tail` shows them in failure messages. The automation runtime and the
notifier join when listed in ``services`` (seed 004's scenario: detections -> pipelines -> actions).

Not a test module (no ``test_`` prefix): imported by tests/e2e/test_vision_platform.py,
tests/e2e/test_camera_recovery.py, tests/e2e/seed004.py and tests/bench/bench_latency.py.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg
import redis
from pydantic import TypeAdapter
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.e2e.test_local_platform import PASSWORD, _free_port, _manage, _wait_for, stop_all
from vigia.common.messages import TimeNs
from vigia.simulators.camsim.scene import Scene, SceneConfig
from vigia.simulators.camsim.testing import RunningCamsim, run_camsim
from vigia.simulators.camsim.truth import plate_intervals, read_truth

ROOT = Path(__file__).resolve().parents[2]
EMAIL = "admin@demo.vigia.local"
POSTGRES = "postgresql://postgres@127.0.0.1:5432"
# A Redis database of these tests' own: leases, heartbeats and the watchdog's leader lease are
# global keys, so a database another suite flushes (or whose streamer/watchdog runs) would interfere.
REDIS_URL = os.environ.get("VIGIA_TEST_E2EVISION_REDIS_URL", "redis://127.0.0.1:6379/7")
START_TIMEOUT_S = float(os.environ.get("VIGIA_E2E_START_TIMEOUT_S", "180"))

_parse_time = TypeAdapter(TimeNs).validate_python

SERVICES = {
    "control": ["-m", "vigia.control", "serve", "--workers", "1"],
    "relay": ["-m", "vigia.control", "outbox_relay", "--metrics-port", "0"],
    "recorder": ["-m", "vigia.control", "recorder", "--metrics-port", "0"],
    "streamer": ["-m", "vigia.streamer"],
    "vision": ["-m", "vigia.vision"],
    "live": ["-m", "vigia.live"],
    "watchdog": ["-m", "vigia.watchdog"],
    "automation": ["-m", "vigia.automation"],
    "notifier": ["-m", "vigia.notifier"],
}
# Services whose readiness is on their metrics port (each gets a free one).
METRICS_SERVICES = ("streamer", "vision", "watchdog", "automation", "notifier")
# Streamer timings short enough that a start or a restart shows within seconds.
STREAMER_ENV = {"VIGIA_RECONCILE_INTERVAL_S": "0.5", "VIGIA_LEASE_MS": "3000", "VIGIA_BACKOFF_INITIAL_S": "0.2",
                "VIGIA_BACKOFF_MAX_S": "2", "VIGIA_FIRST_FRAME_TIMEOUT_S": "15"}
VISION_ENV = {"VIGIA_VISION_DETECTOR": "opencv", "VIGIA_VISION_DEVICE": "cpu", "VIGIA_VISION_OCR": "true",
              "VIGIA_VISION_SNAPSHOTS": "true"}


def time_ns(value: str | int) -> int:
    """Nanoseconds since the epoch of an envelope time (RFC 3339 with nanoseconds, or an int)."""
    return int(_parse_time(value))


@dataclass
class VisionStack:
    """Handles on a running stack (see the module docstring)."""

    base: str
    live_port: int
    camsim: RunningCamsim
    objects: Path
    logs: Path
    redis_url: str
    database_url: str
    amqp_url: str
    procs: dict[str, subprocess.Popen[bytes]]
    metrics_ports: dict[str, int]
    timings: dict[str, float] = field(default_factory=dict)

    # --- diagnostics ---

    def tail(self, name: str, chars: int = 3000) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def tails(self, *names: str, chars: int = 1500) -> str:
        return "\n".join(f"--- {n} ---\n{self.tail(n, chars)}" for n in (names or self.procs))

    def assert_alive(self) -> None:
        for name, proc in self.procs.items():
            assert proc.poll() is None, f"{name} exited with {proc.returncode}:\n{self.tail(name)}"

    # --- the operator's side ---

    def login(self) -> str:
        r = httpx.post(f"{self.base}/api/v1/auth/login", json={"email": EMAIL, "password": PASSWORD}, timeout=30)
        assert r.status_code == 200, r.text
        return str(r.json()["access"])

    def create_camera(self, token: str, name: str, url: str, fps: float) -> str:
        r = httpx.post(f"{self.base}/api/v1/cameras/", headers={"Authorization": f"Bearer {token}"},
                       json={"name": name, "rtsp_url": url, "fps": fps, "site": "e2e"}, timeout=30)
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    def camera(self, token: str, camera: str) -> dict[str, Any]:
        r = httpx.get(f"{self.base}/api/v1/cameras/{camera}/", headers={"Authorization": f"Bearer {token}"},
                      timeout=30)
        assert r.status_code == 200, r.text
        return dict(r.json())

    def search(self, token: str, plate: str, camera: str | None = None) -> list[dict[str, Any]]:
        params = {"plate": plate, **({"camera": camera} if camera else {})}
        r = httpx.get(f"{self.base}/api/v1/detections/search", params=params,
                      headers={"Authorization": f"Bearer {token}"}, timeout=30)
        assert r.status_code == 200, r.text
        return list(r.json()["results"])

    def feed(self, token: str) -> LiveFeed:
        return LiveFeed(f"ws://127.0.0.1:{self.live_port}/api/v1/ws?token={token}")

    def metrics(self, service: str) -> str:
        return httpx.get(f"http://127.0.0.1:{self.metrics_ports[service]}/metrics", timeout=10).text

    # --- ground truth ---

    def truth(self) -> list[dict[str, Any]]:
        """camsim's truth records so far; a last line still being written is left for next time."""
        if not self.camsim.truth_path.exists():
            return []
        text = self.camsim.truth_path.read_text(encoding="utf-8")
        return [orjson.loads(line) for line in text[:text.rfind("\n") + 1].splitlines() if line.strip()]

    def streams(self) -> dict[str, dict[str, Any]]:
        """camsim's ``stream`` records by camera (cam1…): epoch, fps, size, seed."""
        return {r["camera"]: r for r in self.truth() if r.get("kind") == "stream"}

    def plates_so_far(self, camera: str = "cam1") -> set[str]:
        """Plates camsim has shown readably on ``camera`` until now: the intervals its truth log
        closed, plus the open ones, computed from the same seeded scene (camsim writes an interval
        only once the plate leaves the frame)."""
        logged = {r["plate"] for r in self.truth() if r.get("kind") == "plate" and r["camera"] == camera}
        stream = self.streams()[camera]
        scene = Scene(SceneConfig(stream["width"], stream["height"], stream["fps"], stream["seed"]))
        frames = int((time.time() - stream["epoch"]) * stream["fps"]) + 1
        return logged | {r["plate"] for r in plate_intervals(scene, range(frames), camera)}


class LiveFeed:
    """An operator's live WebSocket read on a thread; every message kept with its arrival time."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.messages: list[tuple[int, dict[str, Any]]] = []
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._opened = threading.Event()
        self._thread = threading.Thread(target=self._run, name="live-feed", daemon=True)

    def __enter__(self) -> LiveFeed:
        self._thread.start()
        assert self._opened.wait(30) and self.error is None, f"live WebSocket did not open: {self.error!r}"
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        try:
            with connect(self.url, open_timeout=20, max_size=2**22) as ws:
                self._opened.set()
                while not self._stop.is_set():
                    try:
                        raw = ws.recv(timeout=0.2)
                    except TimeoutError:
                        continue
                    self.messages.append((time.time_ns(), orjson.loads(raw)))
        except ConnectionClosed as exc:
            if not self._stop.is_set():
                self.error = exc
        except BaseException as exc:  # surfaced by the test through .error
            self.error = exc
        finally:
            self._opened.set()

    def camera_health(self, camera: str) -> list[dict[str, Any]]:
        """Every camera_health message of ``camera`` so far, in arrival order."""
        return [m for _, m in list(self.messages) if m.get("type") == "camera_health" and m["camera_id"] == camera]

    def detections(self, camera: str | None = None) -> list[tuple[int, dict[str, Any]]]:
        """(receive time ns, detection) of every new_detection so far, of ``camera`` if given."""
        return [(at, m["detection"]) for at, m in list(self.messages)
                if m.get("type") == "new_detection" and (camera is None or m["detection"]["camera"] == camera)]


def _ready(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@contextlib.contextmanager
def vision_stack(tmp: Path, amqp_url: str, *, services: tuple[str, ...] = ("streamer", "vision", "live"),
                 cameras: int = 1, camsim_fps: float = 5.0, camsim_gop: int = 5, size: tuple[int, int] = (1280, 720),
                 redis_url: str = REDIS_URL, env: dict[str, dict[str, str]] | None = None,
                 name: str = "vigia_e2evision", camsim_intruder_every_s: float = 0.0) -> Iterator[VisionStack]:
    """Run the stack for the duration of the block (control, relay and recorder always; the rest
    as listed in ``services``); ``env`` adds variables per service; ``camsim_intruder_every_s``
    makes a person cross camsim's foreground that often. Everything is stopped (SIGTERM, then
    SIGKILL) and the database dropped afterwards."""
    started = time.monotonic()
    database = f"{name}_{uuid.uuid4().hex[:8]}"
    database_url = f"{POSTGRES}/{database}"
    logs = tmp / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    objects = tmp / "objects"
    port, live_port = _free_port(), _free_port()
    metrics_ports = {s: _free_port() for s in METRICS_SERVICES}
    base_env = {
        **os.environ,
        "VIGIA_ENV": "development",
        "VIGIA_DATABASE_URL": database_url,
        "VIGIA_AMQP_URL": amqp_url,
        "VIGIA_REDIS_URL": redis_url,
        "VIGIA_OBJECT_STORE": f"file://{objects}",
        "VIGIA_CONTROL_BIND": f"127.0.0.1:{port}",
        "VIGIA_DEMO_PASSWORD": PASSWORD,
        "VIGIA_OUTBOX_POLL_SECONDS": "0.1",
        "VIGIA_LOG_JSON": "true",
        "VIGIA_METRICS_PORT": "0",
    }
    per_service = {
        "streamer": {**STREAMER_ENV, "VIGIA_REPLICA_ID": f"e2e-{uuid.uuid4().hex[:6]}"},
        "vision": dict(VISION_ENV),
        "live": {"VIGIA_LIVE_HOST": "127.0.0.1", "VIGIA_LIVE_PORT": str(live_port),
                 "VIGIA_JWKS_URL": f"http://127.0.0.1:{port}/.well-known/jwks.json"},
        "watchdog": {"VIGIA_WATCHDOG_INSTANCE": f"e2e-{uuid.uuid4().hex[:6]}"},
        "automation": {"VIGIA_AUTOMATION_INSTANCE": f"e2e-{uuid.uuid4().hex[:6]}"},
        "notifier": {},
    }
    for service, mport in metrics_ports.items():
        per_service[service]["VIGIA_METRICS_PORT"] = str(mport)
    for service, extra in (env or {}).items():
        per_service.setdefault(service, {}).update(extra)

    procs: dict[str, subprocess.Popen[bytes]] = {}
    files: list[Any] = []

    def spawn(service: str) -> None:
        log = open(logs / f"{service}.log", "wb")  # noqa: SIM115 - closed at teardown
        files.append(log)
        procs[service] = subprocess.Popen([sys.executable, *SERVICES[service]], cwd=ROOT,
                                          env={**base_env, **per_service.get(service, {})},
                                          stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)

    redis_client = redis.Redis.from_url(redis_url)
    redis_client.flushdb()
    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    try:
        with run_camsim(tmp, cameras=cameras, fps=camsim_fps, gop=camsim_gop, size=size, timeout=60,
                        intruder_every_s=camsim_intruder_every_s) as cams:
            stack = VisionStack(f"http://127.0.0.1:{port}", live_port, cams, objects, logs, redis_url,
                                database_url, amqp_url, procs, metrics_ports)
            try:
                # vision needs neither the database nor the control plane: it loads its models
                # (the slowest start) while the migrations run.
                if "vision" in services:
                    spawn("vision")
                _manage(base_env, "migrate", "--no-input", "-v", "0")
                _manage(base_env, "declare_topology")
                _manage(base_env, "bootstrap_demo")
                stack.timings["migrated_s"] = round(time.monotonic() - started, 1)
                for service in ("control", "relay", "recorder", *[s for s in services if s != "vision"]):
                    spawn(service)
                checks: dict[str, str] = {"control": f"{stack.base}/readyz"}
                if "live" in services:
                    checks["live"] = f"http://127.0.0.1:{live_port}/readyz"
                for service in METRICS_SERVICES:
                    if service in services:
                        checks[service] = f"http://127.0.0.1:{metrics_ports[service]}/readyz"
                pending = dict(checks)
                deadline = time.monotonic() + START_TIMEOUT_S
                while pending:
                    stack.assert_alive()
                    for service, url in list(pending.items()):
                        if _ready(url):
                            stack.timings[f"{service}_ready_s"] = round(time.monotonic() - started, 1)
                            del pending[service]
                    assert time.monotonic() < deadline, f"not ready: {sorted(pending)}\n{stack.tails(*pending)}"
                    time.sleep(0.2)
                stack.timings["stack_ready_s"] = round(time.monotonic() - started, 1)
                yield stack
            finally:
                stop_all(procs)
    finally:
        for f in files:
            f.close()
        with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        redis_client.flushdb()
        redis_client.close()


def wait_for(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    """:func:`tests.e2e.test_local_platform._wait_for` (re-exported for the other modules)."""
    return _wait_for(predicate, timeout=timeout, what=what)


def read_truth_plates(path: Path, camera: str = "cam1") -> set[str]:
    return {r["plate"] for r in read_truth(path) if r.get("kind") == "plate" and r["camera"] == camera}
