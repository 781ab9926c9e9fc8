"""Plate reading on held-out frames: one JSON line per OCR backend x split x format, then the default.

Frames come from ``tests/plates/heldout.py`` (whole 1280x720 street frames, typefaces and
distortions held out from the recogniser's training) and go through the real path of the vision
pipeline, as :meth:`vigia.vision.pipeline.VisionPipeline._frame` runs it without a vehicle
detector: :func:`find_plates` on the whole frame -> candidates wide enough and not cut by the
frame's edge -> :func:`plate_text` of each crop and its :func:`format_priors` -> the backend's
probabilities -> :func:`vigia.vision.plates.ctc.decode`. The frame's reading is its most confident
valid reading (what the operator's feed would show first).

Per line: ``exact`` (the frame's reading is the plate, per frame) with its 95 % Wilson interval,
``no_read`` (no valid reading at all), ``wrong`` (a valid but wrong reading), ``finder_recall`` (a
candidate overlapping the true plate: intersection at least half of each box), CPU ms per frame
(finder + crops + OCR, process CPU time of all threads) and per crop (OCR only), crops per frame.
The closing line names the default backend (``VIGIA_PLATE_OCR_BACKEND``'s default) and its exact
rates. Targets (issue #12): exact >= 0.95 clean, >= 0.85 degraded; finder recall >= 0.98.

Run: .venv/bin/python tests/bench/bench_plates.py [--frames 1000] [--backends easyocr,crnn]
     [--splits clean,degraded] [--formats mercosul,old] [--seed 0] [--crnn-weights PATH]
The held-out fonts are Debian packages (``make bootstrap`` installs them); without them the bench
says which are missing and exits 0 without figures.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tests.plates from a plain `python` run

import numpy as np

from tests.plates.heldout import SPLITS, HeldoutFrame, Split, frames, missing_fonts
from vigia.vision.pipeline import PipelineConfig
from vigia.vision.plates.backends import Backend, build_backend, read_plates, registered
from vigia.vision.plates.brazil import FORMATS, PlateFormat, PlateReading
from vigia.vision.plates.enhance import format_priors, plate_text
from vigia.vision.plates.finder import BoxXYXY, FinderConfig, crop_plate, find_plates, touches_edge
from vigia.vision.settings import VisionSettings


def wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def overlaps(candidate: BoxXYXY, truth: BoxXYXY) -> bool:
    """The candidate covers at least half of the true plate box and lies at least half inside it."""
    ix = max(0.0, min(candidate[2], truth[2]) - max(candidate[0], truth[0]))
    iy = max(0.0, min(candidate[3], truth[3]) - max(candidate[1], truth[1]))
    inter = ix * iy
    area_c = (candidate[2] - candidate[0]) * (candidate[3] - candidate[1])
    area_t = (truth[2] - truth[0]) * (truth[3] - truth[1])
    return area_c > 0 and inter >= 0.5 * area_t and inter >= 0.5 * area_c


@dataclass
class Prepared:
    """One frame after the finder: the crops to read with their priors, and the finder's CPU time."""

    frame: HeldoutFrame
    found: bool
    crops: list[np.ndarray]
    priors: list[dict[PlateFormat, float]]
    cpu_s: float


def prepare(frame: HeldoutFrame, finder: FinderConfig, min_width: int) -> Prepared:
    """The pipeline's steps before OCR, on one frame."""
    started = time.process_time()
    image = frame.image
    H, W = image.shape[:2]
    candidates = find_plates(image, None, finder)
    jobs = [c for c in candidates if c.width >= min_width and not touches_edge(c.box, W, H)]
    crops = [plate_text(crop_plate(image, c.box, 0.0, 0.0)) for c in jobs]
    priors = [format_priors(image, c.box) for c in jobs]
    cpu = time.process_time() - started
    return Prepared(frame, any(overlaps(c.box, frame.box) for c in candidates), crops, priors, cpu)


