"""Zones: enter / exit / inside / count per track on the box's bottom centre, and the geometry under
them checked against a winding-number reference (and shapely when installed)."""

from __future__ import annotations

import itertools
import math

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from services.common.tests.pipelines.support import (
    CAMERA,
    NIGHT,
    Runner,
    chain,
    detection,
    node,
    seconds,
    sink,
    tick,
)
from vigia.common.pipelines.geometry import bottom_centre, inside


def zones(trigger: str, **config: object) -> Runner:
    return Runner(chain(node("cam", "camera_rtsp"), node("zone", "zone_analysis", zones=["patio"], trigger=trigger,
                                                         **config), sink()))


def test_enter_then_exit_fire_once_each_per_track() -> None:
    enter, leave = zones("enter"), zones("exit")
    path = [(100, 100), (600, 700), (700, 800), (650, 900), (200, 900), (300, 900)]
    items = [detection(x, y, NIGHT + seconds(i)) for i, (x, y) in enumerate(path)]
    assert [p["zone_event"] for p in enter.payloads(*items)] == ["enter"]
    assert [(p["zone"], p["zone_event"], p["track"]) for p in leave.payloads(*items)] == [("patio", "exit", "1")]
    assert enter.results[1].fired and leave.results[4].fired


def test_tracks_are_followed_separately() -> None:
    runner = zones("enter")
    got = runner.payloads(detection(600, 600, track="a"), detection(620, 600, track="b"),
                          detection(640, 600, NIGHT + seconds(1), track="a"))
    assert [p["track"] for p in got] == ["a", "b"]


def test_the_bottom_centre_decides_not_the_box() -> None:
    runner = zones("enter")
    # A tall box reaching into the zone while its feet stand outside it (y2 = 450 < 500).
    tall = detection(700, 450)
    assert runner.feed(tall) == []
    assert runner.feed(detection(700, 510, NIGHT + seconds(1))) == ["out"]


def test_a_track_lost_inside_the_zone_exits_on_a_tick() -> None:
    runner = zones("exit", lost_after_s=5)
    assert runner.feed(detection(700, 700)) == []
    assert runner.feed(tick(NIGHT + seconds(5))) == []
    lost = runner.payloads(tick(NIGHT + seconds(6)))
    assert [(p["zone_event"], p["track"], p["lost"]) for p in lost] == [("exit", "1", True)]
    assert runner.feed(tick(NIGHT + seconds(7))) == [] and runner.state.snapshot() == {}


def test_inside_fires_for_every_detection_in_the_zone() -> None:
    runner = zones("inside")
    assert len(runner.feed(*(detection(700, 700 + i, NIGHT + seconds(i)) for i in range(3)),
                           detection(100, 100, NIGHT + seconds(4)))) == 3


def test_count_fires_when_the_threshold_is_reached_and_again_only_after_dropping_below() -> None:
    runner = zones("count", threshold=2)
    t = NIGHT
    assert runner.feed(detection(700, 700, t, track="a")) == []
    counted = runner.payloads(detection(710, 700, t, track="b"))
    assert [(p["zone_event"], p["count"]) for p in counted] == [("count", 2)]
    assert runner.feed(detection(720, 700, t, track="c")) == []  # 3: still above
    assert runner.feed(detection(100, 100, t + seconds(1), track="a"),
                       detection(100, 100, t + seconds(1), track="b")) == []  # 1 left
    assert runner.feed(detection(730, 700, t + seconds(2), track="d")) == ["out"]


def test_pixels_are_normalised_by_the_frame_the_detection_names_else_the_camera_else_720p() -> None:
    runner = zones("inside")
    # 600 px on a 1000 px frame is inside the patio (x >= 0.5); on a 2000 px frame it is not.
    assert runner.feed(detection(600, 600)) == ["out"]
    assert runner.feed(detection(600, 600, frame_width=2000, frame_height=2000)) == []
    assert bottom_centre({"box": {"x1": 0, "y1": 0, "x2": 1280, "y2": 360}}, None) == (0.5, 0.5)


def test_a_camera_without_zones_or_another_camera_never_fires() -> None:
    runner = zones("enter")
    assert runner.feed(detection(700, 700, camera="0190a8c2-0000-7000-8000-00000000ca02")) == []


# --- geometry properties ---------------------------------------------------------------------


