"""The operator console's budgets (issue #13): initial JavaScript gzipped, first contentful paint and
the live feed at 100 messages per second, on the local stack in Debian's Chromium.

    python tests/bench/bench_console.py [--rate 100] [--seconds 10]

1. A production build (``vite build`` into a temporary folder); the initial JavaScript is what
   index.html loads before anything else: its module script and every ``modulepreload``, gzipped
   (level 9, as a server would send them). Lazily loaded chunks (a page's own code) are not in it.
2. control (serving that build) and live, with a throwaway migrated database, the demo
   organization and a vhost of its own (tests/console/stack.py). Chromium opens the sign-in page
   cold (no cache) and the dashboard after signing in; first contentful paint comes from the
   browser's paint timing entries of each load (the figures a Playwright performance trace shows).
3. On the dashboard, with the feed connected and the charts drawn, device status changes are published to the broker at
   ``--rate`` messages per second for ``--seconds``; the page records every animation frame's
   interval meanwhile and counts the feed lines it added. A dropped frame is an interval longer
   than 1.5 frames of 60 Hz (25 ms). The three longest animation frames (over 50 ms, the Long
   Animation Frames API) are printed with the scripts that ran in them: what to look at first.

Prints one JSON line with the figures and the budgets (initial JS <= 300 KB gzipped, FCP < 1.5 s,
no dropped frames at 100 messages/s). Not part of `make test`.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.console.node import BIN, CHROMIUM, CONSOLE  # noqa: E402
from tests.console.stack import PASSWORD, console_stack  # noqa: E402
from tests.support.databases import throwaway_database  # noqa: E402
from vigia.common.broker.errors import PublishError  # noqa: E402
from vigia.common.broker.sync import SyncPublisher  # noqa: E402
from vigia.common.messages import DeviceStatusChanged, make  # noqa: E402

MANAGEMENT = os.environ.get("VIGIA_TEST_AMQP_MANAGEMENT", "http://127.0.0.1:15672")
AMQP_HOST = os.environ.get("VIGIA_TEST_AMQP_HOST", "127.0.0.1")
DEMO_EMAIL = "admin@demo.vigia.local"
FRAME_MS = 1000 / 60
DROPPED_MS = 1.5 * FRAME_MS

# The browser side, run by Node with the console's own Playwright: prints one JSON line when the
# feed is connected ({"ready": true}), records frames for SECONDS, then prints the figures.
BROWSER = r"""
const { chromium } = require("playwright");
const [base, email, password, seconds] = process.argv.slice(2);

async function fcp(page) {
  return page.evaluate(() => new Promise((resolve) => {
    const found = performance.getEntriesByName("first-contentful-paint")[0];
    if (found) return resolve(found.startTime);
    new PerformanceObserver((list) => {
      const entry = list.getEntriesByName("first-contentful-paint")[0];
      if (entry) resolve(entry.startTime);
    }).observe({ type: "paint", buffered: true });
  }));
}