@dataclass
class Tally:
    frames: int = 0
    exact: int = 0
    no_read: int = 0
    found: int = 0
    crops: int = 0
    cpu_frame_s: float = 0.0
    cpu_ocr_s: float = 0.0
    wrong_examples: list[tuple[str, str, str]] = field(default_factory=list)

    def add(self, item: Prepared, reading: PlateReading | None, ocr_cpu_s: float) -> None:
        self.frames += 1
        self.found += item.found
        self.crops += len(item.crops)
        self.cpu_frame_s += item.cpu_s + ocr_cpu_s
        self.cpu_ocr_s += ocr_cpu_s
        if reading is None:
            self.no_read += 1
        elif reading.text == item.frame.text:
            self.exact += 1
        elif len(self.wrong_examples) < 5:
            self.wrong_examples.append((item.frame.text, reading.text, item.frame.font))

    def line(self, backend: str, split: str, fmt: str, seed: int) -> dict[str, object]:
        n = self.frames
        lo, hi = wilson(self.exact, n)
        flo, fhi = wilson(self.found, n)
        return {
            "bench": "plates", "backend": backend, "split": split, "format": fmt, "frames": n, "seed": seed,
            "exact": round(self.exact / n, 4), "exact_ci95": [round(lo, 4), round(hi, 4)],
            "no_read": round(self.no_read / n, 4), "wrong": round((n - self.exact - self.no_read) / n, 4),
            "finder_recall": round(self.found / n, 4), "finder_recall_ci95": [round(flo, 4), round(fhi, 4)],
            "cpu_ms_per_frame": round(1000 * self.cpu_frame_s / n, 1),
            "cpu_ms_per_crop": round(1000 * self.cpu_ocr_s / max(1, self.crops), 1),
            "crops_per_frame": round(self.crops / n, 2),
            "wrong_examples": [f"{t}->{r} ({font})" for t, r, font in self.wrong_examples],
        }


def best(readings: Sequence[PlateReading | None]) -> PlateReading | None:
    valid = [r for r in readings if r is not None]
    return max(valid, key=lambda r: r.confidence) if valid else None


def run(backends: dict[str, Backend], split: Split, fmt: PlateFormat, count: int, seed: int) -> dict[str, Tally]:
    pipeline = PipelineConfig()
    tallies = {name: Tally() for name in backends}
    for frame in frames(split, fmt, count, seed):
        item = prepare(frame, pipeline.finder, pipeline.min_plate_width)
        for name, backend in backends.items():
            started = time.process_time()
            reading = best(read_plates(backend, item.crops, item.priors)) if item.crops else None
            tallies[name].add(item, reading, time.process_time() - started)
    return tallies


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=1000, help="frames per split and format")
    parser.add_argument("--backends", default=",".join(sorted(registered())), help="comma-separated backend names")
    parser.add_argument("--splits", default=",".join(SPLITS))
    parser.add_argument("--formats", default=",".join(FORMATS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--crnn-weights", default=None,
                        help="read with these crnn weights instead of the shipped ones (a make train-plates --out)")
    args = parser.parse_args(argv)
    missing = missing_fonts()
    if missing:
        packages = " ".join(sorted(set(missing.values())))
        print(json.dumps({"bench": "plates", "skipped": "held-out fonts missing", "missing": missing,
                          "install": f"make bootstrap (apt-get install {packages})"}))
        return 0
    settings = VisionSettings()
    backends: dict[str, Backend] = {}
    for name in args.backends.split(","):
        try:
            if name == "crnn" and args.crnn_weights:
                from vigia.vision.plates.backends.crnn import CrnnBackend

                backends[name] = CrnnBackend(weights=args.crnn_weights)
            else:
                backends[name] = build_backend(name, settings)
        except Exception as exc:  # e.g. weights not shipped yet: measure the others, say why
            print(json.dumps({"bench": "plates", "backend": name, "skipped": f"{type(exc).__name__}: {exc}"}))
    exact: dict[str, dict[str, list[int]]] = {name: {} for name in backends}
    for split in args.splits.split(","):
        for fmt in args.formats.split(","):
            tallies = run(backends, split, fmt, args.frames, args.seed)  # type: ignore[arg-type]
            for name, tally in tallies.items():
                record = tally.line(name, split, fmt, args.seed)
                if name == "crnn" and args.crnn_weights:
                    record["weights"] = args.crnn_weights
                print(json.dumps(record), flush=True)
                got = exact[name].setdefault(split, [0, 0])
                got[0] += tally.exact
                got[1] += tally.frames
    default = VisionSettings.model_fields["plate_ocr_backend"].default
    print(json.dumps({"bench": "plates", "default": default, "frames_per_split_format": args.frames,
                      "exact": {name: {split: round(e / n, 4) for split, (e, n) in per.items()}
                                for name, per in exact.items()},
                      "targets": {"clean": 0.95, "degraded": 0.85, "finder_recall": 0.98}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
