"""One camera's capture worker: FFmpeg under a circuit breaker, back-off and a hang watchdog.

:class:`CaptureWorker` runs until stopped::

    loop:
      breaker open?            -> wait until its recovery timeout has passed (then one trial)
      start FFmpeg (in breaker) -> success = the first JPEG arrived within first_frame_timeout_s;
                                   failure = FFmpeg exited, hung or sent nothing in time
      failure                  -> back-off: initial x 2^(n-1), capped, with equal jitter
      success                  -> stream: every JPEG goes to the sink (publish + heartbeat) until
                                  FFmpeg ends (camera gone, -timeout), is killed as hung, is
                                  restarted on command, or the decode mode has to change

The breaker is :class:`circuitbreaker.CircuitBreaker` (5 failures -> open for 60 s -> one trial;
a trial's failure re-opens it, its success closes it). While it is open the worker tells a
:class:`CircuitReport` so (again before every wait), and once a start delivered its first frame
that the circuit is closed: the watchdog shows the camera as ``error`` in between.

Unlike the seed's ``@circuit`` around a start() that never returns, only the *start* — up to the
first frame — is inside the breaker, so each failed connection counts once and a healthy stream is
not a call that never ends.

Reading and publishing are decoupled: stdout is read continuously into a two-frame buffer that
drops the oldest frame when the publisher falls behind (frames are perishable; drops counted), so
a slow broker never blocks FFmpeg's pipe or looks like a hung process.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Protocol

from circuitbreaker import CircuitBreaker

from vigia.streamer import metrics
from vigia.streamer.cameras import CameraConfig
from vigia.streamer.ffmpeg import (
    DecodeMode,
    capture_command,
    child_env,
    child_setup,
    is_progress,
    keyframes_suffice,
    kill_tree,
    no_second_keyframe_deadline,
    parse_keyframe_pts,
    redact_line,
    url_secrets,
)
from vigia.streamer.jpeg import JpegImage, JpegSplitter
from vigia.streamer.settings import StreamerSettings

log = logging.getLogger(__name__)

FrameSink = Callable[[CameraConfig, JpegImage, int, int], Awaitable[None]]
"""``sink(config, image, seq, captured_ns)``: publishes one frame; must not raise for broker
trouble (it counts and logs it)."""

_READ_CHUNK = 256 * 1024


class CircuitReport(Protocol):
    """Where a worker reports its circuit breaker; must not raise for Redis trouble."""

    async def opened(self, config: CameraConfig) -> None:
        """The breaker is open (called again before every wait while it stays open)."""

    async def closed(self, config: CameraConfig) -> None:
        """A start delivered a frame: the breaker is closed."""


class CaptureFailed(Exception):
    """A start that produced no frame: the breaker counts it."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


