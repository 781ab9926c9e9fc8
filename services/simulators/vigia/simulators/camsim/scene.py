"""A synthetic street scene: frame ``i`` of a seeded scene is always the same picture.

:class:`Scene` plans vehicles and walkers lazily from per-track seeded generators, answers where
every plate is at any frame (:meth:`Scene.plates`, pure geometry) and draws frames
(:meth:`Scene.render`). Numpy + OpenCV only, so Debian's system python3 can run it.
"""

from __future__ import annotations

import bisect
import math
import random
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace

import cv2
import numpy as np

from vigia.simulators.camsim.actors import (
    Box,
    Lane,
    Vehicle,
    Walker,
    draw_vehicle_sprite,
    draw_walker,
    plan_intruder,
    plan_vehicle,
    plan_walker,
)
from vigia.simulators.camsim.plates import PlateFormat


@dataclass(frozen=True)
class SceneConfig:
    """What a camera shows: frame size, frame rate and the seed that fixes everything else."""

    width: int = 1280
    height: int = 720
    fps: float = 10.0
    seed: int = 1
    walkers_per_sidewalk: int = 2
    intruder_every_s: float = 0.0  # 0: no intruders; else one crosses the foreground this often

    def __post_init__(self) -> None:
        if self.width < 320 or self.height < 180 or self.width % 2 or self.height % 2:
            raise ValueError("size must be even and at least 320x180")
        if not 0 < self.fps <= 60:
            raise ValueError("fps must be in (0, 60]")
        if self.intruder_every_s and not 12 <= self.intruder_every_s <= 3600:
            raise ValueError("intruder_every_s must be 0 (none) or in [12, 3600]: one crossing takes ~10 s")


@dataclass(frozen=True)
class PlateView:
    """A plate in one frame: where it is and whether it can be read (whole in frame, not hidden)."""

    vehicle: int
    plate: str
    format: PlateFormat
    box: Box
    visible: bool


class _Track:
    """One sidewalk: walkers one after another, planned as far ahead as asked."""

    def __init__(self, number: int, seed: str, plan: Callable[[random.Random, int, float], Walker]) -> None:
        self.number = number
        self.rng = random.Random(seed)
        self.plan = plan  # (rng, actor id, t_enter) -> actor
        self.actors: list[Walker] = []
        self.starts: list[float] = []
        self.t_next = self.rng.uniform(0.0, 15.0)  # walkers of one sidewalk do not march in step

    def active(self, t: float) -> list[Walker]:
        while self.t_next <= t + 1.0:
            # Ids depend only on the track and the actor's rank in it, never on the order of queries.
            actor = self.plan(self.rng, self.number * 100_000 + len(self.actors) + 1, self.t_next)
            self.actors.append(actor)
            self.starts.append(actor.t_enter)
            self.t_next = actor.t_exit + self.rng.uniform(0.3, 3.0)
        hi = bisect.bisect_right(self.starts, t)
        return [a for a in self.actors[max(0, hi - 2):hi] if a.t_enter <= t < a.t_exit]


class _Traffic:
    """Vehicles of all lanes, planned jointly in order of entry: one at a time per lane, and a
    vehicle waits to enter while it would ever hide another's plate (or have its own hidden), so
    every crossing shows its plate in one unbroken interval."""

    STEP = 0.1  # s between occlusion checks
    WAIT = 0.5  # s a vehicle is held back per conflict

    def __init__(self, config: SceneConfig, lanes: list[Lane]) -> None:
        self.config, self.lanes = config, lanes
        self.rngs = [random.Random(f"{config.seed}:lane:{lane.index}") for lane in lanes]
        self.t_next = [rng.uniform(0.0, 2.0 + 4.0 * i) for i, rng in enumerate(self.rngs)]
        self.counts = [0] * len(lanes)
        self.vehicles: list[Vehicle] = []  # by t_enter
        self.starts: list[float] = []

    def active(self, t: float) -> list[Vehicle]:
        """Vehicles in the frame at ``t``, far lane first (drawing order)."""
        while min(self.t_next) <= t + 1.0:
            self._plan_next()
        hi = bisect.bisect_right(self.starts, t)
        found = [v for v in self.vehicles[max(0, hi - 2 * len(self.lanes) - 2):hi] if v.t_enter <= t < v.t_exit]
        return sorted(found, key=lambda v: v.lane.index)

    def _plan_next(self) -> None:
        i = min(range(len(self.lanes)), key=lambda j: (self.t_next[j], j))
        self.counts[i] += 1
        c = self.config
        v = plan_vehicle(self.rngs[i], (i + 1) * 100_000 + self.counts[i], self.lanes[i], self.t_next[i],
                         c.width, c.height)
        for _ in range(200):
            if not any(self._conflict(v, other) for other in self.vehicles[-2 * len(self.lanes):]):
                break
            v = replace(v, t_enter=v.t_enter + self.WAIT)
        self.vehicles.append(v)
        self.starts.append(v.t_enter)
        self.t_next[i] = v.t_exit + self.rngs[i].uniform(0.3, 3.0)

    def _conflict(self, a: Vehicle, b: Vehicle) -> bool:
        if a.lane.index == b.lane.index:
            return a.t_enter < b.t_exit and b.t_enter < a.t_exit
        far, near = (a, b) if a.lane.index < b.lane.index else (b, a)
        t, end = max(a.t_enter, b.t_enter), min(a.t_exit, b.t_exit)
        while t < end:
            if _intersects(far.plate_box_at(t), near.box_at(t)):
                return True
            t += self.STEP
        return False


