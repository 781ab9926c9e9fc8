"""Fifty camera tiles on one screen (issue #13's budget: "50 camera tiles visible without the page
stalling"), on the local stack in Debian's Chromium.

    python tests/bench/bench_console_tiles.py [--cameras 50] [--fps 5] [--seconds 20] [--size s]

1. A production build of the console; control (serving it) and live with a throwaway migrated
   database, the demo organization and a vhost of its own (tests/console/stack.py).
2. ``--cameras`` cameras made through the API, each fed ``--fps`` JPEGs a second (640x360,
   ffmpeg's test pattern) into its recent-frame Redis stream exactly as vision's ``_keep_recent``
   writes them; live serves them to the tiles (``WS /api/v1/cameras/{id}/frames``).
3. Chromium at 1920x1080 opens ``/cameras?size=<size>`` (small tiles: every camera on screen,
   each asking for at most 2 frames a second), waits until every tile shows a picture, then for
   ``--seconds`` records each picture the tiles load, the long tasks (> 50 ms) and every
   animation frame's interval.

Prints one JSON line: tiles on screen, frames rendered per second per tile (mean, min, max),
long tasks (count, total ms, blocking time: the part of each beyond 50 ms), main-thread stall
(the part of each animation-frame interval beyond 50 ms) and dropped frames (intervals > 25 ms).
Not part of `make test`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
import redis

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.console.node import BIN, CHROMIUM, CONSOLE  # noqa: E402
from tests.console.stack import PASSWORD, REDIS_URL, console_stack  # noqa: E402
from tests.support.databases import throwaway_database  # noqa: E402
from vigia.common.leases import camera_frames_key  # noqa: E402

MANAGEMENT = os.environ.get("VIGIA_TEST_AMQP_MANAGEMENT", "http://127.0.0.1:15672")
AMQP_HOST = os.environ.get("VIGIA_TEST_AMQP_HOST", "127.0.0.1")
DEMO_EMAIL = "admin@demo.vigia.local"
DROPPED_MS = 1.5 * 1000 / 60
STALL_MS = 50

# The browser side, run by Node with the console's own Playwright: prints {"ready": n} once every
# tile shows a picture, records for SECONDS, then prints the figures.
BROWSER = r"""
const { chromium } = require("playwright");
const [base, email, password, size, cameras, seconds] = process.argv.slice(2);