class FfmpegRun:
    """One FFmpeg process: its frames, its liveness and why it ended."""

    def __init__(self, config: CameraConfig, mode: DecodeMode, settings: StreamerSettings) -> None:
        self.config = config
        self.mode = mode
        self.settings = settings
        self.process: asyncio.subprocess.Process | None = None
        self.reason: str | None = None  # why it was killed; None when it ended by itself
        self.key_pts: list[float] = []
        self.tail: collections.deque[str] = collections.deque(maxlen=12)
        self._secrets = url_secrets(config.rtsp_url)
        self._frames: collections.deque[tuple[JpegImage, int]] = collections.deque()
        self._ready = asyncio.Event()
        self._ended = False
        self._last_activity = time.monotonic()
        self._first_key_at: float | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.dropped = 0

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    async def spawn(self) -> None:
        s = self.settings
        argv = capture_command(s.ffmpeg_path, self.config.rtsp_url, fps=self.config.fps, mode=self.mode,
                               rtsp_timeout_s=s.rtsp_timeout_s, jpeg_quality=s.jpeg_quality)
        self.process = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env=child_env(), preexec_fn=child_setup,
            start_new_session=True, limit=1 << 20)
        self._last_activity = time.monotonic()
        name = str(self.config.camera)
        self._tasks = [asyncio.create_task(self._read_frames(), name=f"ffmpeg-out-{name}"),
                       asyncio.create_task(self._read_log(), name=f"ffmpeg-err-{name}"),
                       asyncio.create_task(self._watch(), name=f"ffmpeg-watch-{name}")]

    async def next_frame(self, wait_s: float | None = None) -> tuple[JpegImage, int] | None:
        """The next (image, captured_ns), or None once FFmpeg has ended."""
        async with asyncio.timeout(wait_s):
            while True:
                if self._frames:
                    return self._frames.popleft()
                if self._ended:
                    return None
                self._ready.clear()
                await self._ready.wait()

    def push_back(self, item: tuple[JpegImage, int]) -> None:
        """Return a frame taken with :meth:`next_frame` so it is the next one again."""
        self._frames.appendleft(item)
        self._ready.set()

    def kill(self, reason: str) -> None:
        """Kill FFmpeg and its children (idempotent); ``reason`` is kept for the worker."""
        if self.process is None or self.process.returncode is not None or self.reason is not None:
            return
        self.reason = reason
        metrics.FFMPEG_KILLED.labels(str(self.config.camera), reason).inc()
        kill_tree(self.process.pid)

    async def close(self) -> int | None:
        """Wait for FFmpeg's end (killing it if needed) and the reader tasks; returns the exit code."""
        if self.process is None:
            return None
        if self.process.returncode is None and self.reason is None and not self._ended:
            self.kill("stop")
        try:
            async with asyncio.timeout(10):
                await self.process.wait()
        except TimeoutError:
            kill_tree(self.process.pid)
            await self.process.wait()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._end()
        return self.process.returncode

    def _end(self) -> None:
        self._ended = True
        self._ready.set()

    async def _read_frames(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        splitter = JpegSplitter(self.settings.streamer_max_frame_bytes)
        stdout = self.process.stdout
        try:
            while chunk := await stdout.read(_READ_CHUNK):
                self._last_activity = time.monotonic()
                for image in splitter.feed(chunk):
                    if len(self._frames) >= 2:  # the publisher fell behind: shed the oldest
                        self._frames.popleft()
                        self.dropped += 1
                        metrics.FRAMES_DROPPED.labels(str(self.config.camera), "backpressure").inc()
                    self._frames.append((image, time.time_ns()))
                    self._ready.set()
        finally:
            self._end()

    async def _read_log(self) -> None:
        assert self.process is not None and self.process.stderr is not None
        stderr = self.process.stderr
        while True:
            try:
                raw = await stderr.readline()
            except ValueError:  # an absurdly long line: skip it
                continue
            if not raw:
                return
            self._last_activity = time.monotonic()
            line = raw.decode("utf-8", "replace").rstrip()
            if not line or is_progress(line):
                continue
            pts = parse_keyframe_pts(line)
            if pts is not None:
                self.key_pts.append(pts)
                del self.key_pts[:-8]
                if self._first_key_at is None:
                    self._first_key_at = time.monotonic()
                continue
            if "Parsed_showinfo" in line:
                continue
            self.tail.append(redact_line(line, self._secrets)[:300])

    async def _watch(self) -> None:
        s = self.settings
        fps = self.config.fps
        deadline = no_second_keyframe_deadline(fps, s.gop_tolerance)
        while not self._ended:
            await asyncio.sleep(0.5)
            now = time.monotonic()
            if now - self._last_activity > s.hang_timeout_s:
                log.warning("ffmpeg hung: killing it", extra={
                    "camera": str(self.config.camera), "pid": self.pid,
                    "silent_s": round(now - self._last_activity, 1)})
                self.kill("hung")
                return
            if self.mode is DecodeMode.keyframes:
                verdict = keyframes_suffice(self.key_pts, fps, s.gop_tolerance)
                if verdict is None and len(self.key_pts) == 1 and self._first_key_at is not None \
                        and now - self._first_key_at > deadline:
                    verdict = False
                if verdict is False:
                    log.info("key frames too rare for the sampling rate: switching to full decoding",
                             extra={"camera": str(self.config.camera), "fps": fps,
                                    "key_pts": [round(p, 3) for p in self.key_pts[-4:]]})
                    self.kill("long_gop")
                    return


class CaptureWorker:
    """Keeps one camera captured until :meth:`stop`; see the module docstring."""

    def __init__(self, config: CameraConfig, settings: StreamerSettings, sink: FrameSink,
                 circuit: CircuitReport | None = None) -> None:
        self.config = config
        self.settings = settings
        self.sink = sink
        self.circuit = circuit
        self.breaker = CircuitBreaker(failure_threshold=settings.breaker_failures,
                                      recovery_timeout=settings.breaker_recovery_s,
                                      expected_exception=CaptureFailed, name=str(config.camera))
        self.mode = DecodeMode.keyframes
        self.seq = 0
        self.starts = 0
        self.failures = 0
        self.restart_generation: int | None = None
        self.run_: FfmpegRun | None = None
        self._streaming = False
        self._stopping = False
        self._wake = asyncio.Event()
        self._label = str(config.camera)

    @property
    def camera(self) -> uuid.UUID:
        return self.config.camera

    @property
    def pid(self) -> int | None:
        """PID of the running FFmpeg, if any."""
        run = self.run_
        return run.pid if run is not None and run.process and run.process.returncode is None else None

    @property
    def streaming(self) -> bool:
        return self._streaming

    def stop(self) -> None:
        """Ask the worker to end: kills FFmpeg; :meth:`run` returns soon after."""
        self._stopping = True
        self._wake.set()
        if self.run_ is not None:
            self.run_.kill("stop")

    def restart(self, reason: str = "command") -> None:
        """Restart FFmpeg now if it is streaming; skip the back-off wait if it is waiting.
        An open breaker is respected: a restart command does not hammer a dead camera."""
        log.info("restart requested", extra={"camera": self._label, "reason": reason,
                                             "streaming": self._streaming})
        if self._streaming and self.run_ is not None:
            self.run_.kill("restart")
        elif not self.breaker.opened:
            self._wake.set()

    async def run(self) -> None:
        metrics.CIRCUIT_OPEN.labels(self._label).set(0)
        try:
            while not self._stopping:
                if self.breaker.opened:
                    metrics.CIRCUIT_OPEN.labels(self._label).set(1)
                    if self.circuit is not None:
                        await self.circuit.opened(self.config)
                    log.warning("circuit open: waiting before one trial start", extra={
                        "camera": self._label, "failures": self.breaker.failure_count,
                        "retry_in_s": round(self.breaker.open_remaining, 1)})
                    await self._sleep(max(self.breaker.open_remaining, 0.05))
                    continue
                metrics.CIRCUIT_OPEN.labels(self._label).set(0)
                try:
                    run = await self.breaker.call_async(self._start)
                except CaptureFailed as exc:
                    self.failures += 1
                    if self._stopping:
                        break
                    delay = self._backoff(self.failures)
                    log.warning("camera start failed", extra={
                        "camera": self._label, "reason": exc.reason, "detail": exc.detail,
                        "consecutive_failures": self.failures, "retry_in_s": round(delay, 2)})
                    await self._sleep(delay)
                    continue
                self.failures = 0
                await self._stream(run)
                if self._stopping:
                    break
                if run.reason == "long_gop":
                    self.mode = DecodeMode.full
                    delay = 0.0
                elif run.reason == "restart":
                    delay = 0.0
                else:
                    delay = self._backoff(1)
                    log.warning("ffmpeg ended while streaming", extra={
                        "camera": self._label, "reason": run.reason or "exited",
                        "returncode": run.process.returncode if run.process else None,
                        "detail": " | ".join(list(run.tail)[-3:]), "retry_in_s": round(delay, 2)})
                await self._sleep(delay)
        finally:
            if self.run_ is not None:
                await self.run_.close()
            with contextlib.suppress(KeyError):
                metrics.CIRCUIT_OPEN.remove(self._label)
            with contextlib.suppress(KeyError):
                metrics.KEYFRAMES_ONLY.remove(self._label)

    async def _start(self) -> FfmpegRun:
        run = FfmpegRun(self.config, self.mode, self.settings)
        self.run_ = run
        if self._stopping:
            raise CaptureFailed("stopped")
        try:
            await run.spawn()
        except OSError as exc:  # FFmpeg missing or not executable, out of processes or memory
            raise CaptureFailed("ffmpeg could not be started", str(exc)) from exc
        self.starts += 1
        if self.starts > 1:
            metrics.FFMPEG_RESTARTS.labels(self._label).inc()
        metrics.KEYFRAMES_ONLY.labels(self._label).set(1 if self.mode is DecodeMode.keyframes else 0)
        try:
            first = await run.next_frame(wait_s=self.settings.first_frame_timeout_s)
        except TimeoutError:
            run.kill("no_frame")
            await run.close()
            if self.mode is DecodeMode.keyframes and run.key_pts == [] and run.tail:
                # Alive but no key frame in the whole wait: key frames are too rare to sample.
                self.mode = DecodeMode.full
            raise CaptureFailed("no frame within first_frame_timeout_s",
                                " | ".join(list(run.tail)[-3:])) from None
        if first is None:
            code = await run.close()
            raise CaptureFailed(run.reason or f"ffmpeg exited with {code}", " | ".join(list(run.tail)[-3:]))
        run.push_back(first)
        return run

    async def _stream(self, run: FfmpegRun) -> None:
        self._streaming = True
        if self.starts == 1 or run.reason is None:
            log.info("camera streaming", extra={"camera": self._label, "mode": self.mode.value,
                                                "pid": run.pid, "fps": self.config.fps})
        first = True
        try:
            while (item := await run.next_frame()) is not None:
                image, captured_ns = item
                seq = self.seq
                self.seq += 1
                try:
                    await self.sink(self.config, image, seq, captured_ns)
                except Exception:
                    log.exception("frame sink failed", extra={"camera": self._label})
                if first and self.circuit is not None:
                    # After the frame's heartbeat: the watchdog never sees the camera with neither.
                    await self.circuit.closed(self.config)
                first = False
        finally:
            self._streaming = False
            await run.close()

    def _backoff(self, failures: int) -> float:
        s = self.settings
        delay = min(s.backoff_max_s, s.backoff_initial_s * 2 ** max(0, failures - 1))
        return delay / 2 + random.uniform(0, delay / 2)

    async def _sleep(self, seconds: float) -> None:
        self._wake.clear()
        if self._stopping:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._wake.wait()
