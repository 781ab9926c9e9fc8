"""Prometheus metrics of the streamer (served on :9101/metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

FRAMES_PUBLISHED = Counter("streamer_frames_published_total", "Frames published to vigia.frames",
                           ["camera"])
FRAMES_DROPPED = Counter("streamer_frames_dropped_total", "Frames not published, by reason "
                         "(backpressure: the publisher fell behind; publish_error: the broker refused "
                         "or did not confirm)", ["camera", "reason"])
FFMPEG_RESTARTS = Counter("streamer_ffmpeg_restarts_total", "FFmpeg processes (re)started after the "
                          "first one, by camera", ["camera"])
FFMPEG_KILLED = Counter("streamer_ffmpeg_killed_total", "FFmpeg processes killed, by reason "
                        "(hung, stop, restart, long_gop)", ["camera", "reason"])
CIRCUIT_OPEN = Gauge("streamer_circuit_open", "1 while the camera's circuit breaker is open",
                     ["camera"])
KEYFRAMES_ONLY = Gauge("streamer_keyframes_only", "1 when the camera is sampled from key frames only, "
                       "0 when fully decoded", ["camera"])
CAMERAS_HELD = Gauge("streamer_cameras_held", "Cameras whose lease this replica holds")
REPLICAS_LIVE = Gauge("streamer_replicas_live", "Streamer replicas with a recent heartbeat")
