"""Motion gating: still and noisy frames are not motion, a moving object is, and only inside the
camera's zones when it has some."""

from __future__ import annotations

import functools

import cv2
import numpy as np

from vigia.vision.motion import CameraMotion, MotionConfig, MotionGate, zones_of_camera

SECOND = 1_000_000_000
H, W = 720, 1280


def street(seed: int = 7) -> np.ndarray:
    """A textured background (a still scene)."""
    rng = np.random.default_rng(seed)
    base = cv2.GaussianBlur(rng.normal(120, 40, (H, W)).clip(0, 255).astype(np.uint8), (9, 9), 0)
    return cv2.cvtColor(base, cv2.COLOR_GRAY2BGR)


@functools.cache
def _noise(index: int, sigma: float = 4.0) -> np.ndarray:
    return np.random.default_rng(index).normal(0, sigma, (H, W, 3)).astype(np.int16)


def noisy(image: np.ndarray, seed: int) -> np.ndarray:
    """``image`` with sensor noise and JPEG artefacts, as a camera would send it twice."""
    out = (image.astype(np.int16) + _noise(seed % 5)).clip(0, 255).astype(np.uint8)
    ok, data = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, 80])
    assert ok
    return cv2.imdecode(data, cv2.IMREAD_COLOR)


def with_box(image: np.ndarray, x: int, y: int = 400, size: int = 120) -> np.ndarray:
    out = image.copy()
    cv2.rectangle(out, (x, y), (x + size, y + size // 2), (30, 40, 200), -1)
    return out


def test_the_first_frame_is_detected_then_still_noisy_frames_are_not_motion() -> None:
    camera, scene = CameraMotion(), street()
    verdicts = [camera.update(noisy(scene, i), i * SECOND) for i in range(20)]
    assert verdicts[0].detect and verdicts[0].reason == "first_frame"
    assert [v.reason for v in verdicts[1:]] == ["no_motion"] * 19
    assert all(not v.boxes for v in verdicts[1:])


def test_slow_light_drift_is_not_motion() -> None:
    camera, scene = CameraMotion(), street()
    reasons = [camera.update(cv2.convertScaleAbs(noisy(scene, i), alpha=1.0 + 0.005 * i), i * SECOND).reason
               for i in range(30)]  # +0.5 % brightness a second, 15 % in all
    assert reasons[1:] == ["no_motion"] * 29


def test_a_moving_box_is_motion_where_it_moves() -> None:
    camera, scene = CameraMotion(), street()
    for i in range(3):
        camera.update(noisy(scene, i), i * SECOND)
    verdicts = [camera.update(noisy(with_box(scene, 200 + 150 * i), 10 + i), (3 + i) * SECOND) for i in range(4)]
    assert all(v.detect and v.reason == "motion" for v in verdicts)
    x1, y1, x2, y2 = max(verdicts[-1].boxes, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]))
    assert x1 <= 200 + 150 * 3 + 10 and x2 >= 200 + 150 * 3 + 110  # covers the box where it is now
    assert y1 <= 410 and y2 >= 450


def test_an_object_that_stops_becomes_still_and_its_ghost_fades() -> None:
    camera, scene = CameraMotion(), street()
    camera.update(noisy(scene, 0), 0)
    parked = with_box(scene, 600)
    reasons = [camera.update(noisy(parked, 1 + i), (1 + i) * SECOND).reason for i in range(12)]
    assert reasons[0] == "motion"  # it arrived
    assert reasons[-3:] == ["no_motion"] * 3  # then it is part of the scene


def test_motion_outside_the_cameras_zones_is_ignored_and_inside_counts() -> None:
    scene = street()
    left_half = [[(0.0, 0.0), (0.5, 0.0), (0.5, 1.0), (0.0, 1.0)]]
    outside, inside = CameraMotion(), CameraMotion()
    for camera in (outside, inside):
        camera.update(noisy(scene, 0), 0, left_half)
    right = [outside.update(noisy(with_box(scene, 800 + 100 * i), 1 + i), (1 + i) * SECOND, left_half)
             for i in range(3)]
    left = [inside.update(noisy(with_box(scene, 100 + 100 * i), 1 + i), (1 + i) * SECOND, left_half)
            for i in range(3)]
    assert [v.reason for v in right] == ["no_motion"] * 3
    assert all(v.reason == "motion" for v in left)
    assert all(b[2] <= W / 2 + 8 for v in left for b in v.boxes)  # regions stay in the zone


def test_a_sudden_change_of_the_whole_picture_relearns_the_background() -> None:
    camera, scene = CameraMotion(), street()
    camera.update(noisy(scene, 0), 0)
    dark = cv2.convertScaleAbs(scene, alpha=0.4)  # lights off
    assert camera.update(noisy(dark, 1), SECOND).reason == "relearn"
    assert camera.update(noisy(dark, 2), 2 * SECOND).reason == "no_motion"


def test_still_frames_go_to_the_detector_every_refresh_period_and_after_a_gap() -> None:
    camera, scene = CameraMotion(MotionConfig(refresh_s=5)), street()
    reasons = [camera.update(noisy(scene, i), i * SECOND).reason for i in range(11)]
    assert reasons == ["first_frame", *["no_motion"] * 4, "refresh", *["no_motion"] * 4, "refresh"]
    assert camera.update(noisy(scene, 99), 60 * SECOND).reason == "first_frame"  # the stream paused


def test_the_gate_uses_each_cameras_sensitivity_and_zones() -> None:
    scene = street()
    faint = scene.copy()
    faint[400:460, 600:720] = (faint[400:460, 600:720].astype(np.int16) + 15).clip(0, 255).astype(np.uint8)
    gate = MotionGate(MotionConfig(), cameras={"keen": {"threshold": 8}, "off": {"enabled": False}})
    assert gate.config_for("keen").threshold == 8 and gate.config_for("other").threshold == 25
    for camera in ("keen", "other"):
        gate.check(camera, scene, 0)
    assert gate.check("keen", faint, SECOND).reason == "motion"  # 15 grey levels: seen at threshold 8
    assert gate.check("other", faint, SECOND).reason == "no_motion"  # not at 25
    assert gate.check("off", scene, 0).reason == "disabled"
    gate.set_zones({"other": zones_of_camera([{"name": "gate", "points": [[0, 0], [0.1, 0], [0.1, 0.1]]}])})
    assert gate.zones_of("other") and not gate.zones_of("keen")
    assert gate.check("other", with_box(scene, 600), 2 * SECOND).reason == "no_motion"  # outside the zone
    assert MotionGate(use_zones=False).zones_of("other") == []
