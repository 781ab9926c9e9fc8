"""What the false-alarm classifier sees of an event, shared by the trainer and the correlator.

An event's evidence (:mod:`vigia.correlator.evidence`: ``video.mp4``, ``audio.wav``,
``sensors.csv``, ``metadata.json``) becomes one :class:`EvidenceSample` of fixed shape:

* ``frames`` — :data:`FRAMES` frames evenly spaced over the video, :data:`FRAME_SIZE` pixels square,
  RGB in [0, 1] (zeros without video), for seed 000's small frame encoder;
* ``audio`` — log band energies, :data:`AUDIO_BANDS` log-spaced bands by :data:`AUDIO_STEPS`
  windows evenly spread over the clip (the 1-D audio CNN's channels by time; zeros without audio);
* ``sensors`` — per telemetry column its mean, spread, peak excursion and robust z of that peak,
  then what the correlator knew (signal kinds, score, sources, duration, what evidence exists),
  for the sensor MLP.

The trainer builds samples from stored bundles (:func:`sample_from_bundle`); the correlator builds
the same sample from the same sources before the bundle exists (:func:`sample_from_sources`), so
an event is scored alike on each update and once its bundle is built. Frames are decoded with
FFmpeg (the correlator already needs it), audio and sensors with numpy alone.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import os
import subprocess
import tempfile
import wave
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
from pydantic import TypeAdapter, ValidationError

from vigia.common.messages import TimeNs

_TIME = TypeAdapter(TimeNs)

FRAMES = 4
FRAME_SIZE = 48
AUDIO_BANDS = 16
AUDIO_STEPS = 32
AUDIO_WINDOW = 1024
#: The telemetry columns of an evidence bundle's sensors.csv, in the order the features take them.
SENSOR_COLUMNS = ("mag_x", "mag_y", "mag_z", "mag_magnitude", "acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y",
                  "gyro_z", "roll", "pitch", "yaw", "audio_peak", "humanoid", "bluetooth_devices")
#: Signal kinds of an event's sources, one flag each.
SOURCE_KINDS = ("magnetic", "audio", "humanoid", "imu", "forecast", "person")
STATS_PER_COLUMN = 4
SENSOR_FEATURES = len(SENSOR_COLUMNS) * STATS_PER_COLUMN + len(SOURCE_KINDS) + 6

LABELS = {"true_positive": 0, "false_positive": 1}  # a false alarm is the positive class


@dataclass(frozen=True)
class EvidenceSample:
    """One event as the classifier's three inputs (shapes in the module docstring)."""

    frames: np.ndarray  # (FRAMES, 3, FRAME_SIZE, FRAME_SIZE) float32
    audio: np.ndarray  # (AUDIO_BANDS, AUDIO_STEPS) float32
    sensors: np.ndarray  # (SENSOR_FEATURES,) float32


def dataset_hash(samples: Iterable[tuple[str, int]]) -> str:
    """SHA-256 of ``(sample id, label)`` pairs in their order: the same events with the same
    labels give the same hash, a relabelled or added event another."""
    digest = hashlib.sha256()
    for ident, label in samples:
        digest.update(f"{ident}:{label}\n".encode())
    return digest.hexdigest()


# --- frames -------------------------------------------------------------------------------------


