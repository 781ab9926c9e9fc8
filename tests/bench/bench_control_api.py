"""Control API under open-loop load on 1 M detections and 1 M passages: do a control room's lists and
plate searches come back on time?

    python tests/bench/bench_control_api.py [--rate 300] [--duration 20] [--warmup 5]
        [--connections 64] [--mix list_latest=1,list_camera=1,list_since=1,plate_search=1,passage_search=1]
        [--rows 1000000] [--passages 1000000] [--load-procs 1] [--workers W] [--threads T] [--profile DIR]
        [--fresh] [--in-process N]

Goal (issue 10, and issue 12 for passages): at >= 300 requests/s, p95 < 50 ms for the list
endpoints and p95 < 100 ms for the tolerant plate searches (detections, passages, a plate's
history), on 1 M detections, 1 M passages and 2 cores.

Keeps the database ``vigia_bench_api`` between runs (migrated by the control plane's ``migrate``
through tests/support/databases.py; the detections are loaded with COPY once, ``--fresh`` reloads
them), starts the API with the uWSGI command line of ``python -m vigia.control serve`` (its
default workers and threads unless told otherwise) on a free port, and signs in with a real RS256
access token.

The load is OPEN-LOOP, like wrk2: ``--load-procs`` separate processes (asyncio on uvloop, raw
HTTP/1.1 on keep-alive connections) send request i at ``start + i / rate`` whatever the server
does; a request whose moment comes while every one of the ``--connections`` connections is busy
waits for one, and each latency runs from the request's SCHEDULED moment to the last byte of its
answer, so a server that falls behind shows it in the percentiles (no coordinated omission). The
requests are drawn with the ``--mix`` weights from:

* ``list_latest``:  ``/api/v1/detections/`` (the console's first page)
* ``list_camera``:  ``/api/v1/detections/?camera=<one of 20 cameras>``
* ``list_since``:   ``/api/v1/detections/?since=<a random moment of the last 30 days>``
* ``plate_search``: ``/api/v1/detections/search?plate=<a stored plate with one OCR confusion>``
* ``passage_search``: ``/api/v1/passages/search?plate=<a stored plate with one OCR confusion>``
  (tolerant search over passages, ranked, with sightings; each one also writes its audit row)
* ``plate_history``: ``/api/v1/plates/<a stored plate>/history`` (not in the default mix)

Passages (``--passages``, loaded with COPY once like the detections): 20 cameras, 30 days, plates
drawn from the same 20 000 (about 50 passages each), 1 % marked by a deny watch-list.

Prints ONE JSON line: the achieved rate (answers of the measured window per second), p50/p95/p99
and max per endpoint, errors, the CPU milliseconds per request of the API workers, of the
PostgreSQL backends serving them and of the load generator (these depend far less than latencies on
what else runs on the machine), the load average before and after, and the ratio of each figure to
the goal (< 1 meets it for latencies, >= 1 for the rate). ``--profile DIR`` records a py-spy profile
of every API worker over the measured window, sampling the thread that holds the GIL (where the
CPU goes, not the waits on the database; ``pip install py-spy``).

``--in-process N`` measures instead the API's own CPU per request of EACH scenario, without a server
nor a load generator: N requests of each scenario (drawn as the load draws them) through the WSGI
application a uWSGI worker serves (``vigia.control.wsgi``) loaded in this process, three rounds,
the thread's CPU time per request (median and least of the rounds) and the mix-weighted mean, and
the CPU per request of the PostgreSQL backend that served them (``postgres_median``). On a
shared, loaded machine this moves far less than the open-loop figures, so it is the figure to compare
two versions of the API with.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

DB_NAME = os.environ.get("VIGIA_BENCH_DB", "vigia_bench_api")
CAMERAS = [uuid.UUID(int=0xBE7C0000_0000_7000_8000_000000000000 + i) for i in range(20)]
ORG_SLUG = "bench"
ADMIN_EMAIL = "bench-admin@bench.example.com"
DAYS = 30
DISTINCT_PLATES = 20_000
CONFUSIONS = {"O": "D", "D": "O", "0": "O", "1": "I", "I": "1", "8": "B", "B": "8", "5": "S", "S": "5",
              "2": "Z", "Z": "2", "6": "G", "G": "6"}
GOAL = {"rate": 300, "list_p95_ms": 50, "plate_p95_ms": 100}
SCENARIOS = ("list_latest", "list_camera", "list_since", "plate_search", "passage_search", "plate_history")
DEFAULT_MIX = "list_latest=1,list_camera=1,list_since=1,plate_search=1,passage_search=1"
PLATE_SCENARIOS = ("plate_search", "passage_search", "plate_history")
WATCHLIST = uuid.UUID(int=0xBE7C0000_0000_7000_8000_0000000000FF)
START_DELAY_S = 2.0  # lets every load process start and connect before the first scheduled request
DRAIN_S = 30.0  # after the last scheduled request, answers still missing this long are errors
LATE_SEND_S = 0.010  # a request sent this much after its moment waited for a free connection


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# --- data ------------------------------------------------------------------------------------


def plate(rng: random.Random) -> str:
    letters, digits = string.ascii_uppercase, string.digits
    return ("".join(rng.choices(letters, k=3)) + rng.choice(digits) + rng.choice(letters)
            + "".join(rng.choices(digits, k=2)))


def confused(text: str, rng: random.Random) -> str:
    """``text`` with one character swapped for its usual OCR confusion (O/D, 1/I, 8/B...)."""
    spots = [i for i, ch in enumerate(text) if ch in CONFUSIONS]
    if not spots:
        return text
    i = rng.choice(spots)
    return text[:i] + CONFUSIONS[text[i]] + text[i + 1:]


def prepare_database(fresh: bool) -> str:
    """The bench database, migrated; ``fresh`` drops it first."""
    import psycopg

    from tests.support.databases import SERVER, migrated_database

    if fresh:
        with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
    return migrated_database(DB_NAME)


def prepare_tenant() -> tuple[uuid.UUID, str]:
    """The bench org, its admin and an access token issued the same way sign-in does."""
    from vigia.control.core.choices import Role
    from vigia.control.tenancy.models import Organization, User
    from vigia.control.tenancy.tokens import issue_access_token

    org, _ = Organization.objects.get_or_create(slug=ORG_SLUG, defaults={"name": "Bench"})
    user = User.objects.filter(email=ADMIN_EMAIL).first()
    if user is None:
        user = User.objects.create_user(ADMIN_EMAIL, org=org, password=uuid.uuid4().hex, role=Role.ADMIN)
    token, _ = issue_access_token(user)
    return org.id, token


def copy_rows(url: str, table: str, org_id: uuid.UUID, rows: int, columns: str,
              make_rows: Callable[[], Iterator[tuple[Any, ...]]]) -> None:
    """COPY ``rows`` rows of ``org_id`` into ``table`` (``make_rows`` yields them, in ``columns``'
    order) unless the org already has that many; the table's indexes other than its constraints'
    are dropped during the load and rebuilt after it, then the table is analysed."""
    import psycopg

    with psycopg.connect(url) as conn:
        have = conn.execute(f"SELECT count(*) FROM {table} WHERE org_id = %s", [org_id]).fetchone()
        if have and have[0] >= rows:
            log(f"reusing {have[0]} {table} rows")
            return
        conn.execute(f"DELETE FROM {table} WHERE org_id = %s", [org_id])
        indexes = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)",
            [table, table]).fetchall()
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        started = time.perf_counter()
        with conn.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in make_rows():
                copy.write_row(row)
        log(f"copied {rows} {table} rows in {time.perf_counter() - started:.1f}s; rebuilding indexes")
        started = time.perf_counter()
        for _, definition in indexes:
            conn.execute(definition)
        conn.commit()
        conn.autocommit = True
        conn.execute(f"VACUUM ANALYZE {table}")
        log(f"indexes rebuilt and analysed in {time.perf_counter() - started:.1f}s")


def load_detections(url: str, org_id: uuid.UUID, rows: int, plates: list[str]) -> None:
    """``rows`` detections of the last 30 days (80 % of the vehicles with a plate), see :func:`copy_rows`."""
    from psycopg.types.json import Jsonb

    rng = random.Random(42)
    now = datetime.now(UTC)
    labels = ["car"] * 6 + ["truck", "motorcycle", "person", "person"]
    span = DAYS * 86400

    def make_rows() -> Iterator[tuple[Any, ...]]:
        for _ in range(rows):
            label = rng.choice(labels)
            moment = now - timedelta(seconds=rng.random() * span)
            has_plate = label != "person" and rng.random() < 0.8
            yield (uuid.uuid4(), org_id, rng.choice(CAMERAS), uuid.uuid4(), moment, label,
                   round(0.4 + rng.random() * 0.6, 3),
                   Jsonb({"x1": 10, "y1": 20, "x2": 200, "y2": 160}),
                   rng.choice(plates) if has_plate else None,
                   round(0.5 + rng.random() * 0.5, 3) if has_plate else None,
                   None, moment)

    copy_rows(url, "detections", org_id, rows, "id, org_id, camera_id, frame_id, time, label, confidence, box, "
              "plate_text, plate_confidence, track, received_at", make_rows)


def load_passages(url: str, org_id: uuid.UUID, rows: int, plates: list[str]) -> None:
    """``rows`` passages of the last 30 days (1 % on a deny list), see :func:`copy_rows`."""
    from psycopg.types.json import Jsonb

    from vigia.common.plates import look_alike_key

    rng = random.Random(43)
    now = datetime.now(UTC)
    labels = ["car"] * 7 + ["truck", "motorcycle", "bus"]
    span = DAYS * 86400
    match = Jsonb([{"watchlist": str(WATCHLIST), "name": "stolen", "kind": "deny", "plate": "", "label": "",
                    "exact": True}])

    def make_rows() -> Iterator[tuple[Any, ...]]:
        for n in range(rows):
            camera = rng.choice(CAMERAS)
            first = now - timedelta(seconds=rng.random() * span)
            last = first + timedelta(seconds=1 + rng.random() * 20)
            text = rng.choice(plates)
            listed = rng.random() < 0.01
            yield (uuid.uuid4(), org_id, camera, f"site-{CAMERAS.index(camera) % 5}", f"v{n}", first, last,
                   rng.choice(labels), text, look_alike_key(text), round(0.6 + rng.random() * 0.4, 3),
                   rng.randint(2, 4), 2, Jsonb([]), f"{org_id}/{camera}/crop.jpg", f"{org_id}/{camera}/frame.jpg",
                   True, [WATCHLIST] if listed else [], match if listed else Jsonb([]), last, last, last)

    copy_rows(url, "passages", org_id, rows, "id, org_id, camera_id, site, visit, first_seen, last_seen, label, "
              "plate_text, plate_folded, confidence, votes, agreeing, runner_ups, crop_key, snapshot_key, final, "
              "watchlist_ids, watchlist_matches, message_time, received_at, updated_at", make_rows)


def request_plan(rng: random.Random, plates: list[str], mix: dict[str, float], count: int) -> list[tuple[str, str]]:
    """``count`` (scenario, path) pairs drawn with the ``mix`` weights."""
    now = datetime.now(UTC)

    def path(scenario: str) -> str:
        if scenario == "list_latest":
            return "/api/v1/detections/"
        if scenario == "list_camera":
            return f"/api/v1/detections/?camera={rng.choice(CAMERAS)}"
        if scenario == "list_since":
            moment = now - timedelta(seconds=rng.random() * DAYS * 86400)
            return "/api/v1/detections/?since=" + moment.isoformat().replace("+00:00", "Z")
        if scenario == "passage_search":
            return f"/api/v1/passages/search?plate={confused(rng.choice(plates), rng)}"
        if scenario == "plate_history":
            return f"/api/v1/plates/{rng.choice(plates)}/history"
        return f"/api/v1/detections/search?plate={confused(rng.choice(plates), rng)}"

    names = list(mix)
    picks = rng.choices(names, weights=[mix[n] for n in names], k=count)
    return [(name, path(name)) for name in picks]


# --- the API server --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(url: str, port: int, workers: int, threads: int) -> subprocess.Popen[bytes]:
    """The uWSGI command line ``python -m vigia.control serve`` runs, on a local port."""
    from vigia.control.core.management.commands.serve import uwsgi_argv

    env = {**os.environ, "VIGIA_DATABASE_URL": url, "VIGIA_LOG_LEVEL": "WARNING"}
    argv = uwsgi_argv(f"127.0.0.1:{port}", workers, threads, access_log=False)
    # Its log goes to this script's stderr: stdout is the JSON line alone.
    return subprocess.Popen(argv, env=env, cwd=ROOT, start_new_session=True, stdout=sys.stderr)


def wait_ready(port: int, process: subprocess.Popen[bytes], workers: int, timeout: float = 60) -> None:
    import httpx
    import psutil

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the API server exited during start-up")
        try:
            if (httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
                    and len(psutil.Process(process.pid).children()) >= workers):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError("the API server did not become ready")


def _explain(sql: str, params: list[Any], threshold: float | None = None) -> str:
    from django.db import connection, transaction

    from vigia.control.observations.queries import set_similarity_threshold

    with transaction.atomic(), connection.cursor() as cursor:
        if threshold is not None:
            set_similarity_threshold(threshold)
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def plate_plan(org_id: uuid.UUID, query: str) -> str:
    """EXPLAIN of the plate search's detections query, as the view runs it."""
    from vigia.control.observations.plates import plate_search_settings
    from vigia.control.observations.queries import PlateQuery, plate_matches_sql

    threshold = plate_search_settings().plate_similarity_threshold
    return _explain(*plate_matches_sql(org_id, PlateQuery(query, threshold), 50), threshold=threshold)


