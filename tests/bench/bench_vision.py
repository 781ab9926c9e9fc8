"""Vision benchmark: ONE JSON line.

* worker_vs_detector: frames/s of the vision worker's handler path (decode, micro-batch, detect,
  plate finding, tracking, snapshot store, envelopes) vs the bare detector called in a loop on the
  same frames (decoding each JPEG, then detecting), same run (target >= 0.9). Detector: the one the
  worker would pick here (auto: opencv without YOLO weights). OCR off for this ratio, so both sides
  do the same model work. The two are measured in alternating rounds, since other processes' load
  on the machine drifts: ``worker_vs_detector`` is best round over best round (each side's least
  disturbed round), ``worker_vs_detector_median`` the median of the rounds' ratios. The worker
  overlaps decoding, detection and the rest on threads, so it can exceed 1 where the detector
  leaves a core idle; the process CPU seconds per frame of both show what its extra work costs.
* budget: make run's setup -- two camsim cameras at 1 fps (frames interleaved, 1 s apart per
  camera) through the worker built as ``python -m vigia.vision`` builds it (detector, OCR,
  settings): frames/s with OCR and process CPU seconds per frame; ``budget_cores_2cams_1fps`` is
  the CPU it needs per second of video (of the 2 cores), ``budget_realtime_factor`` how many times
  faster than real time it processes them (>= 1: keeps up).
* batching: per-frame seconds of YOLO (untrained yolov8n.yaml, same cost as trained) at batch 1/4/8.
* cpu_s_per_frame: process CPU seconds per frame of the full pipeline with OCR, on camsim frames.
* plate accuracy: camsim scenes at 1 fps, visits with the plate visible >= 3 s (complete), exact
  plate among the plate.read decisions overlapping the visit (target >= 0.95).

Run: .venv/bin/python tests/bench/bench_vision.py [--frames 40] [--rounds 5] [--budget-seconds 20]
     [--accuracy-seconds 120]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
import uuid

os.environ.setdefault("YOLO_OFFLINE", "1")

import cv2
import numpy as np
from prometheus_client import REGISTRY

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


Frame = tuple[uuid.UUID, int, bytes]  # camera, capture time (ns), JPEG


def worker_run(pipeline: VisionPipeline, frames: list[Frame], store, batch: int) -> tuple[float, float]:
    """(frames/s, process CPU s per frame) of the worker's handler path on ``frames``, all handed
    to it at once (as a consumer with enough prefetch would). The TTL and the idle sweep are off:
    the capture times are spaced like a live camera's but lie in the past."""

    async def run() -> tuple[float, float]:
        async def publish(_envelopes) -> None:
            return None

        worker = VisionWorker(pipeline, publish, store, batch_size=batch, batch_wait_ms=20, frame_ttl_ms=10**12,
                              idle_sweep_s=10**6)
        worker.start()
        org = uuid.uuid4()
        envelopes = [make("frame.captured", org, "bench", FrameCaptured(camera=camera, width=1280, height=720, seq=i),
                          time_ns=t) for i, (camera, t, _) in enumerate(frames)]
        cpu, started = time.process_time(), time.perf_counter()
        await asyncio.gather(*(worker.handle(e, _Meta(f[2])) for e, f in zip(envelopes, frames, strict=True)))
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        await worker.stop()
        return len(frames) / elapsed, cpu / len(frames)

    return asyncio.run(run())


def detector_run(detector, jpegs: list[bytes]) -> tuple[float, float]:
    """(frames/s, process CPU s per frame) of the bare detector in a loop: decode, detect."""
    cpu, started = time.process_time(), time.perf_counter()
    for body in jpegs:
        detector.detect([cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR)])
    return len(jpegs) / (time.perf_counter() - started), (time.process_time() - cpu) / len(jpegs)


