"""What one simulated phone measures: sensor packets and audio chunks, deterministic per seed.

Every signal follows seed 002's generator, ``value = base + trend + seasonality + noise``, plus
injected anomalies:

* magnetometer: the Earth's field (35-60 uT, a fixed direction per phone) with a slow linear
  drift, a sine of 180-600 s period and noise; *magnetic* anomalies add a spike of 8-60 uT along the
  field (so ``magnitude`` rises by exactly that) for 0.4-2 s;
* accelerometer / gyroscope / orientation: a phone resting at a slight tilt that sways slowly;
  *imu* jolts add 4-15 m/s2 and 1.5-5 rad/s half-sine bursts of 0.2-0.6 s;
* audio (see :mod:`.audio`): *infrasound*, *ultrasound* and *voice* bursts; ``audio_peak`` is the
  peak |sample| of the audio heard during the packet's period;
* ``humanoid_detected`` is true during *humanoid* episodes (1-4 s); ``bluetooth_devices_count``
  wanders between 0 and 12.

The noise is Gaussian truncated at ``noise_clip`` sigma (2 by default): the background never
crosses a 3-sigma detector on its own, so every true alarm is in the ground truth. Episodes are
separated by at least ``min_gap_s`` (12 s: a 100-sample window at 10 Hz forgets a spike in 10 s).
A share of episodes (``correlated_share``) is *correlated*: a magnetic spike with an audio burst
starting within 300 ms, sometimes with a humanoid flag — the kind of coincidence the correlator
turns into an event.

Packet ``i`` of a phone is a function of (seed, phone index, i) as long as packets are generated
in order; audio chunk ``k`` depends on (seed, phone index, k) only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vigia.simulators.phonesim import audio

NS = 1_000_000_000
GRAVITY = 9.80665

MAGNETIC, IMU, INFRASOUND, ULTRASOUND, VOICE, HUMANOID = (
    "magnetic", "imu", "infrasound", "ultrasound", "voice", "humanoid")
AUDIO_KINDS = (INFRASOUND, ULTRASOUND, VOICE)
ALL_KINDS = (MAGNETIC, IMU, INFRASOUND, ULTRASOUND, VOICE, HUMANOID)
CORRELATED = "correlated"  # an injected episode's kind: a magnetic spike with an audio burst
# Weights of the kinds of a single (uncorrelated) episode.
SINGLE_WEIGHTS = {MAGNETIC: 0.25, IMU: 0.2, VOICE: 0.15, INFRASOUND: 0.1, ULTRASOUND: 0.1, HUMANOID: 0.2}
UNITS = {MAGNETIC: "uT", IMU: "m/s2", INFRASOUND: "fs", ULTRASOUND: "fs", VOICE: "fs", HUMANOID: "flag"}


@dataclass(frozen=True)
class SignalConfig:
    """How a phone samples and how often anomalies are injected."""

    rate: float = 10.0  # sensor packets per second
    audio_rate: int = 48_000  # Hz; 0: no audio at all
    chunk_seconds: float = 0.5
    mean_gap_s: float = 30.0  # mean quiet time between episodes
    min_gap_s: float = 12.0
    first_after_s: float = 12.0  # quiet start: detectors fill their windows first
    correlated_share: float = 0.35
    noise_clip: float = 2.0  # sigma; 0 for untruncated Gaussian noise
    kinds: tuple[str, ...] = ALL_KINDS

    def __post_init__(self) -> None:
        if not 0 < self.rate <= 1000:
            raise ValueError("rate must be in (0, 1000] packets per second")
        if self.audio_rate and not 8_000 <= self.audio_rate <= 96_000:
            raise ValueError("audio_rate must be 0 or 8000..96000 Hz")
        if not 0.05 <= self.chunk_seconds <= 2.0:
            raise ValueError("chunk_seconds must be in [0.05, 2]")
        if self.mean_gap_s < self.min_gap_s or self.min_gap_s < 0:
            raise ValueError("need 0 <= min_gap_s <= mean_gap_s")
        unknown = set(self.kinds) - set(ALL_KINDS)
        if unknown:
            raise ValueError(f"unknown anomaly kinds: {sorted(unknown)}")

    @property
    def injectable(self) -> tuple[str, ...]:
        """The kinds that can be injected with this configuration (no audio kinds without audio,
        no ultrasound below 44.1 kHz)."""
        out = [k for k in self.kinds if k not in AUDIO_KINDS or self.audio_rate]
        if self.audio_rate < audio.min_ultrasound_rate():
            out = [k for k in out if k != ULTRASOUND]
        return tuple(out)

    @property
    def chunk_samples(self) -> int:
        return round(self.audio_rate * self.chunk_seconds)


@dataclass(frozen=True)
class Anomaly:
    """One injected anomaly: the ground truth. Times are ns since the epoch, ``end`` exclusive."""

    kind: str
    start: int
    end: int
    magnitude: float
    episode: int
    detail: dict[str, Any] = field(default_factory=dict)

    def active(self, t_ns: int) -> bool:
        return self.start <= t_ns < self.end

    def record(self, device: str) -> dict[str, Any]:
        return {"kind": self.kind, "device": device, "start": self.start, "end": self.end,
                "magnitude": round(self.magnitude, 6), "unit": UNITS[self.kind], "episode": self.episode,
                **self.detail}


def _clipped(rng: np.random.Generator, clip: float, size: int | None = None) -> Any:
    """Standard normal samples truncated at ``clip`` sigma by redrawing (clip 0: untruncated)."""
    if size is None:
        v = float(rng.standard_normal())
        while clip and abs(v) > clip:
            v = float(rng.standard_normal())
        return v
    x = rng.standard_normal(size)
    if not clip:
        return x
    bad = np.abs(x) > clip
    while bad.any():
        x[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(x) > clip
    return x


def _plateau(x: float, rise: float, fall: float) -> float:
    """0..1 over x in [0, 1): raised-cosine rise, flat top, raised-cosine fall."""
    if x < 0 or x >= 1:
        return 0.0
    if x < rise:
        return 0.5 - 0.5 * math.cos(math.pi * x / rise)
    if x > 1 - fall:
        return 0.5 - 0.5 * math.cos(math.pi * (1 - x) / fall)
    return 1.0


def _half_sine(x: float) -> float:
    return math.sin(math.pi * x) if 0 <= x < 1 else 0.0


def _unit(rng: np.random.Generator) -> np.ndarray:
    v = rng.standard_normal(3)
    return v / np.linalg.norm(v)


class Schedule:
    """The phone's anomaly episodes, planned lazily in time order from their own random stream."""

    def __init__(self, config: SignalConfig, seed: int, index: int, epoch_ns: int) -> None:
        self.config = config
        self.rng = np.random.default_rng([seed, index, 1])
        self.epoch_ns = epoch_ns
        self.planned: list[Anomaly] = []
        self._next_start_s = config.first_after_s
        self._episode = 0
        kinds = config.injectable
        weights = np.array([SINGLE_WEIGHTS[k] for k in kinds], dtype=float)
        self._single = (kinds, weights / weights.sum() if len(kinds) else weights)
        self._audio = tuple(k for k in AUDIO_KINDS if k in kinds)

    def until(self, t_ns: int) -> list[Anomaly]:
        """Every anomaly starting before ``t_ns`` (planning further as needed), oldest first."""
        if not self._single[0]:
            return self.planned
        while self.epoch_ns + int(self._next_start_s * NS) <= t_ns:
            self._plan_episode()
        return self.planned

    def forget_before(self, t_ns: int) -> None:
        """Drop anomalies that ended before ``t_ns`` (they can no longer affect any sample)."""
        if self.planned and self.planned[0].end <= t_ns:
            self.planned = [a for a in self.planned if a.end > t_ns]

    def inject(self, start_ns: int, kind: str = CORRELATED) -> list[Anomaly]:
        """Plan an episode of ``kind`` — one anomaly kind, or ``"correlated"``: a magnetic spike
        with an audio burst (and, half the time, a humanoid flag) as the seeded correlated episodes
        have — whose first part starts at ``start_ns`` or later (the spike within a second), on
        top of the seeded schedule, whose next episode waits until this one is over. Returns the
        episode's anomalies. ValueError for a kind this configuration cannot inject."""
        if kind == CORRELATED:
            if MAGNETIC not in self.config.injectable or not self._audio:
                raise ValueError("a correlated episode needs the magnetic kind and an audio kind (and audio)")
        elif kind not in self.config.injectable:
            raise ValueError(f"kind must be {CORRELATED!r} or one of {list(self.config.injectable)}")
        self.until(start_ns)  # seeded episodes due before it keep their numbers
        episode = self._episode + 1
        # A correlated episode's parts start up to half a second before its magnetic spike.
        lead = 0.5 if kind == CORRELATED else 0.0
        self._plan_episode((start_ns - self.epoch_ns) / NS + lead, kind)
        return [a for a in self.planned if a.episode == episode]

    def _plan_episode(self, start_s: float | None = None, kind: str | None = None) -> None:
        """Plan the next seeded episode at ``_next_start_s``, or (injected) one of ``kind`` at ``start_s``."""
        cfg, rng = self.config, self.rng
        injected = start_s is not None
        start_s = self._next_start_s if start_s is None else start_s
        self._episode += 1
        if kind is None:
            correlated = MAGNETIC in cfg.injectable and bool(self._audio) and rng.random() < cfg.correlated_share
        else:
            correlated = kind == CORRELATED
        if kind is not None and not correlated:
            kinds = [(kind, 0.0)]
        elif correlated:
            kinds = [(MAGNETIC, 0.0), (str(rng.choice(self._audio, p=self._audio_weights())),
                                      float(rng.uniform(-0.3, 0.3)))]
            if HUMANOID in cfg.injectable and rng.random() < 0.5:
                kinds.append((HUMANOID, float(rng.uniform(-0.5, 0.2))))
        else:
            names, weights = self._single
            kinds = [(str(rng.choice(names, p=weights)), 0.0)]
        end_s = start_s
        for kind, offset in kinds:
            anomaly = self._make(kind, max(0.0, start_s + offset))
            self.planned.append(anomaly)
            end_s = max(end_s, (anomaly.end - self.epoch_ns) / NS)
        self.planned.sort(key=lambda a: a.start)
        gap = cfg.min_gap_s + rng.exponential(cfg.mean_gap_s - cfg.min_gap_s) if cfg.mean_gap_s > cfg.min_gap_s \
            else cfg.min_gap_s
        self._next_start_s = max(self._next_start_s, end_s + gap) if injected else end_s + gap

    def _audio_weights(self) -> list[float]:
        weights = {VOICE: 0.5, INFRASOUND: 0.25, ULTRASOUND: 0.25}
        w = np.array([weights[k] for k in self._audio])
        return list(w / w.sum())

    def _make(self, kind: str, start_s: float) -> Anomaly:
        rng = self.rng
        detail: dict[str, Any] = {}
        if kind == MAGNETIC:
            duration, magnitude = rng.uniform(0.4, 2.0), rng.uniform(8.0, 60.0)
        elif kind == IMU:
            duration, magnitude = rng.uniform(0.2, 0.6), rng.uniform(4.0, 15.0)
            detail = {"gyro_peak": round(float(rng.uniform(1.5, 5.0)), 4),
                      "accel_axis": [round(float(v), 6) for v in _unit(rng)],
                      "gyro_axis": [round(float(v), 6) for v in _unit(rng)]}
        elif kind == INFRASOUND:
            duration, magnitude = rng.uniform(1.0, 3.0), rng.uniform(0.15, 0.4)
            detail = {"freq_hz": round(float(rng.uniform(6.0, 18.0)), 3)}
        elif kind == ULTRASOUND:
            duration, magnitude = rng.uniform(0.5, 2.0), rng.uniform(0.03, 0.12)
            top = min(22_000.0, self.config.audio_rate / 2 - 1_500.0)
            detail = {"freq_hz": round(float(rng.uniform(18_500.0, top)), 3)}
        elif kind == VOICE:
            duration, magnitude = rng.uniform(0.4, 1.2), rng.uniform(0.15, 0.4)
            name = str(rng.choice(sorted(audio.VOWELS)))
            detail = {"vowel": name, "formants_hz": list(audio.VOWELS[name]),
                      "f0_hz": round(float(rng.uniform(90.0, 220.0)), 3)}
        else:  # humanoid
            duration, magnitude = rng.uniform(1.0, 4.0), 1.0
        start = self.epoch_ns + int(start_s * NS)
        return Anomaly(kind, start, start + int(duration * NS), float(magnitude), self._episode, detail)