def winding_number(x: float, y: float, polygon: list[tuple[float, float]]) -> int:
    """Dan Sunday's winding number: the reference point-in-polygon test."""
    wn = 0
    for (x1, y1), (x2, y2) in zip(polygon, polygon[1:] + polygon[:1], strict=True):
        cross = (x2 - x1) * (y - y1) - (x - x1) * (y2 - y1)
        if y1 <= y < y2 and cross > 0:
            wn += 1
        elif y2 <= y < y1 and cross < 0:
            wn -= 1
    return wn


def distance_to_edges(x: float, y: float, polygon: list[tuple[float, float]]) -> float:
    best = math.inf
    for (x1, y1), (x2, y2) in zip(polygon, polygon[1:] + polygon[:1], strict=True):
        dx, dy = x2 - x1, y2 - y1
        t = 0.0 if dx == dy == 0 else max(0.0, min(1.0, ((x - x1) * dx + (y - y1) * dy) / (dx * dx + dy * dy)))
        best = min(best, math.hypot(x - x1 - t * dx, y - y1 - t * dy))
    return best


@st.composite
def star_polygons(draw: st.DrawFn) -> list[tuple[float, float]]:
    """Simple polygons: vertices at sorted angles around a centre (star-shaped, never self-crossing)."""
    n = draw(st.integers(3, 12))
    cx, cy = draw(st.floats(0.3, 0.7)), draw(st.floats(0.3, 0.7))
    angles = sorted(draw(st.lists(st.floats(0, 2 * math.pi, exclude_max=True), min_size=n, max_size=n,
                                  unique=True)))
    assume(all(b - a > 0.05 for a, b in itertools.pairwise(angles)))
    assume(2 * math.pi - angles[-1] + angles[0] > 0.05)
    radii = draw(st.lists(st.floats(0.05, 0.3), min_size=n, max_size=n))
    return [(cx + r * math.cos(a), cy + r * math.sin(a)) for a, r in zip(angles, radii, strict=True)]


points = st.tuples(st.floats(0, 1), st.floats(0, 1))


@settings(max_examples=300, deadline=None)
@given(star_polygons(), points)
def test_point_in_polygon_agrees_with_the_winding_number(polygon: list[tuple[float, float]],
                                                         point: tuple[float, float]) -> None:
    assume(distance_to_edges(*point, polygon) > 1e-9)
    assert inside(*point, tuple(polygon)) == (winding_number(*point, polygon) != 0)
    try:
        from shapely.geometry import Point, Polygon
    except ImportError:  # shapely is optional: the winding number is the reference
        return
    assert inside(*point, tuple(polygon)) == Polygon(polygon).contains(Point(point))


@settings(max_examples=200, deadline=None)
@given(star_polygons(), points, st.integers(0, 11), st.booleans())
def test_point_in_polygon_ignores_where_the_vertices_start_and_their_direction(
        polygon: list[tuple[float, float]], point: tuple[float, float], shift: int, reverse: bool) -> None:
    assume(distance_to_edges(*point, polygon) > 1e-9)
    k = shift % len(polygon)
    other = polygon[k:] + polygon[:k]
    if reverse:
        other.reverse()
    assert inside(*point, tuple(other)) == inside(*point, tuple(polygon))


@settings(max_examples=100, deadline=None)
@given(star_polygons(), st.lists(points, min_size=2, max_size=30))
def test_a_walk_enters_once_per_time_it_goes_from_outside_to_inside(polygon: list[tuple[float, float]],
                                                                     walk: list[tuple[float, float]]) -> None:
    for p in walk:
        assume(distance_to_edges(*p, polygon) > 1e-9)
    cameras = {CAMERA: {"zones": [{"name": "z", "points": [list(p) for p in polygon]}], "width": 1000,
                        "height": 1000}}
    runner = Runner(chain(node("cam", "camera_rtsp"), node("zone", "zone_analysis", trigger="enter"), sink()),
                    zones=cameras)
    fired = runner.feed(*(detection(x * 1000, y * 1000, NIGHT + seconds(i)) for i, (x, y) in enumerate(walk)))
    states = [winding_number(x, y, polygon) != 0 for x, y in walk]
    expected = int(states[0]) + sum(1 for a, b in itertools.pairwise(states) if b and not a)
    assert len(fired) == expected
