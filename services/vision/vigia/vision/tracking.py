"""Per-camera tracking: the same vehicle (or plate) across consecutive frames is one *visit*.

Frames are sparse (1 fps by default) and vehicles cross a plate's width or more per frame, so
IoU alone loses them: association also accepts a detection near where the track's constant-velocity
prediction puts it, gated in units of the object's own size (so near and far lanes never mix).
Matching is greedy by cost (1 - IoU + normalised distance), per label group.

State is in process and keyed by camera: frames of one camera must reach the same tracker in
order. See the vision package docstring for how that holds with several workers.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

BoxXYXY = tuple[float, float, float, float]


def iou(a: BoxXYXY, b: BoxXYXY) -> float:
    """Intersection over union of two (x1, y1, x2, y2) boxes."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _center(b: BoxXYXY) -> tuple[float, float]:
    return (b[0] + b[2]) / 2, (b[1] + b[3]) / 2


@dataclass
class Track:
    """One object followed across frames of one camera; ``visit`` state lives in ``state``."""

    id: str
    camera: str
    group: str
    box: BoxXYXY
    first_seen: int  # ns
    last_seen: int  # ns
    hits: int = 1
    missed: int = 0
    velocity: tuple[float, float] | None = None  # px per second
    state: dict[str, Any] = field(default_factory=dict)

    def predict(self, t_ns: int) -> tuple[float, float]:
        cx, cy = _center(self.box)
        if self.velocity is None:
            return cx, cy
        dt = (t_ns - self.last_seen) / 1e9
        return cx + self.velocity[0] * dt, cy + self.velocity[1] * dt


@dataclass(frozen=True)
class TrackerConfig:
    """``max_missed``: frames a track may go unseen before its visit ends; ``max_gap_s``: seconds
    without a frame matching it; gates are multiples of the object's width (x) and height (y)."""

    max_missed: int = 2
    max_gap_s: float = 4.0
    gate_x_new: float = 2.5
    gate_x_moving: float = 1.0
    gate_y: float = 1.0
    min_iou: float = 0.2


