"""Scene rendering: deterministic, the plates are where the scene says, and large and contrasted."""

from __future__ import annotations

import numpy as np
import pytest

from vigia.simulators.camsim.scene import Scene, SceneConfig

CFG = SceneConfig(width=1280, height=720, fps=10, seed=11)
FRAMES = [0, 25, 57, 120, 333, 600]


def test_same_seed_renders_identical_frames_in_any_order():
    a, b = Scene(CFG), Scene(CFG)
    forward = [a.render(i) for i in FRAMES]
    backward = {i: b.render(i) for i in reversed(FRAMES)}
    for i, img in zip(FRAMES, forward, strict=True):
        assert img.shape == (720, 1280, 3) and img.dtype == np.uint8
        assert np.array_equal(img, backward[i])


def test_plates_do_not_depend_on_what_was_asked_before():
    a, b = Scene(CFG), Scene(CFG)
    a.render(300)
    b.plates(5)
    assert a.plates(600) == b.plates(600)


def test_different_seeds_render_different_streets():
    a, b = Scene(CFG), Scene(SceneConfig(seed=12))
    assert not np.array_equal(a.render(100), b.render(100))
    assert [v.plate for v in a.plates(100)] != [v.plate for v in b.plates(100)]


def test_consecutive_frames_move():
    s = Scene(CFG)
    assert np.abs(s.render(200).astype(int) - s.render(201).astype(int)).mean() > 0.5


@pytest.mark.parametrize("kwargs", [{"width": 100}, {"width": 641}, {"fps": 0}, {"fps": 120}])
def test_bad_configuration_is_refused(kwargs):
    with pytest.raises(ValueError):
        SceneConfig(**kwargs)


def _visible_plates(scene: Scene, frames: range):
    for i in frames:
        views = [v for v in scene.plates(i) if v.visible]
        if views:
            yield i, views


def test_visible_plate_boxes_hold_plate_pixels_large_and_contrasted():
    scene = Scene(CFG)
    checked = set()
    for i, views in _visible_plates(scene, range(0, 1800, 7)):
        img = scene.render(i).astype(int)
        for v in views:
            x, y, w, h = v.box
            crop = img[y:y + h, x:x + w]
            grey = crop.mean(axis=-1)
            ink = (grey < 70).mean()
            if v.format == "mercosul":
                background = (crop > 150).all(axis=-1).mean()  # white, darkened at most by lighting
                band = ((crop[..., 0] > 80) & (crop[..., 0] > crop[..., 2] + 50)).mean()  # blue
                assert band > 0.05, (i, v)
            else:
                background = ((np.abs(crop - crop.mean(axis=-1, keepdims=True)) < 20).all(axis=-1)
                              & (grey > 110)).mean()  # neutral grey
            assert background > 0.2 and ink > 0.08, (i, v, background, ink)
            # Legibility proxy: wide enough for OCR, strong ink/background contrast.
            assert w >= 140, (i, v)
            assert np.percentile(grey, 90) - np.percentile(grey, 10) > 90, (i, v)
            checked.add((v.vehicle, v.format))
    assert {"mercosul", "old"} <= {fmt for _, fmt in checked}
    assert len(checked) >= 8


def test_the_plate_box_follows_the_vehicle_not_the_background():
    scene = Scene(CFG)
    i, views = next(_visible_plates(scene, range(0, 600)))
    x, y, w, h = views[0].box
    empty = scene.background[y:y + h, x:x + w].astype(int)
    drawn = scene.render(i)[y:y + h, x:x + w].astype(int)
    assert np.abs(drawn - empty).mean() > 40


INTRUDED = SceneConfig(width=1280, height=720, fps=10, seed=11, intruder_every_s=15)


def test_without_intruders_nobody_crosses_the_foreground():
    scene = Scene(CFG)
    assert all(scene.intruders(t) == [] for t in (0.0, 1.5, 30.0, 600.0))


def test_an_intruder_crosses_every_period_alternating_sides_and_is_drawn_over_the_traffic():
    scene, plain = Scene(INTRUDED), Scene(SceneConfig(width=1280, height=720, fps=10, seed=11))
    starts = [round(w.t_enter, 6) for t in (2.0, 17.0, 32.0) for w in scene.intruders(t)]
    assert starts == [1.0, 16.0, 31.0]
    first, second = scene.intruders(2.0)[0], scene.intruders(17.0)[0]
    assert (first.direction, second.direction) == (1, -1)
    assert first.t_exit - first.t_enter < INTRUDED.intruder_every_s  # one at a time
    # In the middle of its crossing the intruder is where the scene says, and the only change.
    t = first.time_at(640)
    frame = round(t * INTRUDED.fps)
    x, y, w, h = first.box_at(frame / INTRUDED.fps)
    diff = np.abs(scene.render(frame).astype(int) - plain.render(frame).astype(int)).sum(axis=2) > 0
    ys, xs = np.nonzero(diff)
    assert len(xs) > 0.05 * w * h
    assert x - 2 <= xs.min() and xs.max() <= x + w + 2 and y - 2 <= ys.min() and ys.max() <= y + h + 2
    assert abs(first.x_at(t) - 640) < 1e-6 and abs(second.x_at(second.time_at(300)) - 300) < 1e-6


def test_a_plate_behind_an_intruder_is_not_readable():
    scene = Scene(INTRUDED)
    hidden = 0
    for frame in range(0, 3000, 3):
        t = frame / INTRUDED.fps
        boxes = [w.box_at(t) for w in scene.intruders(t)]
        for view in scene.plates(frame):
            x, y, w, h = view.box
            if any(x < bx + bw and bx < x + w and y < by + bh and by < y + h for bx, by, bw, bh in boxes):
                assert not view.visible
                hidden += 1
    assert hidden, "in 300 s an intruder walks in front of some plate"


def test_an_intruder_period_shorter_than_a_crossing_is_refused():
    with pytest.raises(ValueError, match="intruder_every_s"):
        SceneConfig(intruder_every_s=5)


def test_an_injected_intruder_crosses_when_asked_on_top_of_the_periodic_ones():
    quiet, intruded = Scene(CFG), Scene(INTRUDED)
    walker = quiet.inject_intruder(40.0)
    assert quiet.intruders(39.9) == [] and quiet.intruders(40.5) == [walker]
    assert quiet.intruder_plan.entering(39.0, 41.0) == [walker]
    assert quiet.inject_intruder(50.0).direction == -walker.direction  # alternating sides by default
    assert quiet.inject_intruder(60.0, direction=1).direction == 1
    # With a period, the periodic intruders are still there and the injected one joins them.
    extra = intruded.inject_intruder(3.0, direction=-1)
    t = extra.time_at(900)  # well inside the frame
    assert {w.id for w in intruded.intruders(t)} == {intruded.intruders(2.0)[0].id, extra.id}
    frame = round(t * CFG.fps)
    assert not np.array_equal(intruded.render(frame), Scene(INTRUDED).render(frame))
