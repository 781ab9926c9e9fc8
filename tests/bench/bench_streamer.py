"""Streamer benchmark: CPU per camera-minute at 1 fps, and how many 720p25 cameras one streamer sustains.

Run: ``.venv/bin/python tests/bench/bench_streamer.py [--cameras 4] [--window 30] [--steps 10,25,50,75,100]``
Prints ONE JSON line.

Set-up, all on this machine:

* a 60 s 1280x720 25 fps H.264 clip with GOP 25 is encoded once into a temp mp4, then served by
  :mod:`vigia.streamer.testsource` (one ``ffmpeg -re -stream_loop -1 -c copy`` RTP feed relayed
  as RTSP/TCP on as many paths as there are cameras), so no encoder runs while measuring;
* three ways to sample ``--cameras`` cameras at 1 fps for ``--window`` seconds, one after the
  other in the same run, CPU (user + system, process and children) measured with psutil:
  ``streamer``: the real service (``python -m vigia.streamer``: database, leases, broker with
  confirms, Redis heartbeats) in its own process; ``ffmpeg_keyframes``: bare ``ffmpeg
  -skip_frame nokey`` with the same sampling filter and MJPEG output; ``ffmpeg_full_decode``: the
  same without ``-skip_frame`` (every frame decoded);
* capacity: one streamer, cameras added in steps (database rows + the ``cameras:version`` bump the
  control consumer would make); a step is sustained when every camera published at least 90 % of
  its frames during the window. The RTSP relay runs on the same two cores (its CPU is reported).

Targets (issue #3): streamer <= 1.25 x bare ffmpeg; key-frame sampling >= 5 x cheaper than full
decode at GOP 25; 100 cameras sustained.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import httpx
import psutil
import redis
from sqlalchemy import delete, insert

from vigia.common.db import cameras, make_engine, organizations
from vigia.common.secrets_at_rest import encrypt
from vigia.streamer.ffmpeg import DecodeMode, capture_command
from vigia.streamer.leases import VERSION_KEY
from vigia.streamer.settings import DEV_FERNET_KEY
from vigia.streamer.testsource import FeedSpec, RtspTestSource, encode_clip, free_port

DATABASE_URL = os.environ.get("VIGIA_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/vigia")
REDIS_URL = os.environ.get("VIGIA_BENCH_REDIS_URL", "redis://127.0.0.1:6379/10")
MANAGEMENT = os.environ.get("VIGIA_TEST_AMQP_MANAGEMENT", "http://127.0.0.1:15672")


def cpu_seconds(procs: list[psutil.Process]) -> dict[int, float]:
    out: dict[int, float] = {}
    for proc in procs:
        try:
            t = proc.cpu_times()
            out[proc.pid] = t.user + t.system
        except psutil.Error:
            pass
    return out


def tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def delta(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU used between two samples by processes present in both (new ones counted from 0)."""
    return sum(after[pid] - before.get(pid, 0.0) for pid in after)


def published(metrics_port: int) -> dict[str, float]:
    text = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).read().decode()
    return {m.group(1): float(m.group(2)) for m in
            re.finditer(r'^streamer_frames_published_total\{camera="([^"]+)"\} (\S+)$', text, re.M)}


async def measure_bare(urls: list[str], mode: DecodeMode, warmup: float, window: float) -> float:
    """CPU-seconds per camera-minute of bare FFmpeg sampling ``urls`` at 1 fps."""
    procs = []
    for url in urls:
        argv = capture_command("ffmpeg", url, fps=1.0, mode=mode, rtsp_timeout_s=10)
        # Bare: no showinfo, no progress reporting, output discarded.
        argv = [a for a in argv if a not in ("-progress", "pipe:2", "-stats_period", "2")]
        vf = argv.index("-vf") + 1
        argv[vf] = argv[vf].replace("showinfo=checksum=0,", "")
        argv[argv.index("-loglevel") + 1] = "error"
        procs.append(await asyncio.create_subprocess_exec(
            *argv, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL))
    try:
        await asyncio.sleep(warmup)
        ps = [psutil.Process(p.pid) for p in procs]
        before = cpu_seconds(ps)
        await asyncio.sleep(window)
        used = delta(before, cpu_seconds(ps))
        assert all(p.returncode is None for p in procs), "a bare ffmpeg died during the window"
    finally:
        for p in procs:
            p.kill()
            await p.wait()
    return used / len(urls) / window * 60


