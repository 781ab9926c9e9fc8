"""The vision pipeline without a broker: frames in, typed results out (STYLE: handlers hold the
logic, adapters are passed in). The worker feeds it micro-batches; tests and the benchmark call it
directly.

Per batch: one batched :meth:`Detector.detect` call; then, frame by frame in order, plate regions
are found cheaply (inside vehicle boxes when there are any, else in the whole frame), objects are
tracked per camera into visits, and OCR runs only where it can still change a visit's outcome: a
plate whole in the frame, wide enough, on a visit not yet decided and read fewer than
``max_reads`` times. A crop is cut to its text band and deblurred
(:mod:`vigia.vision.plates.enhance`), read under each plate format's slot rules with the format's
prior from the plate's colours (:mod:`vigia.vision.plates.ctc`), and the readings are voted per
slot (:mod:`vigia.vision.plates.voting`); a :class:`VisitPlate` is emitted when a visit's vote is
decided, when it changes after that, and when the visit ends with a plate not yet emitted.

Faces (:mod:`vigia.vision.faces`, cameras whose ``faces`` switch is on): on a detected frame, each
person's box is searched for a face, which is embedded and matched against the organization's
enrolled people; a held frame repeats no face (its pixels did not change).

Motion gating (:mod:`vigia.vision.motion`, optional): :meth:`VisionPipeline.gate` decides per
frame whether it goes to the detector. A frame without motion is *held*: nothing moved since the
camera's last detected frame, so its objects are those of that frame, where they were -- the
tracker holds them (:meth:`CameraTracker.hold`: a parked car or a person standing keeps one visit,
a visit that left still ends), they are reported again (loitering and live views go on seeing
them), and no plate is searched or read (the same pixels would only repeat a reading and fake an
agreeing vote).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from prometheus_client import Counter, Histogram

from vigia.vision.detectors.base import Detection, Detector
from vigia.vision.faces import CameraFaces, FaceResult
from vigia.vision.motion import MotionGate
from vigia.vision.plates.backends import Backend, read_plates
from vigia.vision.plates.enhance import format_priors, plate_text
from vigia.vision.plates.finder import (
    FinderConfig,
    PlateCandidate,
    crop_plate,
    find_plates,
    touches_edge,
)
from vigia.vision.plates.voting import PlateDecision, PlateVote
from vigia.vision.tracking import Track, Tracker, TrackerConfig, iou

log = logging.getLogger(__name__)

INFERENCE_SECONDS = Histogram("vigia_vision_inference_seconds", "Detector time per batch",
                              buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10))
OCR_SECONDS = Histogram("vigia_vision_ocr_seconds", "OCR time per frame that needed OCR",
                        buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5))
PLATES_READ = Counter("vigia_vision_plate_reads_total", "Plate crops sent to OCR, by outcome "
                      "(valid: corrected to a valid plate; invalid: no plausible plate)", ["outcome"])
FRAMES_SKIPPED = Counter("vigia_vision_frames_skipped_total", "Frames that did not go to the detector, by reason "
                         "(no_motion: motion gating found nothing moving; the frame is still tracked, "
                         "published and kept for evidence)", ["reason"])
MOTION_SECONDS = Histogram("vigia_vision_motion_seconds", "Motion gating time per batch",
                           buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25))


@dataclass(frozen=True)
class FrameInput:
    """One decoded frame of one camera; ``time_ns`` is its capture time; ``context`` is carried
    through untouched (the worker keeps the envelope there)."""

    camera: str
    time_ns: int
    image: np.ndarray
    context: Any = None


@dataclass(frozen=True)
class ObjectResult:
    """One reported object: its detection, its track (visit) id, and, for vehicles and plates,
    the plate box in this frame and the visit's plate so far."""

    detection: Detection
    track: str
    plate_box: tuple[float, float, float, float] | None = None
    plate: PlateDecision | None = None


@dataclass(frozen=True)
class VisitPlate:
    """A plate decided (or re-decided, or final at the visit's end) for one visit: what carried it
    (``label``) and the other plates its readings spelt (``runner_ups``: text, readings, best
    confidence; most read first)."""

    camera: str
    visit: str
    decision: PlateDecision
    first_seen: int
    last_seen: int
    context: Any = None
    final: bool = False
    label: str | None = None
    runner_ups: tuple[tuple[str, int, float], ...] = ()


@dataclass
class FrameResult:
    frame: FrameInput
    objects: list[ObjectResult] = field(default_factory=list)
    plates: list[VisitPlate] = field(default_factory=list)
    ocr_crops: int = 0
    faces: list[FaceResult] = field(default_factory=list)


