"""Audio anomalies on a phone's PCM chunks (seed 000 §2.2): infrasound, ultrasound, voice.

* :func:`analyze_spectrum` — Welch PSD (scipy). A band is anomalous when its strongest bin rises
  ``prominence_db`` above the median level of the audible band (20 Hz - 18 kHz) *and* the band
  carries more than ``min_level_db`` (dB re a full-scale sine), so silence never alarms.
  Infrasound is 1-20 Hz; the segment length gives ~4 Hz resolution, which needs ≥ 0.25 s of audio
  (the stateful detector keeps a rolling second per device). Ultrasound is > 18 kHz and needs a
  sample rate of at least 40 kHz (a Nyquist frequency above 20 kHz); below that it is reported as
  not analysed (``ultrasound is None``), never as absent.
* :func:`analyze_voice` — voice-like formants via LPC. The seed's sketch called ``librosa.lpc``
  and ``logger`` without importing them (nor ``Optional``) and accepted any two LPC roots between
  250 and 3800 Hz, which white noise produces. Here: LPC by autocorrelation (Levinson-Durbin via
  scipy's Toeplitz solver) on pre-emphasised, windowed 32 ms frames resampled to ≤ 16 kHz; only
  *voiced* frames count (a pitch between 75 and 400 Hz in the autocorrelation), and a frame is
  speech-like when its sharp resonances (bandwidth < 400 Hz) include F1 in 250-1000 Hz followed by
  F2 in 700-3800 Hz.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from scipy import linalg, signal

from vigia.common.messages import Severity

INFRASOUND_HZ = (1.0, 20.0)
ULTRASOUND_MIN_HZ = 18_000.0
ULTRASOUND_MIN_RATE = 40_000
AUDIBLE_HZ = (20.0, 18_000.0)
MIN_INFRASOUND_SECONDS = 0.25
FULL_SCALE_SINE_POWER = 0.5

AudioKind = Literal["audio_infrasound", "audio_ultrasound", "audio_voice"]


def pcm16_to_float(pcm: bytes) -> np.ndarray:
    """PCM16 little-endian mono bytes -> float64 samples in [-1, 1). An odd trailing byte is dropped."""
    usable = len(pcm) - (len(pcm) % 2)
    return np.frombuffer(pcm[:usable], dtype="<i2").astype(np.float64) / 32768.0


@dataclass(frozen=True, slots=True)
class BandAnalysis:
    detected: bool
    prominence_db: float
    level_db: float
    peak_hz: float


@dataclass(frozen=True, slots=True)
class SpectrumAnalysis:
    peak_hz: float
    peak_db: float
    infrasound: BandAnalysis | None  # None: too little audio to resolve < 20 Hz
    ultrasound: BandAnalysis | None  # None: sample rate below 40 kHz


def _db(value: float) -> float:
    return 10.0 * math.log10(value) if value > 0 else -400.0


def _band(freqs: np.ndarray, psd: np.ndarray, mask: np.ndarray, reference: float, df: float,
          prominence_db: float, min_level_db: float) -> BandAnalysis:
    if not mask.any():
        return BandAnalysis(False, 0.0, -400.0, 0.0)
    band = psd[mask]
    peak = int(np.argmax(band))
    prominence = _db(float(band[peak])) - _db(reference)
    level = _db(float(band.sum()) * df / FULL_SCALE_SINE_POWER)
    return BandAnalysis(prominence >= prominence_db and level >= min_level_db, prominence, level,
                        float(freqs[mask][peak]))


def analyze_spectrum(samples: np.ndarray, sample_rate: int, *, prominence_db: float = 20.0,
                     min_level_db: float = -35.0) -> SpectrumAnalysis:
    """Welch PSD of ``samples`` (floats in [-1, 1]) and the infrasound / ultrasound verdicts."""
    n = len(samples)
    if n < 16:
        return SpectrumAnalysis(0.0, -400.0, None, None)
    # ~4 Hz bins: fine enough to tell 10 Hz from 25 Hz; at least two half-overlapping segments.
    nperseg = min(n, max(256, sample_rate // 4))
    freqs, psd = signal.welch(samples, fs=sample_rate, nperseg=nperseg, detrend="constant")
    df = float(freqs[1] - freqs[0]) if len(freqs) > 1 else float(sample_rate)
    audible = (freqs >= AUDIBLE_HZ[0]) & (freqs <= AUDIBLE_HZ[1])
    reference = float(np.median(psd[audible])) if audible.any() else float(np.median(psd))
    reference = max(reference, 1e-20)
    peak = int(np.argmax(psd[1:]) + 1) if len(psd) > 1 else 0
    infrasound = None
    if n >= MIN_INFRASOUND_SECONDS * sample_rate:
        mask = (freqs >= INFRASOUND_HZ[0]) & (freqs < INFRASOUND_HZ[1])
        infrasound = _band(freqs, psd, mask, reference, df, prominence_db, min_level_db)
    ultrasound = None
    if sample_rate >= ULTRASOUND_MIN_RATE:
        ultrasound = _band(freqs, psd, freqs > ULTRASOUND_MIN_HZ, reference, df, prominence_db, min_level_db)
    return SpectrumAnalysis(float(freqs[peak]), _db(float(psd[peak])), infrasound, ultrasound)


# --- voice formants by LPC ------------------------------------------------------------------------

FORMANT_RATE = 16_000
FRAME_SECONDS = 0.032
PITCH_HZ = (75.0, 400.0)
F1_HZ = (250.0, 1000.0)
F2_HZ = (700.0, 3800.0)
MAX_FORMANT_BANDWIDTH_HZ = 400.0
MIN_FORMANT_BANDWIDTH_HZ = 20.0  # narrower is a pure tone or a whistle, not a vocal tract


def lpc(frame: np.ndarray, order: int) -> np.ndarray:
    """LPC coefficients ``[1, a1, ..., a_order]`` of ``frame`` by the autocorrelation method
    (the Toeplitz normal equations, solved by Levinson-Durbin)."""
    n = len(frame)
    if n <= order:
        raise ValueError("frame shorter than the LPC order")
    r = np.array([np.dot(frame[:n - k], frame[k:]) for k in range(order + 1)])
    if r[0] <= 0:
        raise ValueError("silent frame")
    r[0] *= 1.0 + 1e-9  # white-noise correction keeps the system well conditioned
    a = linalg.solve_toeplitz((r[:-1], r[:-1]), -r[1:])
    return np.concatenate(([1.0], a))


def formants(frame: np.ndarray, sample_rate: int, order: int | None = None) -> list[tuple[float, float]]:
    """Sharp resonances ``(frequency Hz, bandwidth Hz)`` of one frame, lowest first."""
    order = order or 2 + sample_rate // 1000
    emphasised = np.append(frame[0], frame[1:] - 0.97 * frame[:-1]) * np.hamming(len(frame))
    try:
        coeffs = lpc(emphasised, order)
    except (ValueError, np.linalg.LinAlgError):
        return []
    if not np.all(np.isfinite(coeffs)):
        return []
    roots = np.roots(coeffs)
    roots = roots[np.imag(roots) > 0]
    freqs = np.angle(roots) * sample_rate / (2 * np.pi)
    bandwidths = -sample_rate / np.pi * np.log(np.maximum(np.abs(roots), 1e-12))
    found = [(float(f), float(b)) for f, b in zip(freqs, bandwidths, strict=True)
             if 90.0 < f < sample_rate / 2 - 50 and b < MAX_FORMANT_BANDWIDTH_HZ]
    return sorted(found)


def _voiced(frame: np.ndarray, sample_rate: int, min_rms: float) -> bool:
    """Periodic like a voice: enough energy and a clear autocorrelation peak at a pitch period."""
    if float(np.sqrt(np.mean(frame * frame))) < min_rms:
        return False
    x = frame - frame.mean()
    n = len(x)
    ac = np.correlate(x, x, mode="full")[n - 1:]
    if ac[0] <= 0:
        return False
    lo, hi = int(sample_rate / PITCH_HZ[1]), min(int(sample_rate / PITCH_HZ[0]), n - 1)
    if hi <= lo:
        return False
    # Normalise by the overlap length so long lags are not penalised.
    lags = np.arange(lo, hi)
    normalised = ac[lo:hi] / ac[0] * n / (n - lags)
    return float(normalised.max()) > 0.5


def _speech_like(found: list[tuple[float, float]]) -> tuple[float, float] | None:
    """(F1, F2) when the lowest resonance in the F1 range is followed by one in the F2 range, both
    as broad as a vocal tract's."""
    for i, (f1, b1) in enumerate(found):
        if F1_HZ[0] <= f1 <= F1_HZ[1]:
            if b1 < MIN_FORMANT_BANDWIDTH_HZ:
                return None
            for f2, b2 in found[i + 1:]:
                if F2_HZ[0] <= f2 <= F2_HZ[1] and f2 - f1 >= 150 and b2 >= MIN_FORMANT_BANDWIDTH_HZ:
                    return f1, f2
            return None
    return None