class StreamerRun:
    """A real streamer process against a temporary org, broker vhost and Redis db."""

    def __init__(self, amqp_url: str) -> None:
        self.engine = make_engine(DATABASE_URL, pool_size=2)
        self.org = uuid.uuid4()
        self.cameras: list[uuid.UUID] = []
        self.metrics_port = free_port()
        self.redis = redis.Redis.from_url(REDIS_URL)
        self.redis.flushdb()
        with self.engine.begin() as conn:
            conn.execute(insert(organizations).values(id=self.org, name="bench", slug=f"bench-{self.org.hex[:8]}",
                                                      settings={}, created_at=datetime.now(UTC)))
        env = {**os.environ, "VIGIA_DATABASE_URL": DATABASE_URL, "VIGIA_REDIS_URL": REDIS_URL,
               "VIGIA_AMQP_URL": amqp_url, "VIGIA_METRICS_PORT": str(self.metrics_port),
               "VIGIA_LOG_LEVEL": "WARNING", "VIGIA_REPLICA_ID": "bench", "VIGIA_MAX_CAMERAS": "1000"}
        with open(Path(tempfile.gettempdir()) / "bench-streamer.log", "wb") as log_file:
            self.process = subprocess.Popen([sys.executable, "-m", "vigia.streamer"], env=env,
                                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log_file)

    def add(self, urls: list[str]) -> None:
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            for url in urls:
                camera = uuid.uuid4()
                self.cameras.append(camera)
                conn.execute(insert(cameras).values(
                    id=camera, org_id=self.org, name=f"bench-{camera.hex[:8]}", fps=1.0, zones=[], location="",
                    rtsp_url_encrypted=encrypt(url, DEV_FERNET_KEY), site="", enabled=True, status="online",
                    version=1, created_at=now, updated_at=now))
        self.redis.incr(VERSION_KEY)  # what the control consumer does on camera.created

    async def wait_streaming(self, within_s: float) -> bool:
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline:
            try:
                counts = published(self.metrics_port)
                if all(counts.get(str(c), 0) >= 1 for c in self.cameras):
                    return True
            except OSError:
                pass
            await asyncio.sleep(1)
        return False

    async def window(self, seconds: float) -> tuple[float, dict[str, float]]:
        """(CPU seconds of the streamer and its FFmpeg children, frames per camera) over ``seconds``."""
        before_frames = published(self.metrics_port)
        before = cpu_seconds(tree(self.process.pid))
        await asyncio.sleep(seconds)
        after = cpu_seconds(tree(self.process.pid))
        after_frames = published(self.metrics_port)
        frames = {str(c): after_frames.get(str(c), 0) - before_frames.get(str(c), 0) for c in self.cameras}
        return delta(before, after), frames

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        with self.engine.begin() as conn:
            conn.execute(delete(cameras).where(cameras.c.org_id == self.org))
            conn.execute(delete(organizations).where(organizations.c.id == self.org))
        self.engine.dispose()
        self.redis.flushdb()


