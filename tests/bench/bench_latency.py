"""Latency benchmark: camsim frame -> detection on the operator's WebSocket. Prints ONE JSON line.

Run: ``.venv/bin/python tests/bench/bench_latency.py [--window 60] [--cameras 2] [--fps 1]``

Set-up: the process set of tests/e2e/test_vision_platform.py (tests/e2e/vision_stack.py): camsim
(``--cameras`` 1280x720 cameras at 5 fps, GOP 5), control + outbox relay + recorder, streamer,
vision (CPU, OpenCV detector, EasyOCR) and live, on a database, broker vhost, Redis database and
object-store directory of their own. An operator opens the live WebSocket, adds the cameras at
``--fps`` through the API, and after a warm-up (first detection of every camera) every
new_detection received during ``--window`` seconds is measured:

* ``ws_minus_captured``: WebSocket receive time - the detection's ``captured_at`` (the moment the
  streamer read the frame's JPEG from FFmpeg): the streamer -> broker -> vision -> broker -> live
  path. Per frame (its first detection to arrive; the figure to judge) and per detection.
* ``ws_minus_camsim``: WebSocket receive time - the time camsim's frame was due (``epoch + i /
  fps`` from its truth log), so RTSP, H.264 and FFmpeg are included. The frame index ``i`` is
  found by rendering camsim's seeded scene around ``captured_at`` and picking the frame closest
  to the stored snapshot (mean squared difference at 160x90; resolution one camsim frame, 0.2 s);
  done afterwards, on up to ``--match`` frames.
* model time, scraped from the vision worker's /metrics over the window: detector seconds per
  batch (``vigia_vision_inference_seconds``) + OCR seconds (``vigia_vision_ocr_seconds``), per
  frame and per batch (a frame waits for its whole batch). The issue's target is "p95 < 1 s plus
  model time": ``target_ms`` = 1000 + model ms per batch, ``meets_target`` = per-frame p95 below it.

Every machine shares the two cores: camsim's renderer and x264 encoders run beside the services.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import cv2  # noqa: E402
import httpx  # noqa: E402
import numpy as np  # noqa: E402

from tests.e2e.vision_stack import VisionStack, time_ns, vision_stack  # noqa: E402
from vigia.common.storage.filesystem import FileStore  # noqa: E402
from vigia.simulators.camsim.scene import Scene, SceneConfig  # noqa: E402

MANAGEMENT = os.environ.get("VIGIA_TEST_AMQP_MANAGEMENT", "http://127.0.0.1:15672")
REDIS_URL = os.environ.get("VIGIA_BENCH_LATENCY_REDIS_URL", "redis://127.0.0.1:6379/6")
CAMSIM_FPS = 5.0
MODEL_METRICS = ("vigia_vision_inference_seconds_sum", "vigia_vision_ocr_seconds_sum",
                 "vigia_vision_batch_size_count", "vigia_vision_batch_size_sum")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def scrape(text: str) -> dict[str, float]:
    """Model-time sums, vision frame outcomes and frames the streamer published, from /metrics text."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        name, _, value = line.rpartition(" ")
        if name in MODEL_METRICS:
            out[name] = float(value)
        elif m := re.match(r'^vigia_vision_frames_total\{outcome="(\w+)"\}$', name):
            out[f"frames_{m.group(1)}"] = float(value)
        elif name.startswith("streamer_frames_published_total{"):
            out["published"] = out.get("published", 0.0) + float(value)
    return out


def percentiles(values: list[float]) -> dict[str, float | int | None]:
    if not values:
        return {"count": 0, "p50_ms": None, "p95_ms": None, "max_ms": None}
    ordered = sorted(values)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]  # nearest rank

    return {"count": len(values), "p50_ms": round(pick(0.50), 1), "p95_ms": round(pick(0.95), 1),
            "max_ms": round(ordered[-1], 1)}


def _small(image: np.ndarray) -> np.ndarray:
    return cv2.resize(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), (160, 90), interpolation=cv2.INTER_AREA).astype(
        np.float32)


