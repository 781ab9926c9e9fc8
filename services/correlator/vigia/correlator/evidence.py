"""Evidence bundles: what was seen, heard and measured around an event, in the object store.

For an event of organization ``org`` the bundle lives in the ``evidence`` bucket under
``<org>/<event id>/``:

* ``video.mp4`` — H.264 (ffmpeg) from the site's camera frames (Redis stream ``camera:{id}:frames``)
  or, when those are gone, the person detections' snapshots; more cameras: ``video-<camera>.mp4``;
* ``audio.wav`` — PCM16 mono from the phone's chunks (Redis stream ``device:{id}:audio``), placed on
  one timeline with silence in the gaps; more devices: ``audio-<device>.wav``;
* ``sensors.csv`` — the telemetry rows of the event's devices in the window;
* ``metadata.json`` — the event as seed 000 §3.1/§4.2 describes it (flags, score, magnitudes);
* ``manifest.json`` — every file with its size, content type and SHA-256, written last: a bundle
  with a manifest is complete, so a rebuilt job stops there (idempotent).

The window is the incident from its first to its last signal, ±``evidence_margin_s``. Building
runs off the hot path (a delayed job after the incident closed), blocking work in threads.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import logging
import os
import struct
import subprocess
import tempfile
import time
import uuid
import wave
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import numpy as np
import orjson
from redis.asyncio import Redis
from sqlalchemy import Engine, select

from vigia.common import db
from vigia.common.false_alarms import FRAMES as SAMPLE_FRAMES
from vigia.common.false_alarms import classifier_inputs
from vigia.common.leases import camera_frames_key, device_audio_key
from vigia.common.messages import format_time_ns, time_ns_to_datetime
from vigia.common.privacy import evidence_prefix
from vigia.common.storage import ObjectNotFound, ObjectStore, StorageError
from vigia.correlator.state import StateStore

log = logging.getLogger(__name__)

BUCKET = "evidence"
SNAPSHOT_BUCKET = "snapshots"
MANIFEST = "manifest.json"
MAX_AUDIO_SECONDS = 600
MAX_JOB_AGE_S = 86_400
TELEMETRY_COLUMNS = ("mag_x", "mag_y", "mag_z", "mag_magnitude", "acc_x", "acc_y", "acc_z", "gyro_x",
                     "gyro_y", "gyro_z", "roll", "pitch", "yaw", "audio_peak", "humanoid", "bluetooth_devices")
CONTENT_TYPES = {".mp4": "video/mp4", ".wav": "audio/wav", ".csv": "text/csv; charset=utf-8",
                 ".json": "application/json"}


frames_key = camera_frames_key
audio_key = device_audio_key


class EvidenceError(RuntimeError):
    """A bundle could not be built (the job is retried later)."""


# --- video ------------------------------------------------------------------------------------


def jpeg_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a JPEG's start-of-frame marker, or None when it is no JPEG."""
    if not data.startswith(b"\xff\xd8"):
        return None
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            i += 1
            continue
        marker = data[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
            i += 1 if marker == 0xFF else 2
            continue
        length = struct.unpack(">H", data[i + 2:i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
            height, width = struct.unpack(">HH", data[i + 5:i + 9])
            return width, height
        i += 2 + length
    return None


def encode_video(frames: list[tuple[int, bytes]], ffmpeg: str = "ffmpeg", timeout: float = 60.0) -> bytes:
    """An H.264 MP4 of JPEG ``frames`` ``(t ns, jpeg)``, paced at their average rate (blocking)."""
    frames = sorted((f for f in frames if jpeg_size(f[1])), key=lambda f: f[0])
    if not frames:
        raise EvidenceError("no decodable frames")
    width, height = jpeg_size(frames[0][1]) or (0, 0)
    width, height = max(2, width - width % 2), max(2, height - height % 2)
    span = (frames[-1][0] - frames[0][0]) / 1e9
    fps = min(30.0, max(1.0, (len(frames) - 1) / span)) if span > 0 else 1.0
    with tempfile.TemporaryDirectory(prefix="vigia-evidence-") as tmp:
        out = os.path.join(tmp, "video.mp4")
        command = [ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
                   "-f", "image2pipe", "-framerate", f"{fps:.3f}", "-c:v", "mjpeg", "-i", "pipe:0",
                   "-vf", f"scale={width}:{height},format=yuv420p", "-c:v", "libx264", "-preset", "veryfast",
                   "-movflags", "+faststart", "-an", out]
        try:
            result = subprocess.run(command, input=b"".join(f[1] for f in frames), capture_output=True,
                                    timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            raise EvidenceError(f"ffmpeg took more than {timeout} s") from exc
        if result.returncode != 0 or not os.path.exists(out):
            raise EvidenceError(f"ffmpeg failed ({result.returncode}): {result.stderr.decode(errors='replace')[-500:]}")
        with open(out, "rb") as handle:
            return handle.read()


# --- audio ------------------------------------------------------------------------------------


def assemble_audio(chunks: list[tuple[int, int, bytes]]) -> tuple[int, np.ndarray] | None:
    """One PCM16 timeline from ``(t ns, rate, pcm)`` chunks: each placed at its offset from the
    first, silence in the gaps; chunks at another rate than the first are left out."""
    chunks = sorted(chunks, key=lambda c: c[0])
    if not chunks:
        return None
    rate, base = chunks[0][1], chunks[0][0]
    placed: list[tuple[int, np.ndarray]] = []
    for t, chunk_rate, pcm in chunks:
        if chunk_rate != rate or len(pcm) < 2:
            continue
        samples = np.frombuffer(pcm[:len(pcm) - len(pcm) % 2], dtype="<i2")
        offset = round((t - base) * rate / 1e9)
        if offset + len(samples) > MAX_AUDIO_SECONDS * rate:
            break
        placed.append((offset, samples))
    if not placed:
        return None
    timeline = np.zeros(max(o + len(s) for o, s in placed), dtype="<i2")
    for offset, samples in placed:
        timeline[offset:offset + len(samples)] = samples
    return rate, timeline


def wav_bytes(rate: int, samples: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.astype("<i2").tobytes())
    return buffer.getvalue()


# --- sensors ----------------------------------------------------------------------------------


def sensors_csv(engine: Engine, org: str, devices: list[str], start: int, end: int) -> tuple[bytes, int]:
    """The telemetry rows of ``devices`` in [start, end] as CSV, oldest first (blocking)."""
    t = db.telemetry
    query = (select(t.c.time, t.c.device_id, t.c.seq, *(t.c[name] for name in TELEMETRY_COLUMNS))
             .where(t.c.org_id == uuid.UUID(org), t.c.device_id.in_([uuid.UUID(d) for d in devices]),
                    t.c.time >= time_ns_to_datetime(start), t.c.time <= time_ns_to_datetime(end))
             .order_by(t.c.time, t.c.device_id, t.c.seq))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(("time", "device_id", "seq", *TELEMETRY_COLUMNS))
    rows = 0
    with engine.connect() as conn:
        for row in conn.execute(query):
            writer.writerow((row.time.astimezone(UTC).isoformat(), row.device_id, row.seq,
                             *("" if row[i] is None else row[i] for i in range(3, 3 + len(TELEMETRY_COLUMNS)))))
            rows += 1
    return buffer.getvalue().encode(), rows


# --- the bundle -------------------------------------------------------------------------------


@dataclass(frozen=True)
class BundleFile:
    name: str
    data: bytes

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES.get(os.path.splitext(self.name)[1], "application/octet-stream")

    def manifest_entry(self) -> dict[str, Any]:
        return {"name": self.name, "size": len(self.data), "content_type": self.content_type,
                "sha256": hashlib.sha256(self.data).hexdigest()}


def metadata(job: dict[str, Any], start: int, end: int, margin_s: float, files: list[str],
             telemetry_rows: int) -> dict[str, Any]:
    """metadata.json: the seed's event record (§3.1 / §4.2) plus the window and the sources."""
    sources = job.get("sources", [])
    kinds = {s["kind"] for s in sources}

    def peak(kind: str) -> float | None:
        values = [abs(s["value"]) for s in sources if s["kind"] == kind and s.get("value") is not None]
        return max(values) if values else None

    return {
        "event_id": job["event"], "org_id": job["org"], "site": job.get("site"),
        "device_id": job["devices"][0] if job.get("devices") else None,
        "device_ids": job.get("devices", []), "camera_ids": job.get("cameras", []),
        "timestamp": format_time_ns(job["started_at"]), "ended_at": format_time_ns(job["ended_at"]),
        "magnetic_anomaly": "magnetic" in kinds, "audio_anomaly": "audio" in kinds,
        "humanoid_detected": "humanoid" in kinds, "correlation_score": job.get("score"),
        "severity": job.get("severity"), "magnetic_magnitude": peak("magnetic"), "audio_peak_db": peak("audio"),
        "storage_path": f"{BUCKET}/{evidence_prefix(job['org'], job['event'])}",
        "classification": None, "confidence": None,
        "window": {"start": format_time_ns(start), "end": format_time_ns(end), "margin_s": margin_s},
        "sources": sources, "telemetry_rows": telemetry_rows, "files": files,
        "generator": "vigia-correlator",
    }


class EvidenceBuilder:
    """Builds one event's bundle from Redis streams, PostgreSQL telemetry and snapshots."""

    def __init__(self, store: ObjectStore, redis: Redis, engine: Engine, *, margin_s: float = 5.0,
                 max_frames: int = 600, ffmpeg: str = "ffmpeg", ffmpeg_timeout_s: float = 60.0) -> None:
        self.store = store
        self.redis = redis
        self.engine = engine
        self.margin_s = margin_s
        self.max_frames = max_frames
        self.ffmpeg = ffmpeg
        self.ffmpeg_timeout_s = ffmpeg_timeout_s

    def complete(self, org: str, event: str) -> bool:
        try:
            self.store.stat(BUCKET, evidence_prefix(org, event) + MANIFEST)
        except ObjectNotFound:
            return False
        return True

    async def build(self, job: dict[str, Any]) -> list[str] | None:
        """Build and upload the bundle of ``job``; None if it was already complete."""
        org, event = job["org"], job["event"]
        if await asyncio.to_thread(self.complete, org, event):
            return None
        margin = int(self.margin_s * 1e9)
        start, end = job["started_at"] - margin, job["ended_at"] + margin
        files: list[BundleFile] = []
        files += await self._videos(job, start, end)
        files += await self._audios(job, start, end)
        csv_bytes, rows = await asyncio.to_thread(sensors_csv, self.engine, org, job.get("devices", []), start, end)
        files.append(BundleFile("sensors.csv", csv_bytes))
        names = [f.name for f in files] + ["metadata.json"]
        files.append(BundleFile("metadata.json", orjson.dumps(
            metadata(job, start, end, self.margin_s, names, rows), option=orjson.OPT_INDENT_2)))
        manifest = {"event": event, "org": org, "created_at": datetime.now(UTC).isoformat(),
                    "files": [f.manifest_entry() for f in files]}
        files.append(BundleFile(MANIFEST, orjson.dumps(manifest, option=orjson.OPT_INDENT_2)))
        await asyncio.to_thread(self._upload, evidence_prefix(org, event), files)
        return [f.name for f in files]

    def _upload(self, prefix: str, files: list[BundleFile]) -> None:
        for bundle_file in files:  # the manifest is last: its presence means "complete"
            self.store.put(BUCKET, prefix + bundle_file.name, bundle_file.data, bundle_file.content_type)

    async def sources(self, job: dict[str, Any]) -> tuple[list[bytes], tuple[int, np.ndarray] | None, bytes]:
        """What the bundle of ``job`` would be made of, read now and left raw (no video encoding):
        the first camera's JPEG frames (or the detections' snapshots), the first device's audio as
        (rate, float samples) and the telemetry CSV. The false-alarm classifier scores these."""
        margin = int(self.margin_s * 1e9)
        start, end = job["started_at"] - margin, job["ended_at"] + margin
        jpegs: list[bytes] = []
        for camera in job.get("cameras", []):
            # Scoring runs on every change of an open incident: a few frames spread over the window
            # by stream id (the writer's clock, about the capture time), not the whole stream.
            jpegs = await self._spread_frames(frames_key(camera), start, end, SAMPLE_FRAMES)
            if not jpegs:
                jpegs = [f[b"jpeg"] for f in await self._stream(frames_key(camera), start, end) if b"jpeg" in f]
            if jpegs:
                break
        if not jpegs:
            jpegs = [jpeg for _, jpeg in sorted(await asyncio.to_thread(self._snapshots, job))]
        audio = None
        for device in job.get("devices", []):
            assembled = await self._device_audio(device, start, end)
            if assembled is not None:
                audio = (assembled[0], assembled[1].astype(np.float32) / 32768.0)
                break
        csv_bytes, _ = await asyncio.to_thread(sensors_csv, self.engine, job["org"], job.get("devices", []),
                                               start, end)
        return jpegs, audio, csv_bytes

    def bundle_files(self, org: str, event: str) -> dict[str, bytes] | None:
        """The complete bundle's files the classifier reads (the first video and audio, sensors,
        metadata), by name; None while it has no manifest (blocking)."""
        prefix = evidence_prefix(org, event)
        try:
            manifest = orjson.loads(self.store.get(BUCKET, prefix + MANIFEST))
        except ObjectNotFound:
            return None
        names = [str(entry.get("name", "")) for entry in manifest.get("files", [])]
        return {name: self.store.get(BUCKET, prefix + name) for name in classifier_inputs(names)}

    async def _spread_frames(self, key: str, start: int, end: int, count: int) -> list[bytes]:
        """Up to ``count`` JPEGs, the first of each of ``count`` equal slices of [start, end] by id."""
        jpegs: list[bytes] = []
        step = max(1, (end - start) // count)
        for i in range(count):
            low, high = (start + i * step) // 1_000_000, (start + (i + 1) * step) // 1_000_000
            entries = cast(list[tuple[bytes, dict[bytes, bytes]]],
                           await self.redis.xrange(key, min=str(low), max=str(high), count=1))
            jpegs += [fields[b"jpeg"] for _, fields in entries if b"jpeg" in fields]
        return jpegs

    async def _stream(self, key: str, start: int, end: int) -> list[dict[bytes, bytes]]:
        # Stream ids are the writer's wall-clock ms, a little after capture: read a wider id
        # range, then keep entries by their own capture time.
        slack_ms = 30_000
        entries = cast(list[tuple[bytes, dict[bytes, bytes]]], await self.redis.xrange(
            key, min=str(max(0, start // 1_000_000 - slack_ms)), max=str(end // 1_000_000 + slack_ms)))
        out = []
        for _, fields in entries:
            try:
                t = int(fields[b"t"])
            except (KeyError, ValueError):
                continue
            if start <= t <= end:
                out.append(fields)
        return out

    async def _videos(self, job: dict[str, Any], start: int, end: int) -> list[BundleFile]:
        videos: list[BundleFile] = []
        for camera in job.get("cameras", []):
            frames = [(int(f[b"t"]), f[b"jpeg"]) for f in await self._stream(frames_key(camera), start, end)
                      if b"jpeg" in f][-self.max_frames:]
            if not frames:
                continue
            videos.append(await self._video(frames, "video.mp4" if not videos else f"video-{camera}.mp4"))
        if not videos:
            snapshots = await asyncio.to_thread(self._snapshots, job)
            if snapshots:
                videos.append(await self._video(snapshots, "video.mp4"))
        return videos

    async def _video(self, frames: list[tuple[int, bytes]], name: str) -> BundleFile:
        data = await asyncio.to_thread(encode_video, frames, self.ffmpeg, self.ffmpeg_timeout_s)
        return BundleFile(name, data)

    def _snapshots(self, job: dict[str, Any]) -> list[tuple[int, bytes]]:
        frames = []
        for source in job.get("sources", []):
            if source.get("snapshot_key"):
                try:
                    frames.append((int(source["time"]), self.store.get(SNAPSHOT_BUCKET, source["snapshot_key"])))
                except StorageError:
                    continue
        return frames

    async def _audios(self, job: dict[str, Any], start: int, end: int) -> list[BundleFile]:
        audios: list[BundleFile] = []
        for device in job.get("devices", []):
            assembled = await self._device_audio(device, start, end)
            if assembled is None:
                continue
            name = "audio.wav" if not audios else f"audio-{device}.wav"
            audios.append(BundleFile(name, wav_bytes(*assembled)))
        return audios

    async def _device_audio(self, device: str, start: int, end: int) -> tuple[int, np.ndarray] | None:
        """The device's audio stream over [start, end] as one signal (:func:`assemble_audio`):
        (rate, int16 samples), or None when it has none there; malformed entries are skipped."""
        chunks = []
        for fields in await self._stream(audio_key(device), start, end):
            try:
                chunks.append((int(fields[b"t"]), int(fields[b"rate"]), fields[b"pcm"]))
            except (KeyError, ValueError):
                continue
        return assemble_audio(chunks)


async def run_due_jobs(builder: EvidenceBuilder, state: StateStore, retry_after_s: float,
                       after: Callable[[dict[str, Any]], Awaitable[None]] | None = None) -> int:
    """Build every due evidence job once; returns how many were handled. ``after`` is called with
    each job whose bundle is complete (the correlator scores the event from it); its failure is
    logged and does not fail the job."""
    from vigia.correlator import metrics

    handled = 0
    for member, job in await state.claim_due(retry_after_s):
        started = time.perf_counter()
        try:
            built = await builder.build(job)
        except Exception:
            metrics.EVIDENCE.labels("failed").inc()
            if time.time_ns() - int(job.get("ended_at", 0)) > MAX_JOB_AGE_S * 1_000_000_000:
                # Its streams are long gone: retrying forever would not bring them back.
                log.exception("evidence bundle abandoned after a day of failures", extra={"event": job.get("event")})
                await state.finish(member)
            else:
                log.exception("evidence bundle failed; it will be retried", extra={"event": job.get("event")})
            continue
        metrics.EVIDENCE_SECONDS.observe(time.perf_counter() - started)
        metrics.EVIDENCE.labels("built" if built is not None else "skipped").inc()
        log.info("evidence bundle ready", extra={"event": job["event"], "files": built})
        if after is not None:
            try:
                await after(job)
            except Exception:
                log.exception("scoring the event from its evidence failed", extra={"event": job.get("event")})
        await state.finish(member)
        handled += 1
    return handled