async def bench(args: argparse.Namespace, amqp_url: str) -> dict[str, object]:
    steps = [int(s) for s in args.steps.split(",") if s]
    max_paths = max([args.cameras, *steps])
    workdir = Path(tempfile.mkdtemp(prefix="bench-streamer-"))
    result: dict[str, object] = {"bench": "streamer", "clip": "1280x720 25 fps GOP 25 H.264 (copy-looped)",
                                 "machine_cores": psutil.cpu_count()}
    clip = await asyncio.to_thread(encode_clip, workdir / "clip.mp4", seconds=60, size="1280x720",
                                   rate=25, gop=25)
    paths = {f"cam{i}": "clip" for i in range(max_paths)}
    async with RtspTestSource({"clip": FeedSpec(file=str(clip))}, paths) as source:
        urls = [source.url(f"cam{i}") for i in range(max_paths)]
        sample = urls[:args.cameras]
        keyframes = await measure_bare(sample, DecodeMode.keyframes, 6, args.window)
        full = await measure_bare(sample, DecodeMode.full, 6, args.window)

        run = StreamerRun(amqp_url)
        try:
            run.add(sample)
            if not await run.wait_streaming(60):
                raise RuntimeError("the streamer did not start streaming the benchmark cameras")
            await asyncio.sleep(3)
            used, frames = await run.window(args.window)
            streamer = used / len(sample) / args.window * 60
            comparison_frames = frames

            ramp = []
            sustained = 0
            me = psutil.Process()
            for count in steps:
                run.add(urls[len(run.cameras):count])
                started = await run.wait_streaming(90)
                await asyncio.sleep(5)
                source_before = me.cpu_times()
                used, frames = await run.window(args.step_window)
                source_after = me.cpu_times()
                worst = min(frames.values()) / args.step_window if frames else 0.0
                ok = started and worst >= 0.9
                relay = (source_after.user + source_after.system - source_before.user - source_before.system)
                ramp.append({"cameras": count, "all_started": started, "min_fps_per_camera": round(worst, 2),
                             "mean_fps_per_camera": round(sum(frames.values()) / len(frames) / args.step_window, 2),
                             "streamer_cpu_cores": round(used / args.step_window, 2),
                             "rtsp_relay_cpu_cores": round(relay / args.step_window, 2),
                             "load1": round(os.getloadavg()[0], 1), "sustained": ok})
                if not ok:
                    break
                sustained = count
        finally:
            run.close()
    result.update({
        "cameras": args.cameras, "window_s": args.window,
        "cpu_s_per_camera_minute": {"streamer": round(streamer, 3), "ffmpeg_keyframes": round(keyframes, 3),
                                    "ffmpeg_full_decode": round(full, 3)},
        "streamer_frames_in_window": sorted(comparison_frames.values()),
        "streamer_vs_bare_ffmpeg": round(streamer / keyframes, 3),
        "full_decode_vs_keyframes": round(full / keyframes, 2),
        "capacity": {"max_sustained_cameras": sustained, "target": 100, "steps": ramp},
        "targets_met": {"streamer_le_1.25x_bare": streamer / keyframes <= 1.25,
                        "keyframes_ge_5x_cheaper": full / keyframes >= 5,
                        "100_cameras": sustained >= 100},
    })
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cameras", type=int, default=4, help="cameras in the CPU comparison")
    parser.add_argument("--window", type=float, default=30.0, help="measurement window (s)")
    parser.add_argument("--steps", default="10,25,50,75,100", help="camera counts of the capacity ramp")
    parser.add_argument("--step-window", type=float, default=20.0)
    args = parser.parse_args()
    vhost = f"bench-streamer-{uuid.uuid4().hex[:8]}"
    with httpx.Client(base_url=MANAGEMENT, auth=("guest", "guest"), timeout=30) as mgmt:
        mgmt.put(f"/api/vhosts/{quote(vhost, safe='')}").raise_for_status()
        mgmt.put(f"/api/permissions/{quote(vhost, safe='')}/guest",
                 json={"configure": ".*", "write": ".*", "read": ".*"}).raise_for_status()
        try:
            result = asyncio.run(bench(args, f"amqp://guest:guest@127.0.0.1:5672/{quote(vhost, safe='')}"))
        finally:
            mgmt.delete(f"/api/vhosts/{quote(vhost, safe='')}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
