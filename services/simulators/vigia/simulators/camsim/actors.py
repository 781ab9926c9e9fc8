"""What moves in a camsim scene: vehicles carrying plates and walking people, and how each is drawn.

An actor is a frozen plan (entry time, speed, looks) drawn from a seeded ``random.Random``; where it
is at time ``t`` is pure arithmetic, so the ground truth never needs pixels. Numpy + OpenCV only.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from functools import cached_property

import cv2
import numpy as np

from vigia.simulators.camsim.plates import CANVAS_H, CANVAS_W, PlateFormat, random_plate, render_plate

Box = tuple[int, int, int, int]  # x, y, w, h in frame pixels

BODY_COLOURS: tuple[tuple[int, int, int], ...] = (  # BGR: the colours cars really come in, mostly
    (235, 235, 235), (40, 40, 40), (170, 170, 170), (120, 120, 125), (30, 30, 160), (140, 60, 20),
    (40, 90, 30), (20, 140, 210), (90, 30, 100), (200, 200, 190), (60, 60, 90), (30, 200, 230),
)
SHIRT_COLOURS: tuple[tuple[int, int, int], ...] = (
    (40, 40, 200), (200, 120, 40), (50, 160, 60), (230, 230, 230), (30, 30, 30), (40, 200, 230),
    (150, 50, 150), (90, 90, 90),
)
PANTS_COLOURS: tuple[tuple[int, int, int], ...] = ((110, 60, 30), (30, 30, 30), (80, 80, 80), (150, 140, 120))


@dataclass(frozen=True)
class Lane:
    """A lane vehicles cross in one direction; ``baseline`` is where tyres touch the road (px)."""

    index: int
    baseline: float
    direction: int  # +1 enters from the left, -1 from the right
    plate_width: tuple[float, float]  # plate width range in px at this distance


@dataclass(frozen=True)
class Vehicle:
    """One vehicle's crossing: its looks, its plate and its motion, fixed when planned.

    Geometry is in sprite pixels at the vehicle's largest scale; at time ``t`` the sprite is drawn
    scaled by ``scale_at(t)`` with its bottom-left corner at ``(x_at(t), baseline_at(t))``.
    """

    id: int
    lane: Lane
    t_enter: float
    speed: float  # px/s in the frame
    plate: str
    plate_format: PlateFormat
    plate_width: float  # px at the largest scale
    width_ratio: float  # vehicle width / plate width
    height_ratio: float  # vehicle height / vehicle width
    colour: tuple[int, int, int]
    rear_view: bool
    gain: float  # lighting of this vehicle
    yaw: float  # perspective: right side taller (>0) or shorter (<0), as a fraction of height
    roll_deg: float
    blur_px: int
    scale_range: tuple[float, float]  # relative scale on entering and leaving (max is 1.0)
    drift: float  # baseline shift across the crossing, px
    frame_width: int

    @property
    def width(self) -> float:
        return self.plate_width * self.width_ratio

    @property
    def height(self) -> float:
        return self.width * self.height_ratio

    @property
    def travel(self) -> float:
        """Pixels travelled from first to last visible pixel (frame width plus the vehicle)."""
        return self.frame_width + self.width

    @property
    def t_exit(self) -> float:
        return self.t_enter + self.travel / self.speed

    def progress(self, t: float) -> float:
        return min(1.0, max(0.0, (t - self.t_enter) / (self.t_exit - self.t_enter)))

    def scale_at(self, t: float) -> float:
        a, b = self.scale_range
        return a + (b - a) * self.progress(t)

    def box_at(self, t: float) -> Box:
        """The vehicle's bounding box in the frame at ``t`` (may extend past the frame)."""
        s = self.scale_at(t)
        w, h = self.layout.size
        w, h = round(w * s), round(h * s)
        moved = (t - self.t_enter) * self.speed
        x = -w + moved if self.lane.direction > 0 else self.frame_width - moved
        bottom = self.lane.baseline + self.drift * self.progress(t)
        return round(x), round(bottom - h), w, h

    def plate_box_at(self, t: float) -> Box:
        """The plate's bounding box in the frame at ``t``."""
        x, y, w, _ = self.box_at(t)
        s = w / self.layout.size[0]
        px, py, pw, ph = self.layout.plate_box
        return x + round(px * s), y + round(py * s), max(1, round(pw * s)), max(1, round(ph * s))

    @cached_property
    def layout(self) -> VehicleLayout:
        return VehicleLayout.of(self)


