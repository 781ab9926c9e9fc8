"""The FFmpeg command line, the decode-mode rule, redaction of FFmpeg output, and orphan cleanup."""

from __future__ import annotations

import os
import subprocess
import time

import psutil

from vigia.streamer.ffmpeg import (
    PARENT_ENV,
    DecodeMode,
    capture_command,
    keyframes_suffice,
    kill_orphans,
    redact_line,
    url_secrets,
)


def test_key_frame_mode_skips_non_key_frames_and_full_mode_does_not() -> None:
    url = "rtsp://u:p@cam/1"
    keyframes = capture_command("ffmpeg", url, fps=1, mode=DecodeMode.keyframes, rtsp_timeout_s=5)
    full = capture_command("ffmpeg", url, fps=1, mode=DecodeMode.full, rtsp_timeout_s=5)
    assert keyframes[keyframes.index("-skip_frame") + 1] == "nokey"
    assert "-skip_frame" not in full
    for argv in (keyframes, full):
        assert argv[argv.index("-rtsp_transport") + 1] == "tcp"
        assert argv[argv.index("-timeout") + 1] == "5000000"  # microseconds
        assert argv[argv.index("-f", argv.index("-i")) + 1] == "image2pipe"
        assert argv[-1] == "pipe:1"


def test_key_frames_suffice_only_when_their_interval_fits_the_sampling_period() -> None:
    every_second = [0.0, 1.0, 2.0, 3.0]
    assert keyframes_suffice(every_second, fps=1, tolerance=1.25) is True
    assert keyframes_suffice(every_second, fps=2, tolerance=1.25) is False
    assert keyframes_suffice([0.0, 3.0, 6.0, 9.0], fps=1, tolerance=1.25) is False
    assert keyframes_suffice([0.0, 1.2, 2.4, 3.6], fps=1, tolerance=1.25) is True
    assert keyframes_suffice([0.0, 1.0], fps=1, tolerance=1.25) is None  # not enough evidence yet


def test_ffmpeg_lines_lose_their_credentials() -> None:
    url = "rtsp://admin:p%40ss-word@10.0.0.9:554/stream"
    secrets = url_secrets(url)
    line = "[rtsp @ 0x1] method DESCRIBE failed: 401 Unauthorized rtsp://admin:p%40ss-word@10.0.0.9:554/stream"
    cleaned = redact_line(line, secrets)
    assert "p%40ss-word" not in cleaned and "p@ss-word" not in cleaned
    assert "10.0.0.9:554/stream" in cleaned
    assert "p@ss-word" not in redact_line("password was p@ss-word", secrets)


def test_ffmpeg_left_behind_by_a_dead_streamer_is_killed() -> None:
    dead_parent = "999999:12.000"  # no such process
    orphan = subprocess.Popen(["ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi",
                               "-i", "testsrc2=size=64x64:rate=5", "-f", "null", "-"],
                              env={**os.environ, PARENT_ENV: dead_parent}, stdin=subprocess.DEVNULL)
    mine = subprocess.Popen(["ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi",
                             "-i", "testsrc2=size=64x64:rate=5", "-f", "null", "-"],
                            env={**os.environ, PARENT_ENV: f"{os.getpid()}:{psutil.Process().create_time():.3f}"},
                            stdin=subprocess.DEVNULL)
    try:
        time.sleep(0.3)
        assert kill_orphans() >= 1
        assert orphan.wait(timeout=5) == -9
        assert mine.poll() is None  # its parent (this test) is alive
    finally:
        for proc in (orphan, mine):
            proc.kill()
            proc.wait()
