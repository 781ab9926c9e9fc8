"""Ground truth: which plate was readable in which interval, as JSON lines.

Each ``{"kind": "plate", ...}`` line is one maximal run of frames in which a vehicle's plate was
whole in the frame and not hidden: ``start``/``end`` (seconds of scene time, first and last frame),
``wall_start``/``wall_end`` (Unix seconds when those frames were due), ``duration`` (frames / fps),
``box`` ([x, y, w, h] at the middle frame), ``min_width`` (narrowest plate width in px) and
``complete`` (false when the run was cut by the start or end of the log). Accuracy is measured
on intervals with ``duration >= 3``. A ``{"kind": "stream", ...}`` line per camera says when its
frame 0 was due (``epoch``), its size, fps, seed and ``intruder_every_s``.

With intruders on (``SceneConfig.intruder_every_s``), an ``{"kind": "intruder", ...}`` line is
written as each one starts crossing: its ``actor`` id, ``t_enter``/``t_exit`` (scene seconds) and
``wall_enter``/``wall_exit``, ``direction`` (+1 from the left), ``speed`` (px/s), ``height`` and
``baseline`` (px, where its feet are) and ``frame_width``: its centre is at ``x`` px at scene time
``t_enter + (x + height / 2) / speed`` (from the left; mirrored from the right), see
:meth:`~vigia.simulators.camsim.actors.Walker.time_at`.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from vigia.simulators.camsim.actors import Box, Walker
from vigia.simulators.camsim.scene import PlateView, Scene


@dataclass
class _Run:
    view: PlateView
    start_frame: int
    boxes: list[Box] = field(default_factory=list)
    cut_at_start: bool = False


class TruthTracker:
    """Turns per-frame :class:`PlateView` lists of one camera into interval records."""

    def __init__(self, camera: str, fps: float, epoch: float = 0.0) -> None:
        self.camera, self.fps, self.epoch = camera, fps, epoch
        self._open: dict[int, _Run] = {}
        self._last_frame: int | None = None

    def observe(self, frame: int, views: list[PlateView]) -> list[dict[str, Any]]:
        """Account for ``frame`` (frames must come in increasing order); return the runs it ended."""
        if self._last_frame is not None and frame != self._last_frame + 1:
            raise ValueError(f"frames must be consecutive: {self._last_frame} then {frame}")
        first = self._last_frame is None
        self._last_frame = frame
        seen = {v.vehicle: v for v in views if v.visible}
        closed = [self._record(run, frame - 1, complete=not run.cut_at_start)
                  for vid, run in list(self._open.items()) if vid not in seen]
        for vid in [vid for vid in self._open if vid not in seen]:
            del self._open[vid]
        for vid, view in seen.items():
            run = self._open.get(vid)
            if run is None:
                run = self._open[vid] = _Run(view, frame, cut_at_start=first)
            run.boxes.append(view.box)
        return closed

    def close(self) -> list[dict[str, Any]]:
        """End every open run at the last observed frame (marked incomplete)."""
        if self._last_frame is None:
            return []
        records = [self._record(run, self._last_frame, complete=False) for run in self._open.values()]
        self._open.clear()
        return records

    def _record(self, run: _Run, end_frame: int, complete: bool) -> dict[str, Any]:
        frames = end_frame - run.start_frame + 1
        start, end = run.start_frame / self.fps, end_frame / self.fps
        return {
            "kind": "plate", "camera": self.camera, "vehicle": run.view.vehicle, "plate": run.view.plate,
            "format": run.view.format, "start_frame": run.start_frame, "end_frame": end_frame,
            "start": round(start, 4), "end": round(end, 4), "duration": round(frames / self.fps, 4),
            "wall_start": round(self.epoch + start, 4), "wall_end": round(self.epoch + end, 4),
            "box": list(run.boxes[len(run.boxes) // 2]), "min_width": min(b[2] for b in run.boxes),
            "complete": complete,
        }


def plate_intervals(scene: Scene, frames: range, camera: str = "cam1", epoch: float = 0.0) -> list[dict[str, Any]]:
    """The interval records of ``scene`` over ``frames`` (consecutive), computed without rendering."""
    tracker = TruthTracker(camera, scene.config.fps, epoch)
    records: list[dict[str, Any]] = []
    for frame in frames:
        records += tracker.observe(frame, scene.plates(frame))
    return records + tracker.close()


def intruder_record(walker: Walker, camera: str, epoch: float) -> dict[str, Any]:
    """The ground-truth line of one intruder's crossing (see the module docstring)."""
    return {
        "kind": "intruder", "camera": camera, "actor": walker.id, "t_enter": round(walker.t_enter, 4),
        "t_exit": round(walker.t_exit, 4), "wall_enter": round(epoch + walker.t_enter, 4),
        "wall_exit": round(epoch + walker.t_exit, 4), "direction": walker.direction, "speed": walker.speed,
        "height": walker.height, "baseline": walker.baseline, "frame_width": walker.frame_width,
    }


def intruder_records(scene: Scene, frames: range, camera: str = "cam1", epoch: float = 0.0) -> list[dict[str, Any]]:
    """Records of the intruders that start crossing during ``frames`` (consecutive)."""
    if not frames:
        return []
    fps = scene.config.fps
    return [intruder_record(w, camera, epoch)
            for w in scene.intruder_plan.entering(frames.start / fps, frames.stop / fps)]


class TruthLog:
    """Appends records to a JSON-lines file, one flushed line each; safe to share between threads."""

    def __init__(self, path: Path | str | None) -> None:
        self._lock = threading.Lock()
        self._file: TextIO | None = None
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed by close()

    def write(self, records: list[dict[str, Any]]) -> None:
        if self._file is None or not records:
            return
        with self._lock:
            for record in records:
                self._file.write(json.dumps(record, separators=(",", ":")) + "\n")
            self._file.flush()

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


def read_truth(path: Path | str) -> list[dict[str, Any]]:
    """Every record of a truth file."""
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]
