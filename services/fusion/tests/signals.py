"""Synthetic sensor signals for the tests: seed 002's generator (base + trend + seasonality +
Gaussian noise) with injected anomalies whose positions are the ground truth, and audio."""

from __future__ import annotations

import numpy as np
from scipy import signal as sps


def series(n: int, *, rate_hz: float = 20.0, base: float = 45.0, trend_per_s: float = 0.002,
           season_amp: float = 1.0, season_period_s: float = 120.0, noise: float = 0.3,
           anomalies: int = 0, anomaly_sigmas: tuple[float, float] = (6.0, 10.0), min_gap: int = 100,
           seed: int = 0) -> tuple[np.ndarray, list[int]]:
    """``n`` samples and the sorted indices of the injected anomalies (spikes up or down of
    ``anomaly_sigmas`` times the noise, at least ``min_gap`` samples apart, none in the first 200)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / rate_hz
    values = base + trend_per_s * t + season_amp * np.sin(2 * np.pi * t / season_period_s) \
        + rng.normal(0, noise, n)
    positions: list[int] = []
    candidates = rng.permutation(np.arange(200, n))
    for c in candidates:
        if len(positions) == anomalies:
            break
        if all(abs(int(c) - p) >= min_gap for p in positions):
            positions.append(int(c))
    positions.sort()
    for p in positions:
        values[p] += rng.choice([-1, 1]) * rng.uniform(*anomaly_sigmas) * noise
    return values, positions


def score(detected: list[int], truth: list[int], tolerance: int = 2) -> tuple[float, float]:
    """(recall, precision) of detected sample indices against the injected ones."""
    hit_truth = {t for t in truth if any(abs(d - t) <= tolerance for d in detected)}
    true_detections = [d for d in detected if any(abs(d - t) <= tolerance for t in truth)]
    recall = len(hit_truth) / len(truth) if truth else 1.0
    precision = len(true_detections) / len(detected) if detected else 1.0
    return recall, precision


def noise(rate: int, seconds: float, amp: float = 0.01, seed: int = 0) -> np.ndarray:
    return amp * np.random.default_rng(seed).standard_normal(int(rate * seconds))


def tone(rate: int, seconds: float, hz: float, amp: float) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return amp * np.sin(2 * np.pi * hz * t)


def vowel(rate: int, seconds: float, f0: float = 120.0, formants: tuple[float, ...] = (700, 1200, 2600),
          bandwidths: tuple[float, ...] = (80, 90, 120), amp: float = 0.3) -> np.ndarray:
    """A voice-like vowel: a glottal pulse train at ``f0`` through formant resonators."""
    n = int(rate * seconds)
    x = np.zeros(n)
    x[:: int(rate / f0)] = 1.0
    for f, b in zip(formants, bandwidths, strict=True):
        r = np.exp(-np.pi * b / rate)
        x = sps.lfilter([1 - r], [1, -2 * r * np.cos(2 * np.pi * f / rate), r * r], x)
    return amp * x / np.max(np.abs(x))


def pcm16(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1, 32767 / 32768) * 32768).astype("<i2").tobytes()