def camsim_frame_times(stack: VisionStack, frames: list[tuple[str, dict[str, Any]]], limit: int
                       ) -> dict[str, tuple[float, float]]:
    """{frame id: (camsim due time in unix s, match margin)} for up to ``limit`` frames: the scene
    frame (within 3 s before ``captured_at``) nearest to the stored snapshot."""
    streams = stack.streams()
    scenes: dict[str, Scene] = {}
    store = FileStore(stack.objects, "bench-unused-url-secret")
    out: dict[str, tuple[float, float]] = {}
    step = max(1, len(frames) // max(1, limit))
    for frame_id, det in frames[::step][:limit]:
        stream = streams[det["_camsim"]]
        scene = scenes.setdefault(det["_camsim"], Scene(SceneConfig(
            stream["width"], stream["height"], stream["fps"], stream["seed"],
            intruder_every_s=stream.get("intruder_every_s", 0.0))))
        jpeg = np.frombuffer(store.get("snapshots", det["snapshot_key"]), np.uint8)
        target = _small(cv2.imdecode(jpeg, cv2.IMREAD_COLOR))
        captured_s = time_ns(det["captured_at"]) / 1e9
        last = int((captured_s - stream["epoch"]) * stream["fps"]) + 1
        scores = sorted((float(np.mean((_small(scene.render(i)) - target) ** 2)), i)
                        for i in range(max(0, last - int(3 * stream["fps"])), last + 1))
        best, index = scores[0]
        margin = scores[1][0] / best if len(scores) > 1 and best > 0 else float("inf")
        out[frame_id] = (stream["epoch"] + index / stream["fps"], margin)
    return out


def bench(args: argparse.Namespace, amqp_url: str, tmp: Path) -> dict[str, Any]:
    with vision_stack(tmp, amqp_url, services=("streamer", "vision", "live"), cameras=args.cameras,
                      camsim_fps=CAMSIM_FPS, camsim_gop=5, redis_url=REDIS_URL,
                      name="vigia_e2evision_bench") as stack:
        log(f"stack ready: {stack.timings}")
        token = stack.login()
        with stack.feed(token) as feed:
            cameras = {stack.create_camera(token, f"bench-{i}", url, fps=args.fps): f"cam{i}"
                       for i, url in enumerate(stack.camsim.urls, 1)}
            created = time.monotonic()
            while {d["camera"] for _, d in feed.detections()} < set(cameras):
                stack.assert_alive()
                if time.monotonic() - created > 120:
                    raise SystemExit(f"no detections from every camera within 120 s\n{stack.tails()}")
                time.sleep(0.2)
            warmup_s = time.monotonic() - created
            log(f"warm-up {warmup_s:.1f} s; measuring {args.window} s")
            before = scrape(stack.metrics("vision") + stack.metrics("streamer"))
            start_ns = time.time_ns()
            time.sleep(args.window)
            end_ns = time.time_ns()
            after = scrape(stack.metrics("vision") + stack.metrics("streamer"))
            received = [(at, d) for at, d in feed.detections() if start_ns <= at <= end_ns]
        assert feed.error is None, feed.error

        per_detection = [(at - time_ns(d["captured_at"])) / 1e6 for at, d in received]
        first_of_frame: dict[str, tuple[int, dict[str, Any]]] = {}
        for at, d in received:
            first_of_frame.setdefault(d["frame"], (at, {**d, "_camsim": cameras[d["camera"]]}))
        per_frame = [(at - time_ns(d["captured_at"])) / 1e6 for at, d in first_of_frame.values()]

        matched = camsim_frame_times(stack, [(f, d) for f, (_, d) in first_of_frame.items()], args.match)
        from_camsim = [(first_of_frame[f][0] / 1e9 - due) * 1000 for f, (due, _) in matched.items()]
        camsim_to_capture = [(time_ns(first_of_frame[f][1]["captured_at"]) / 1e9 - due) * 1000
                             for f, (due, _) in matched.items()]
        margins = [m for _, m in matched.values()]

        delta = {k: after.get(k, 0.0) - before.get(k, 0.0) for k in set(after) | set(before)}
        processed = delta.get("frames_processed", 0.0)
        batches = delta.get("vigia_vision_batch_size_count", 0.0)
        model_s = delta.get("vigia_vision_inference_seconds_sum", 0.0) + delta.get("vigia_vision_ocr_seconds_sum", 0.0)
        model_frame_ms = model_s / processed * 1000 if processed else None
        model_batch_ms = model_s / batches * 1000 if batches else None
        frame_stats = percentiles(per_frame)
        target_ms = 1000 + model_batch_ms if model_batch_ms is not None else None
        return {
            "bench": "latency", "cameras": args.cameras, "fps": args.fps, "window_s": args.window,
            "camsim": {"size": "1280x720", "fps": CAMSIM_FPS, "gop": 5},
            "ws_minus_captured_per_frame": frame_stats,
            "ws_minus_captured_per_detection": percentiles(per_detection),
            "ws_minus_camsim_per_frame": {**percentiles(from_camsim),
                                          "min_match_margin": round(min(margins), 2) if margins else None},
            "camsim_to_capture_ms": percentiles(camsim_to_capture),
            "model_ms_per_frame": round(model_frame_ms, 1) if model_frame_ms is not None else None,
            "model_ms_per_batch": round(model_batch_ms, 1) if model_batch_ms is not None else None,
            "mean_batch_size": round(delta.get("vigia_vision_batch_size_sum", 0.0) / batches, 2) if batches else None,
            "streamer_frames_published": int(delta.get("published", 0.0)),
            "vision_frames": {k.removeprefix("frames_"): int(v) for k, v in sorted(delta.items())
                              if k.startswith("frames_")},
            "target_ms": round(target_ms, 1) if target_ms is not None else None,
            "meets_target": (frame_stats["p95_ms"] is not None and target_ms is not None
                             and frame_stats["p95_ms"] < target_ms),
            "warmup_s": round(warmup_s, 1), "startup_s": stack.timings.get("stack_ready_s"),
        }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--window", type=float, default=60.0, help="measured seconds")
    p.add_argument("--cameras", type=int, default=2, help="camsim cameras, all added through the API")
    p.add_argument("--fps", type=float, default=1.0, help="sampling fps of each camera")
    p.add_argument("--match", type=int, default=60, help="frames matched against camsim's scene")
    args = p.parse_args()
    vhost = f"bench-latency-{uuid.uuid4().hex[:8]}"
    with httpx.Client(base_url=MANAGEMENT, auth=("guest", "guest"), timeout=30) as mgmt:
        mgmt.put(f"/api/vhosts/{quote(vhost, safe='')}").raise_for_status()
        mgmt.put(f"/api/permissions/{quote(vhost, safe='')}/guest",
                 json={"configure": ".*", "write": ".*", "read": ".*"}).raise_for_status()
        try:
            with tempfile.TemporaryDirectory(prefix="bench-latency-") as tmp:
                result = bench(args, f"amqp://guest:guest@127.0.0.1:5672/{quote(vhost, safe='')}", Path(tmp))
        finally:
            mgmt.delete(f"/api/vhosts/{quote(vhost, safe='')}")
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