@dataclass(frozen=True)
class VehicleLayout:
    """Where the parts of a vehicle go in its sprite, after the perspective warp."""

    size: tuple[int, int]  # sprite w, h after warp
    homography: np.ndarray = field(compare=False)
    base_size: tuple[int, int]  # sprite w, h before warp
    plate_quad: np.ndarray = field(compare=False)  # 4 corners before warp
    plate_box: Box  # after warp, in sprite pixels

    @staticmethod
    def of(v: Vehicle) -> VehicleLayout:
        bw, bh = round(v.width), round(v.height)
        pw = round(v.plate_width)
        ph = round(pw / (CANVAS_W / CANVAS_H))
        px = (bw - pw) // 2
        py = round(bh * 0.60)
        quad = np.array([[px, py], [px + pw, py], [px + pw, py + ph], [px, py + ph]], np.float32)
        # A slight yaw (one side taller) and roll: the camera never looks exactly square on.
        dy = v.yaw * bh
        src = np.array([[0, 0], [bw, 0], [bw, bh], [0, bh]], np.float32)
        dst = np.array([[0, max(0.0, dy)], [bw, max(0.0, -dy)], [bw, bh], [0, bh]], np.float32)
        centre = np.array([bw / 2, bh / 2], np.float32)
        rot = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), v.roll_deg, 1.0)
        dst = (np.hstack([dst, np.ones((4, 1), np.float32)]) @ rot.T).astype(np.float32)
        x0, y0 = dst.min(axis=0)
        dst -= (x0, y0)
        w, h = (math.ceil(c) + 1 for c in dst.max(axis=0))
        hom = cv2.getPerspectiveTransform(src, dst)
        warped = cv2.perspectiveTransform(quad.reshape(1, 4, 2), hom).reshape(4, 2)
        qx0, qy0 = np.floor(warped.min(axis=0))
        qx1, qy1 = np.ceil(warped.max(axis=0))
        plate_box = (int(qx0), int(qy0), int(qx1 - qx0), int(qy1 - qy0))
        return VehicleLayout((w, h), hom, (bw, bh), quad, plate_box)


def plan_vehicle(rng: random.Random, vid: int, lane: Lane, t_enter: float, frame_width: int,
                 frame_height: int) -> Vehicle:
    """Draw one vehicle's plan from ``rng``: mostly plates visible 3-9 s, a few faster ones."""
    fmt: PlateFormat = "mercosul" if rng.random() < 0.6 else "old"
    k = frame_height / 720
    speed = rng.uniform(120, 330) if rng.random() < 0.85 else rng.uniform(380, 600)
    start, end = rng.uniform(0.85, 0.95), 1.0
    return Vehicle(
        id=vid, lane=lane, t_enter=t_enter, speed=speed * k, plate=random_plate(rng, fmt), plate_format=fmt,
        plate_width=rng.uniform(*lane.plate_width) * k, width_ratio=rng.uniform(2.3, 2.9),
        height_ratio=rng.uniform(0.66, 0.82), colour=rng.choice(BODY_COLOURS), rear_view=rng.random() < 0.5,
        gain=rng.uniform(0.72, 1.12), yaw=rng.uniform(-0.06, 0.06), roll_deg=rng.uniform(-3.5, 3.5),
        blur_px=rng.choice((1, 1, 3, 3, 5, 7)), scale_range=(start, end) if lane.direction > 0 else (end, start),
        drift=rng.uniform(-12, 12) * k, frame_width=frame_width,
    )


def _shade(colour: tuple[int, int, int], factor: float) -> tuple[int, int, int]:
    return tuple(int(min(255, max(0, c * factor))) for c in colour)  # type: ignore[return-value]