def _raw_frames(command: list[str], stdin: bytes | None, timeout: float) -> np.ndarray:
    size = FRAME_SIZE * FRAME_SIZE * 3
    try:
        result = subprocess.run(command, input=stdin, capture_output=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return np.zeros((0, FRAME_SIZE, FRAME_SIZE, 3), dtype=np.uint8)
    data = result.stdout[:len(result.stdout) - len(result.stdout) % size]
    return np.frombuffer(data, dtype=np.uint8).reshape(-1, FRAME_SIZE, FRAME_SIZE, 3)


def _decode_args(ffmpeg: str) -> tuple[list[str], list[str]]:
    head = [ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin"]
    tail = ["-vf", f"scale={FRAME_SIZE}:{FRAME_SIZE}", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]
    return head, tail


def frames_from_video(video: bytes, ffmpeg: str = "ffmpeg", timeout: float = 60.0) -> np.ndarray:
    """The video's frames, small, as (n, H, W, 3) uint8 (none if it cannot be decoded)."""
    head, tail = _decode_args(ffmpeg)
    with tempfile.TemporaryDirectory(prefix="vigia-frames-") as tmp:
        path = os.path.join(tmp, "video.mp4")  # MP4 needs a seekable input
        with open(path, "wb") as handle:
            handle.write(video)
        return _raw_frames([*head, "-i", path, *tail], None, timeout)


def frames_from_jpegs(jpegs: Sequence[bytes], ffmpeg: str = "ffmpeg", timeout: float = 60.0) -> np.ndarray:
    """JPEG frames, small, as (n, H, W, 3) uint8; only the :data:`FRAMES` evenly spaced ones are decoded."""
    if not jpegs:
        return np.zeros((0, FRAME_SIZE, FRAME_SIZE, 3), dtype=np.uint8)
    picked = [jpegs[i] for i in _spaced(len(jpegs), FRAMES)]
    head, tail = _decode_args(ffmpeg)
    command = [*head, "-f", "image2pipe", "-c:v", "mjpeg", "-i", "pipe:0", *tail]
    return _raw_frames(command, b"".join(picked), timeout)


def _spaced(n: int, k: int) -> list[int]:
    if n <= 0:
        return []
    return sorted({min(n - 1, round(i * (n - 1) / max(1, k - 1))) for i in range(k)}) if n > k else list(range(n))


def frame_tensor(frames: np.ndarray) -> np.ndarray:
    """(FRAMES, 3, S, S) float32 in [0, 1]: frames evenly spaced over ``frames``, zeros when fewer."""
    out = np.zeros((FRAMES, 3, FRAME_SIZE, FRAME_SIZE), dtype=np.float32)
    for slot, index in enumerate(_spaced(len(frames), FRAMES)):
        out[slot] = frames[index].transpose(2, 0, 1).astype(np.float32) / 255.0
    return out


# --- audio --------------------------------------------------------------------------------------


def wav_samples(data: bytes) -> tuple[int, np.ndarray] | None:
    """(rate, float samples in [-1, 1]) of a PCM16 mono WAV, or None."""
    try:
        with wave.open(io.BytesIO(data), "rb") as wav:
            if wav.getsampwidth() != 2:
                return None
            rate, channels = wav.getframerate(), wav.getnchannels()
            pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    except (wave.Error, EOFError):
        return None
    if channels > 1:
        pcm = pcm[: len(pcm) - len(pcm) % channels].reshape(-1, channels).mean(axis=1)
    return rate, pcm.astype(np.float32) / 32768.0


def audio_tensor(audio: tuple[int, np.ndarray] | None) -> np.ndarray:
    """(AUDIO_BANDS, AUDIO_STEPS) float32: log energy of each band in each of the windows spread
    evenly over the clip (band edges log-spaced from 20 Hz to Nyquist); zeros without audio."""
    out = np.zeros((AUDIO_BANDS, AUDIO_STEPS), dtype=np.float32)
    if audio is None or len(audio[1]) < AUDIO_WINDOW:
        return out
    rate, samples = audio
    freqs = np.fft.rfftfreq(AUDIO_WINDOW, 1.0 / rate)
    edges = np.concatenate(([0.0], np.geomspace(20.0, rate / 2, AUDIO_BANDS)))
    band_of = np.clip(np.searchsorted(edges, freqs, side="right") - 1, 0, AUDIO_BANDS - 1)
    starts = np.linspace(0, len(samples) - AUDIO_WINDOW, AUDIO_STEPS).astype(int)
    window = np.hanning(AUDIO_WINDOW).astype(np.float32)
    frames = np.stack([samples[s:s + AUDIO_WINDOW] for s in starts]) * window
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2  # (steps, freqs)
    bands = np.zeros((AUDIO_STEPS, AUDIO_BANDS), dtype=np.float64)
    np.add.at(bands.T, band_of, power.T)
    return np.log10(bands.T + 1e-10).astype(np.float32)


# --- sensors ------------------------------------------------------------------------------------


def _signed_log(x: float) -> float:
    return math.copysign(math.log1p(abs(x)), x) if math.isfinite(x) else 0.0


def sensor_tensor(sensors_csv: bytes, meta: Mapping[str, Any], has_video: bool, has_audio: bool) -> np.ndarray:
    """(SENSOR_FEATURES,) float32 from the window's telemetry rows and the event's metadata."""
    columns: dict[str, list[float]] = {name: [] for name in SENSOR_COLUMNS}
    rows = 0
    reader = csv.DictReader(io.StringIO(sensors_csv.decode(errors="replace")))
    for row in reader:
        rows += 1
        for name in SENSOR_COLUMNS:
            value = row.get(name)
            if value in (None, ""):
                continue
            if value in ("True", "False", "true", "false"):
                columns[name].append(1.0 if value.lower() == "true" else 0.0)
                continue
            try:
                columns[name].append(float(value))
            except ValueError:
                continue
    features: list[float] = []
    for name in SENSOR_COLUMNS:
        values = np.asarray(columns[name], dtype=np.float64)
        values = values[np.isfinite(values)]
        if len(values) == 0:
            features += [0.0] * STATS_PER_COLUMN
            continue
        median = float(np.median(values))
        mad = float(np.median(np.abs(values - median))) + 1e-6
        peak = float(values[np.argmax(np.abs(values - median))]) - median
        features += [_signed_log(float(values.mean())), _signed_log(float(values.std())), _signed_log(peak),
                     _signed_log(peak / mad)]
    sources = meta.get("sources") or []
    kinds = {str(s.get("kind")) for s in sources if isinstance(s, Mapping)}
    if any(isinstance(s, Mapping) and s.get("camera") for s in sources):
        kinds.add("person")
    features += [1.0 if kind in kinds else 0.0 for kind in SOURCE_KINDS]
    started, ended = meta.get("started_at"), meta.get("ended_at")
    duration_s = (int(ended) - int(started)) / 1e9 if isinstance(started, int) and isinstance(ended, int) else 0.0
    score = meta.get("correlation_score") or 0.0
    features += [float(score) if isinstance(score, int | float) else 0.0, math.log1p(len(sources)),
                 math.log1p(max(0.0, duration_s)), 1.0 if has_video else 0.0, 1.0 if has_audio else 0.0,
                 math.log1p(rows)]
    return np.asarray(features, dtype=np.float32)


def classifier_inputs(names: list[str]) -> list[str]:
    """Of a bundle's file names, those the classifier reads: sensors, metadata, the first video and
    audio (``video.mp4`` and ``audio.wav`` when there are more)."""
    wanted: list[str] = [name for name in ("sensors.csv", "metadata.json") if name in names]
    for first in ("video.mp4", "audio.wav"):
        kind, suffix = first.split(".")
        candidates = sorted(n for n in names if n.startswith(kind) and n.endswith("." + suffix))
        if candidates:
            wanted.append(first if first in candidates else candidates[0])
    return wanted


# --- a whole sample -----------------------------------------------------------------------------


def sample_from_sources(jpegs: Sequence[bytes], audio: tuple[int, np.ndarray] | None, sensors_csv: bytes,
                        meta: Mapping[str, Any], ffmpeg: str = "ffmpeg") -> EvidenceSample:
    """A sample from the raw sources: camera JPEGs, the phone's audio (rate, float samples), the
    telemetry CSV and the event's metadata (``sources``, ``correlation_score``, ``started_at`` and
    ``ended_at`` in ns)."""
    frames = frames_from_jpegs(jpegs, ffmpeg)
    return EvidenceSample(frame_tensor(frames), audio_tensor(audio),
                          sensor_tensor(sensors_csv, meta, len(frames) > 0, audio is not None))


def bundle_metadata(metadata_json: bytes) -> dict[str, Any]:
    """metadata.json of a bundle with the fields :func:`sensor_tensor` reads (times in ns)."""
    meta = orjson.loads(metadata_json)
    out: dict[str, Any] = {"sources": meta.get("sources") or [], "correlation_score": meta.get("correlation_score")}
    for key, field in (("started_at", "timestamp"), ("ended_at", "ended_at")):
        try:
            out[key] = _TIME.validate_python(meta[field])
        except (KeyError, ValidationError):
            out[key] = None
    return out


def sample_from_bundle(files: Mapping[str, bytes], ffmpeg: str = "ffmpeg") -> EvidenceSample:
    """A sample from an evidence bundle's files by name (``video.mp4``, ``audio.wav``,
    ``sensors.csv``, ``metadata.json``; the first video and audio when there are more)."""
    picked = classifier_inputs(list(files))
    videos = [n for n in picked if n.endswith(".mp4")]
    audios = [n for n in picked if n.endswith(".wav")]
    frames = frames_from_video(files[videos[0]], ffmpeg) if videos else np.zeros((0,), dtype=np.uint8)
    audio = wav_samples(files[audios[0]]) if audios else None
    meta = bundle_metadata(files["metadata.json"]) if "metadata.json" in files else {}
    return EvidenceSample(frame_tensor(frames) if len(frames) else np.zeros(
        (FRAMES, 3, FRAME_SIZE, FRAME_SIZE), dtype=np.float32), audio_tensor(audio),
        sensor_tensor(files.get("sensors.csv", b""), meta, len(frames) > 0, audio is not None))