class _Intruders:
    """People crossing the foreground, one every ``period`` seconds (the first at 1 s), alternately
    from the left and from the right; intruder ``k`` is planned from its own seeded generator, so
    any of them can be asked for in any order."""

    FIRST = 1.0

    def __init__(self, config: SceneConfig) -> None:
        self.config, self.period = config, config.intruder_every_s
        self._planned: dict[int, Walker] = {}
        self.injected: list[Walker] = []  # asked for now (camsim's inject command), by entry time

    def inject(self, t_enter: float, direction: int | None = None) -> Walker:
        """One more intruder, entering at ``t_enter`` (from the left for ``direction`` 1, the right
        for -1, else alternating), on top of the periodic ones; safe to call from another thread."""
        n = len(self.injected)
        c = self.config
        rng = random.Random(f"{c.seed}:injected:{n}")
        intruder = plan_intruder(rng, 950_000 + n, t_enter, direction or (1 if n % 2 == 0 else -1), c.width, c.height)
        self.injected = sorted([*self.injected, intruder], key=lambda w: w.t_enter)  # readers see old or new
        return intruder

    def planned(self, k: int) -> Walker:
        intruder = self._planned.get(k)
        if intruder is None:
            c = self.config
            rng = random.Random(f"{c.seed}:intruder:{k}")
            intruder = plan_intruder(rng, 900_000 + k, self.FIRST + k * self.period, 1 if k % 2 == 0 else -1,
                                     c.width, c.height)
            self._planned[k] = intruder
            if len(self._planned) > 64:
                self._planned.pop(next(iter(self._planned)))
        return intruder

    def entering(self, t0: float, t1: float) -> list[Walker]:
        """Intruders whose crossing begins in [t0, t1)."""
        injected = [w for w in self.injected if t0 <= w.t_enter < t1]
        if not self.period or t1 <= self.FIRST:
            return injected
        first = max(0, math.ceil((t0 - self.FIRST) / self.period))
        last = math.ceil((t1 - self.FIRST) / self.period)
        return [w for k in range(first, last + 1) if t0 <= (w := self.planned(k)).t_enter < t1] + injected

    def active(self, t: float) -> list[Walker]:
        injected = [w for w in self.injected if w.t_enter <= t < w.t_exit]
        if not self.period or t < self.FIRST:
            return injected
        k = math.floor((t - self.FIRST) / self.period)
        return [w for j in range(max(0, k - 1), k + 1) if (w := self.planned(j)).t_enter <= t < w.t_exit] + injected


