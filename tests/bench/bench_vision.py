"""Vision benchmark: ONE JSON line.

* worker_vs_detector: frames/s of the vision worker's handler path (decode, micro-batch, detect,
  plate finding, tracking, snapshot store, envelopes) vs the bare detector called in a loop on the
  same decoded frames, same run (target >= 0.9). Detector: the one the worker would pick here (auto:
  opencv without YOLO weights). OCR off for this ratio, so both sides do the same model work.
* batching: per-frame seconds of YOLO (untrained yolov8n.yaml, same cost as trained) at batch 1/4/8.
* cpu_s_per_frame: process CPU seconds per frame of the full pipeline with OCR, on camsim frames.
* plate accuracy: camsim scenes at 1 fps, visits with the plate visible >= 3 s (complete), exact
  plate among the plate.read decisions overlapping the visit (target >= 0.95).

Run: .venv/bin/python tests/bench/bench_vision.py [--frames 40] [--accuracy-seconds 120]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
import uuid

os.environ.setdefault("YOLO_OFFLINE", "1")

import cv2
import numpy as np

from vigia.common.messages import FrameCaptured, make
from vigia.common.settings import CommonSettings
from vigia.common.storage import ensure_default_buckets, open_store
from vigia.simulators.camsim.scene import Scene, SceneConfig
from vigia.simulators.camsim.truth import plate_intervals
from vigia.vision.detectors import build_detector
from vigia.vision.pipeline import FrameInput, PipelineConfig, VisionPipeline
from vigia.vision.plates.brazil import plate_key
from vigia.vision.plates.ocr import PlateOCR
from vigia.vision.settings import VisionSettings
from vigia.vision.worker import VisionWorker


def camsim_jpegs(n: int, seed: int = 1) -> list[bytes]:
    scene = Scene(SceneConfig(fps=1.0, seed=seed))
    return [cv2.imencode(".jpg", scene.render(i), [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes() for i in range(n)]


class _Meta:
    def __init__(self, body: bytes) -> None:
        self.body = body


def worker_rate(detector, jpegs: list[bytes], store, batch: int) -> float:
    async def run() -> float:
        async def publish(_envelopes) -> None:
            return None

        worker = VisionWorker(VisionPipeline(detector, None, PipelineConfig(ocr=False)), publish, store,
                              batch_size=batch, batch_wait_ms=20)
        worker.start()
        camera, org = uuid.uuid4(), uuid.uuid4()
        envelopes = [make("frame.captured", org, "bench", FrameCaptured(camera=camera, width=1280, height=720, seq=i))
                     for i in range(len(jpegs))]
        started = time.perf_counter()
        await asyncio.gather(*(worker.handle(e, _Meta(b)) for e, b in zip(envelopes, jpegs, strict=True)))
        elapsed = time.perf_counter() - started
        await worker.stop()
        return len(jpegs) / elapsed

    return asyncio.run(run())


def detector_rate(detector, jpegs: list[bytes]) -> float:
    started = time.perf_counter()
    for body in jpegs:
        detector.detect([cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR)])
    return len(jpegs) / (time.perf_counter() - started)


def yolo_batching(jpegs: list[bytes]) -> dict[str, float]:
    yolo = build_detector({"type": "yolo", "model": "yolov8n.yaml", "device": "cpu", "confidence": 0.25})
    frames = [cv2.imdecode(np.frombuffer(b, np.uint8), cv2.IMREAD_COLOR) for b in jpegs[:16]]
    yolo.detect(frames[:2])  # warm-up
    out = {}
    for size in (1, 4, 8):
        started = time.perf_counter()
        for i in range(0, 16, size):
            yolo.detect(frames[i:i + size])
        out[f"yolo_s_per_frame_batch{size}"] = round((time.perf_counter() - started) / 16, 4)
    out["yolo_batch8_speedup"] = round(out["yolo_s_per_frame_batch1"] / out["yolo_s_per_frame_batch8"], 3)
    return out


def plate_accuracy(detector, ocr: PlateOCR, seconds: int, seeds: tuple[int, ...] = (1, 2, 3, 4, 5)) -> dict[str, float]:
    visits = exact = wrong = crops = frames = 0
    cpu = time.process_time()
    for seed in seeds:
        scene = Scene(SceneConfig(fps=1.0, seed=seed))
        pipeline = VisionPipeline(detector, ocr)
        reads = []
        for i in range(seconds):
            image = cv2.imdecode(cv2.imencode(".jpg", scene.render(i), [cv2.IMWRITE_JPEG_QUALITY, 85])[1],
                                 cv2.IMREAD_COLOR)
            result = pipeline.process([FrameInput("cam", i * 1_000_000_000, image)])[0]
            crops += result.ocr_crops
            frames += 1
            reads += result.plates
        reads += pipeline.end_idle(10**18)
        truth = plate_intervals(scene, range(seconds))
        plates = {plate_key(t["plate"]) for t in truth}
        wrong += sum(1 for r in reads if plate_key(r.decision.text) not in plates)
        for t in truth:
            if t["duration"] < 3 or not t["complete"]:
                continue
            visits += 1
            overlapping = [r for r in reads
                           if r.first_seen / 1e9 <= t["end"] + 1 and r.last_seen / 1e9 >= t["start"] - 1]
            exact += any(plate_key(r.decision.text) == plate_key(t["plate"]) for r in overlapping)
    return {"plate_visits": visits, "plate_exact": exact, "plate_accuracy": round(exact / max(1, visits), 4),
            "plate_wrong_reads": wrong, "ocr_crops_per_frame": round(crops / max(1, frames), 3),
            "cpu_s_per_frame_with_ocr": round((time.process_time() - cpu) / max(1, frames), 4)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--accuracy-seconds", type=int, default=120)
    args = parser.parse_args()
    settings = VisionSettings()
    detector = build_detector(settings.detector_config())
    jpegs = camsim_jpegs(args.frames)
    figures: dict[str, object] = {"bench": "vision", "detector": detector.name, "frames": len(jpegs),
                                  "frame_size": "1280x720", "cores": os.cpu_count()}
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"file://{tmp}", CommonSettings())
        ensure_default_buckets(store)
        detector_rate(detector, jpegs[:4])  # warm-up
        bare = detector_rate(detector, jpegs)
        cpu = time.process_time()
        worker = worker_rate(detector, jpegs, store, settings.vision_batch_size)
        figures["worker_cpu_s_per_frame_no_ocr"] = round((time.process_time() - cpu) / len(jpegs), 4)
    figures.update({"detector_fps": round(bare, 2), "worker_fps": round(worker, 2),
                    "worker_vs_detector": round(worker / bare, 3)})
    figures.update(yolo_batching(jpegs))
    if args.accuracy_seconds > 0:
        figures.update(plate_accuracy(build_detector({"type": "opencv", "people": False}), PlateOCR(),
                                      args.accuracy_seconds))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
