"""FFmpeg as the RTSP capture engine: the command line, the decode-mode rule, process hygiene.

Command (one process per camera)::

    ffmpeg -nostdin -nostats -loglevel info -progress pipe:2 -stats_period 2
           -rtsp_transport tcp -timeout <µs> -rw_timeout <µs> [-skip_frame nokey] -threads 1
           -i <rtsp url> -map 0:v:0 -an -sn -dn
           -vf "[showinfo=checksum=0,]select='isnan(prev_selected_t)+gt(floor(t*F),floor(prev_selected_t*F))'"
           -fps_mode passthrough -c:v mjpeg -q:v 5 -threads 1 -f image2pipe pipe:1

* **Sampling** keeps the first frame of each 1/F-second slot of the stream's own timestamps. It
  only drops frames, never duplicates them (the ``fps`` filter would repeat the last key frame
  when key frames are rarer than F), and it keeps the average rate at F even when key frames do
  not line up with the slots (GOP 12 at 25 fps sampled at 1 fps still gives 1 frame/s).
* **Decode mode** (:class:`DecodeMode`): ``keyframes`` adds ``-skip_frame nokey`` so the decoder
  only decodes key frames — about GOP times cheaper. It is right only while key frames come at
  least as often as the sampling period. The rule (:func:`keyframes_suffice`): key frames only
  while the key-frame interval, the median of the last three intervals between key-frame
  timestamps (``showinfo`` before the selector prints each decoded key frame's pts), is at most
  ``gop_tolerance`` x 1/F; otherwise — or when no second key frame arrives within
  3 x tolerance / F + 2 s of wall time — the worker restarts FFmpeg in ``full`` decode mode for
  the rest of its life (a camera update starts a new worker, which measures again).
* **Liveness**: ``-progress pipe:2 -stats_period 2`` makes a working FFmpeg write to stderr every
  2 s even between sampled frames, so "no byte on stdout or stderr for hang_timeout_s" means
  hung (a blocked or stopped process), not "waiting for a key frame". A camera that stops sending
  ends FFmpeg itself through ``-timeout``/``-rw_timeout``.
* **Hygiene**: children are started in their own session with ``PR_SET_PDEATHSIG=SIGKILL`` (they
  die with the streamer, even on kill -9) and carry ``VIGIA_STREAMER_PARENT=<pid>:<start time>``
  so :func:`kill_orphans` can find and kill any that outlived their parent; hung ones are killed
  as a tree with psutil (:func:`kill_tree`).
* **Secrets**: the URL is only in FFmpeg's argv. FFmpeg echoes it on stderr ("Input #0, rtsp,
  from 'rtsp://user:pass@…'"): every stderr line goes through :func:`redact_line` before it is
  kept or logged.
"""

from __future__ import annotations

import contextlib
import ctypes
import enum
import itertools
import logging
import os
import re
import signal
import statistics
from collections.abc import Sequence
from urllib.parse import unquote, urlsplit

import psutil

from vigia.common.observability import redact

log = logging.getLogger(__name__)

PARENT_ENV = "VIGIA_STREAMER_PARENT"
_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True) if os.name == "posix" else None


class DecodeMode(enum.StrEnum):
    keyframes = "keyframes"
    full = "full"


def _fps_text(fps: float) -> str:
    return format(fps, ".6g")


def capture_command(ffmpeg: str, url: str, *, fps: float, mode: DecodeMode, rtsp_timeout_s: float,
                    jpeg_quality: int = 5) -> list[str]:
    """The FFmpeg argv that pulls ``url`` and writes sampled MJPEG frames to stdout."""
    timeout_us = str(int(rtsp_timeout_s * 1_000_000))
    f = _fps_text(fps)
    select = f"select='isnan(prev_selected_t)+gt(floor(t*{f}),floor(prev_selected_t*{f}))'"
    filters = f"showinfo=checksum=0,{select}" if mode is DecodeMode.keyframes else select
    decoder = ["-skip_frame", "nokey"] if mode is DecodeMode.keyframes else []
    return [
        ffmpeg, "-hide_banner", "-nostdin", "-nostats", "-loglevel", "info",
        "-progress", "pipe:2", "-stats_period", "2",
        "-rtsp_transport", "tcp", "-timeout", timeout_us,
        "-probesize", "1000000", "-analyzeduration", "2000000",
        *decoder, "-threads", "1", "-i", url,
        "-map", "0:v:0", "-an", "-sn", "-dn", "-filter_threads", "1", "-vf", filters,
        "-fps_mode", "passthrough", "-c:v", "mjpeg", "-q:v", str(jpeg_quality), "-threads", "1",
        "-f", "image2pipe", "pipe:1",
    ]