class Scene:
    """A street seen by one camera. Deterministic from ``config.seed``."""

    SPRITE_CACHE = 8

    def __init__(self, config: SceneConfig) -> None:
        self.config = config
        h = config.height
        self.k = h / 720
        # A one-way street: the far lane (smaller, higher) is drawn before the near lane.
        direction = random.Random(f"{config.seed}:direction").choice((-1, 1))
        self.lanes = [
            Lane(0, baseline=0.60 * h, direction=direction, plate_width=(168, 195)),
            Lane(1, baseline=0.955 * h, direction=direction, plate_width=(180, 215)),
        ]
        self.traffic = _Traffic(config, self.lanes)
        self.intruder_plan = _Intruders(config)
        self.walker_tracks = [
            self._walker_track(10 + 2 * n + i, f"{config.seed}:walk:{side}:{n}", baseline, height)
            for i, (side, baseline, height) in enumerate(
                (("far", 0.33 * h, (95, 125)), ("near", 0.995 * h, (150, 190))))
            for n in range(config.walkers_per_sidewalk)
        ]
        self.background = self._draw_background()
        self._noise = self._make_noise()
        self._sprites: OrderedDict[int, tuple[np.ndarray, np.ndarray]] = OrderedDict()

    def _walker_track(self, number: int, seed: str, baseline: float, height: tuple[float, float]) -> _Track:
        c = self.config
        return _Track(number, seed, lambda rng, wid, t: plan_walker(rng, wid, t, baseline, height, c.width, self.k))

    def time_of(self, frame: int) -> float:
        """Seconds since the scene began at ``frame``."""
        return frame / self.config.fps

    def vehicles(self, t: float) -> list[Vehicle]:
        """Vehicles in the frame at ``t``, in drawing order (far lane first)."""
        return self.traffic.active(t)

    def walkers(self, t: float) -> list[Walker]:
        return [w for track in self.walker_tracks for w in track.active(t)]

    def intruders(self, t: float) -> list[Walker]:
        """Intruders in the frame at ``t`` (drawn over everything else); none unless configured or injected."""
        return self.intruder_plan.active(t)

    def inject_intruder(self, t_enter: float, direction: int | None = None) -> Walker:
        """A person crossing the foreground from ``t_enter`` on, now rather than on the schedule."""
        return self.intruder_plan.inject(t_enter, direction)

    def plates(self, frame: int) -> list[PlateView]:
        """Every plate at least partly in ``frame``, with its box and visibility; no pixels drawn."""
        t = self.time_of(frame)
        vehicles = self.vehicles(t)
        boxes = [v.box_at(t) for v in vehicles]
        over = [w.box_at(t) for w in self.intruders(t)]  # intruders are drawn over every vehicle
        views = []
        for i, v in enumerate(vehicles):
            box = v.plate_box_at(t)
            if not _intersects(box, (0, 0, self.config.width, self.config.height)):
                continue
            inside = _contains((0, 0, self.config.width, self.config.height), box)
            hidden = any(_intersects(box, other) for other in [*boxes[i + 1:], *over])  # drawn over it
            views.append(PlateView(v.id, v.plate, v.plate_format, box, inside and not hidden))
        return views

    def render(self, frame: int) -> np.ndarray:
        """Frame ``frame`` as a BGR image of the configured size."""
        c = self.config
        t = self.time_of(frame)
        img = self.background.copy()
        for walker in self.walkers(t):
            draw_walker(img, walker, t)
        for v in self.vehicles(t):
            self._draw_vehicle(img, v, t)
        for intruder in self.intruders(t):
            draw_walker(img, intruder, t)
        # Light drifts slowly (clouds), and the sensor adds a little noise.
        gain = 1.0 + 0.1 * math.sin(2 * math.pi * t / 47.0 + c.seed)
        img = cv2.convertScaleAbs(img, alpha=gain)
        pos, neg = self._noise[frame % len(self._noise)]
        return cv2.subtract(cv2.add(img, pos), neg)

    def _sprite(self, v: Vehicle) -> tuple[np.ndarray, np.ndarray]:
        sprite = self._sprites.get(v.id)
        if sprite is None:
            sprite = self._sprites[v.id] = draw_vehicle_sprite(v)
            while len(self._sprites) > self.SPRITE_CACHE:
                self._sprites.popitem(last=False)
        return sprite

    def _draw_vehicle(self, img: np.ndarray, v: Vehicle, t: float) -> None:
        x, y, w, h = v.box_at(t)
        sprite, mask = self._sprite(v)
        if (w, h) != (sprite.shape[1], sprite.shape[0]):
            sprite = cv2.resize(sprite, (w, h), interpolation=cv2.INTER_AREA)
            mask = cv2.resize(mask, (w, h), interpolation=cv2.INTER_NEAREST)
        if v.blur_px > 1:  # motion blur along the direction of travel
            sprite = cv2.blur(sprite, (v.blur_px, 1))
        H, W = img.shape[:2]
        cv2.ellipse(img, (x + w // 2, y + h), (w // 2 + w // 20, max(2, h // 14)), 0, 0, 360, (38, 38, 40), -1)
        x0, y0, x1, y1 = max(0, x), max(0, y), min(W, x + w), min(H, y + h)
        if x0 >= x1 or y0 >= y1:
            return
        part = mask[y0 - y:y1 - y, x0 - x:x1 - x] > 0
        np.copyto(img[y0:y1, x0:x1], sprite[y0 - y:y1 - y, x0 - x:x1 - x], where=part[..., None])

    def _make_noise(self, count: int = 4) -> list[tuple[np.ndarray, np.ndarray]]:
        rng = np.random.Generator(np.random.PCG64(self.config.seed))
        shape = (self.config.height, self.config.width, 3)
        out = []
        for _ in range(count):
            n = rng.normal(0.0, 2.5, shape)
            out.append((np.clip(n, 0, 255).astype(np.uint8), np.clip(-n, 0, 255).astype(np.uint8)))
        return out

    def _draw_background(self) -> np.ndarray:
        c = self.config
        w, h = c.width, c.height
        rng = random.Random(f"{c.seed}:background")
        img = np.zeros((h, w, 3), np.uint8)
        horizon, far_walk, road_end = round(0.26 * h), round(0.34 * h), round(0.965 * h)
        for y in range(horizon):  # sky: lighter towards the horizon
            f = y / max(1, horizon)
            img[y] = (int(225 - 40 * (1 - f)), int(200 - 30 * (1 - f)), int(170 - 50 * (1 - f)))
        img[horizon:far_walk] = (150, 150, 140)  # distant haze behind the buildings
        x = 0
        while x < w:  # buildings with lit and dark windows
            bw = round(rng.uniform(80, 220) * self.k)
            top = round(rng.uniform(0.04, 0.2) * h)
            colour = tuple(rng.randint(90, 190) for _ in range(3))
            cv2.rectangle(img, (x, top), (x + bw, far_walk), colour, -1)
            step = max(6, round(24 * self.k))
            for wy in range(top + step // 2, far_walk - step, step):
                for wx in range(x + step // 3, x + bw - step // 2, step):
                    lit = rng.random() < 0.3
                    cv2.rectangle(img, (wx, wy), (wx + step // 2, wy + step // 2),
                                  (150, 220, 240) if lit else (70, 60, 55), -1)
            x += bw + round(rng.uniform(0, 20) * self.k)
        img[far_walk - round(0.03 * h):far_walk] = (165, 170, 175)  # far sidewalk
        road = np.random.Generator(np.random.PCG64(rng.randrange(2**32))).normal(0.0, 6.0, (road_end - far_walk, w))
        tone = np.clip(92 + road, 0, 255).astype(np.uint8)
        img[far_walk:road_end] = np.dstack([tone, tone, np.clip(tone.astype(np.int16) + 3, 0, 255).astype(np.uint8)])
        img[road_end:] = (160, 168, 172)  # near sidewalk
        cv2.line(img, (0, road_end), (w, road_end), (200, 200, 200), max(2, round(4 * self.k)))
        mid = round(0.66 * h)  # dashed centre line
        dash = round(60 * self.k)
        for dx in range(0, w, dash * 2):
            cv2.rectangle(img, (dx, mid - max(1, round(3 * self.k))), (dx + dash, mid + max(1, round(3 * self.k))),
                          (225, 225, 225), -1)
        for px in range(rng.randint(40, 200), w, round(rng.uniform(300, 420) * self.k)):  # street lamps
            cv2.line(img, (px, far_walk), (px, round(0.08 * h)), (60, 60, 60), max(2, round(5 * self.k)))
            cv2.line(img, (px, round(0.08 * h)), (px + round(40 * self.k), round(0.08 * h)), (60, 60, 60),
                     max(2, round(4 * self.k)))
        return img


def _intersects(a: Box, b: Box) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def _contains(outer: Box, inner: Box) -> bool:
    return (inner[0] >= outer[0] and inner[1] >= outer[1] and inner[0] + inner[2] <= outer[0] + outer[2]
            and inner[1] + inner[3] <= outer[1] + outer[3])
