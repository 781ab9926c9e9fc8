"""Line crossing with direction, checked by example and by property: a crossing counts once, the
direction flips with the line's orientation."""

from __future__ import annotations

import itertools

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from services.common.tests.pipelines.support import CAMERA, NIGHT, Runner, chain, detection, node, seconds, sink, tick
from vigia.common.pipelines.geometry import crossing, side


def lines(direction: str = "any", points: list[list[float]] | None = None, **config: object) -> Runner:
    cameras = {CAMERA: {"lines": [{"name": "fence", "points": points or [[0.5, 0.0], [0.5, 1.0]]}],
                        "width": 1000, "height": 1000}}
    graph = chain(node("cam", "camera_rtsp"), node("line", "line_crossing", direction=direction, **config), sink())
    return Runner(graph, zones=cameras)


def walk(xs: list[float], y: float = 500, track: str = "1") -> list:
    return [detection(x, y, NIGHT + seconds(i), track=track) for i, x in enumerate(xs)]


def test_direction_a_to_b_and_b_to_a() -> None:
    # The fence is drawn top to bottom (y grows downwards): side A is screen-left (x < 0.5), B is right.
    right, left = walk([100, 400, 600, 900]), walk([900, 600, 400, 100], track="2")
    assert [p["direction"] for p in lines().payloads(*right, *left)] == ["a_to_b", "b_to_a"]
    assert len(lines("a_to_b").feed(*right, *left)) == 1 and lines("a_to_b").payloads(*right)[0]["line"] == "fence"
    assert len(lines("b_to_a").feed(*right)) == 0 and len(lines("b_to_a").feed(*left)) == 1


def test_reversing_the_line_reverses_the_direction() -> None:
    right = walk([100, 600])
    assert lines("a_to_b", [[0.5, 1.0], [0.5, 0.0]]).feed(*right) == []
    assert lines("b_to_a", [[0.5, 1.0], [0.5, 0.0]]).feed(*walk([100, 600])) == ["out"]


def test_passing_beside_the_segment_is_no_crossing() -> None:
    short = [[0.5, 0.0], [0.5, 0.3]]  # the segment stops at y = 0.3; the walk is at y = 0.5
    assert lines("any", short).feed(*walk([100, 900])) == []


def test_labels_filter_and_lost_tracks_are_forgotten() -> None:
    runner = lines("any", labels=["car"], lost_after_s=2)
    assert runner.feed(*walk([100, 900])) == []  # people are not counted
    car = lines("any", lost_after_s=2)
    car.feed(detection(100, 500, NIGHT, label="car"))
    car.feed(tick(NIGHT + seconds(3)))
    # The track was forgotten, so its next position starts over instead of crossing from (100, 500).
    assert car.feed(detection(900, 500, NIGHT + seconds(4), label="car")) == []


coordinate = st.floats(0.0, 1.0)
segments = st.tuples(st.tuples(coordinate, coordinate), st.tuples(coordinate, coordinate))


@settings(max_examples=300, deadline=None)
@given(segments, st.tuples(coordinate, coordinate), st.tuples(coordinate, coordinate), st.integers(2, 20))
def test_a_walk_across_the_line_in_small_steps_crosses_once(line, start, end, steps) -> None:
    a, b = line
    assume(abs(a[0] - b[0]) + abs(a[1] - b[1]) > 0.05)
    assume(abs(side(start, a, b)) > 1e-6 and abs(side(end, a, b)) > 1e-6)
    # Not through one of the segment's ends, where rounding decides (pixels -> 0-1 in the engine).
    assume(abs(side(a, start, end)) > 1e-6 and abs(side(b, start, end)) > 1e-6)
    path = [(start[0] + (end[0] - start[0]) * k / steps, start[1] + (end[1] - start[1]) * k / steps)
            for k in range(steps + 1)]
    assume(all(abs(side(p, a, b)) > 1e-9 for p in path))
    whole = crossing(start, end, a, b)
    stepwise = [c for p, q in itertools.pairwise(path) if (c := crossing(p, q, a, b))]
    assert stepwise == ([whole] if whole else [])
    # Through the engine: one event exactly when the straight walk crosses the segment.
    cameras = {CAMERA: {"lines": [{"name": "l", "points": [list(a), list(b)]}], "width": 1000, "height": 1000}}
    runner = Runner(chain(node("cam", "camera_rtsp"), node("line", "line_crossing"), sink()), zones=cameras)
    fired = runner.payloads(*(detection(x * 1000, y * 1000, NIGHT + seconds(i)) for i, (x, y) in enumerate(path)))
    assert len(fired) == (1 if whole else 0)


@settings(max_examples=300, deadline=None)
@given(segments, segments)
def test_the_direction_flips_with_the_lines_orientation_and_the_walks(line, move) -> None:
    (a, b), (start, end) = line, move
    forward = crossing(start, end, a, b)
    assert crossing(start, end, b, a) == -forward
    assert crossing(end, start, a, b) == -forward
