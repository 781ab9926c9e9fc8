"""Plane geometry for zones and lines in normalised 0-1 image coordinates (y grows downwards).

Plain floats and tuples: these run for every detection of every pipeline reading a camera.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

Point = tuple[float, float]
Polygon = tuple[Point, ...]

#: Frame size assumed for a detection whose frame size is unknown (the cameras' usual 720p).
DEFAULT_FRAME = (1280.0, 720.0)


def inside(x: float, y: float, polygon: Polygon) -> bool:
    """Whether (x, y) lies inside the simple polygon (even-odd crossing rule; a point exactly on an
    edge may fall either way)."""
    result = False
    x1, y1 = polygon[-1]
    for x2, y2 in polygon:
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            result = not result
        x1, y1 = x2, y2
    return result


def side(point: Point, a: Point, b: Point) -> float:
    """Positive when ``point`` is on side A of the line a->b, negative on side B, 0 on it. With y
    growing downwards, side A is on the right hand of someone walking on the screen from a to b (the
    cross product's sign).
    Computed from the smaller end, so ``side(p, b, a) == -side(p, a, b)`` exactly, rounding and all."""
    if b < a:
        return -((a[0] - b[0]) * (point[1] - b[1]) - (a[1] - b[1]) * (point[0] - b[0]))
    return (b[0] - a[0]) * (point[1] - a[1]) - (b[1] - a[1]) * (point[0] - a[0])


def crossing(start: Point, end: Point, a: Point, b: Point) -> int:
    """How the move ``start`` -> ``end`` crosses the segment a-b: +1 from side A to side B, -1 from B
    to A, 0 when it does not cross (touching without passing to the other side is no crossing)."""
    s1, s2 = side(start, a, b), side(end, a, b)
    if s1 == 0 or s2 == 0 or (s1 > 0) == (s2 > 0):
        return 0
    # The move crosses the infinite line; it crosses the segment when a and b are on either side of it.
    t1, t2 = side(a, start, end), side(b, start, end)
    if (t1 > 0 and t2 > 0) or (t1 < 0 and t2 < 0):
        return 0
    return 1 if s1 > 0 else -1


def bottom_centre(data: Mapping[str, Any], frame: tuple[float, float] | None) -> Point | None:
    """The normalised point a detection stands on: its box's bottom centre divided by the frame size
    (the detection's ``frame_width``/``frame_height`` when it carries them, else ``frame``, else
    :data:`DEFAULT_FRAME`). None for a detection without a box."""
    box = data.get("box")
    if not box:
        return None
    width = data.get("frame_width")
    height = data.get("frame_height")
    if not width or not height:
        width, height = frame or DEFAULT_FRAME
    return (box["x1"] + box["x2"]) * 0.5 / width, box["y2"] / height


def polygon_of(points: Sequence[Sequence[float]]) -> Polygon:
    return tuple((float(p[0]), float(p[1])) for p in points)


class CameraShapes:
    """One camera's zones and lines as a node uses them (only those it names), compiled once."""

    __slots__ = ("frame", "lines", "zones")

    def __init__(self, frame: tuple[float, float] | None, zones: tuple[tuple[str, Polygon], ...],
                 lines: tuple[tuple[str, Point, Point], ...]) -> None:
        self.frame = frame
        self.zones = zones
        self.lines = lines


def camera_shapes(cameras: Mapping[str, Mapping[str, Any]], zones: Sequence[str] | None = None,
                  lines: Sequence[str] | None = None) -> dict[str, CameraShapes]:
    """Per camera id, its zones and lines named in ``zones`` / ``lines`` (None or empty: all of them).
    ``cameras`` is what Plan.compile was given: camera id -> {"zones", "lines", "width"?, "height"?}."""
    wanted_zones, wanted_lines = set(zones or ()), set(lines or ())
    out: dict[str, CameraShapes] = {}
    for camera, spec in cameras.items():
        width, height = spec.get("width"), spec.get("height")
        frame = (float(width), float(height)) if width and height else None
        chosen_zones = tuple((z["name"], polygon_of(z["points"])) for z in spec.get("zones") or ()
                             if (not wanted_zones or z["name"] in wanted_zones) and len(z["points"]) >= 3)
        chosen_lines = tuple((ln["name"], polygon_of(ln["points"])[0], polygon_of(ln["points"])[1])
                             for ln in spec.get("lines") or ()
                             if (not wanted_lines or ln["name"] in wanted_lines) and len(ln["points"]) == 2)
        out[str(camera)] = CameraShapes(frame, chosen_zones, chosen_lines)
    return out
