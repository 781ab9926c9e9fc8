"""Audio detectors on synthetic chunks: infrasound, ultrasound (only where the sample rate allows
it), voice formants by LPC; noise, silence, pure tones and chirps are not anomalies."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal as sps

from services.fusion.tests.signals import noise, pcm16, tone, vowel
from vigia.fusion.detectors import AudioAnomalyDetector, analyze_spectrum, analyze_voice
from vigia.fusion.detectors.audio import lpc, pcm16_to_float

RATES = [16_000, 48_000]


def kinds(samples: np.ndarray, rate: int) -> set[str]:
    detector = AudioAnomalyDetector()
    found: set[str] = set()
    chunk = rate // 4
    for i in range(0, len(samples) - chunk + 1, chunk):
        found |= {f.kind for f in detector.update(samples[i:i + chunk], rate, i * 1_000_000_000 // rate)}
    return found


@pytest.mark.parametrize("rate", RATES)
def test_infrasound_is_found(rate: int) -> None:
    assert kinds(noise(rate, 1) + tone(rate, 1, 12, 0.05), rate) == {"audio_infrasound"}


def test_ultrasound_is_found_at_48_khz() -> None:
    assert kinds(noise(48_000, 1) + tone(48_000, 1, 19_500, 0.05), 48_000) == {"audio_ultrasound"}


def test_ultrasound_is_not_analysed_below_40_khz() -> None:
    analysis = analyze_spectrum(noise(16_000, 1), 16_000)
    assert analysis.ultrasound is None  # not "absent": the band is above the Nyquist frequency
    assert analyze_spectrum(noise(44_100, 1), 44_100).ultrasound is not None


def test_infrasound_needs_a_quarter_second() -> None:
    assert analyze_spectrum(noise(16_000, 0.1) + tone(16_000, 0.1, 12, 0.05), 16_000).infrasound is None


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("vowel_formants", [(700, 1200, 2600), (300, 2300, 3000), (500, 1500, 2500)])
def test_voice_formants_are_found(rate: int, vowel_formants: tuple[int, int, int]) -> None:
    samples = noise(rate, 1) + vowel(rate, 1, f0=110, formants=vowel_formants)
    assert kinds(samples, rate) == {"audio_voice"}
    voice = analyze_voice(samples[-rate // 2:], rate)
    assert voice.f1_hz == pytest.approx(vowel_formants[0], abs=100)  # LPC leans to a harmonic
    assert voice.f2_hz == pytest.approx(vowel_formants[1], rel=0.15)


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("name", ["silence", "noise", "loud noise", "tone 1 kHz", "tone 300 Hz", "chirp"])
def test_ordinary_sound_is_not_an_anomaly(rate: int, name: str) -> None:
    t = np.arange(rate * 2) / rate
    samples = {
        "silence": np.zeros(rate * 2),
        "noise": noise(rate, 2),
        "loud noise": noise(rate, 2, amp=0.3),
        "tone 1 kHz": noise(rate, 2) + tone(rate, 2, 1000, 0.3),
        "tone 300 Hz": noise(rate, 2) + tone(rate, 2, 300, 0.3),
        "chirp": noise(rate, 2) + 0.3 * sps.chirp(t, 100, 2, 3000),
    }[name]
    assert kinds(samples, rate) == set()


def test_recall_and_precision_over_mixed_chunks() -> None:
    rate = 16_000
    rng = np.random.default_rng(7)
    truth: list[str | None] = []
    found: list[set[str]] = []
    for i in range(60):
        kind = [None, None, "audio_infrasound", "audio_voice"][i % 4]
        base = noise(rate, 1, amp=float(rng.uniform(0.003, 0.03)), seed=i)
        if kind == "audio_infrasound":
            base = base + tone(rate, 1, float(rng.uniform(5, 18)), float(rng.uniform(0.03, 0.2)))
        elif kind == "audio_voice":
            base = base + vowel(rate, 1, f0=float(rng.uniform(90, 220)), amp=float(rng.uniform(0.1, 0.5)))
        found.append(kinds(base, rate))  # a fresh detector per clip
        truth.append(kind)
    hits = sum(1 for k, f in zip(truth, found, strict=True) if k is not None and k in f)
    false = sum(len(f - ({k} if k else set())) for k, f in zip(truth, found, strict=True))
    positives = sum(1 for k in truth if k)
    assert hits / positives >= 0.95
    assert hits / (hits + false) >= 0.9


def test_lpc_recovers_an_autoregressive_filter() -> None:
    rng = np.random.default_rng(0)
    x = sps.lfilter([1.0], [1.0, -1.3, 0.8], rng.normal(size=20_000))
    assert lpc(x, 2) == pytest.approx([1.0, -1.3, 0.8], abs=0.03)


def test_pcm16_round_trip_and_odd_byte() -> None:
    samples = np.array([0.0, 0.5, -0.5, -1.0])
    assert pcm16_to_float(pcm16(samples) + b"\x01") == pytest.approx(samples)


def test_a_change_of_sample_rate_starts_the_window_afresh() -> None:
    detector = AudioAnomalyDetector()
    detector.update(noise(16_000, 0.5) + tone(16_000, 0.5, 12, 0.1), 16_000, 0)
    assert detector.update(noise(48_000, 0.1), 48_000, 500_000_000) == []
