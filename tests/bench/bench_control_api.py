"""Control API latency on 1 M detection rows: list endpoints and tolerant plate search.

    python tests/bench/bench_control_api.py [--rows 1000000] [--clients 32] [--duration 15]
                                            [--workers 4] [--threads 1] [--load wrk|httpx] [--fresh]

Creates (or reuses, if it already holds the rows) the database ``vigia_bench``, migrates it,
loads the detections with COPY, starts the control API under gunicorn (gthread) on a free port,
authenticates with a real RS256 access token, then runs ``--clients`` concurrent keep-alive
connections (closed loop, no think time) against each scenario in turn. The load comes from
``wrk`` (C, epoll; ``apt-get install wrk``) with a Lua script that walks a file of pre-generated
URLs, so the load generator takes little of the CPU it shares with the server; without wrk (or
with ``--load httpx``) an asyncio httpx client in this process does the same, at a higher CPU cost:

* ``list_camera``: ``/api/v1/detections/?camera=<one of 20 cameras>``
* ``list_since``:  ``/api/v1/detections/?since=<a random moment of the last 30 days>``
* ``plate_search``: ``/api/v1/detections/search?plate=<a stored plate with one OCR confusion>``

Prints ONE JSON line: p50/p95/p99 (ms) and requests/s per scenario, the targets (list p95 < 50 ms,
plate p95 < 100 ms) and whether the plate query plan uses the GIN trigram index. The client runs
on the same machine as gunicorn and PostgreSQL, so it competes with them for the CPU. In a closed
loop, latency = clients / throughput (Little's law): 32 clients below 50 ms need > 640 requests/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import socket
import statistics
import string
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
from psycopg.types.json import Jsonb

DB_NAME = os.environ.get("VIGIA_BENCH_DB", "vigia_bench")
PG = os.environ.get("VIGIA_BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
DATABASE_URL = f"{PG}/{DB_NAME}"
ROOT = Path(__file__).resolve().parents[2]
CAMERAS = [uuid.UUID(int=0xBE7C0000_0000_7000_8000_000000000000 + i) for i in range(20)]
ORG_SLUG = "bench"
ADMIN_EMAIL = "bench-admin@bench.example.com"
DAYS = 30
CONFUSIONS = {"O": "D", "D": "O", "0": "O", "1": "I", "I": "1", "8": "B", "B": "8", "5": "S", "S": "5",
              "2": "Z", "Z": "2", "6": "G", "G": "6"}
TARGETS = {"list_p95_ms": 50, "plate_p95_ms": 100}

os.environ["VIGIA_DATABASE_URL"] = DATABASE_URL
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vigia.control.settings")
os.environ.setdefault("VIGIA_LOG_LEVEL", "WARNING")


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def ensure_database(fresh: bool) -> None:
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]).fetchone()
        if exists and fresh:
            conn.execute(f'DROP DATABASE "{DB_NAME}" WITH (FORCE)')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')


def setup_django() -> None:
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def plate(rng: random.Random) -> str:
    letters, digits = string.ascii_uppercase, string.digits
    return ("".join(rng.choices(letters, k=3)) + rng.choice(digits) + rng.choice(letters)
            + "".join(rng.choices(digits, k=2)))


def load_detections(org_id: uuid.UUID, rows: int, plates: list[str]) -> None:
    """COPY ``rows`` detections of the last 30 days; indexes are dropped during the load and
    rebuilt after it (much faster than maintaining them row by row)."""
    rng = random.Random(42)
    now = datetime.now(UTC)
    with psycopg.connect(DATABASE_URL) as conn:
        have = conn.execute("SELECT count(*) FROM detections WHERE org_id = %s", [org_id]).fetchone()
        if have and have[0] >= rows:
            log(f"reusing {have[0]} detection rows")
            return
        conn.execute("DELETE FROM detections WHERE org_id = %s", [org_id])
        indexes = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'detections' "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = 'detections'::regclass)"
        ).fetchall()
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        started = time.perf_counter()
        labels = ["car"] * 6 + ["truck", "motorcycle", "person", "person"]
        span = DAYS * 86400
        columns = ("id, org_id, camera_id, frame_id, time, label, confidence, box, plate_text, "
                   "plate_confidence, track, received_at")
        with conn.cursor() as cursor, cursor.copy(f"COPY detections ({columns}) FROM STDIN") as copy:
            for _ in range(rows):
                label = rng.choice(labels)
                moment = now - timedelta(seconds=rng.random() * span)
                has_plate = label != "person" and rng.random() < 0.8
                copy.write_row((
                    uuid.uuid4(), org_id, rng.choice(CAMERAS), uuid.uuid4(), moment, label,
                    round(0.4 + rng.random() * 0.6, 3),
                    Jsonb({"x1": 10, "y1": 20, "x2": 200, "y2": 160}),
                    rng.choice(plates) if has_plate else None,
                    round(0.5 + rng.random() * 0.5, 3) if has_plate else None,
                    None, moment))
        log(f"copied {rows} rows in {time.perf_counter() - started:.1f}s; rebuilding indexes")
        started = time.perf_counter()
        for _, definition in indexes:
            conn.execute(definition)
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE detections")
        log(f"indexes rebuilt and analysed in {time.perf_counter() - started:.1f}s")


def prepare_tenant() -> tuple[uuid.UUID, str]:
    """The bench org, its admin and an access token issued the same way login does."""
    from vigia.control.core.choices import Role
    from vigia.control.tenancy.models import Organization, User
    from vigia.control.tenancy.tokens import issue_access_token

    org, _ = Organization.objects.get_or_create(slug=ORG_SLUG, defaults={"name": "Bench"})
    user = User.objects.filter(email=ADMIN_EMAIL).first()
    if user is None:
        user = User.objects.create_user(ADMIN_EMAIL, org=org, password=uuid.uuid4().hex, role=Role.ADMIN)
    token, _ = issue_access_token(user)
    return org.id, token


def plate_plan(org_id: uuid.UUID, query: str) -> str:
    from django.db import transaction

    from vigia.control.observations.plates import plate_search_settings
    from vigia.control.observations.queries import PlateQuery, plate_matches, set_similarity_threshold

    threshold = plate_search_settings().plate_similarity_threshold
    with transaction.atomic():
        set_similarity_threshold(threshold)
        return plate_matches(org_id, PlateQuery(query, threshold)).order_by("-similarity", "-time").explain()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_gunicorn(port: int, workers: int, threads: int) -> subprocess.Popen[bytes]:
    """The same gunicorn command line ``python -m vigia.control serve`` runs, on a local port."""
    from vigia.control.core.management.commands.serve import gunicorn_argv

    env = {**os.environ, "VIGIA_DATABASE_URL": DATABASE_URL, "VIGIA_LOG_LEVEL": "WARNING"}
    argv = gunicorn_argv(f"127.0.0.1:{port}", workers, threads, access_log=False)
    return subprocess.Popen(argv, env=env, cwd=ROOT, start_new_session=True)


def wait_ready(base: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("gunicorn exited during start-up")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError("gunicorn did not become ready")


def confused(text: str, rng: random.Random) -> str:
    spots = [i for i, ch in enumerate(text) if ch in CONFUSIONS]
    if not spots:
        return text
    i = rng.choice(spots)
    return text[:i] + CONFUSIONS[text[i]] + text[i + 1:]


WRK_SCRIPT = """
local paths = {}
local next_path = 0

