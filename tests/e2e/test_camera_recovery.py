"""A hung FFmpeg is brought back by the watchdog, end to end (issue #3, acceptance: "an FFmpeg that
hangs is restarted by the watchdog").

camsim, control (API, outbox relay, recorder), streamer and watchdog run as real processes. The
streamer's own hang detector is pushed out of the way (hang_timeout_s 300), so only the watchdog
can notice: the camera's FFmpeg is frozen with SIGSTOP, its heartbeat stops, the watchdog (stale
after 3 s) publishes camera.restart, the streamer kills the frozen FFmpeg and starts a new one, and
the heartbeat moves again. Operators see it: the camera went online, offline when it froze and
online again, each transition announced once, and the API shows it online with its last frame.

The service tests cover the halves: services/streamer/tests/test_capture.py (the streamer's own
hang detector kills a SIGSTOPped FFmpeg), services/streamer/tests/test_service.py (a camera.restart
message restarts FFmpeg) and services/watchdog/tests (a stale heartbeat yields camera.restart).
"""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
import redis

from tests.e2e.vision_stack import VisionStack, time_ns, vision_stack, wait_for
from vigia.common.leases import camera_heartbeat_key

pytestmark = pytest.mark.slow

STALE_S = 3.0


@pytest.fixture
def stack(amqp_url: str, tmp_path: Path) -> Any:
    env = {
        "streamer": {"VIGIA_HANG_TIMEOUT_S": "300", "VIGIA_RTSP_TIMEOUT_S": "60"},
        "watchdog": {"VIGIA_CAMERA_STALE_SECONDS": str(STALE_S), "VIGIA_CAMERA_CHECK_S": "0.5",
                     "VIGIA_WATCHDOG_TICK_S": "0.2", "VIGIA_CAMERA_RESTART_COOLDOWN_S": "1"},
    }
    with vision_stack(tmp_path, amqp_url, services=("streamer", "watchdog"), cameras=1, camsim_fps=4,
                      camsim_gop=2, size=(640, 360), env=env) as running:
        yield running


def _sample(metrics: str, name: str, **labels: str) -> float:
    """The value of one Prometheus sample (0 when absent)."""
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in metrics.splitlines():
        match = re.match(rf"^{re.escape(name)}\{{(.*)\}} (\S+)$", line)
        if match and ",".join(sorted(match.group(1).split(","))) == want:
            return float(match.group(2))
    return 0.0


def _ffmpeg(stack: VisionStack) -> psutil.Process | None:
    streamer = psutil.Process(stack.procs["streamer"].pid)
    running = [p for p in streamer.children(recursive=True)
               if "ffmpeg" in p.name() and p.status() != psutil.STATUS_ZOMBIE]
    return running[0] if len(running) == 1 else None


def test_a_frozen_ffmpeg_is_restarted_through_the_watchdog(stack: VisionStack) -> None:
    token = stack.login()
    camera = stack.create_camera(token, "frozen", stack.camsim.urls[0], fps=2)
    beats = redis.Redis.from_url(stack.redis_url)
    key = camera_heartbeat_key(camera)

    def heartbeat() -> int:
        return int(beats.get(key) or 0)

    first = wait_for(heartbeat, 60, "the camera's first frame")
    wait_for(lambda: heartbeat() > first, 20, "frames to keep coming")
    frozen = wait_for(lambda: _ffmpeg(stack), 10, "one FFmpeg child of the streamer")
    restarts = _sample(stack.metrics("watchdog"), "watchdog_restarts_total", camera=camera)
    kills = _sample(stack.metrics("streamer"), "streamer_ffmpeg_killed_total", camera=camera, reason="restart")

    os.kill(frozen.pid, signal.SIGSTOP)
    stopped_at = time.time_ns()
    try:
        # The watchdog sees the stale heartbeat and sends camera.restart; the streamer kills the
        # frozen process on that command (not through its own hang detector) and starts another.
        wait_for(lambda: _sample(stack.metrics("watchdog"), "watchdog_restarts_total", camera=camera) > restarts,
                 STALE_S + 30, "the watchdog's restart command")
        wait_for(lambda: _sample(stack.metrics("streamer"), "streamer_ffmpeg_killed_total", camera=camera,
                                 reason="restart") > kills, 30, "the streamer to kill the frozen FFmpeg")
        assert not frozen.is_running() or frozen.status() == psutil.STATUS_ZOMBIE
        assert _sample(stack.metrics("streamer"), "streamer_ffmpeg_killed_total", camera=camera, reason="hung") == 0
        replacement = wait_for(lambda: (p := _ffmpeg(stack)) is not None and p.pid != frozen.pid and p, 30,
                               "a new FFmpeg")
        # Frames resume: a heartbeat written after the freeze was noticed.
        wait_for(lambda: heartbeat() > stopped_at + int(STALE_S * 1e9), 30, "frames after the restart")
        assert replacement.is_running()
        shown = wait_for(lambda: (c := stack.camera(token, camera))["status_changed_at"] and
                         time_ns(c["status_changed_at"]) > stopped_at and c["status"] == "online" and c, 30,
                         "the camera back online in the API")
        assert time_ns(shown["last_frame_at"]) > stopped_at
        transitions = {(previous, status): _sample(stack.metrics("watchdog"), "watchdog_camera_transitions_total",
                                                   previous=previous, status=status)
                       for previous, status in (("provisioning", "online"), ("online", "offline"),
                                                ("offline", "online"))}
        assert set(transitions.values()) == {1.0}, transitions
    finally:
        if frozen.is_running():
            frozen.send_signal(signal.SIGCONT)
        beats.close()
    stack.assert_alive()
