"""Motion gating: a cheap per-camera test of whether a frame can show anything new, so frames of a
still scene skip the detector (Frigate's biggest saving).

Per camera (:class:`CameraMotion`): the frame is scaled down to ``height`` px, made grey and
blurred; its difference from a running-average background above ``threshold`` grey levels is
change, kept only inside the camera's zones when it has any, dilated, and cut into regions
(contours) of at least ``min_area`` of the frame: the *regions of motion*. A frame with one goes
to the detector. The background learns with a time constant in seconds, not frames, so 1 fps and
10 fps cameras settle alike. A frame is also sent to the detector when the camera has no
background yet (first frame, or a gap of ``reset_after_s``), when most of the picture changed at
once (lights, exposure: the background is relearned), and at least every ``refresh_s`` so that the
objects held across still frames are confirmed now and then.

:class:`MotionGate` keeps every camera's state, its sensitivity (defaults, overridden per camera)
and its zones (normalised 0-1 polygons, as on the camera: :class:`vigia.common.messages.CameraZone`).
One caller at a time, frames of a camera in capture order (the worker's inference thread).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

BoxXYXY = tuple[float, float, float, float]
Polygon = Sequence[tuple[float, float]]
_KERNEL = np.ones((3, 3), np.uint8)


class MotionConfig(BaseModel):
    """A camera's motion sensitivity."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(True, description="Gate the detector on motion (off: every frame is detected).")
    threshold: int = Field(25, ge=1, le=255, description="Grey levels a pixel must differ from the background "
                           "to count as change (lower: more sensitive).")
    min_area: float = Field(0.0008, ge=0, le=1, description="Smallest region of motion, as a fraction of the "
                            "frame's area (lower: more sensitive).")
    height: int = Field(180, ge=32, le=1080, description="Frames are scaled to this height (px) for the test.")
    background_s: float = Field(2.0, gt=0, le=3600, description="Time constant of the running-average "
                                "background (s): how fast a change that stays becomes background.")
    relearn_fraction: float = Field(0.6, gt=0, le=1, description="Change over more than this fraction of the "
                                    "watched area is light, not motion: the background is relearned.")
    reset_after_s: float = Field(10.0, gt=0, description="A gap between frames longer than this relearns the "
                                 "background.")
    refresh_s: float = Field(30.0, ge=0, description="The detector runs at least this often per camera even "
                             "without motion, to confirm objects held across still frames (0: never).")


@dataclass(frozen=True)
class Motion:
    """The gate's verdict on one frame: ``detect`` or not, why (``reason``: motion, no_motion,
    first_frame, relearn, refresh, disabled), the regions of motion (frame pixels) and the fraction
    of the watched area that changed."""

    detect: bool
    reason: str
    boxes: list[BoxXYXY] = field(default_factory=list)
    changed: float = 0.0