@dataclass(frozen=True)
class PipelineConfig:
    """``max_reads``: OCR reads per visit at most; ``agree``: agreeing reads that decide a visit;
    ``min_plate_width``: narrower plate crops are not read (px)."""

    max_reads: int = 4
    agree: int = 2
    min_plate_width: int = 60
    ocr: bool = True
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    finder: FinderConfig = field(default_factory=FinderConfig)


class VisionPipeline:
    """Detector + plate finder + OCR + tracking + voting. Not thread-safe: one caller at a time of
    :meth:`detect` and one of :meth:`finish` / :meth:`end_idle` (the two may run concurrently)."""

    def __init__(self, detector: Detector, ocr: Backend | None, config: PipelineConfig | None = None,
                 motion: MotionGate | None = None, faces: CameraFaces | None = None) -> None:
        self.detector = detector
        self.ocr = ocr
        self.config = config or PipelineConfig()
        self.tracker = Tracker(self.config.tracker)
        self.motion = motion
        self.faces = faces

    # --- per batch ---

    def process(self, frames: Sequence[FrameInput]) -> list[FrameResult]:
        """Results of each frame, in order. Frames of one camera must come in capture order."""
        moving = self.gate(frames)
        found = iter(self.detect([f for f, m in zip(frames, moving, strict=True) if m]))
        return self.finish(frames, [next(found) if m else None for m in moving])

    def gate(self, frames: Sequence[FrameInput]) -> list[bool]:
        """Whether each frame goes to the detector (always without a motion gate). Frames of a
        camera in capture order, one caller at a time (the detector's thread). A gate that fails
        lets the frame through: gating saves work, it must never cost a detection."""
        if self.motion is None:
            return [True] * len(frames)
        started = time.perf_counter()
        out: list[bool] = []
        for frame in frames:
            try:
                moving = self.motion.check(frame.camera, frame.image, frame.time_ns).detect
            except Exception:
                log.warning("motion gating failed, the frame is detected", exc_info=True,
                            extra={"camera": frame.camera})
                moving = True
            if not moving:
                FRAMES_SKIPPED.labels("no_motion").inc()
            out.append(moving)
        MOTION_SECONDS.observe(time.perf_counter() - started)
        return out

    def detect(self, frames: Sequence[FrameInput]) -> list[list[Detection]]:
        """The model stage alone: one batched detector call. It touches no tracking state, so it
        may run on another thread than :meth:`finish` (the worker overlaps the two: batch N+1 is
        detected while batch N is finished)."""
        if not frames:
            return []
        started = time.perf_counter()
        detections = self.detector.detect([f.image for f in frames])
        INFERENCE_SECONDS.observe(time.perf_counter() - started)
        return detections

    def finish(self, frames: Sequence[FrameInput],
               detections: Sequence[list[Detection] | None]) -> list[FrameResult]:
        """The rest, frame by frame in order: plate finding, tracking, OCR, voting. One caller at
        a time (tracking state), frames of a camera in capture order. ``None`` for a frame the
        gate kept from the detector: it is held (see the module docstring)."""
        return [self._held(frame) if found is None else self._frame(frame, found)
                for frame, found in zip(frames, detections, strict=True)]

    def end_idle(self) -> list[VisitPlate]:
        """Final plates of visits on cameras that went quiet. Their motion state goes too: the
        next frame of such a camera is detected afresh, never held against tracks that are gone."""
        ended, cameras = self.tracker.end_idle()
        if self.motion is not None:
            for camera in cameras:
                self.motion.forget(camera)
        return [p for t in ended if (p := self._final(t)) is not None]

    def end_all(self) -> list[VisitPlate]:
        """Final plates of every open visit (the end of a run: benchmarks, a replayed clip)."""
        return [p for t in self.tracker.end_all() if (p := self._final(t)) is not None]

    # --- per frame ---

    def _frame(self, frame: FrameInput, found: list[Detection]) -> FrameResult:
        image = frame.image
        H, W = image.shape[:2]
        vehicles = [d for d in found if d.is_vehicle]
        others = [d for d in found if not d.is_vehicle and d.label != "plate"]
        candidates = find_plates(image, [v.box for v in vehicles] or None, self.config.finder)
        # A detector's own plate boxes (Haar) count only where the shape finder saw nothing.
        for d in found:
            if d.label == "plate" and all(iou(d.box, c.box) < 0.2 for c in candidates):
                candidates.append(PlateCandidate(d.box, 0, d.confidence, 0.0))
        # Each plate belongs to the vehicle whose box holds its centre; the rest stand alone.
        owner: dict[int, PlateCandidate] = {}
        orphans: list[PlateCandidate] = []
        for cand in candidates:
            cx, cy = (cand.box[0] + cand.box[2]) / 2, (cand.box[1] + cand.box[3]) / 2
            holders = [i for i, v in enumerate(vehicles)
                       if v.box[0] <= cx <= v.box[2] and v.box[1] <= cy <= v.box[3] and i not in owner]
            if holders:
                owner[min(holders, key=lambda i: _area(vehicles[i].box))] = cand
            else:
                orphans.append(cand)
        plate_dets = [Detection("plate", min(1.0, c.score / 2), c.box) for c in orphans]
        entries: list[tuple[Detection, PlateCandidate | None]] = [
            *((v, owner.get(i)) for i, v in enumerate(vehicles)),
            *((p, c) for p, c in zip(plate_dets, orphans, strict=True)),
            *((d, None) for d in others),
        ]
        camera = self.tracker.camera(frame.camera)
        tracks, ended = camera.update(frame.time_ns, [(_group(d), d.box) for d, _ in entries])
        result = FrameResult(frame)
        jobs: list[tuple[Track, PlateCandidate]] = []
        for (det, plate), track in zip(entries, tracks, strict=True):
            state = track.state
            state["context"] = frame.context
            state["label"] = det.label
            if plate is None:
                continue
            vote: PlateVote = state.setdefault("vote", PlateVote(agree=self.config.agree))
            if (self.config.ocr and self.ocr is not None and not vote.decided
                    and state.get("reads", 0) < self.config.max_reads
                    and plate.width >= self.config.min_plate_width and not touches_edge(plate.box, W, H)):
                jobs.append((track, plate))
        if jobs:
            assert self.ocr is not None
            started = time.perf_counter()
            crops = [plate_text(crop_plate(image, c.box, 0.0, 0.0)) for _, c in jobs]
            reads = read_plates(self.ocr, crops, [format_priors(image, c.box) for _, c in jobs])
            OCR_SECONDS.observe(time.perf_counter() - started)
            result.ocr_crops = len(jobs)
            for (track, _), reading in zip(jobs, reads, strict=True):
                track.state["reads"] = track.state.get("reads", 0) + 1
                PLATES_READ.labels("valid" if reading else "invalid").inc()
                if reading is not None:
                    track.state["vote"].add(reading)
        for (det, plate), track in zip(entries, tracks, strict=True):
            visit_vote: PlateVote | None = track.state.get("vote")
            decision = visit_vote.result() if visit_vote is not None else None
            result.objects.append(ObjectResult(det, track.id, plate.box if plate else None, decision))
            track.state["shown"] = (det, plate.box if plate else None)  # what a held frame repeats
            if visit_vote is not None and decision is not None and visit_vote.decided \
                    and track.state.get("emitted") != decision.text:
                track.state["emitted"] = decision.text
                result.plates.append(_visit_plate(track, decision, frame.context))
        result.plates += [p for t in ended if (p := self._final(t)) is not None]
        if self.faces is not None and self.faces.on(frame.camera):
            people = [(i, o.detection.box) for i, o in enumerate(result.objects) if o.detection.label == "person"]
            result.faces = self.faces.recognise(frame.camera, image, people)
        return result

    def _held(self, frame: FrameInput) -> FrameResult:
        """A frame without motion: the objects of the camera's last detected frame, still there."""
        held, ended = self.tracker.camera(frame.camera).hold(frame.time_ns)
        result = FrameResult(frame)
        for track in held:
            shown = track.state.get("shown")
            if shown is None:
                continue
            det, plate_box = shown
            track.state["context"] = frame.context
            vote: PlateVote | None = track.state.get("vote")
            result.objects.append(ObjectResult(det, track.id, plate_box, vote.result() if vote is not None else None))
        result.plates += [p for t in ended if (p := self._final(t)) is not None]
        return result

    def _final(self, track: Track) -> VisitPlate | None:
        vote = track.state.get("vote")
        decision = vote.result() if vote is not None else None
        if decision is None or track.state.get("emitted") == decision.text:
            return None
        track.state["emitted"] = decision.text
        return _visit_plate(track, decision, track.state.get("context"), final=True)


def _visit_plate(track: Track, decision: PlateDecision, context: Any, final: bool = False) -> VisitPlate:
    vote: PlateVote = track.state["vote"]
    others: dict[str, tuple[int, float]] = {}
    for reading in vote.readings:
        if reading.text != decision.text:
            count, best = others.get(reading.text, (0, 0.0))
            others[reading.text] = (count + 1, max(best, reading.confidence))
    runner_ups = sorted(((text, n, round(c, 4)) for text, (n, c) in others.items()), key=lambda r: (-r[1], -r[2], r[0]))
    return VisitPlate(track.camera, track.id, decision, track.first_seen, track.last_seen, context, final=final,
                      label=track.state.get("label"), runner_ups=tuple(runner_ups[:5]))


def _area(box: tuple[float, float, float, float]) -> float:
    return (box[2] - box[0]) * (box[3] - box[1])


def _group(detection: Detection) -> str:
    return "vehicle" if detection.is_vehicle else detection.label
