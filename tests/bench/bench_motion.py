"""Motion gating benchmark: ONE JSON line.

Two camsim scenes at 1 fps (make run's frame rate) through the vision pipeline as
``python -m vigia.vision`` builds it (detector, OCR, settings), each frame JPEG-encoded and decoded
as a camera's would be:

* idle: the street with no traffic and nobody walking (light drifting, sensor noise): detector
  calls saved by gating, ``idle_calls_saved`` (target >= 0.8);
* traffic: the default camsim scenes (vehicles with plates, walkers), run twice in the same run --
  gated and not gated -- and compared per passage: a camsim plate visible >= 3 s (complete) is a
  passage, found when a ``plate.read`` decision (a visit's plate) overlapping it spells its plate.
  ``passages_lost`` counts passages found without gating and not with it (target 0),
  ``passages_ratio`` is found-gated / found-ungated (target >= 1.0); visits per found passage
  show whether gating split visits.

Detector: the one the service would pick here (auto: opencv without YOLO weights).

Run: .venv/bin/python tests/bench/bench_motion.py [--idle-seconds 300] [--traffic-seconds 120] [--seeds 1,2]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Sequence

os.environ.setdefault("YOLO_OFFLINE", "1")

import cv2
import numpy as np

from vigia.simulators.camsim.actors import Vehicle, Walker
from vigia.simulators.camsim.scene import Scene, SceneConfig
from vigia.simulators.camsim.truth import plate_intervals
from vigia.vision.__main__ import build_pipeline
from vigia.vision.detectors import Detection, Detector
from vigia.vision.pipeline import FrameInput, VisionPipeline, VisitPlate
from vigia.vision.plates.brazil import plate_key
from vigia.vision.settings import VisionSettings

SECOND = 1_000_000_000


class IdleScene(Scene):
    """A camsim street nobody drives or walks through (same background, light and noise)."""

    def vehicles(self, t: float) -> list[Vehicle]:
        return []

    def walkers(self, t: float) -> list[Walker]:
        return []


class CountingDetector:
    """The service's detector, counting the frames it is given."""

    def __init__(self, inner: Detector) -> None:
        self.inner = inner
        self.name, self.finds_vehicles, self.finds_plates = inner.name, inner.finds_vehicles, inner.finds_plates
        self.frames = 0

    def detect(self, frames: Sequence[np.ndarray]) -> list[list[Detection]]:
        self.frames += len(frames)
        return self.inner.detect(frames)


def camera_frame(scene: Scene, i: int) -> np.ndarray:
    data = cv2.imencode(".jpg", scene.render(i), [cv2.IMWRITE_JPEG_QUALITY, 85])[1]
    image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    assert image is not None
    return np.asarray(image)


def run(base: VisionPipeline, settings: VisionSettings, gated: bool, scene: Scene,
        seconds: int) -> tuple[int, list[VisitPlate], float]:
    """(detector calls, plate decisions, CPU s per frame) of ``seconds`` frames of ``scene``."""
    detector = CountingDetector(base.detector)
    pipeline = VisionPipeline(detector, base.ocr, base.config, motion=settings.motion_gate() if gated else None)
    reads: list[VisitPlate] = []
    cpu = 0.0
    for i in range(seconds):
        image = camera_frame(scene, i)
        started = time.process_time()
        reads += pipeline.process([FrameInput("cam", i * SECOND, image)])[0].plates
        cpu += time.process_time() - started
    reads += pipeline.end_all()
    return detector.frames, reads, cpu / seconds


def passages(scene: Scene, seconds: int, reads: list[VisitPlate]) -> dict[str, list[str]]:
    """Passage (plate, start) -> the visits whose decision spells its plate, for every complete
    camsim plate visible >= 3 s."""
    out: dict[str, list[str]] = {}
    for t in plate_intervals(scene, range(seconds)):
        if t["duration"] < 3 or not t["complete"]:
            continue
        out[f"{t['plate']}@{t['start']:.0f}"] = sorted({
            r.visit for r in reads
            if r.first_seen / 1e9 <= t["end"] + 1 and r.last_seen / 1e9 >= t["start"] - 1
            and plate_key(r.decision.text) == plate_key(t["plate"])})
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--idle-seconds", type=int, default=300)
    parser.add_argument("--traffic-seconds", type=int, default=120)
    parser.add_argument("--seeds", default="1,2", help="camsim scenes with traffic")
    args = parser.parse_args()
    settings = VisionSettings()
    base = build_pipeline(settings)

    idle = IdleScene(SceneConfig(fps=1.0, seed=1, walkers_per_sidewalk=0))
    idle_calls, _, idle_cpu = run(base, settings, True, idle, args.idle_seconds)

    found = {"gated": 0, "ungated": 0}
    lost: list[str] = []
    calls = {"gated": 0, "ungated": 0}
    cpu = {"gated": 0.0, "ungated": 0.0}
    visits = {"gated": 0, "ungated": 0}
    total = frames = 0
    for seed in (int(s) for s in args.seeds.split(",")):
        per_mode = {}
        for mode in ("ungated", "gated"):
            scene = Scene(SceneConfig(fps=1.0, seed=seed))
            n, reads, cpu_per_frame = run(base, settings, mode == "gated", scene, args.traffic_seconds)
            calls[mode] += n
            cpu[mode] += cpu_per_frame * args.traffic_seconds
            per_mode[mode] = passages(scene, args.traffic_seconds, reads)
        frames += args.traffic_seconds
        total += len(per_mode["gated"])
        for key, without in per_mode["ungated"].items():
            with_gate = per_mode["gated"][key]
            for mode, seen in (("ungated", without), ("gated", with_gate)):
                found[mode] += bool(seen)
                visits[mode] += len(seen)
            if without and not with_gate:
                lost.append(f"seed {seed}: {key}")
    print(json.dumps({
        "detector": base.detector.name, "ocr": base.ocr is not None,
        "idle_frames": args.idle_seconds, "idle_detector_calls": idle_calls,
        "idle_calls_saved": round(1 - idle_calls / args.idle_seconds, 4),
        "idle_cpu_s_per_frame": round(idle_cpu, 4),
        "traffic_frames": frames, "traffic_detector_calls_ungated": calls["ungated"],
        "traffic_detector_calls_gated": calls["gated"],
        "traffic_calls_saved": round(1 - calls["gated"] / max(1, calls["ungated"]), 4),
        "traffic_cpu_s_per_frame_ungated": round(cpu["ungated"] / max(1, frames), 4),
        "traffic_cpu_s_per_frame_gated": round(cpu["gated"] / max(1, frames), 4),
        "passages": total, "passages_found_ungated": found["ungated"], "passages_found_gated": found["gated"],
        "passages_lost": len(lost), "passages_lost_which": lost,
        "passages_ratio": round(found["gated"] / max(1, found["ungated"]), 4),
        "visits_per_found_passage_ungated": round(visits["ungated"] / max(1, found["ungated"]), 3),
        "visits_per_found_passage_gated": round(visits["gated"] / max(1, found["gated"]), 3),
        "motion_threshold": settings.vision_motion_threshold, "motion_min_area": settings.vision_motion_min_area,
        "motion_refresh_s": settings.vision_motion_refresh_s,
    }))


if __name__ == "__main__":
    main()