class CameraMotion:
    """The motion state of one camera: its background and when the detector last ran."""

    def __init__(self, config: MotionConfig | None = None) -> None:
        self.config = config or MotionConfig()
        self.background: np.ndarray | None = None
        self.last_ns: int | None = None
        self.last_detect_ns: int | None = None
        self._mask_key: tuple[Any, ...] | None = None
        self._mask: np.ndarray | None = None

    def update(self, image: np.ndarray, t_ns: int, zones: Sequence[Polygon] = ()) -> Motion:
        """Test ``image`` (BGR or grey, captured at ``t_ns``) against the background, then learn it."""
        c = self.config
        if not c.enabled:
            return self._verdict(Motion(True, "disabled"), t_ns)
        H, W = image.shape[:2]
        h = min(c.height, H)
        w = max(1, round(W * h / H))
        small = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA) if (w, h) != (W, H) else image
        grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY) if small.ndim == 3 else small
        grey = cv2.GaussianBlur(grey, (5, 5), 0)
        dt = (t_ns - self.last_ns) / 1e9 if self.last_ns is not None else math.inf
        if self.background is None or self.background.shape != grey.shape or dt > c.reset_after_s:
            self.background = grey.astype(np.float32)
            return self._verdict(Motion(True, "first_frame", [(0.0, 0.0, float(W), float(H))], 1.0), t_ns)
        mask = self._zone_mask(grey.shape, zones)
        delta = cv2.absdiff(grey, cv2.convertScaleAbs(self.background))
        _, changed = cv2.threshold(delta, c.threshold, 255, cv2.THRESH_BINARY)
        if mask is not None:
            changed = cv2.bitwise_and(changed, mask)
        changed = cv2.dilate(changed, _KERNEL, iterations=2)
        if mask is not None:  # dilation must not spill change out of the zones
            changed = cv2.bitwise_and(changed, mask)
        watched = cv2.countNonZero(mask) if mask is not None else w * h
        fraction = cv2.countNonZero(changed) / watched if watched else 0.0
        if fraction > c.relearn_fraction:
            self.background = grey.astype(np.float32)
            return self._verdict(Motion(True, "relearn", [(0.0, 0.0, float(W), float(H))], fraction), t_ns)
        min_px = c.min_area * w * h
        sx, sy = W / w, H / h
        boxes: list[BoxXYXY] = []
        contours, _ = cv2.findContours(changed, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        for contour in contours:
            if cv2.contourArea(contour) < min_px:
                continue
            x, y, bw, bh = cv2.boundingRect(contour)
            boxes.append((x * sx, y * sy, (x + bw) * sx, (y + bh) * sy))
        alpha = 1.0 - math.exp(-max(0.0, dt) / c.background_s)
        cv2.accumulateWeighted(grey, self.background, alpha)
        if boxes:
            return self._verdict(Motion(True, "motion", boxes, fraction), t_ns)
        if c.refresh_s > 0 and self.last_detect_ns is not None and \
                (t_ns - self.last_detect_ns) / 1e9 >= c.refresh_s:
            return self._verdict(Motion(True, "refresh", [], fraction), t_ns)
        return self._verdict(Motion(False, "no_motion", [], fraction), t_ns)

    def _verdict(self, motion: Motion, t_ns: int) -> Motion:
        self.last_ns = t_ns if self.last_ns is None else max(self.last_ns, t_ns)
        if motion.detect:
            self.last_detect_ns = t_ns
        return motion

    def _zone_mask(self, shape: tuple[int, ...], zones: Sequence[Polygon]) -> np.ndarray | None:
        """255 inside any zone, 0 elsewhere (None: no zones, the whole frame counts); cached."""
        if not zones:
            return None
        key = (shape, tuple(tuple(map(tuple, z)) for z in zones))
        if key != self._mask_key:
            h, w = shape[:2]
            mask = np.zeros((h, w), np.uint8)
            polygons = [np.round(np.asarray(z, np.float64) * (w - 1, h - 1)).astype(np.int32) for z in zones]
            cv2.fillPoly(mask, polygons, 255)
            self._mask_key, self._mask = key, mask
        return self._mask


class MotionGate:
    """Every camera's :class:`CameraMotion`, each with its config (``default`` overridden by
    ``cameras[<camera id>]``) and zones (``set_zones``; ``use_zones=False`` ignores them)."""

    def __init__(self, default: MotionConfig | None = None,
                 cameras: Mapping[str, Mapping[str, Any] | MotionConfig] | None = None,
                 use_zones: bool = True) -> None:
        self.default = default or MotionConfig()
        self.overrides: dict[str, MotionConfig] = {
            str(camera): value if isinstance(value, MotionConfig) else
            MotionConfig.model_validate({**self.default.model_dump(), **value})
            for camera, value in (cameras or {}).items()}
        self.use_zones = use_zones
        self._zones: dict[str, list[Polygon]] = {}
        self._cameras: dict[str, CameraMotion] = {}
        self._lock = threading.Lock()  # zones are replaced from another thread than the checks

    def config_for(self, camera: str) -> MotionConfig:
        return self.overrides.get(camera, self.default)

    def set_zones(self, zones: Mapping[str, Sequence[Polygon]]) -> None:
        """Replace every camera's zones: camera id -> polygons (normalised 0-1 points)."""
        with self._lock:
            self._zones = {str(k): list(v) for k, v in zones.items() if v}

    def zones_of(self, camera: str) -> list[Polygon]:
        with self._lock:
            return self._zones.get(camera, []) if self.use_zones else []

    def check(self, camera: str, image: np.ndarray, t_ns: int) -> Motion:
        """Whether this frame of ``camera`` goes to the detector (see :class:`CameraMotion`)."""
        state = self._cameras.get(camera)
        if state is None:
            state = self._cameras[camera] = CameraMotion(self.config_for(camera))
        return state.update(image, t_ns, self.zones_of(camera))

    def forget(self, camera: str) -> None:
        """Drop a camera's state (its stream ended): its next frame starts a new background."""
        self._cameras.pop(camera, None)


def zones_of_camera(zones: Any) -> list[Polygon]:
    """The polygons of a camera's ``zones`` column/message field ([{name, points}, ...]); entries
    that are not polygons of at least three points are ignored."""
    out: list[Polygon] = []
    for zone in zones or []:
        points = zone.get("points") if isinstance(zone, Mapping) else getattr(zone, "points", None)
        if points is not None and len(points) >= 3:
            out.append([(float(x), float(y)) for x, y in points])
    return out