def draw_vehicle_sprite(v: Vehicle) -> tuple[np.ndarray, np.ndarray]:
    """The vehicle at its largest scale: BGR sprite and its mask (uint8, 255 = vehicle)."""
    lay = v.layout
    bw, bh = lay.base_size
    img: np.ndarray = np.zeros((bh, bw, 3), np.uint8)
    mask: np.ndarray = np.zeros((bh, bw), np.uint8)
    body, dark = v.colour, _shade(v.colour, 0.6)

    def poly(points: list[tuple[float, float]], colour: tuple[int, int, int]) -> None:
        pts = np.array([[round(x * bw), round(y * bh)] for x, y in points], np.int32)
        cv2.fillPoly(img, [pts], colour, cv2.LINE_AA)
        cv2.fillPoly(mask, [pts], 255)

    def rect(x0: float, y0: float, x1: float, y1: float, colour: tuple[int, int, int]) -> None:
        poly([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], colour)

    # Tyres, then the lower body, the cabin and its glass, lights, bumper, mirrors, plate.
    rect(0.06, 0.80, 0.22, 1.0, (25, 25, 25))
    rect(0.78, 0.80, 0.94, 1.0, (25, 25, 25))
    poly([(0.0, 0.50), (0.04, 0.44), (0.96, 0.44), (1.0, 0.50), (1.0, 0.90), (0.0, 0.90)], body)
    poly([(0.14, 0.04), (0.86, 0.04), (0.95, 0.46), (0.05, 0.46)], body)
    glass = (95, 80, 70) if v.rear_view else (110, 95, 80)
    poly([(0.19, 0.10), (0.81, 0.10), (0.89, 0.42), (0.11, 0.42)], glass)
    poly([(0.55, 0.10), (0.64, 0.10), (0.46, 0.42), (0.37, 0.42)], _shade(glass, 1.35))  # reflection
    lamp = (40, 40, 210) if v.rear_view else (225, 240, 245)
    rect(0.03, 0.52, 0.20, 0.60, lamp)
    rect(0.80, 0.52, 0.97, 0.60, lamp)
    rect(0.0, 0.80, 1.0, 0.90, dark)
    poly([(-0.0, 0.40), (0.05, 0.36), (0.05, 0.44), (0.0, 0.45)], dark)
    poly([(1.0, 0.40), (0.95, 0.36), (0.95, 0.44), (1.0, 0.45)], dark)
    if not v.rear_view:
        rect(0.30, 0.50, 0.70, 0.57, dark)  # grille
    x0, y0 = (int(c) for c in lay.plate_quad[0])
    x1, y1 = (int(c) for c in lay.plate_quad[2])
    img[y0:y1, x0:x1] = cv2.resize(render_plate(v.plate), (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA)
    mask[y0:y1, x0:x1] = 255

    w, h = lay.size
    img = cv2.warpPerspective(img, lay.homography, (w, h), flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(mask, lay.homography, (w, h), flags=cv2.INTER_NEAREST)
    img = cv2.convertScaleAbs(img, alpha=v.gain)
    return img, mask


@dataclass(frozen=True)
class Walker:
    """A person walking along a sidewalk; ``baseline`` is where the feet are (px)."""

    id: int
    t_enter: float
    speed: float
    direction: int
    height: float
    baseline: float
    shirt: tuple[int, int, int]
    pants: tuple[int, int, int]
    skin: tuple[int, int, int]
    frame_width: int

    @property
    def t_exit(self) -> float:
        return self.t_enter + (self.frame_width + self.height) / self.speed

    def x_at(self, t: float) -> float:
        moved = (t - self.t_enter) * self.speed
        margin = self.height / 2
        return -margin + moved if self.direction > 0 else self.frame_width + margin - moved

    def time_at(self, x: float) -> float:
        """When the walker's centre (where its feet are) is at ``x`` px: the inverse of :meth:`x_at`."""
        margin = self.height / 2
        moved = x + margin if self.direction > 0 else self.frame_width + margin - x
        return self.t_enter + moved / self.speed

    def box_at(self, t: float) -> Box:
        """What :func:`draw_walker` covers at ``t`` (head to feet, arms and legs at full swing)."""
        x, h = self.x_at(t), self.height
        return round(x - 0.3 * h), round(self.baseline - h), round(0.6 * h), round(h + 0.02 * h)


def plan_walker(rng: random.Random, wid: int, t_enter: float, baseline: float, height: tuple[float, float],
                frame_width: int, k: float) -> Walker:
    """Draw one walker's plan from ``rng``."""
    return Walker(
        id=wid, t_enter=t_enter, speed=rng.uniform(35, 75) * k, direction=rng.choice((-1, 1)),
        height=rng.uniform(*height) * k, baseline=baseline + rng.uniform(-6, 6) * k,
        shirt=rng.choice(SHIRT_COLOURS), pants=rng.choice(PANTS_COLOURS),
        skin=rng.choice(((80, 120, 170), (120, 170, 220), (60, 90, 130), (150, 190, 230))), frame_width=frame_width,
    )


#: An intruder's size, path and pace as fractions of the frame (height, feet, speed per second).
INTRUDER_HEIGHT = 0.36
INTRUDER_BASELINE = 0.86
INTRUDER_SPEED = 0.12


def plan_intruder(rng: random.Random, wid: int, t_enter: float, direction: int, frame_width: int,
                  frame_height: int) -> Walker:
    """A person crossing the foreground in front of the traffic: tall enough for OpenCV's HOG people
    detector (about 260 px at 720p), feet on a fixed line at 86 % of the height, so a test can draw a
    zone on that line that nothing else stands in."""
    return Walker(
        id=wid, t_enter=t_enter, speed=INTRUDER_SPEED * frame_width * rng.uniform(0.95, 1.05), direction=direction,
        height=INTRUDER_HEIGHT * frame_height * rng.uniform(0.95, 1.05), baseline=INTRUDER_BASELINE * frame_height,
        shirt=rng.choice(SHIRT_COLOURS), pants=rng.choice(PANTS_COLOURS),
        skin=rng.choice(((80, 120, 170), (120, 170, 220), (60, 90, 130), (150, 190, 230))), frame_width=frame_width,
    )


def draw_walker(frame: np.ndarray, w: Walker, t: float) -> None:
    """Draw ``w`` at time ``t``: head, torso, swinging arms and legs."""
    x, h = w.x_at(t), w.height
    foot = w.baseline
    stride = h * 0.55
    phase = 2 * math.pi * ((t - w.t_enter) * w.speed) / stride
    swing = math.sin(phase) * 0.45  # radians of leg swing
    hip = (x, foot - h * 0.47)
    shoulder = (x, foot - h * 0.80)
    leg, arm = h * 0.47, h * 0.36
    thick = max(2, round(h * 0.07))

    def pt(p: tuple[float, float]) -> tuple[int, int]:
        return round(p[0]), round(p[1])

    for sign, shade in ((1, 0.75), (-1, 1.0)):  # far limb darker, drawn first
        a = sign * swing
        knee = (hip[0] + math.sin(a) * leg * 0.5, hip[1] + math.cos(a) * leg * 0.5)
        bend = max(0.0, -a) * 0.6
        ankle = (knee[0] + math.sin(a - bend) * leg * 0.5, knee[1] + math.cos(a - bend) * leg * 0.5)
        cv2.line(frame, pt(hip), pt(knee), _shade(w.pants, shade), thick, cv2.LINE_AA)
        cv2.line(frame, pt(knee), pt(ankle), _shade(w.pants, shade), thick, cv2.LINE_AA)
        cv2.line(frame, pt(ankle), pt((ankle[0] + w.direction * h * 0.06, ankle[1])), (30, 30, 30), thick,
                 cv2.LINE_AA)
        b = -sign * swing * 0.8
        hand = (shoulder[0] + math.sin(b) * arm, shoulder[1] + math.cos(b) * arm)
        cv2.line(frame, pt(shoulder), pt(hand), _shade(w.shirt, shade), max(2, thick - 1), cv2.LINE_AA)
    torso = np.array([pt((x - h * 0.09, foot - h * 0.83)), pt((x + h * 0.09, foot - h * 0.83)),
                      pt((x + h * 0.08, foot - h * 0.45)), pt((x - h * 0.08, foot - h * 0.45))], np.int32)
    cv2.fillPoly(frame, [torso], w.shirt, cv2.LINE_AA)
    cv2.circle(frame, pt((x, foot - h * 0.91)), max(2, round(h * 0.075)), w.skin, -1, cv2.LINE_AA)
