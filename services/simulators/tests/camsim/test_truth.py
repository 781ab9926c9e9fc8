"""Ground truth: intervals are exactly the runs of frames in which a plate is readable."""

from __future__ import annotations

import collections

import pytest

from vigia.simulators.camsim.plates import plate_format
from vigia.simulators.camsim.scene import Scene, SceneConfig
from vigia.simulators.camsim.truth import TruthLog, TruthTracker, plate_intervals, read_truth

CFG = SceneConfig(fps=10, seed=21)


def test_intervals_are_the_maximal_runs_of_visible_frames():
    scene = Scene(CFG)
    records = plate_intervals(scene, range(0, 1500))
    assert records
    for r in records:
        def visible(frame: int, vehicle: int = r["vehicle"]) -> bool:
            return any(v.vehicle == vehicle and v.visible for v in scene.plates(frame))
        assert all(visible(f) for f in range(r["start_frame"], r["end_frame"] + 1))
        if r["complete"]:
            assert not visible(r["start_frame"] - 1) and not visible(r["end_frame"] + 1)
        assert r["duration"] == pytest.approx((r["end_frame"] - r["start_frame"] + 1) / CFG.fps)
        assert plate_format(r["plate"]) == r["format"]


def test_most_crossings_show_their_plate_once_for_at_least_three_seconds():
    records = plate_intervals(Scene(CFG), range(0, 6000))  # ten minutes
    by_vehicle = collections.Counter(r["vehicle"] for r in records)
    assert set(by_vehicle.values()) == {1}  # never hidden half-way: one interval per crossing
    long = [r for r in records if r["duration"] >= 3]
    assert len(long) >= 0.75 * len(records) and len(long) >= 60
    assert {r["format"] for r in long} == {"mercosul", "old"}
    assert min(r["min_width"] for r in records) >= 140


def test_wall_times_follow_the_epoch():
    records = plate_intervals(Scene(CFG), range(0, 600), epoch=1_000.0)
    assert all(r["wall_start"] == pytest.approx(1_000.0 + r["start"]) for r in records)


def test_tracker_refuses_frames_out_of_order():
    tracker = TruthTracker("cam1", 10)
    tracker.observe(5, [])
    with pytest.raises(ValueError, match="consecutive"):
        tracker.observe(7, [])


def test_log_appends_json_lines(tmp_path):
    path = tmp_path / "sub" / "truth.jsonl"
    log = TruthLog(path)
    log.write([{"kind": "plate", "plate": "ABC1D23"}])
    log.write([{"kind": "plate", "plate": "ABC-1234"}])
    log.close()
    assert [r["plate"] for r in read_truth(path)] == ["ABC1D23", "ABC-1234"]


def test_each_intruder_is_recorded_once_as_it_starts_crossing():
    from vigia.simulators.camsim.truth import intruder_records

    scene = Scene(SceneConfig(fps=10, seed=21, intruder_every_s=20))
    records = [r for start in range(0, 1200, 7) for r in intruder_records(scene, range(start, start + 7), "cam2",
                                                                          epoch=1000.0)]
    assert [r["t_enter"] for r in records] == [1.0, 21.0, 41.0, 61.0, 81.0, 101.0]
    assert len({r["actor"] for r in records}) == 6
    for r in records:
        assert r["kind"] == "intruder" and r["camera"] == "cam2"
        assert r["wall_enter"] == pytest.approx(1000.0 + r["t_enter"]) and r["wall_exit"] > r["wall_enter"]
        [walker] = scene.intruders(r["t_enter"] + 1)
        assert (walker.id, walker.direction, walker.speed) == (r["actor"], r["direction"], r["speed"])
    assert intruder_records(Scene(CFG), range(0, 1200)) == []
