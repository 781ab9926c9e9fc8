"""Vigia streamer: pulls RTSP cameras with FFmpeg, samples frames and publishes them to vigia.frames.

Modules: :mod:`.service` (replicas, leases, control messages — the design), :mod:`.capture` (one
camera's worker: circuit breaker, back-off, hang watchdog), :mod:`.ffmpeg` (command line and
decode-mode rule), :mod:`.jpeg` (MJPEG splitting), :mod:`.testsource` (an RTSP server for tests).
"""