class PhoneSignals:
    """Packet ``i`` and audio chunk ``k`` of phone ``index`` under ``seed``, starting at ``epoch_ns``."""

    def __init__(self, config: SignalConfig, *, seed: int, index: int, epoch_ns: int) -> None:
        self.config, self.seed, self.index, self.epoch_ns = config, seed, index, epoch_ns
        self.schedule = Schedule(config, seed, index, epoch_ns)
        self.rng = np.random.default_rng([seed, index, 0])
        p = np.random.default_rng([seed, index, 3])  # the phone's constant traits
        self.field = p.uniform(35.0, 60.0)
        self.field_dir = _unit(p)
        self.drift = p.uniform(-5e-4, 5e-4)  # uT/s
        self.season_amp, self.season_period = p.uniform(0.2, 0.6), p.uniform(180, 600)
        self.season_phase = p.uniform(0, 2 * math.pi)
        self.mag_sigma = p.uniform(0.25, 0.4)
        self.tilt = (p.uniform(-0.15, 0.15), p.uniform(-0.15, 0.15), p.uniform(-math.pi, math.pi))
        self.sway_amp, self.sway_period = p.uniform(0.005, 0.02), p.uniform(20, 60)
        self.acc_sigma, self.gyro_sigma = 0.02, 0.003
        self.audio_gain = p.uniform(0.7, 1.4)
        self.bluetooth = int(p.integers(0, 6))
        # Two orthonormal vectors perpendicular to the field, for the noise across it.
        helper = np.array([1.0, 0.0, 0.0]) if abs(self.field_dir[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
        self.perp1 = np.cross(self.field_dir, helper)
        self.perp1 /= np.linalg.norm(self.perp1)
        self.perp2 = np.cross(self.field_dir, self.perp1)
        self._next_packet = 0
        self._reported: set[tuple[int, str]] = set()
        self._chunks: dict[int, np.ndarray] = {}
        self._waveforms: dict[tuple[int, str], np.ndarray] = {}

    # --- time ------------------------------------------------------------------------------------

    def packet_time(self, i: int) -> int:
        return self.epoch_ns + round(i * NS / self.config.rate)

    def chunk_time(self, k: int) -> int:
        return self.epoch_ns + round(k * self.config.chunk_seconds * NS)

    def active(self, t_ns: int) -> list[Anomaly]:
        return [a for a in self.schedule.until(t_ns) if a.active(t_ns)]

    def finished(self, t_ns: int) -> list[Anomaly]:
        """Anomalies that ended by ``t_ns`` and were not returned before: the ground truth to log
        once every sample they touch has been generated."""
        out = [a for a in self.schedule.until(t_ns) if a.end <= t_ns and (a.episode, a.kind) not in self._reported]
        self._reported.update((a.episode, a.kind) for a in out)
        return out

    def forget_before(self, t_ns: int) -> None:
        """Let go of anomalies that ended before ``t_ns``: samples before it are never asked for again."""
        before = len(self.schedule.planned)
        self.schedule.forget_before(t_ns)
        if len(self.schedule.planned) != before:
            live = {(a.episode, a.kind) for a in self.schedule.planned}
            self._reported &= live

    def started(self, t_ns: int) -> list[Anomaly]:
        """Anomalies under way at ``t_ns`` and not yet returned by :meth:`finished` (at shutdown)."""
        return [a for a in self.schedule.until(t_ns)
                if a.start <= t_ns < a.end and (a.episode, a.kind) not in self._reported]

    def inject(self, not_before_ns: int, kind: str = CORRELATED) -> list[Anomaly]:
        """An episode of ``kind`` (see :meth:`Schedule.inject`) starting at ``not_before_ns`` or,
        when that falls in an audio chunk already cut or being cut, at the next chunk's start: the
        samples the phone has produced are never rewritten."""
        start = not_before_ns
        if self.config.audio_rate:
            produced = self.packet_time(max(0, self._next_packet - 1))
            k = (produced - self.epoch_ns) // round(self.config.chunk_seconds * NS)
            start = max(start, self.chunk_time(k + 1))
        return self.schedule.inject(start, kind)

    # --- packets ---------------------------------------------------------------------------------

    def packet(self, i: int) -> dict[str, Any]:
        """Packet ``i`` (SensorPacket fields without ``seq``); packets must be asked for in order."""
        if i != self._next_packet:
            raise ValueError(f"packets must be generated in order: expected {self._next_packet}, got {i}")
        self._next_packet += 1
        cfg, rng = self.config, self.rng
        t_ns = self.packet_time(i)
        t = (t_ns - self.epoch_ns) / NS
        active = self.active(t_ns)

        # Magnetometer: base + trend + seasonality + noise along the field, noise across it, spikes.
        along = (self.field + self.drift * t
                 + self.season_amp * math.sin(2 * math.pi * t / self.season_period + self.season_phase)
                 + self.mag_sigma * _clipped(rng, cfg.noise_clip))
        across = self.mag_sigma * _clipped(rng, cfg.noise_clip, 2)
        for a in active:
            if a.kind == MAGNETIC:
                along += a.magnitude * _plateau((t_ns - a.start) / (a.end - a.start), 0.15, 0.3)
        b = along * self.field_dir + across[0] * self.perp1 + across[1] * self.perp2

        # Orientation sways slowly; gravity seen by the accelerometer follows it.
        roll = self.tilt[0] + self.sway_amp * math.sin(2 * math.pi * t / self.sway_period)
        pitch = self.tilt[1] + self.sway_amp * math.cos(2 * math.pi * t / (self.sway_period * 1.3))
        yaw = (self.tilt[2] + 1e-4 * t + math.pi) % (2 * math.pi) - math.pi
        d_roll = self.sway_amp * 2 * math.pi / self.sway_period * math.cos(2 * math.pi * t / self.sway_period)
        d_pitch = -self.sway_amp * 2 * math.pi / (self.sway_period * 1.3) * math.sin(
            2 * math.pi * t / (self.sway_period * 1.3))
        acc = GRAVITY * np.array([-math.sin(pitch), math.sin(roll) * math.cos(pitch), math.cos(roll) * math.cos(pitch)])
        acc += self.acc_sigma * _clipped(rng, cfg.noise_clip, 3)
        gyro = np.array([d_roll, d_pitch, 1e-4]) + self.gyro_sigma * _clipped(rng, cfg.noise_clip, 3)
        humanoid = False
        for a in active:
            if a.kind == IMU:
                shape = _half_sine((t_ns - a.start) / (a.end - a.start))
                acc += a.magnitude * shape * np.array(a.detail["accel_axis"])
                gyro += a.detail["gyro_peak"] * shape * np.array(a.detail["gyro_axis"])
            elif a.kind == HUMANOID:
                humanoid = True

        if rng.random() < 0.01:
            self.bluetooth = int(min(12, max(0, self.bluetooth + (1 if rng.random() < 0.5 else -1))))
        return {
            "timestamp": t_ns,
            "magnetometer": {"x": _r(b[0]), "y": _r(b[1]), "z": _r(b[2]), "magnitude": _r(float(np.linalg.norm(b)))},
            "accelerometer": {"x": _r(acc[0]), "y": _r(acc[1]), "z": _r(acc[2])},
            "gyroscope": {"x": _r(gyro[0]), "y": _r(gyro[1]), "z": _r(gyro[2])},
            "orientation": {"roll": _r(roll), "pitch": _r(pitch), "yaw": _r(yaw)},
            "audio_peak": self._audio_peak(t_ns) if cfg.audio_rate else None,
            "humanoid_detected": humanoid,
            "bluetooth_devices_count": self.bluetooth,
        }

    def _audio_peak(self, t_ns: int) -> float:
        """Peak |sample| heard during the packet's period (the period ending at ``t_ns``)."""
        cfg = self.config
        rate = cfg.audio_rate
        end = (t_ns - self.epoch_ns) * rate // NS
        start = max(0, end - max(1, round(rate / cfg.rate)))
        if end <= 0:
            return 0.0
        n = cfg.chunk_samples
        peak = 0.0
        for k in range(start // n, (end - 1) // n + 1):
            chunk = self.chunk_samples(k)
            lo, hi = max(start - k * n, 0), min(end - k * n, n)
            if hi > lo:
                peak = max(peak, float(np.max(np.abs(chunk[lo:hi]))))
        return round(min(peak, 1.0), 4)

    # --- audio -----------------------------------------------------------------------------------

    def chunk_samples(self, k: int) -> np.ndarray:
        """Audio chunk ``k`` as floats (cached: packets' ``audio_peak`` and the chunk share it)."""
        cached = self._chunks.get(k)
        if cached is not None:
            return cached
        cfg = self.config
        rate, n = cfg.audio_rate, cfg.chunk_samples
        first = k * n
        out = audio.background(np.random.default_rng([self.seed, self.index, 2, k]), rate, first, n,
                               self.audio_gain)
        t0 = self.chunk_time(k)
        t1 = t0 + round(n * NS / rate)
        for a in self.schedule.until(t1):
            if a.kind not in AUDIO_KINDS or a.end <= t0 or a.start >= t1:
                continue
            wave = self._waveform(a)
            a_first = (a.start - self.epoch_ns) * rate // NS  # absolute sample of the burst's start
            lo, hi = max(first, a_first), min(first + n, a_first + len(wave))
            if hi > lo:
                out[lo - first:hi - first] += wave[lo - a_first:hi - a_first]
        for old in [c for c in self._chunks if c < k - 2]:
            del self._chunks[old]
        self._chunks[k] = out
        return out

    def chunk(self, k: int) -> bytes:
        """Audio chunk ``k`` as PCM16 little-endian mono bytes."""
        return audio.to_pcm16(self.chunk_samples(k))

    def _waveform(self, a: Anomaly) -> np.ndarray:
        key = (a.episode, a.kind)
        wave = self._waveforms.get(key)
        if wave is None:
            rate = self.config.audio_rate
            n = max(1, round((a.end - a.start) * rate / NS))
            if a.kind == INFRASOUND:
                wave = audio.tone(n, rate, a.detail["freq_hz"], a.magnitude, edge_s=0.2)
            elif a.kind == ULTRASOUND:
                wave = audio.tone(n, rate, a.detail["freq_hz"], a.magnitude, edge_s=0.02)
            else:
                wave = audio.vowel(np.random.default_rng([self.seed, self.index, 4, a.episode]), n, rate,
                                   tuple(a.detail["formants_hz"]), a.detail["f0_hz"], a.magnitude)
            self._waveforms = {k: v for k, v in self._waveforms.items() if k[0] >= a.episode - 4}
            self._waveforms[key] = wave
        return wave


def _r(value: float) -> float:
    return round(float(value), 5)