def worker_vs_detector(settings: VisionSettings, jpegs: list[bytes], store, rounds: int) -> dict[str, object]:
    detector = build_detector(settings.detector_config())
    camera, start = uuid.uuid4(), time.time_ns() - len(jpegs) * 1_000_000_000
    frames = [(camera, start + i * 1_000_000_000, body) for i, body in enumerate(jpegs)]
    detector_run(detector, jpegs[:4])  # warm-up
    bare, worker = [], []
    for _ in range(rounds):
        bare.append(detector_run(detector, jpegs))
        pipeline = VisionPipeline(detector, None, PipelineConfig(ocr=False))  # a fresh tracker each round
        worker.append(worker_run(pipeline, frames, store, settings.vision_batch_size))
    ratios = [w[0] / b[0] for w, b in zip(worker, bare, strict=True)]
    best_bare, best_worker = max(b[0] for b in bare), max(w[0] for w in worker)
    return {"detector": detector.name, "rounds": rounds,
            "detector_fps": round(best_bare, 2), "worker_fps": round(best_worker, 2),
            "worker_vs_detector": round(best_worker / best_bare, 3),
            "worker_vs_detector_median": round(statistics.median(ratios), 3),
            "worker_vs_detector_rounds": [round(r, 3) for r in ratios],
            "detector_cpu_s_per_frame": round(statistics.median(b[1] for b in bare), 4),
            "worker_cpu_s_per_frame_no_ocr": round(statistics.median(w[1] for w in worker), 4),
            "worker_vs_detector_cpu": round(statistics.median(b[1] for b in bare)
                                            / statistics.median(w[1] for w in worker), 3)}


def ocr_crops() -> float:
    """Plate crops read by OCR so far in this process (the pipeline's counter)."""
    return sum(REGISTRY.get_sample_value("vigia_vision_plate_reads_total", {"outcome": o}) or 0.0
               for o in ("valid", "invalid"))


def budget(settings: VisionSettings, seconds: int, store) -> dict[str, object]:
    """make run's two cameras at 1 fps, with OCR, through the worker as the service builds it."""
    from vigia.vision.__main__ import build_pipeline

    pipeline = build_pipeline(settings)
    scenes = {uuid.uuid4(): Scene(SceneConfig(fps=1.0, seed=seed)) for seed in (1, 2)}
    start = time.time_ns() - seconds * 1_000_000_000
    frames = [(camera, start + i * 1_000_000_000,
               cv2.imencode(".jpg", scene.render(i), [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes())
              for i in range(seconds) for camera, scene in scenes.items()]
    crops_before = ocr_crops()
    fps, cpu = worker_run(pipeline, frames, store, settings.vision_batch_size)
    return {"budget_detector": pipeline.detector.name, "budget_ocr": pipeline.ocr is not None,
            "budget_frames": len(frames),
            "budget_ocr_crops_per_frame": round((ocr_crops() - crops_before) / len(frames), 3),
            "budget_worker_fps_with_ocr": round(fps, 2),
            "budget_cpu_s_per_frame_with_ocr": round(cpu, 4),
            "budget_cores_2cams_1fps": round(2 * cpu, 3), "budget_realtime_factor": round(fps / 2, 2)}


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
        reads += pipeline.end_all()
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
    parser.add_argument("--rounds", type=int, default=5, help="alternating detector/worker rounds")
    parser.add_argument("--budget-seconds", type=int, default=20, help="seconds of 2 cameras at 1 fps (0: skip)")
    parser.add_argument("--accuracy-seconds", type=int, default=120)
    args = parser.parse_args()
    settings = VisionSettings()
    jpegs = camsim_jpegs(args.frames)
    figures: dict[str, object] = {"bench": "vision", "frames": len(jpegs), "frame_size": "1280x720",
                                  "cores": os.cpu_count(), "load_avg_1m": round(os.getloadavg()[0], 2)}
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"file://{tmp}", CommonSettings())
        ensure_default_buckets(store)
        figures.update(worker_vs_detector(settings, jpegs, store, args.rounds))
        if args.budget_seconds > 0:
            figures.update(budget(settings, args.budget_seconds, store))
    figures.update(yolo_batching(jpegs))
    if args.accuracy_seconds > 0:
        figures.update(plate_accuracy(build_detector({"type": "opencv", "people": False}), PlateOCR(),
                                      args.accuracy_seconds))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