(async () => {
  const browser = await chromium.launch({ executablePath: process.env.VIGIA_CHROMIUM,
    args: ["--no-sandbox", "--disable-dev-shm-usage"] });
  const context = await browser.newContext({ viewport: { width: 1920, height: 1080 }, locale: "pt-BR" });
  const page = await context.newPage();
  await page.goto(`${base}/sign-in?redirect=${encodeURIComponent(`/cameras?size=${size}`)}`);
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Senha").fill(password);
  await page.getByRole("button", { name: "Entrar" }).click();
  await page.waitForFunction(
    (n) => document.querySelectorAll("[data-testid=camera-view] img[data-captured]").length >= n,
    Number(cameras), { timeout: 120_000 });
  const views = "[data-testid=camera-view]";
  const onScreen = await page.evaluate((views) => [...document.querySelectorAll(views)].filter((el) => {
    const box = el.getBoundingClientRect();
    return box.bottom > 0 && box.top < innerHeight && box.right > 0 && box.left < innerWidth;
  }).length, views);
  console.log(JSON.stringify({ ready: true }));
  const result = await page.evaluate((seconds) => new Promise((resolve) => {
    const loads = new Map();
    const frames = [];
    const longTasks = [];
    document.addEventListener("load", (event) => {
      const img = event.target;
      if (!(img instanceof HTMLImageElement)) return;
      const camera = img.closest("[data-camera]")?.dataset.camera;
      if (camera) loads.set(camera, (loads.get(camera) ?? 0) + 1);
    }, true);
    new PerformanceObserver((list) => list.getEntries().forEach((e) => longTasks.push(e.duration)))
      .observe({ type: "longtask" });
    let last = performance.now();
    let recording = true;
    const tick = (now) => {
      if (!recording) return;
      frames.push(now - last);
      last = now;
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
    setTimeout(() => {
      recording = false;
      resolve({ loads: Object.fromEntries(loads), frames, longTasks });
    }, seconds * 1000);
  }), Number(seconds));
  console.log(JSON.stringify({ onScreen, ...result }));
  await browser.close();
})().catch((error) => { console.error(error); process.exit(1); });
"""


def build(out: Path) -> None:
    subprocess.run([str(BIN / "vite"), "build", "--outDir", str(out), "--emptyOutDir", "--logLevel", "warn"],
                   cwd=CONSOLE, check=True, timeout=600)


def jpegs(folder: Path) -> list[bytes]:
    folder.mkdir()
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-f", "lavfi", "-i",
                    "testsrc=size=640x360:rate=5", "-frames:v", "25", "-q:v", "5", str(folder / "f%02d.jpg")],
                   check=True, timeout=120)
    return [path.read_bytes() for path in sorted(folder.glob("f*.jpg"))]


def vhost() -> str:
    name = f"bench-tiles-{uuid.uuid4().hex[:8]}"
    api = httpx.Client(base_url=f"{MANAGEMENT}/api", auth=("guest", "guest"), timeout=10)
    api.put(f"/vhosts/{name}").raise_for_status()
    api.put(f"/permissions/{name}/guest", json={"configure": ".*", "write": ".*", "read": ".*"}).raise_for_status()
    return name


def feed(cameras: list[str], pictures: list[bytes], fps: float, stop: threading.Event, written: list[int]) -> None:
    """Every camera's next frame ``fps`` times a second, as vision's _keep_recent writes it."""
    client = redis.Redis.from_url(REDIS_URL)
    n = 0
    start = time.perf_counter()
    try:
        while not stop.is_set():
            with client.pipeline(transaction=False) as pipe:
                for camera in cameras:
                    pipe.xadd(camera_frames_key(camera), {"t": time.time_ns(), "jpeg": pictures[n % len(pictures)]},
                              maxlen=120, approximate=True)
                pipe.execute()
            n += 1
            time.sleep(max(0.0, n / fps - (time.perf_counter() - start)))
    finally:
        written.append(n)
        client.delete(*(camera_frames_key(c) for c in cameras))
        client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cameras", type=int, default=50)
    parser.add_argument("--fps", type=float, default=5.0, help="frames a second fed per camera")
    parser.add_argument("--seconds", type=float, default=20.0, help="how long the page is recorded")
    parser.add_argument("--size", choices=("s", "m", "l"), default="s", help="tile size (?size=)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-tiles-") as tmp_name:
        tmp = Path(tmp_name)
        dist = tmp / "dist"
        build(dist)
        pictures = jpegs(tmp / "jpegs")
        name = vhost()
        amqp_url = f"amqp://guest:guest@{AMQP_HOST}:5672/{name}"
        script = tmp / "browser.cjs"
        script.write_text(BROWSER)
        stop = threading.Event()
        written: list[int] = []
        try:
            with throwaway_database("vigia_bench_tiles") as database_url, \
                    console_stack(tmp, database_url, amqp_url, dist) as stack:
                with httpx.Client(base_url=stack.base, timeout=30) as http:
                    login = http.post("/api/v1/auth/login", json={"email": DEMO_EMAIL, "password": PASSWORD})
                    login.raise_for_status()
                    auth = {"Authorization": f"Bearer {login.json()['access']}"}
                    cameras = []
                    for n in range(args.cameras):
                        made = http.post("/api/v1/cameras/", headers=auth, json={
                            "name": f"bench {n + 1:03d}", "rtsp_url": "rtsp://127.0.0.1:9/stream", "fps": args.fps,
                            "site": "bench"})
                        made.raise_for_status()
                        cameras.append(made.json()["id"])
                feeder = threading.Thread(target=feed, args=(cameras, pictures, args.fps, stop, written), daemon=True)
                feeder.start()
                browser = subprocess.Popen(
                    ["node", str(script), stack.base, DEMO_EMAIL, PASSWORD, args.size, str(args.cameras),
                     str(args.seconds)],
                    cwd=CONSOLE, stdout=subprocess.PIPE, text=True,
                    env={**os.environ, "NODE_PATH": str(CONSOLE / "node_modules"), "VIGIA_CHROMIUM": CHROMIUM})
                assert browser.stdout is not None
                ready = json.loads(browser.stdout.readline() or "{}")
                assert ready.get("ready"), "the tiles never all showed a picture"
                result = json.loads(browser.stdout.readline() or "{}")
                browser.wait(timeout=60)
                stop.set()
                feeder.join(timeout=10)
        finally:
            stop.set()
            httpx.delete(f"{MANAGEMENT}/api/vhosts/{name}", auth=("guest", "guest"), timeout=10)

    seconds = args.seconds
    per_tile = sorted(result["loads"].get(c, 0) / seconds for c in cameras)
    frames = sorted(result["frames"])
    long_tasks = result["longTasks"]
    print(json.dumps({
        "bench": "console_tiles", "cameras": args.cameras, "tiles_on_screen": result["onScreen"], "size": args.size,
        "fed_fps_per_camera": args.fps, "seconds": seconds,
        "rendered_fps_per_tile_mean": round(sum(per_tile) / len(per_tile), 2),
        "rendered_fps_per_tile_min": round(per_tile[0], 2), "rendered_fps_per_tile_max": round(per_tile[-1], 2),
        "long_tasks": len(long_tasks), "long_task_ms_total": round(sum(long_tasks)),
        "blocking_ms_total": round(sum(max(0.0, d - STALL_MS) for d in long_tasks)),
        "main_thread_stall_ms": round(sum(max(0.0, f - STALL_MS) for f in frames)),
        "animation_frames": len(frames), "dropped_frames": sum(1 for f in frames if f > DROPPED_MS),
        "frame_ms_p50": round(frames[len(frames) // 2], 1) if frames else None,
        "frame_ms_p95": round(frames[int(0.95 * len(frames))], 1) if frames else None,
        "frame_ms_max": round(frames[-1], 1) if frames else None,
    }))


if __name__ == "__main__":
    main()
