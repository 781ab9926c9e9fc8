"""Audio a phone's microphone would hear, as float samples in [-1, 1) and as PCM16 LE bytes.

The background is quiet pink noise (about -48 dBFS) with a faint 60 Hz mains hum. Three kinds of
anomaly are injected on top, each a whole waveform synthesised once per episode and sliced into
the chunks it overlaps, so a burst that straddles two chunks is continuous:

* ``infrasound``: a sine below 20 Hz (6-18 Hz), loud (0.15-0.4 of full scale);
* ``ultrasound``: a sine above 18 kHz (18.5-22 kHz, needs a sample rate >= 44.1 kHz);
* ``voice``: a vowel made the classic way (Klatt): a glottal pulse train at F0 through a cascade of
  two-pole resonators at the vowel's formants F1-F3, so LPC finds the formants back.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy import signal

BACKGROUND_DBFS = -48.0
HUM_HZ = 60.0  # Brazilian mains
HUM_LEVEL = 0.0008
NOISE_BANK_SECONDS = 4.0

# Peterson & Barney (1952) average adult male formants, Hz.
VOWELS: dict[str, tuple[float, float, float]] = {
    "a": (730.0, 1090.0, 2440.0),
    "e": (530.0, 1840.0, 2480.0),
    "i": (270.0, 2290.0, 3010.0),
    "o": (570.0, 840.0, 2410.0),
    "u": (300.0, 870.0, 2240.0),
}
FORMANT_BANDWIDTHS = (80.0, 100.0, 140.0)


def min_ultrasound_rate() -> int:
    """The lowest sample rate at which ultrasound (>= 18.5 kHz, with margin) is representable."""
    return 44_100


@functools.lru_cache(maxsize=4)
def noise_bank(sample_rate: int) -> np.ndarray:
    """A few seconds of unit-RMS pink noise (1/f power), computed once per sample rate and reused
    at random offsets: generating fresh noise for hundreds of phones would cost more than the rest."""
    rng = np.random.default_rng(20240917)
    n = int(NOISE_BANK_SECONDS * sample_rate)
    spectrum = rng.standard_normal(n // 2 + 1) + 1j * rng.standard_normal(n // 2 + 1)
    freqs = np.fft.rfftfreq(n, 1.0 / sample_rate)
    spectrum[1:] /= np.sqrt(freqs[1:])
    spectrum[0] = 0.0
    pink = np.fft.irfft(spectrum, n)
    pink /= np.sqrt(np.mean(pink**2))
    return np.concatenate([pink, pink]).astype(np.float32)  # doubled: any offset < n slices without wrapping


def background(rng: np.random.Generator, sample_rate: int, start_sample: int, n: int, gain: float = 1.0) -> np.ndarray:
    """``n`` samples of background starting at absolute sample ``start_sample`` (for the hum's phase)."""
    bank = noise_bank(sample_rate)
    half = len(bank) // 2
    if n > half:
        raise ValueError(f"chunks longer than {NOISE_BANK_SECONDS:g} s are not supported")
    offset = int(rng.integers(0, half))
    level = 10 ** (BACKGROUND_DBFS / 20) * gain
    out = bank[offset:offset + n].astype(np.float64) * level
    t = (start_sample + np.arange(n)) / sample_rate
    out += HUM_LEVEL * gain * np.sin(2 * np.pi * HUM_HZ * t)
    return out


def envelope(n: int, sample_rate: int, edge_s: float) -> np.ndarray:
    """Flat 1 with raised-cosine edges of ``edge_s`` (shorter when the burst is short): no clicks."""
    edge = max(1, min(int(edge_s * sample_rate), n // 2))
    env = np.ones(n)
    ramp = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, edge))
    env[:edge] = ramp
    env[n - edge:] = ramp[::-1]
    return env


def tone(n: int, sample_rate: int, freq: float, amplitude: float, edge_s: float) -> np.ndarray:
    t = np.arange(n) / sample_rate
    return amplitude * envelope(n, sample_rate, edge_s) * np.sin(2 * np.pi * freq * t)


def vowel(rng: np.random.Generator, n: int, sample_rate: int, formants: tuple[float, ...], f0: float,
          amplitude: float) -> np.ndarray:
    """A voiced vowel: glottal pulses (F0 with slight vibrato and jitter) through formant resonators."""
    t = np.arange(n) / sample_rate
    inst_f0 = f0 * (1 + 0.03 * np.sin(2 * np.pi * 5.0 * t)) * (1 + 0.005 * rng.standard_normal(n).cumsum() / np.sqrt(n))
    phase = np.cumsum(inst_f0 / sample_rate)
    pulses = np.diff(np.floor(phase), prepend=0.0)  # 1 at the start of every glottal period
    # A glottal pulse is smooth, not an impulse: its spectrum falls about 12 dB per octave.
    source = signal.lfilter([1.0], [1.0, -1.9, 0.9025], pulses)
    source += 0.02 * rng.standard_normal(n) * np.std(source)  # a little breath
    out = source
    for freq, bandwidth in zip(formants, FORMANT_BANDWIDTHS, strict=False):
        r = np.exp(-np.pi * bandwidth / sample_rate)
        theta = 2 * np.pi * freq / sample_rate
        a = [1.0, -2 * r * np.cos(theta), r * r]
        out = signal.lfilter([sum(a)], a, out)  # unity gain at DC keeps levels sane
    out = signal.lfilter([1.0, -0.95], [1.0], out)  # lip radiation
    out *= envelope(n, sample_rate, 0.05)
    peak = float(np.max(np.abs(out))) or 1.0
    return out * (amplitude / peak)


def to_pcm16(samples: np.ndarray) -> bytes:
    """Float samples in [-1, 1) to PCM16 little-endian mono bytes (clipped, never wrapped)."""
    return np.clip(np.round(samples * 32767.0), -32768, 32767).astype("<i2").tobytes()


def from_pcm16(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<i2").astype(np.float64) / 32768.0