class CameraTracker:
    """Tracks of one camera. :meth:`update` takes one frame's boxes, in frame order."""

    _ids = itertools.count(1)

    def __init__(self, camera: str, config: TrackerConfig | None = None) -> None:
        self.camera = camera
        self.config = config or TrackerConfig()
        self.tracks: list[Track] = []

    def _cost(self, track: Track, box: BoxXYXY, t_ns: int) -> float | None:
        overlap = iou(track.box, box)
        tw, th = track.box[2] - track.box[0], track.box[3] - track.box[1]
        bw, bh = box[2] - box[0], box[3] - box[1]
        if min(tw, th, bw, bh) <= 0:
            return None
        if overlap >= self.config.min_iou:
            return 1.0 - overlap
        if not 0.5 <= bw / tw <= 2.0:
            return None
        px, py = track.predict(t_ns)
        cx, cy = _center(box)
        gate_x = self.config.gate_x_moving if track.velocity is not None else self.config.gate_x_new
        dx, dy = abs(cx - px) / max(tw, bw), abs(cy - py) / max(th, bh)
        if dx > gate_x or dy > self.config.gate_y:
            return None
        return 1.0 - overlap + dx + dy

    def update(self, t_ns: int, boxes: Sequence[tuple[str, BoxXYXY]]) -> tuple[list[Track], list[Track]]:
        """Associate one frame's ``(group, box)`` pairs with tracks.

        Returns ``(assigned, ended)``: the track of each box in order (new tracks for unmatched
        boxes) and the tracks whose visit ended with this frame. A frame older than the last one
        seen is matched but moves no track backwards in time.
        """
        pairs: list[tuple[float, int, int]] = []
        for ti, track in enumerate(self.tracks):
            for bi, (group, box) in enumerate(boxes):
                if group != track.group:
                    continue
                cost = self._cost(track, box, t_ns)
                if cost is not None:
                    pairs.append((cost, ti, bi))
        pairs.sort()
        taken_tracks: set[int] = set()
        assigned: list[Track | None] = [None] * len(boxes)
        for _, ti, bi in pairs:
            if ti in taken_tracks or assigned[bi] is not None:
                continue
            taken_tracks.add(ti)
            track = self.tracks[ti]
            box = boxes[bi][1]
            dt = (t_ns - track.last_seen) / 1e9
            if dt > 0:
                (ox, oy), (nx, ny) = _center(track.box), _center(box)
                velocity = ((nx - ox) / dt, (ny - oy) / dt)
                track.velocity = velocity if track.velocity is None else (
                    0.5 * (velocity[0] + track.velocity[0]), 0.5 * (velocity[1] + track.velocity[1]))
                track.last_seen = t_ns
            track.box = box
            track.hits += 1
            track.missed = 0
            assigned[bi] = track
        for bi, (group, box) in enumerate(boxes):
            if assigned[bi] is None:
                track = Track(f"{self.camera[:8]}-{next(self._ids)}", self.camera, group, box, t_ns, t_ns)
                self.tracks.append(track)
                assigned[bi] = track
        ended: list[Track] = []
        seen = {id(a) for a in assigned}
        for track in self.tracks:
            if id(track) in seen:
                continue
            track.missed += 1
            if track.missed > self.config.max_missed or \
                    (t_ns - track.last_seen) / 1e9 > self.config.max_gap_s:
                ended.append(track)
        self.tracks = [t for t in self.tracks if t not in ended]
        return [a for a in assigned if a is not None], ended

    def hold(self, t_ns: int) -> tuple[list[Track], list[Track]]:
        """A frame at ``t_ns`` in which nothing moved (motion gating skipped the detector): what
        the last detected frame showed still holds. Tracks seen in it are seen again, still
        (where they were, velocity zero), so a parked car or a person standing keeps one visit;
        tracks missing from it stay missing, so a visit that left ends after as many frames as
        it would with the detector run. Returns ``(held, ended)`` like :meth:`update`."""
        held: list[Track] = []
        ended: list[Track] = []
        for track in self.tracks:
            if track.missed == 0:
                if t_ns > track.last_seen:
                    track.last_seen = t_ns
                    track.velocity = (0.0, 0.0)
                track.hits += 1
                held.append(track)
                continue
            track.missed += 1
            if track.missed > self.config.max_missed or (t_ns - track.last_seen) / 1e9 > self.config.max_gap_s:
                ended.append(track)
        self.tracks = [t for t in self.tracks if t not in ended]
        return held, ended

    def end_all(self) -> list[Track]:
        """End every open visit (camera idle, shutdown)."""
        ended, self.tracks = self.tracks, []
        return ended


class Tracker:
    """Every camera's :class:`CameraTracker`, created on first sight of a camera.

    A camera is idle when none of its frames was *processed* for ``max_gap_s`` by ``clock``
    (monotonic ns), not when its newest frame was captured that long ago: frames worked off from a
    backlog (after a restart, a slow spell) are old by capture time while their stream still flows,
    and ending their visits between two of them would split visits and leave the frames held for
    lack of motion with nothing to report."""

    def __init__(self, config: TrackerConfig | None = None, clock: Callable[[], int] = time.monotonic_ns) -> None:
        self.config = config or TrackerConfig()
        self.clock = clock
        self.cameras: dict[str, CameraTracker] = {}
        self._processed: dict[str, int] = {}

    def camera(self, camera: str) -> CameraTracker:
        """The camera's tracker, for a frame being processed now."""
        tracker = self.cameras.get(camera)
        if tracker is None:
            tracker = self.cameras[camera] = CameraTracker(camera, self.config)
        self._processed[camera] = self.clock()
        return tracker

    def end_idle(self) -> tuple[list[Track], list[str]]:
        """End the visits of cameras none of whose frames came for ``max_gap_s`` (their stream
        stopped); returns the ended tracks and the cameras forgotten."""
        ended: list[Track] = []
        idle = [name for name, at in self._processed.items()
                if (self.clock() - at) / 1e9 > self.config.max_gap_s]
        for name in idle:
            tracker = self.cameras.pop(name, None)
            if tracker is not None:
                ended += tracker.end_all()
            del self._processed[name]
        return ended, idle

    def end_all(self) -> list[Track]:
        """End every open visit of every camera (the end of a run)."""
        ended = [t for tracker in self.cameras.values() for t in tracker.end_all()]
        self.cameras.clear()
        self._processed.clear()
        return ended