function init(args)
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
  next_path = math.random(#paths)
end

function request()
  next_path = next_path % #paths + 1
  return wrk.format(nil, paths[next_path])
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"p50_us": %d, "p95_us": %d, "p99_us": %d, "mean_us": %f, "requests": %d, "duration_us": %d, ' ..
    '"errors": %d}\\n', latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.mean,
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout))
end
"""


def wrk_scenario(base: str, token: str, clients: int, duration: float, make_url, warmup: float) -> dict:
    """One scenario with wrk: ``clients`` keep-alive connections, each sending its next request as
    soon as the previous answer arrived, for ``duration`` seconds after ``warmup`` seconds."""
    with tempfile.TemporaryDirectory() as tmp:
        script, paths = Path(tmp, "bench.lua"), Path(tmp, "paths.txt")
        script.write_text(WRK_SCRIPT)
        paths.write_text("\n".join(make_url() for _ in range(20_000)) + "\n")

        def run(seconds: float) -> dict:
            argv = ["wrk", "-t", "2", "-c", str(clients), "-d", f"{max(1, round(seconds))}s",
                    "--timeout", "30s", "-H", f"Authorization: Bearer {token}", "-s", str(script),
                    base + "/", "--", str(paths)]
            out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
            return json.loads(out.strip().splitlines()[-1])

        run(warmup)
        raw = run(duration)
    ms = 1000.0
    return {"p50_ms": round(raw["p50_us"] / ms, 1), "p95_ms": round(raw["p95_us"] / ms, 1),
            "p99_ms": round(raw["p99_us"] / ms, 1), "mean_ms": round(raw["mean_us"] / ms, 1),
            "rps": round(raw["requests"] / (raw["duration_us"] / 1e6), 1), "requests": raw["requests"],
            "errors": raw["errors"]}


async def scenario(base: str, token: str, clients: int, total: int, make_url, warmup: int) -> dict:
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {token}"},
                                 limits=limits, timeout=30) as client:
        async def worker(count: int, record: bool) -> None:
            nonlocal errors
            for _ in range(count):
                url = make_url()
                started = time.perf_counter()
                try:
                    response = await client.get(url)
                except httpx.TransportError:
                    errors += 1  # e.g. a keep-alive connection the server closed: counted, not timed
                    continue
                elapsed = time.perf_counter() - started
                if response.status_code != 200:
                    errors += 1
                elif record:
                    latencies.append(elapsed)

        await asyncio.gather(*(worker(max(1, warmup // clients), False) for _ in range(clients)))
        started = time.perf_counter()
        await asyncio.gather(*(worker(total // clients, True) for _ in range(clients)))
        wall = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 1)

    return {"p50_ms": pct(0.50), "p95_ms": pct(0.95), "p99_ms": pct(0.99),
            "mean_ms": round(statistics.fmean(latencies) * 1000, 1), "rps": round(len(latencies) / wall, 1),
            "requests": len(latencies), "errors": errors}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--load", choices=("wrk", "httpx"), default="wrk" if shutil.which("wrk") else "httpx",
                        help="Load generator (default: wrk when installed).")
    parser.add_argument("--duration", type=float, default=15, help="Measured seconds per scenario (wrk).")
    parser.add_argument("--requests", type=int, default=1600, help="Measured requests per scenario (httpx).")
    parser.add_argument("--warmup", type=int, default=128, help="Warm-up requests (httpx); wrk warms up 3 s.")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--fresh", action="store_true", help="Drop and recreate the bench database.")
    args = parser.parse_args()

    ensure_database(args.fresh)
    setup_django()
    org_id, token = prepare_tenant()
    rng = random.Random(1)
    plates = sorted({plate(rng) for _ in range(20_000)})
    load_detections(org_id, args.rows, plates)
    plan = plate_plan(org_id, confused(plates[0], rng))

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_gunicorn(port, args.workers, args.threads)
    try:
        wait_ready(base, server)
        now = datetime.now(UTC)
        scenarios = {
            "list_camera": lambda: f"/api/v1/detections/?camera={rng.choice(CAMERAS)}",
            "list_since": lambda: "/api/v1/detections/?since="
                                  + (now - timedelta(seconds=rng.random() * DAYS * 86400)).isoformat()
                                  .replace("+00:00", "Z"),
            "plate_search": lambda: f"/api/v1/detections/search?plate={confused(rng.choice(plates), rng)}",
        }
        if args.load == "wrk":
            results = {name: wrk_scenario(base, token, args.clients, args.duration, make_url, 3)
                       for name, make_url in scenarios.items()}
        else:
            results = {name: asyncio.run(scenario(base, token, args.clients, args.requests, make_url,
                                                  args.warmup))
                       for name, make_url in scenarios.items()}
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)

    list_p95 = max(results["list_camera"]["p95_ms"], results["list_since"]["p95_ms"])
    print(json.dumps({
        "bench": "control_api",
        "rows": args.rows,
        "clients": args.clients,
        "server": {"gunicorn_workers": args.workers, "threads": args.threads, "cpus": os.cpu_count()},
        "load": args.load,
        **results,
        "plate_plan_uses_gin_index": "detections_plate_trgm" in plan,
        "targets": TARGETS,
        "meets_targets": {"list": list_p95 < TARGETS["list_p95_ms"],
                          "plate": results["plate_search"]["p95_ms"] < TARGETS["plate_p95_ms"]},
    }))


if __name__ == "__main__":
    main()
