"""ingest-frames throughput: 100 KB JPEGs accepted with confirms vs raw aio-pika confirmed publishing.

    python tests/bench/bench_ingest_frames.py [--seconds 15] [--concurrency 32] [--workers 2]
                                              [--client-procs 2] [--raw-procs 1] [--profile DIR]

Sets up a database of its own (migrated by the control plane, with one organization, a device
token and one camera per connection), a fresh RabbitMQ vhost with the topology (the vision.frames.<k>
shards bounded and dropping the oldest, so frames are routable and the broker's memory stays flat), and
runs the gateway with uvicorn (``python -m vigia.ingest_frames``, ``--workers`` processes) in a
subprocess, with the per-camera rate limit at 1,000 frames/s: enforced as usual, never reached.

Phase 1: ``--concurrency`` keep-alive connections, each pushing its own camera's frames, POST the
same 100 KB JPEG as fast as the gateway answers, for ``--seconds`` after a 2 s warm-up. The load
comes from ``--client-procs`` separate processes (uvloop, a prebuilt HTTP/1.1 request written on
asyncio streams: the cheapest client Python can be), so the client never shares the gateway's
event loop, and its CPU is measured and reported apart.
Phase 2, same run, same machine, gateway idle: ``--raw-procs`` processes publish the same body with
raw aio-pika (publisher confirms, mandatory, one channel each, ``--concurrency`` publishes in
flight in all) to the same exchange and routing keys, with the same envelope headers.

CPU is read from /proc (psutil) over the measured window only, for the gateway (uvicorn master and
workers), the load generators, the raw publishers and RabbitMQ. ``*_cpu_ms_per_frame`` figures
(CPU-milliseconds per accepted frame = CPU-seconds per 1,000 frames) do not depend on what else
loads the machine, unlike frames/s; the load average before and after is printed so a slow figure
can be read against it. ``--profile DIR`` records a py-spy profile of every gateway worker during
phase 1 (needs ``pip install py-spy``).

Prints one JSON line: accepted frames/s, client latency p50/p99, raw frames/s, their ratio
(targets: >= 2000 frames/s and >= 0.4 x raw) and the CPU figures. Everything it created is removed
afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import orjson
import psutil
import psycopg
from PIL import Image, ImageFilter
from sqlalchemy import insert

from vigia.common.auth import new_device_token
from vigia.common.broker import BrokerSettings, declare_topology
from vigia.common.db import cameras, device_credentials, devices, make_engine, organizations

ROOT = Path(__file__).resolve().parents[2]
AMQP_HOST = os.environ.get("VIGIA_TEST_AMQP_HOST", "127.0.0.1")
MANAGEMENT = os.environ.get("VIGIA_TEST_AMQP_MANAGEMENT", "http://127.0.0.1:15672")
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
FRAMES_MAX_LENGTH = 200
WARMUP_S = 2.0
START_DELAY_S = 1.5  # lets every load process connect before the warm-up starts
RATE_LIMIT = 1000  # frames/s per camera: checked for every frame, never reached


def jpeg_of_about(target: int = 100 * 1024) -> bytes:
    """A 1280x720 camera-like JPEG (blurred noise) whose quality is chosen to land near ``target``."""
    image = Image.effect_noise((1280, 720), 90).filter(ImageFilter.GaussianBlur(3)).convert("RGB")
    best = b""
    low, high = 5, 95
    while low <= high:
        quality = (low + high) // 2
        out = io.BytesIO()
        image.save(out, "JPEG", quality=quality)
        data = out.getvalue()
        if not best or abs(len(data) - target) < abs(len(best) - target):
            best = data
        if len(data) < target:
            low = quality + 1
        else:
            high = quality - 1
    return best


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- set-up and tear-down -------------------------------------------------------------------


def create_database(clients: int) -> tuple[str, str, uuid.UUID, str, list[uuid.UUID]]:
    """A migrated database with one org, one device token and ``clients`` cameras."""
    name = f"vigia_bench_ingest_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    try:
        subprocess.run([sys.executable, "-m", "vigia.control", "migrate", "--no-input", "-v", "0"], check=True,
                       env={**os.environ, "VIGIA_DATABASE_URL": url}, cwd=ROOT, capture_output=True)
        now = datetime.now(UTC)
        org, device = uuid.uuid4(), uuid.uuid4()
        token = new_device_token()
        camera_ids = [uuid.uuid4() for _ in range(clients)]
        engine = make_engine(url, pool_size=1)
        try:
            _insert_rows(engine, org, device, token, camera_ids, now)
        finally:
            engine.dispose()
    except BaseException:
        drop_database(name)
        raise
    return name, url, org, token.token, camera_ids


def _insert_rows(engine: Any, org: uuid.UUID, device: uuid.UUID, token: Any, camera_ids: list[uuid.UUID],
                 now: datetime) -> None:
    common: dict[str, Any] = {"location": "", "site": "", "version": 1, "created_at": now, "updated_at": now}
    with engine.begin() as conn:
        conn.execute(insert(organizations).values(id=org, name="bench", slug=f"bench-{org.hex[:8]}",
                                                  settings={}, created_at=now))
        conn.execute(insert(devices).values(id=device, org_id=org, name="bench", kind="camera", status="ON",
                                            reporting_interval=1.0, config={}, **common))
        conn.execute(insert(device_credentials).values(id=uuid.uuid4(), org_id=org, device_id=device,
                                                       prefix=token.prefix, token_hash=token.token_hash,
                                                       created_at=now))
        for camera in camera_ids:
            conn.execute(insert(cameras).values(id=camera, org_id=org, name=f"cam {camera}", rtsp_url_encrypted="x",
                                                fps=1.0, zones=[], enabled=True, status="online", **common))


def drop_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def setup_vhost(vhost: str, settings: BrokerSettings) -> str:
    import aio_pika

    async with httpx.AsyncClient(base_url=MANAGEMENT, auth=("guest", "guest"), timeout=30) as client:
        (await client.put(f"/api/vhosts/{quote(vhost, safe='')}")).raise_for_status()
        (await client.put(f"/api/permissions/{quote(vhost, safe='')}/guest",
                          json={"configure": ".*", "write": ".*", "read": ".*"})).raise_for_status()
    url = f"amqp://guest:guest@{AMQP_HOST}:5672/{quote(vhost, safe='')}"
    connection = await aio_pika.connect(url)
    async with connection:
        await declare_topology(await connection.channel(), settings)
    return url


async def delete_vhost(vhost: str) -> None:
    async with httpx.AsyncClient(base_url=MANAGEMENT, auth=("guest", "guest"), timeout=30) as client:
        await client.delete(f"/api/vhosts/{quote(vhost, safe='')}")


def wait_ready(port: int, proc: subprocess.Popen[bytes], workers: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("gateway exited during start-up")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200 \
                    and len(psutil.Process(proc.pid).children()) >= (workers if workers > 1 else 0):
                time.sleep(1.0)  # let every worker finish connecting, not just the one that answered
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError("gateway not ready")


# --- load processes (this script re-run with --load) ---------------------------------------


def summarize(latencies: list[float], seconds: float) -> dict[str, float]:
    ordered = sorted(latencies)
    if not ordered:
        return {"fps": 0.0, "p50_ms": 0.0, "p99_ms": 0.0}
    return {"fps": round(len(ordered) / seconds, 1),
            "p50_ms": round(ordered[len(ordered) // 2] * 1000, 2),
            "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 2)}


class Window:
    """Counts only what starts and completes inside the measured window; ``start`` and ``end`` are
    ``time.monotonic()`` instants (the clock is system-wide, so every process shares the window)."""

    def __init__(self, start: float, end: float) -> None:
        self.start = start
        self.end = end
        self.latencies: list[float] = []
        self.errors: dict[str, int] = {}
        self.cpu_s = 0.0

    def running(self) -> bool:
        return time.monotonic() < self.end

    def record(self, started: float, ok: bool, what: str = "") -> None:
        done = time.monotonic()
        if self.start <= started and done <= self.end:
            if ok:
                self.latencies.append(done - started)
            else:
                self.errors[what] = self.errors.get(what, 0) + 1

    async def meter_cpu(self) -> None:
        """This process's CPU time between ``start`` and ``end``."""
        await asyncio.sleep(max(0.0, self.start - time.monotonic()))
        before = time.process_time()
        await asyncio.sleep(max(0.0, self.end - time.monotonic()))
        self.cpu_s = time.process_time() - before


