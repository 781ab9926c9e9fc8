from __future__ import annotations

from vigia.vision.tracking import CameraTracker, Tracker, TrackerConfig

S = 1_000_000_000


def box(x: float, y: float, w: float = 180, h: float = 60):
    return (x, y, x + w, y + h)


def test_plate_moving_its_own_width_per_frame_keeps_one_track() -> None:
    tracker = CameraTracker("cam")
    ids = set()
    for i in range(6):
        (track,), ended = tracker.update(i * S, [("plate", box(100 + 200 * i, 300))])
        ids.add(track.id)
        assert not ended
    assert len(ids) == 1


def test_two_lanes_moving_together_stay_two_tracks() -> None:
    tracker = CameraTracker("cam")
    seen: list[tuple[str, str]] = []
    for i in range(4):
        tracks, _ = tracker.update(i * S, [("plate", box(100 + 180 * i, 280)), ("plate", box(150 + 200 * i, 540))])
        seen.append((tracks[0].id, tracks[1].id))
    assert len({a for a, _ in seen}) == 1 and len({b for _, b in seen}) == 1
    assert seen[0][0] != seen[0][1]


def test_track_ends_after_max_missed_frames() -> None:
    tracker = CameraTracker("cam", TrackerConfig(max_missed=1))
    (track,), _ = tracker.update(0, [("vehicle", box(0, 0, 400, 300))])
    _, ended = tracker.update(1 * S, [])
    assert ended == []
    _, ended = tracker.update(2 * S, [])
    assert [t.id for t in ended] == [track.id]


def test_different_groups_are_never_matched() -> None:
    tracker = CameraTracker("cam")
    (a,), _ = tracker.update(0, [("person", box(100, 100, 50, 120))])
    (b,), _ = tracker.update(S, [("vehicle", box(100, 100, 50, 120))])
    assert a.id != b.id


def test_cameras_have_separate_tracks_and_idle_cameras_end_their_visits() -> None:
    now = [0]
    tracker = Tracker(TrackerConfig(max_gap_s=2), clock=lambda: now[0])
    (a,), _ = tracker.camera("c1").update(0, [("plate", box(100, 100))])
    (b,), _ = tracker.camera("c2").update(0, [("plate", box(100, 100))])
    assert a.id != b.id
    now[0] = 3 * S
    tracker.camera("c2").update(3 * S, [("plate", box(110, 100))])
    now[0] = 4 * S
    ended, idle = tracker.end_idle()
    assert [t.id for t in ended] == [a.id] and idle == ["c1"]
    assert tracker.end_idle() == ([], [])


def test_a_backlog_of_old_frames_is_not_idle() -> None:
    """Frames captured minutes ago but processed now (a backlog after a restart) keep their
    camera's visits open: idleness is judged by when frames were processed, not captured."""
    now = [100 * S]
    tracker = Tracker(TrackerConfig(max_gap_s=2), clock=lambda: now[0])
    (a,), _ = tracker.camera("c1").update(0, [("vehicle", box(100, 300))])
    for t in range(1, 6):
        now[0] += S // 2
        (seen,), _ = tracker.camera("c1").update(t * S, [("vehicle", box(100, 300))])
        assert seen is a
        assert tracker.end_idle() == ([], [])
    now[0] += 3 * S  # then the stream stops
    ended, idle = tracker.end_idle()
    assert ended == [a] and idle == ["c1"]


def test_frames_held_for_lack_of_motion_keep_a_still_object_and_end_a_departed_one() -> None:
    """A parked car seen in the last detected frame stays one visit however long nothing moves; a
    car missing from it ends after max_missed frames, held or detected alike."""
    tracker = CameraTracker("cam", TrackerConfig(max_missed=2, max_gap_s=4.0))
    (parked, gone), _ = tracker.update(0, [("vehicle", box(100, 300)), ("vehicle", box(700, 300))])
    (seen,), _ = tracker.update(1 * S, [("vehicle", box(100, 300))])  # the other drove off
    assert seen is parked and gone.missed == 1
    held, ended = tracker.hold(2 * S)
    assert held == [parked] and not ended and gone.missed == 2
    held, ended = tracker.hold(3 * S)
    assert held == [parked] and ended == [gone]
    for t in range(4, 60):  # nearly a minute without motion: longer than max_gap_s
        held, ended = tracker.hold(t * S)
        assert held == [parked] and not ended
    assert parked.velocity == (0.0, 0.0) and parked.last_seen == 59 * S
    (again,), _ = tracker.update(60 * S, [("vehicle", box(104, 300))])
    assert again is parked