@dataclass(frozen=True, slots=True)
class VoiceAnalysis:
    frames: int
    voiced: int
    speech_like: int
    f1_hz: float | None
    f2_hz: float | None

    @property
    def fraction(self) -> float:
        return self.speech_like / self.voiced if self.voiced else 0.0


def analyze_voice(samples: np.ndarray, sample_rate: int, *, min_level_db: float = -50.0,
                  max_frames: int = 40) -> VoiceAnalysis:
    """Count voiced frames of ``samples`` and how many of them have speech-like formants."""
    if sample_rate > FORMANT_RATE:
        g = math.gcd(FORMANT_RATE, sample_rate)
        samples = signal.resample_poly(samples, FORMANT_RATE // g, sample_rate // g)
        sample_rate = FORMANT_RATE
    size = int(FRAME_SECONDS * sample_rate)
    count = min(len(samples) // size, max_frames) if size else 0
    start = len(samples) - count * size  # the most recent frames
    min_rms = 10 ** (min_level_db / 20)
    voiced = speech = 0
    f1s: list[float] = []
    f2s: list[float] = []
    for i in range(count):
        frame = samples[start + i * size:start + (i + 1) * size]
        if not _voiced(frame, sample_rate, min_rms):
            continue
        voiced += 1
        pair = _speech_like(formants(frame, sample_rate))
        if pair is not None:
            speech += 1
            f1s.append(pair[0])
            f2s.append(pair[1])
    return VoiceAnalysis(count, voiced, speech, float(np.median(f1s)) if f1s else None,
                         float(np.median(f2s)) if f2s else None)


# --- the per-device detector ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AudioFinding:
    kind: AudioKind
    severity: Severity
    score: float
    value: float
    details: dict[str, Any] = field(default_factory=dict)


def _prominence_severity(prominence_db: float, threshold_db: float) -> Severity:
    if prominence_db >= threshold_db + 20:
        return Severity.critical
    if prominence_db >= threshold_db + 10:
        return Severity.high
    return Severity.medium


class AudioAnomalyDetector:
    """One device's audio detector: keeps its last ``window_s`` seconds and analyses them at
    each chunk. A change of sample rate or a gap in time longer than the window starts afresh."""

    def __init__(self, window_s: float = 1.0, *, prominence_db: float = 20.0, min_level_db: float = -35.0,
                 voice_min_fraction: float = 0.4, voice_min_frames: int = 3) -> None:
        self.window_s = window_s
        self.prominence_db = prominence_db
        self.min_level_db = min_level_db
        self.voice_min_fraction = voice_min_fraction
        self.voice_min_frames = voice_min_frames
        self._rate = 0
        self._end_ns = 0
        self._chunks: deque[np.ndarray] = deque()
        self._samples = 0

    def _remember(self, samples: np.ndarray, sample_rate: int, timestamp_ns: int) -> np.ndarray:
        gap_ns = timestamp_ns - self._end_ns
        if sample_rate != self._rate or gap_ns > self.window_s * 1e9 or gap_ns < -self.window_s * 1e9:
            self._chunks.clear()
            self._samples = 0
            self._rate = sample_rate
        self._chunks.append(samples)
        self._samples += len(samples)
        self._end_ns = timestamp_ns + int(len(samples) * 1e9 / sample_rate)
        limit = int(self.window_s * sample_rate)
        while self._chunks and self._samples - len(self._chunks[0]) >= limit:
            self._samples -= len(self._chunks.popleft())
        window = np.concatenate(self._chunks) if len(self._chunks) > 1 else self._chunks[0]
        return window[-limit:]

    def update(self, samples: np.ndarray, sample_rate: int, timestamp_ns: int) -> list[AudioFinding]:
        """Analyse the window ending with this chunk (``timestamp_ns`` = its first sample)."""
        if len(samples) == 0 or sample_rate <= 0:
            return []
        window = self._remember(samples, sample_rate, timestamp_ns)
        findings: list[AudioFinding] = []
        spectrum = analyze_spectrum(window, sample_rate, prominence_db=self.prominence_db,
                                    min_level_db=self.min_level_db)
        for kind, band in (("audio_infrasound", spectrum.infrasound), ("audio_ultrasound", spectrum.ultrasound)):
            if band is not None and band.detected:
                findings.append(AudioFinding(
                    kind, _prominence_severity(band.prominence_db, self.prominence_db),  # type: ignore[arg-type]
                    round(band.prominence_db, 2), round(band.peak_hz, 2),
                    {"peak_hz": round(band.peak_hz, 2), "prominence_db": round(band.prominence_db, 2),
                     "level_db": round(band.level_db, 2), "sample_rate": sample_rate}))
        # Voice: the newest audio only (at least 0.25 s), so an old phrase is not reported again.
        recent = window[-max(len(samples), int(0.25 * sample_rate)):]
        voice = analyze_voice(recent, sample_rate)
        if voice.voiced >= self.voice_min_frames and voice.fraction >= self.voice_min_fraction:
            findings.append(AudioFinding(
                "audio_voice", Severity.high if voice.fraction >= 0.75 else Severity.medium,
                round(voice.fraction, 3), round(voice.f1_hz or 0.0, 1),
                {"f1_hz": round(voice.f1_hz or 0.0, 1), "f2_hz": round(voice.f2_hz or 0.0, 1),
                 "voiced_frames": voice.voiced, "speech_like_frames": voice.speech_like,
                 "sample_rate": sample_rate}))
        return findings