async def http_connection(port: int, token: str, camera: str, body: bytes, window: Window) -> None:
    """One keep-alive connection POSTing a prebuilt request and reading each answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = (f"POST /api/v1/frames?camera={camera} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               f"Authorization: Bearer {token}\r\nContent-Type: image/jpeg\r\n"
               f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    try:
        while window.running():
            started = time.monotonic()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            window.record(started, status == 202, str(status))
    finally:
        writer.close()


async def amqp_publisher(amqp_url: str, org: str, cameras_: list[str], body: bytes, window: Window) -> None:
    """One connection and confirmed channel; one publishing task per camera."""
    import aio_pika

    from vigia.common.broker import frame_message
    from vigia.common.messages import FrameCaptured, make

    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        exchange = await channel.get_exchange("vigia.frames", ensure=False)

        async def publish(camera: str) -> None:
            key = f"frame.{org}.{camera}"
            while window.running():
                envelope = make("frame.captured", org, "bench", FrameCaptured(camera=uuid.UUID(camera),
                                                                              width=1280, height=720))
                started = time.monotonic()
                await exchange.publish(frame_message(envelope, body), key, mandatory=True)
                window.record(started, True)

        await asyncio.gather(*(publish(camera) for camera in cameras_))


async def load(config: dict[str, Any], body: bytes) -> dict[str, Any]:
    window = Window(config["start"], config["end"])
    meter = asyncio.create_task(window.meter_cpu())
    if config["mode"] == "http":
        await asyncio.gather(*(http_connection(config["port"], config["token"], camera, body, window)
                               for camera in config["cameras"]))
    else:
        await amqp_publisher(config["amqp_url"], config["org"], config["cameras"], body, window)
    await meter
    return {"latencies": window.latencies, "errors": window.errors, "cpu_s": window.cpu_s}


def load_main() -> None:
    import uvloop

    config = json.loads(sys.stdin.read())
    Path(config["out"]).write_text(json.dumps(uvloop.run(load(config, Path(config["body"]).read_bytes()))))


def run_load(mode: str, procs: int, cameras_: list[uuid.UUID], seconds: float, **config: Any) -> dict[str, Any]:
    """Runs ``procs`` load processes over ``cameras_`` (one connection or publishing task each);
    merges their results."""
    start = time.monotonic() + START_DELAY_S + WARMUP_S
    end = start + seconds
    children = []
    results = tempfile.mkdtemp(prefix="bench-ingest-frames-")
    for index in range(procs):
        share = [str(c) for c in cameras_[index::procs]]
        if not share:
            continue
        out = Path(results) / f"load-{index}.json"
        child = subprocess.Popen([sys.executable, __file__, "--load"], stdin=subprocess.PIPE, cwd=ROOT)
        assert child.stdin is not None
        child.stdin.write(json.dumps({"mode": mode, "cameras": share, "start": start, "end": end,
                                      "out": str(out), **config}).encode())
        child.stdin.close()
        children.append((child, out))
    return {"start": start, "end": end, "children": children, "results": results}


def collect(load: dict[str, Any], seconds: float) -> dict[str, Any]:
    latencies: list[float] = []
    errors: dict[str, int] = {}
    cpu_s = 0.0
    for child, out in load["children"]:
        if child.wait() != 0:
            raise RuntimeError("a load process failed")
        result = json.loads(out.read_text())
        latencies += result["latencies"]
        cpu_s += result["cpu_s"]
        for what, count in result["errors"].items():
            errors[what] = errors.get(what, 0) + count
    shutil.rmtree(load["results"], ignore_errors=True)
    return {**summarize(latencies, seconds), "frames": len(latencies), "errors": errors, "cpu_s": cpu_s}


# --- CPU of the other processes ------------------------------------------------------------


def cpu_seconds(processes: list[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def broker_processes() -> list[psutil.Process]:
    return [p for p in psutil.process_iter(["name"]) if p.info["name"] in ("beam.smp", "redis-server")]


def metered(processes: dict[str, list[psutil.Process]], start: float, end: float) -> dict[str, float]:
    """CPU seconds of each group of processes between the monotonic instants ``start`` and ``end``."""
    time.sleep(max(0.0, start - time.monotonic()))
    before = {name: cpu_seconds(group) for name, group in processes.items()}
    time.sleep(max(0.0, end - time.monotonic()))
    return {name: cpu_seconds(group) - before[name] for name, group in processes.items()}


def rate_limit_calls_per_frame(port: int) -> float | None:
    """Rate-limit Redis calls per accepted frame, from the /metrics of the worker that answers."""
    values: dict[str, float] = {}
    for line in httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text.splitlines():
        for name in ("vigia_frames_rate_limit_redis_calls_total", "vigia_frames_accepted_total"):
            if line.startswith(name + " "):
                values[name] = float(line.split()[1])
    accepted = values.get("vigia_frames_accepted_total")
    return round(values.get("vigia_frames_rate_limit_redis_calls_total", 0) / accepted, 3) if accepted else None


def per_frame_ms(cpu_s: float, frames: int) -> float | None:
    return round(cpu_s * 1000 / frames, 3) if frames else None


# --- the run ---------------------------------------------------------------------------------


def profile_workers(workers: list[psutil.Process], seconds: float, directory: Path) -> list[subprocess.Popen[bytes]]:
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    directory.mkdir(parents=True, exist_ok=True)
    return [subprocess.Popen([spy, "record", "-p", str(w.pid), "-d", str(int(seconds)), "-r", "200", "-f", "raw",
                              "-o", str(directory / f"worker-{w.pid}.txt")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for w in workers]


def measure(args: argparse.Namespace, body_path: str, port: int, proc: subprocess.Popen[bytes], token: str,
            amqp_url: str, org: uuid.UUID, camera_ids: list[uuid.UUID]) -> dict[str, Any]:
    gateway_procs = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
    workers = gateway_procs[1:] or gateway_procs
    brokers = broker_processes()
    rabbit = [p for p in brokers if p.info["name"] == "beam.smp"]
    redis_procs = [p for p in brokers if p.info["name"] == "redis-server"]

    gateway_load = run_load("http", args.client_procs, camera_ids, args.seconds, port=port, token=token,
                            body=body_path)
    spies = []
    if args.profile:
        time.sleep(max(0.0, gateway_load["start"] - time.monotonic()))
        spies = profile_workers(workers, args.seconds, Path(args.profile))
    per_worker_before = [cpu_seconds([w]) for w in workers]
    cpu = metered({"gateway": gateway_procs, "rabbitmq": rabbit, "redis": redis_procs},
                  gateway_load["start"], gateway_load["end"])
    per_worker = [round(cpu_seconds([w]) - b, 2) for w, b in zip(workers, per_worker_before, strict=True)]
    gateway = collect(gateway_load, args.seconds)
    calls = rate_limit_calls_per_frame(port)
    for spy in spies:
        spy.wait()

    raw_load = run_load("amqp", args.raw_procs, camera_ids, args.seconds, amqp_url=amqp_url, org=str(org),
                        body=body_path)
    raw_cpu = metered({"rabbitmq": rabbit}, raw_load["start"], raw_load["end"])
    raw = collect(raw_load, args.seconds)
    return {"gateway": gateway, "gateway_cpu": cpu, "rate_limit_calls": calls, "per_worker_cpu_s": per_worker,
            "raw": raw, "raw_cpu": raw_cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--client-procs", type=int, default=2)
    parser.add_argument("--raw-procs", type=int, default=1)
    parser.add_argument("--profile", metavar="DIR", help="py-spy raw profiles of the workers go here")
    parser.add_argument("--load", action="store_true", help=argparse.SUPPRESS)  # internal: a load process
    args = parser.parse_args()
    if args.load:
        load_main()
        return

    body = jpeg_of_about()
    body_file = tempfile.NamedTemporaryFile(suffix=".jpg")  # noqa: SIM115 - closed in finally
    body_file.write(body)
    body_file.flush()
    settings = BrokerSettings(frames_max_length=FRAMES_MAX_LENGTH)
    vhost = f"bench-ingest-{uuid.uuid4().hex[:8]}"
    amqp_url = asyncio.run(setup_vhost(vhost, settings))
    try:
        db_name, db_url, org, token, camera_ids = create_database(args.concurrency)
    except BaseException:
        asyncio.run(delete_vhost(vhost))
        raise
    port = free_port()
    env = {**os.environ, "VIGIA_ENV": "development", "VIGIA_DATABASE_URL": db_url, "VIGIA_AMQP_URL": amqp_url,
           "VIGIA_REDIS_URL": os.environ.get("VIGIA_TEST_REDIS_URL", "redis://127.0.0.1:6379/15"),
           "VIGIA_INGEST_FRAMES_HOST": "127.0.0.1", "VIGIA_INGEST_FRAMES_PORT": str(port),
           "VIGIA_INGEST_FRAMES_WORKERS": str(args.workers), "VIGIA_FRAMES_MAX_LENGTH": str(FRAMES_MAX_LENGTH),
           "VIGIA_FRAME_RATE_LIMIT": str(RATE_LIMIT), "VIGIA_LOG_LEVEL": "WARNING"}
    log = tempfile.TemporaryFile()  # noqa: SIM115 - outlives the try block below, closed in finally
    proc = subprocess.Popen([sys.executable, "-m", "vigia.ingest_frames"], env=env, cwd=ROOT,
                            stdout=log, stderr=subprocess.STDOUT)
    load_before = os.getloadavg()
    try:
        wait_ready(port, proc, args.workers)
        result = measure(args, body_file.name, port, proc, token, amqp_url, org, camera_ids)
    except BaseException:
        log.seek(0)
        sys.stderr.write(log.read()[-5000:].decode(errors="replace"))
        raise
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        asyncio.run(delete_vhost(vhost))
        drop_database(db_name)
        log.close()
        body_file.close()
    load_after = os.getloadavg()
    gateway, raw = result["gateway"], result["raw"]
    print(orjson.dumps({
        "bench": "ingest_frames",
        "frame_bytes": len(body),
        "seconds": args.seconds,
        "concurrency": args.concurrency,
        "workers": args.workers,
        "client_procs": args.client_procs,
        "raw_procs": args.raw_procs,
        "cpus": os.cpu_count(),
        "gateway_fps": gateway["fps"],
        "gateway_p50_ms": gateway["p50_ms"],
        "gateway_p99_ms": gateway["p99_ms"],
        "gateway_errors": gateway["errors"],
        "gateway_cpu_ms_per_frame": per_frame_ms(result["gateway_cpu"]["gateway"], gateway["frames"]),
        "gateway_worker_cpu_s": result["per_worker_cpu_s"],
        "client_cpu_ms_per_frame": per_frame_ms(gateway["cpu_s"], gateway["frames"]),
        "rabbitmq_cpu_ms_per_frame": per_frame_ms(result["gateway_cpu"]["rabbitmq"], gateway["frames"]),
        "redis_cpu_ms_per_frame": per_frame_ms(result["gateway_cpu"]["redis"], gateway["frames"]),
        "redis_calls_per_frame": result["rate_limit_calls"],
        "raw_fps": raw["fps"],
        "raw_p50_ms": raw["p50_ms"],
        "raw_p99_ms": raw["p99_ms"],
        "raw_cpu_ms_per_frame": per_frame_ms(raw["cpu_s"], raw["frames"]),
        "raw_rabbitmq_cpu_ms_per_frame": per_frame_ms(result["raw_cpu"]["rabbitmq"], raw["frames"]),
        "ratio": round(gateway["fps"] / raw["fps"], 3) if raw["fps"] else None,
        "cpu_ratio": (round(raw["cpu_s"] / raw["frames"] / (result["gateway_cpu"]["gateway"] / gateway["frames"]), 3)
                      if raw["frames"] and gateway["frames"] and result["gateway_cpu"]["gateway"] else None),
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in load_after],
        "target_fps": 2000,
        "target_ratio": 0.4,
    }).decode())


if __name__ == "__main__":
    main()