def passage_plan(org_id: uuid.UUID, query: str) -> str:
    """EXPLAIN of the tolerant passage search's plate query, as the view runs it."""
    from vigia.control.observations.passages import PassageWindow, ranked_plates_sql

    return _explain(*ranked_plates_sql(org_id, query, PassageWindow(), 50))


# --- the open-loop load (this script re-run with --generate) ----------------------------------


async def _answer(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one HTTP/1.1 response (Content-Length or chunked): its status, and whether the server
    closes the connection after it."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length, chunked, close = 0, False, False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
        elif name == b"connection" and b"close" in value.lower():
            close = True
    if not chunked:
        await reader.readexactly(length)
        return status, close
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        await reader.readexactly(size + 2)
        if size == 0:
            return status, close


async def generate(config: dict[str, Any]) -> dict[str, Any]:
    """Send ``config["requests"]`` at their scheduled monotonic instants over a pool of keep-alive
    connections; a record per request: scenario, scheduled, sent and done instants, status."""
    port, token = config["port"], config["token"]
    queue: asyncio.Queue[int | None] = asyncio.Queue()
    requests = config["requests"]  # [offset_s, scenario, path]
    start = config["start"]
    records: list[list[Any]] = [[scenario, start + offset, None, None, "unsent"]
                                for offset, scenario, _ in requests]

    async def connect() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection("127.0.0.1", port)

    async def connection(streams: tuple[asyncio.StreamReader, asyncio.StreamWriter]) -> None:
        reader, writer = streams
        while (index := await queue.get()) is not None:
            record = records[index]
            wire = (f"GET {requests[index][2]} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    f"Authorization: Bearer {token}\r\nAccept: application/json\r\n\r\n").encode()
            record[2] = time.monotonic()
            try:
                if writer.is_closing():  # the server closed it after the previous answer
                    reader, writer = await connect()
                writer.write(wire)
                status, close = await _answer(reader)
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                record[3], record[4] = time.monotonic(), type(exc).__name__
                writer.close()
                continue
            record[3], record[4] = time.monotonic(), status
            if close:
                writer.close()
        writer.close()

    pool = [await connect() for _ in range(config["connections"])]
    workers = [asyncio.create_task(connection(streams)) for streams in pool]
    cpu_before = time.process_time()
    for index, record in enumerate(records):
        delay = record[1] - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait(index)
    for _ in workers:
        queue.put_nowait(None)
    with contextlib.suppress(TimeoutError):  # what is still unanswered then stays an error
        await asyncio.wait_for(asyncio.gather(*workers), timeout=DRAIN_S)
    return {"records": records, "cpu_s": time.process_time() - cpu_before}


def generator_main() -> None:
    import uvloop

    config = json.loads(sys.stdin.read())
    Path(config["out"]).write_text(json.dumps(uvloop.run(generate(config))))


def run_load(port: int, token: str, plan: list[tuple[str, str]], rate: float, procs: int,
             connections: int, directory: Path) -> tuple[float, list[tuple[subprocess.Popen[bytes], Path]]]:
    """Start ``procs`` generator processes sharing ``plan`` (request i at ``start + i / rate``)."""
    start = time.monotonic() + START_DELAY_S
    children = []
    for k in range(procs):
        share = [[i / rate, scenario, path] for i, (scenario, path) in enumerate(plan) if i % procs == k]
        out = directory / f"load-{k}.json"
        child = subprocess.Popen([sys.executable, __file__, "--generate"], stdin=subprocess.PIPE, cwd=ROOT)
        assert child.stdin is not None
        child.stdin.write(json.dumps({"port": port, "token": token, "start": start, "requests": share,
                                      "connections": max(1, connections // procs), "out": str(out)}).encode())
        child.stdin.close()
        children.append((child, out))
    return start, children


# --- measurement -----------------------------------------------------------------------------


def cpu_seconds(processes: list[Any]) -> float:
    import psutil

    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def database_backends() -> list[Any]:
    """PostgreSQL backends connected to the bench database (their title names it)."""
    import psutil

    found = []
    for process in psutil.process_iter(["name", "cmdline"]):
        title = " ".join(process.info["cmdline"] or [])
        if title.startswith("postgres:") and f" {DB_NAME} " in f"{title} ":
            found.append(process)
    return found


def profile_workers(workers: list[Any], seconds: float, directory: Path) -> list[subprocess.Popen[bytes]]:
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    directory.mkdir(parents=True, exist_ok=True)
    return [subprocess.Popen([spy, "record", "-p", str(w.pid), "-d", str(max(1, int(seconds))), "-r", "100", "--gil",
                              "-f", "raw", "-o", str(directory / f"worker-{w.pid}.txt")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for w in workers]


def percentile(ordered: list[float], p: float) -> float | None:
    if not ordered:
        return None
    return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000, 1)


def summarise(records: list[list[Any]], window: tuple[float, float]) -> dict[str, Any]:
    """Per-scenario latency (scheduled -> answered) of the requests scheduled inside ``window``."""
    begin, end = window
    measured = [r for r in records if begin <= r[1] < end]
    by_scenario: dict[str, dict[str, Any]] = {}
    for name in sorted({r[0] for r in measured}):
        rows = [r for r in measured if r[0] == name]
        ok = sorted(r[3] - r[1] for r in rows if r[4] == 200)
        errors: dict[str, int] = {}
        for r in rows:
            if r[4] != 200:
                errors[str(r[4])] = errors.get(str(r[4]), 0) + 1
        by_scenario[name] = {"requests": len(rows), "p50_ms": percentile(ok, 0.50), "p95_ms": percentile(ok, 0.95),
                             "p99_ms": percentile(ok, 0.99), "max_ms": percentile(ok, 1.0), "errors": errors}
    answered = [r for r in measured if r[4] == 200]
    last = max((r[3] for r in answered), default=end)
    late = sum(1 for r in measured if r[2] is None or r[2] - r[1] > LATE_SEND_S)
    served = sum(1 for r in records if r[3] is not None and begin <= r[3] < end)  # for CPU per request
    return {"scenarios": by_scenario, "answered": len(answered), "measured": len(measured),
            "errors": len(measured) - len(answered), "span_s": max(end, last) - begin,
            "late_sends": late, "served_in_window": served}


def measure(args: argparse.Namespace, port: int, server: subprocess.Popen[bytes], token: str,
            plan: list[tuple[str, str]]) -> dict[str, Any]:
    import psutil

    workers = psutil.Process(server.pid).children()
    api = [psutil.Process(server.pid), *workers]
    with tempfile.TemporaryDirectory(prefix="bench-control-api-") as tmp:
        start, children = run_load(port, token, plan, args.rate, args.load_procs, args.connections, Path(tmp))
        window = (start + args.warmup, start + args.warmup + args.duration)
        time.sleep(max(0.0, window[0] - time.monotonic()))
        spies = profile_workers(workers, args.duration, Path(args.profile)) if args.profile else []
        backends = database_backends()
        before = {"api": cpu_seconds(api), "postgres": cpu_seconds(backends)}
        time.sleep(max(0.0, window[1] - time.monotonic()))
        cpu = {"api": cpu_seconds(api) - before["api"], "postgres": cpu_seconds(backends) - before["postgres"]}
        records: list[list[Any]] = []
        generator_cpu = 0.0
        for child, out in children:
            if child.wait() != 0:
                raise RuntimeError("a load process failed")
            result = json.loads(out.read_text())
            records += result["records"]
            generator_cpu += result["cpu_s"] * args.duration / (args.warmup + args.duration)
        for spy in spies:
            spy.wait()
    summary = summarise(records, window)
    cpu["load_generator"] = generator_cpu
    return {**summary, "cpu": cpu}


# --- in process: CPU per request of each scenario -------------------------------------------


def in_process(token: str, plates: list[str], mix: dict[str, float], count: int, rounds: int = 3) -> dict[str, Any]:
    """Thread CPU milliseconds per request of each scenario of ``mix``, through the WSGI application
    a worker serves, in this process (middleware, routing, authentication, the queries, rendering:
    everything a worker does but HTTP parsing)."""
    import io
    import statistics

    from vigia.control.wsgi import application  # as a worker loads it (its heap frozen out of the collector)

    def call(path: str) -> None:
        route, _, query = path.partition("?")
        environ = {"REQUEST_METHOD": "GET", "PATH_INFO": route, "QUERY_STRING": query, "SERVER_NAME": "127.0.0.1",
                   "SERVER_PORT": "80", "HTTP_HOST": "127.0.0.1", "HTTP_ACCEPT": "application/json",
                   "HTTP_AUTHORIZATION": f"Bearer {token}", "REMOTE_ADDR": "127.0.0.1",
                   "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.input": io.BytesIO(b""), "wsgi.url_scheme": "http",
                   "wsgi.errors": sys.stderr}
        statuses: list[str] = []
        body = b"".join(application(environ, lambda status, headers, *_: statuses.append(status)))
        if not statuses[0].startswith("200"):
            raise RuntimeError(f"{path}: {statuses[0]} {body[:200]!r}")

    plans = {name: [p for _, p in request_plan(random.Random(7), plates, {name: 1}, count)] for name in mix}
    for paths in plans.values():
        for path in paths[:20]:  # warm: imports, caches, the connection
            call(path)
    spent: dict[str, list[float]] = {name: [] for name in plans}
    backend_spent: dict[str, list[float]] = {name: [] for name in plans}
    for _ in range(rounds):
        for name, paths in plans.items():
            backend = _backend()
            backend_before = sum(backend.cpu_times()[:2])
            started = time.thread_time()
            for path in paths:
                call(path)
            spent[name].append((time.thread_time() - started) * 1000 / len(paths))
            if _backend().pid != backend.pid:
                raise RuntimeError("the API's database connection changed during a round")
            backend_spent[name].append((sum(backend.cpu_times()[:2]) - backend_before) * 1000 / len(paths))
    scenarios = {name: {"median": round(statistics.median(v), 2), "least": round(min(v), 2),
                        "postgres_median": round(statistics.median(backend_spent[name]), 2)}
                 for name, v in spent.items()}
    total = sum(mix.values())
    return {"cpu_ms_per_request": scenarios,
            "mix_mean_ms": round(sum(mix[n] * scenarios[n]["median"] for n in mix) / total, 2),
            "postgres_mix_mean_ms": round(sum(mix[n] * scenarios[n]["postgres_median"] for n in mix) / total, 2)}


def _backend() -> Any:
    """The PostgreSQL backend serving this process's Django connection (opened if need be)."""
    import psutil
    from django.db import connection

    connection.ensure_connection()
    return psutil.Process(connection.connection.info.backend_pid)


# --- the run ---------------------------------------------------------------------------------


def parse_mix(text: str) -> dict[str, float]:
    mix = {}
    for part in text.split(","):
        name, _, weight = part.partition("=")
        if name not in SCENARIOS:
            raise SystemExit(f"--mix: unknown scenario {name!r} (known: {', '.join(SCENARIOS)})")
        mix[name] = float(weight or 1)
    return mix


def main() -> None:
    from vigia.control.core.management.commands.serve import default_threads, default_workers

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=GOAL["rate"], help="Requests per second, on schedule.")
    parser.add_argument("--duration", type=float, default=20, help="Measured seconds.")
    parser.add_argument("--warmup", type=float, default=5, help="Seconds of load before the measured window.")
    parser.add_argument("--connections", type=int, default=64, help="Keep-alive connections in all.")
    parser.add_argument("--mix", type=parse_mix, default=parse_mix(DEFAULT_MIX),
                        help=f"Scenario weights, e.g. {DEFAULT_MIX},plate_history=1")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--passages", type=int, default=1_000_000, help="Passages loaded.")
    parser.add_argument("--load-procs", type=int, default=1, help="Load generator processes.")
    parser.add_argument("--workers", type=int, default=default_workers(), help="API workers (serve's default).")
    parser.add_argument("--threads", type=int, default=default_threads(), help="Threads per worker (serve's default).")
    parser.add_argument("--profile", metavar="DIR", help="py-spy raw profiles of the API workers go here.")
    parser.add_argument("--fresh", action="store_true", help="Drop the bench database and load it again.")
    parser.add_argument("--in-process", type=int, metavar="N", default=0,
                        help="Instead of the load: API CPU per request of each scenario, N requests each, in process.")
    parser.add_argument("--generate", action="store_true", help=argparse.SUPPRESS)  # internal: a load process
    args = parser.parse_args()
    if args.generate:
        generator_main()
        return

    url = prepare_database(args.fresh)
    os.environ["VIGIA_DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vigia.control.settings")
    os.environ.setdefault("VIGIA_LOG_LEVEL", "WARNING")
    import django

    django.setup()
    org_id, token = prepare_tenant()
    rng = random.Random(1)
    plates = sorted({plate(rng) for _ in range(DISTINCT_PLATES)})
    load_detections(url, org_id, args.rows, plates)
    load_passages(url, org_id, args.passages, plates)
    plan_text = plate_plan(org_id, confused(plates[0], rng))
    passage_plan_text = passage_plan(org_id, confused(plates[0], rng))
    if args.in_process:
        loadavg = os.getloadavg()
        print(json.dumps({"bench": "control_api", "load": "in-process", "rows": args.rows, "passages": args.passages,
                          "mix": args.mix, "requests_per_scenario": args.in_process,
                          **in_process(token, plates, args.mix, args.in_process),
                          "loadavg_before": [round(x, 2) for x in loadavg],
                          "loadavg_after": [round(x, 2) for x in os.getloadavg()]}))
        return
    requests = request_plan(rng, plates, args.mix, int(args.rate * (args.warmup + args.duration)))

    port = free_port()
    server = start_server(url, port, args.workers, args.threads)
    loadavg_before = os.getloadavg()
    try:
        wait_ready(port, server, args.workers)
        result = measure(args, port, server, token, requests)
    finally:
        server.send_signal(signal.SIGTERM)  # to uWSGI's master, as docker and Kubernetes stop it
        server.wait(timeout=30)
    loadavg_after = os.getloadavg()

    scenarios = result["scenarios"]
    achieved = result["answered"] / result["span_s"]
    list_p95 = max((scenarios[n]["p95_ms"] or float("inf")) for n in scenarios if n.startswith("list_"))
    plate_p95 = max(((scenarios[n]["p95_ms"] or float("inf")) for n in scenarios if n in PLATE_SCENARIOS),
                    default=float("inf"))
    ratio = {"rate": round(achieved / GOAL["rate"], 3), "list_p95": round(list_p95 / GOAL["list_p95_ms"], 3),
             "plate_p95": round(plate_p95 / GOAL["plate_p95_ms"], 3)}
    served = result["served_in_window"]
    per_request = {name: round(seconds * 1000 / served, 2) if served else None
                   for name, seconds in result["cpu"].items()}
    print(json.dumps({
        "bench": "control_api",
        "load": "open-loop",
        "rows": args.rows,
        "passages": args.passages,
        "target_rate": args.rate,
        "achieved_rate": round(achieved, 1),
        "duration_s": args.duration,
        "connections": args.connections,
        "mix": args.mix,
        "server": {"uwsgi_workers": args.workers, "threads": args.threads, "cpus": os.cpu_count()},
        **scenarios,
        "requests": result["measured"],
        "errors": result["errors"],
        "late_sends": result["late_sends"],
        "cpu_ms_per_request": per_request,
        "plate_plan_uses_gin_index": "detections_plate_trgm" in plan_text,
        "passage_plan_uses_folded_index": "passages_org_plate_folded" in passage_plan_text,
        "loadavg_before": [round(x, 2) for x in loadavg_before],
        "loadavg_after": [round(x, 2) for x in loadavg_after],
        "goal": GOAL,
        "ratio_to_goal": ratio,
        "meets_goal": (ratio["rate"] >= 0.99 and ratio["list_p95"] < 1 and ratio["plate_p95"] < 1
                       and result["errors"] == 0),
    }))


if __name__ == "__main__":
    main()