def keyframes_suffice(key_pts: Sequence[float], fps: float, tolerance: float) -> bool | None:
    """Whether key-frame-only decoding keeps up with ``fps``: True/False once three intervals are
    known (their median against ``tolerance`` / fps), None before."""
    if len(key_pts) < 4:
        return None
    recent = list(key_pts[-4:])
    intervals = [b - a for a, b in itertools.pairwise(recent) if b > a]
    if len(intervals) < 3:
        return None
    return statistics.median(intervals) <= tolerance / fps


def no_second_keyframe_deadline(fps: float, tolerance: float) -> float:
    """Wall-clock seconds after the first key frame by which a second one must have come."""
    return 3 * tolerance / fps + 2.0


_SHOWINFO = re.compile(r"Parsed_showinfo.*?pts_time:\s*(-?[0-9.]+)")
_PROGRESS = re.compile(r"^[a-z_0-9]+=")


def parse_keyframe_pts(line: str) -> float | None:
    """The pts (s) of a ``showinfo`` line, or None for any other line."""
    match = _SHOWINFO.search(line)
    return float(match.group(1)) if match else None


def is_progress(line: str) -> bool:
    """True for ``-progress`` key=value lines (liveness only, never logged)."""
    return bool(_PROGRESS.match(line))


def url_secrets(url: str) -> list[str]:
    """The credential strings of an RTSP URL (raw and percent-decoded), to scrub from FFmpeg output."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    secrets = {s for s in (parts.password, unquote(parts.password or "")) if s and len(s) >= 3}
    return sorted(secrets, key=len, reverse=True)


def redact_line(line: str, secrets: Sequence[str] = ()) -> str:
    """A stderr line safe to log: URL credentials masked, known secrets replaced."""
    for secret in secrets:
        line = line.replace(secret, "***")
    return str(redact(line))


def child_setup() -> None:
    """Runs in the forked child before exec: die with the parent (even on kill -9)."""
    if _libc is not None:
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def parent_marker() -> str:
    me = psutil.Process()
    return f"{me.pid}:{me.create_time():.3f}"


def child_env() -> dict[str, str]:
    """The environment for FFmpeg children: ours plus the parent marker (see :func:`kill_orphans`)."""
    return {**os.environ, PARENT_ENV: parent_marker()}


def kill_tree(pid: int) -> None:
    """SIGKILL ``pid`` and every descendant (children first collected, so none escapes)."""
    try:
        parent = psutil.Process(pid)
        procs = [*parent.children(recursive=True), parent]
    except psutil.Error:
        return
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            proc.kill()


def _alive(marker: str) -> bool:
    pid_text, _, started = marker.partition(":")
    try:
        proc = psutil.Process(int(pid_text))
        return abs(proc.create_time() - float(started)) < 0.01
    except (psutil.Error, ValueError):
        return False


def kill_orphans(ffmpeg_name: str = "ffmpeg") -> int:
    """Kill FFmpeg processes started by a streamer that no longer runs; returns how many."""
    killed = 0
    for proc in psutil.process_iter(["pid", "name"]):
        try:
            if ffmpeg_name not in (proc.info["name"] or ""):
                continue
            marker = proc.environ().get(PARENT_ENV)
        except psutil.Error:
            continue
        if marker and not _alive(marker):
            log.warning("killing orphaned ffmpeg", extra={"pid": proc.info["pid"]})
            kill_tree(proc.info["pid"])
            killed += 1
    return killed