(async () => {
  const browser = await chromium.launch({ executablePath: process.env.VIGIA_CHROMIUM,
    args: ["--no-sandbox", "--disable-dev-shm-usage"] });
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: "pt-BR" });
  const page = await context.newPage();
  await page.goto(`${base}/sign-in`, { waitUntil: "load" });
  const signInFcp = await fcp(page);
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Senha").fill(password);
  await page.getByRole("button", { name: "Entrar" }).click();
  await page.getByTestId("kpi-devices-value").waitFor();
  // A fresh load of the signed-in dashboard (the session restored from the cookie).
  await page.goto(`${base}/?hours=24`, { waitUntil: "load" });
  const dashboardFcp = await fcp(page);
  await page.locator('[data-testid=feed-connection][data-state=open]').waitFor();
  // The page done loading: the charts (a chunk of their own) drawn. Their first drawing is ~50 ms of
  // script once per load; a burst started before it would count that frame against the feed.
  await page.locator("[data-testid=chart-detections] canvas").waitFor();
  await page.locator("[data-testid=chart-severity] canvas").waitFor();
  await page.waitForTimeout(500);
  await page.evaluate(() => {
    window.__bench = { frames: [], lines: 0, recording: false, long: [] };
    // What ran in each long frame (Long Animation Frames API): the attribution of a dropped one.
    new PerformanceObserver((list) => {
      if (!window.__bench.recording) return;
      for (const entry of list.getEntries()) {
        const scripts = entry.scripts.map((script) => ({
          ms: Math.round(script.duration), invoker: script.invoker,
          layout_ms: Math.round(script.forcedStyleAndLayoutDuration),
          source: `${script.sourceFunctionName || "?"}@${(script.sourceURL || "").split("/").pop()}`
            + `:${script.sourceCharPosition}` }));
        const render = Math.round(entry.startTime + entry.duration - entry.renderStart);
        window.__bench.long.push({ ms: Math.round(entry.duration), render_ms: render, scripts });
      }
    }).observe({ type: "long-animation-frame" });
    new MutationObserver((records) => {
      for (const record of records) window.__bench.lines += record.addedNodes.length;
    }).observe(document.querySelector("main"), { childList: true, subtree: true });
    let last = performance.now();
    const tick = (now) => {
      if (window.__bench.recording) window.__bench.frames.push(now - last);
      last = now;
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
  console.log(JSON.stringify({ ready: true }));
  await page.evaluate(() => { window.__bench.recording = true; window.__bench.lines = 0; });
  await page.waitForTimeout(Number(seconds) * 1000);
  const { frames, lines, long } = await page.evaluate(() => {
    window.__bench.recording = false;
    return { frames: window.__bench.frames, lines: window.__bench.lines, long: window.__bench.long };
  });
  console.log(JSON.stringify({ signInFcp, dashboardFcp, frames, lines, long }));
  await browser.close();
})().catch((error) => { console.error(error); process.exit(1); });
"""


def build(out: Path) -> None:
    """``vite build``; Vite refuses to run beside another build of the project: wait for it."""
    for _ in range(60):
        done = subprocess.run([str(BIN / "vite"), "build", "--outDir", str(out), "--emptyOutDir", "--logLevel", "warn"],
                              cwd=CONSOLE, capture_output=True, text=True, timeout=600)
        if done.returncode == 0:
            return
        if "Found another Vite build process" not in done.stdout + done.stderr:
            raise SystemExit(f"vite build failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        time.sleep(10)
    raise SystemExit("another vite build of the console kept running for 10 minutes")


def initial_js(dist: Path) -> dict[str, Any]:
    """The gzipped size of every script index.html loads up front (entry + modulepreloads)."""
    html = (dist / "index.html").read_text()
    paths = re.findall(r'<script[^>]+type="module"[^>]+src="([^"]+)"', html)
    paths += re.findall(r'<link[^>]+rel="modulepreload"[^>]+href="([^"]+)"', html)
    files = {path: (dist / path.lstrip("/")).read_bytes() for path in dict.fromkeys(paths)}
    gzipped = {path: len(gzip.compress(body, compresslevel=9)) for path, body in files.items()}
    chunks = [p for p in (dist / "assets").glob("*.js")]
    return {"initial_js_gzip_kb": round(sum(gzipped.values()) / 1024, 1),
            "initial_js_raw_kb": round(sum(len(b) for b in files.values()) / 1024, 1),
            "initial_js_files": len(files),
            "all_js_gzip_kb": round(sum(len(gzip.compress(p.read_bytes(), 9)) for p in chunks) / 1024, 1)}


def vhost() -> str:
    name = f"bench-console-{uuid.uuid4().hex[:8]}"
    api = httpx.Client(base_url=f"{MANAGEMENT}/api", auth=("guest", "guest"), timeout=10)
    api.put(f"/vhosts/{name}").raise_for_status()
    api.put(f"/permissions/{name}/guest", json={"configure": ".*", "write": ".*", "read": ".*"}).raise_for_status()
    return name


def publish(amqp_url: str, org: str, device: str, rate: float, seconds: float, sent: list[int]) -> None:
    """Device status changes at ``rate`` per second for ``seconds`` (paced, not bursts)."""
    with SyncPublisher(amqp_url, connection_name="bench-console") as publisher:
        start = time.perf_counter()
        n = 0
        while (elapsed := time.perf_counter() - start) < seconds:
            due = int(elapsed * rate) + 1
            while n < due:
                status, previous = ("ON", "OFF") if n % 2 else ("OFF", "ON")
                data = DeviceStatusChanged(device=uuid.UUID(device), status=status, previous=previous, reason="bench")
                try:
                    publisher.publish(make("device.status", org, "bench-console", data))
                    n += 1
                except PublishError:
                    time.sleep(0.05)
            time.sleep(max(0.0, (n / rate) - (time.perf_counter() - start)))
        sent.append(n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=100.0, help="feed messages per second")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long the feed runs at that rate")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-console-") as tmp_name:
        tmp = Path(tmp_name)
        dist = tmp / "dist"
        build(dist)
        sizes = initial_js(dist)
        name = vhost()
        amqp_url = f"amqp://guest:guest@{AMQP_HOST}:5672/{name}"
        script = tmp / "browser.cjs"
        script.write_text(BROWSER)
        try:
            with throwaway_database("vigia_bench_console") as database_url, \
                    console_stack(tmp, database_url, amqp_url, dist) as stack:
                with httpx.Client(base_url=stack.base, timeout=30) as http:
                    login = http.post("/api/v1/auth/login", json={"email": DEMO_EMAIL, "password": PASSWORD})
                    login.raise_for_status()
                    org = login.json()["user"]["org"]["id"]
                    device = http.post("/api/v1/devices/", json={"name": "bench-1", "kind": "phone"},
                                       headers={"Authorization": f"Bearer {login.json()['access']}"})
                    device.raise_for_status()
                # Frames are recorded a little longer than the feed runs: the tail of the burst counts.
                browser = subprocess.Popen(
                    ["node", str(script), stack.base, DEMO_EMAIL, PASSWORD, str(args.seconds + 1)],
                    cwd=CONSOLE, stdout=subprocess.PIPE, text=True,
                    env={**os.environ, "NODE_PATH": str(CONSOLE / "node_modules"), "VIGIA_CHROMIUM": CHROMIUM})
                assert browser.stdout is not None
                ready = json.loads(browser.stdout.readline() or "{}")
                assert ready.get("ready"), "the page never connected to the feed"
                sent: list[int] = []
                feeder = threading.Thread(target=publish, args=(amqp_url, org, device.json()["id"], args.rate,
                                                                args.seconds, sent))
                feeder.start()
                result = json.loads(browser.stdout.readline() or "{}")
                feeder.join()
                browser.wait(timeout=60)
        finally:
            httpx.delete(f"{MANAGEMENT}/api/vhosts/{name}", auth=("guest", "guest"), timeout=10)

    at, dropped_at = 0.0, []
    for frame in result["frames"]:
        at += frame
        if frame > DROPPED_MS:
            dropped_at.append(round(at / 1000, 2))
    frames = sorted(result["frames"])
    dropped = len(dropped_at)
    p = (lambda q: round(frames[min(len(frames) - 1, int(q * len(frames)))], 1)) if frames else (lambda q: None)
    print(json.dumps({
        "bench": "console", **sizes,
        "sign_in_fcp_ms": round(result["signInFcp"]), "dashboard_fcp_ms": round(result["dashboardFcp"]),
        "feed_rate_per_s": args.rate, "feed_seconds": args.seconds, "feed_sent": sent[0] if sent else 0,
        "feed_lines_added": result["lines"], "frames": len(frames), "dropped_frames": dropped,
        "dropped_at_s": dropped_at[:10],
        "frame_ms_p50": p(0.5), "frame_ms_p95": p(0.95), "frame_ms_max": round(frames[-1], 1) if frames else None,
        "longest_frames": sorted(result["long"], key=lambda f: -f["ms"])[:3],
        "budgets": {"initial_js_gzip_kb": 300, "fcp_ms": 1500, "dropped_frames": 0},
        "within_budgets": sizes["initial_js_gzip_kb"] <= 300 and result["signInFcp"] < 1500
        and result["dashboardFcp"] < 1500 and dropped == 0,
    }))


if __name__ == "__main__":
    main()
