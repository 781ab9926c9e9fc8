"""The signal generator: deterministic per seed, anomalies exactly where the ground truth says,
audio spectra that carry what was injected (infrasound < 20 Hz, ultrasound > 18 kHz, formants)."""

from __future__ import annotations

import collections
import math

import numpy as np
import pytest
from scipy import linalg, signal

from vigia.common.messages import SensorPacket
from vigia.simulators.phonesim import audio
from vigia.simulators.phonesim.signals import NS, PhoneSignals, SignalConfig

EPOCH = 1_700_000_000 * NS


def run(config: SignalConfig, seconds: float, seed: int = 7, index: int = 0) -> tuple[PhoneSignals, list[dict]]:
    phone = PhoneSignals(config, seed=seed, index=index, epoch_ns=EPOCH)
    return phone, [phone.packet(i) for i in range(int(seconds * config.rate))]


def truth_of(phone: PhoneSignals, packets: list[dict], kind: str) -> list:
    """The logged anomalies of ``kind`` (``finished`` hands each out once: keep them on the phone)."""
    done = phone.__dict__.setdefault("_test_truth", [])
    done.extend(phone.finished(packets[-1]["timestamp"] + 1))
    return [a for a in done if a.kind == kind]


def test_same_seed_same_signals_other_phone_other_signals() -> None:
    config = SignalConfig(audio_rate=16_000)
    a, pa = run(config, 60)
    b, pb = run(config, 60)
    c, pc = run(config, 60, index=1)
    assert pa == pb and a.chunk(50) == b.chunk(50)
    assert pa != pc and a.chunk(50) != c.chunk(50)
    end = pa[-1]["timestamp"]
    assert [r.record("d") for r in a.finished(end)] == [r.record("d") for r in b.finished(end)]


def test_packets_are_valid_sensor_packets_on_their_schedule() -> None:
    _, packets = run(SignalConfig(audio_rate=16_000), 5)
    for i, p in enumerate(packets):
        SensorPacket.model_validate({**p, "seq": i})
        assert p["timestamp"] == EPOCH + i * NS // 10
    magnitudes = [p["magnetometer"]["magnitude"] for p in packets]
    assert min(magnitudes) >= 35 and max(magnitudes) <= 61  # the Earth's field, in uT
    assert all(abs(math.dist((0, 0, 0), p["accelerometer"].values()) - 9.81) < 0.3 for p in packets)


def test_packets_must_be_generated_in_order() -> None:
    phone = PhoneSignals(SignalConfig(), seed=1, index=0, epoch_ns=EPOCH)
    phone.packet(0)
    with pytest.raises(ValueError, match="in order"):
        phone.packet(2)


def rolling_alarms(values: np.ndarray, window: int = 100, sigmas: float = 3.0) -> list[int]:
    """Seed 000 section 2.1's detector: the sample is anomalous above mean + 3 sd of the last 100."""
    history: collections.deque[float] = collections.deque(maxlen=window)
    alarms = []
    for i, v in enumerate(values):
        history.append(v)
        if len(history) >= 10:
            arr = np.array(history)
            if v > arr.mean() + sigmas * arr.std():
                alarms.append(i)
    return alarms


@pytest.mark.parametrize("seed", [1, 2])
def test_a_3_sigma_detector_finds_every_magnetic_spike_and_nothing_else(seed: int) -> None:
    phone, packets = run(SignalConfig(audio_rate=0, mean_gap_s=20), 1200, seed=seed)
    spikes = truth_of(phone, packets, "magnetic")
    assert len(spikes) >= 15
    times = np.array([p["timestamp"] for p in packets])
    alarms = times[rolling_alarms(np.array([p["magnetometer"]["magnitude"] for p in packets]))]
    assert all(any(s.start <= t < s.end for t in alarms) for s in spikes)  # recall 1
    assert all(any(s.start <= t < s.end for s in spikes) for t in alarms)  # precision 1


def test_magnetic_spike_raises_the_magnitude_by_the_logged_amount() -> None:
    phone, packets = run(SignalConfig(audio_rate=0, mean_gap_s=15), 300)
    spikes = truth_of(phone, packets, "magnetic")
    times = np.array([p["timestamp"] for p in packets])
    mag = np.array([p["magnetometer"]["magnitude"] for p in packets])
    for s in spikes:
        inside = (times >= s.start) & (times < s.end)
        before = (times >= s.start - 5 * NS) & (times < s.start)
        assert mag[inside].max() - np.median(mag[before]) == pytest.approx(s.magnitude, abs=1.5)


def test_imu_jolts_and_humanoid_flags_are_where_the_truth_says() -> None:
    phone, packets = run(SignalConfig(audio_rate=0, mean_gap_s=15), 900)
    times = np.array([p["timestamp"] for p in packets])
    jolts, people = truth_of(phone, packets, "imu"), truth_of(phone, packets, "humanoid")
    assert jolts and people
    accel = np.array([list(p["accelerometer"].values()) for p in packets])
    gyro = np.array([math.dist((0, 0, 0), p["gyroscope"].values()) for p in packets])
    in_jolt = np.zeros(len(packets), bool)
    for j in jolts:
        window = (times >= j.start) & (times < j.end)
        in_jolt |= window
        rest = np.median(accel[(times >= j.start - 2 * NS) & (times < j.start)], axis=0)
        assert np.linalg.norm(accel[window] - rest, axis=1).max() > 0.5 * j.magnitude  # half-sine between samples
        assert gyro[window].max() > 0.5 * j.detail["gyro_peak"]
    magnitude = np.linalg.norm(accel, axis=1)
    assert np.abs(magnitude[~in_jolt] - 9.80665).max() < 0.2 and gyro[~in_jolt].max() < 0.05
    flags = np.array([p["humanoid_detected"] for p in packets])
    expected = np.zeros(len(packets), bool)
    for h in people:
        expected |= (times >= h.start) & (times < h.end)
    assert (flags == expected).all()


def audio_run(kind: str, seconds: float = 600) -> tuple[PhoneSignals, object, int]:
    """A phone that injects only ``kind``; returns it, the first such anomaly and a chunk inside it."""
    config = SignalConfig(audio_rate=48_000, kinds=(kind,), mean_gap_s=15)
    phone, packets = run(config, seconds)
    anomaly = truth_of(phone, packets, kind)[0]
    mid = (anomaly.start + anomaly.end) // 2
    k = (mid - EPOCH) // int(config.chunk_seconds * NS)
    return phone, anomaly, int(k)


def band_power(samples: np.ndarray, rate: int, lo: float, hi: float) -> float:
    freqs, psd = signal.welch(samples, fs=rate, nperseg=len(samples))  # 2 Hz bins for a 0.5 s chunk
    return float(psd[(freqs >= lo) & (freqs < hi)].sum())


def quiet_chunk(phone: PhoneSignals) -> np.ndarray:
    return phone.chunk_samples(3)  # before the first episode (first_after_s = 12 s)


def test_infrasound_puts_energy_below_20_hz() -> None:
    phone, anomaly, k = audio_run("infrasound")
    loud, quiet = audio.from_pcm16(phone.chunk(k)), audio.from_pcm16(phone.chunk(3))
    assert band_power(loud, 48_000, 1, 20) > 1000 * band_power(quiet, 48_000, 1, 20)
    freqs, psd = signal.welch(loud, fs=48_000, nperseg=len(loud))
    assert abs(freqs[np.argmax(psd)] - anomaly.detail["freq_hz"]) <= 2.5
    assert anomaly.detail["freq_hz"] < 20


def test_ultrasound_puts_energy_above_18_khz() -> None:
    phone, anomaly, k = audio_run("ultrasound")
    loud, quiet = audio.from_pcm16(phone.chunk(k)), audio.from_pcm16(phone.chunk(3))
    assert band_power(loud, 48_000, 18_000, 24_000) > 1000 * band_power(quiet, 48_000, 18_000, 24_000)
    freqs, psd = signal.welch(loud, fs=48_000, nperseg=len(loud))
    assert abs(freqs[np.argmax(psd)] - anomaly.detail["freq_hz"]) <= 4
    assert anomaly.detail["freq_hz"] > 18_000


def lpc_formants(samples: np.ndarray, rate: int, order: int = 12) -> list[float]:
    """Formants by LPC (autocorrelation + Levinson): angles of the predictor's complex roots."""
    x = signal.resample_poly(samples, 1, rate // 8_000)  # 8 kHz: formants below 4 kHz
    x = signal.lfilter([1, -0.63], [1], x) * np.hamming(len(x))
    r = np.correlate(x, x, "full")[len(x) - 1:len(x) + order]
    a = linalg.solve_toeplitz(r[:order], r[1:order + 1])
    roots = [z for z in np.roots(np.concatenate([[1.0], -a])) if z.imag > 0 and abs(z) > 0.8]
    return sorted(float(np.angle(z) * 8_000 / (2 * np.pi)) for z in roots)


def test_voice_bursts_have_the_vowel_formants() -> None:
    phone, anomaly, _ = audio_run("voice", 900)
    start = (anomaly.start - EPOCH) * 48_000 // NS
    end = (anomaly.end - EPOCH) * 48_000 // NS
    whole = np.concatenate([audio.from_pcm16(phone.chunk(c)) for c in range(start // 24_000, end // 24_000 + 1)])
    burst = whole[start % 24_000 + 2_400:start % 24_000 + (end - start) - 2_400]
    found = lpc_formants(burst, 48_000)
    f1, f2, _ = anomaly.detail["formants_hz"]
    assert min(abs(f - f1) for f in found) < 0.15 * f1 + 60
    assert min(abs(f - f2) for f in found) < 0.15 * f2
    assert band_power(burst, 48_000, 200, 3_500) > 1000 * band_power(quiet_chunk(phone), 48_000, 200, 3_500)


def test_audio_peak_in_packets_follows_the_audio() -> None:
    config = SignalConfig(audio_rate=16_000, kinds=("voice",), mean_gap_s=15)
    phone, packets = run(config, 300)
    voices = truth_of(phone, packets, "voice")
    peaks = {p["timestamp"]: p["audio_peak"] for p in packets}
    inside = [v for t, v in peaks.items() if any(a.start + NS // 5 <= t < a.end for a in voices)]
    outside = [v for t, v in peaks.items() if not any(a.start <= t < a.end + NS // 5 for a in voices)]
    assert min(inside) > 0.05 > max(outside)


def test_chunks_are_pcm16_of_the_declared_length_and_survive_a_round_trip() -> None:
    phone = PhoneSignals(SignalConfig(audio_rate=48_000), seed=3, index=0, epoch_ns=EPOCH)
    pcm = phone.chunk(0)
    assert len(pcm) == 24_000 * 2
    assert np.allclose(audio.from_pcm16(pcm), phone.chunk_samples(0), atol=1 / 32_000)
    assert audio.to_pcm16(np.array([2.0, -2.0])) == np.array([32767, -32768], "<i2").tobytes()


def test_ultrasound_is_not_injected_when_the_sample_rate_cannot_carry_it() -> None:
    assert "ultrasound" not in SignalConfig(audio_rate=16_000).injectable
    assert "voice" not in SignalConfig(audio_rate=0).injectable
    with pytest.raises(ValueError):
        SignalConfig(kinds=("ghost",))


def test_an_injected_correlated_episode_happens_when_asked_and_the_schedule_makes_room() -> None:
    config = SignalConfig(audio_rate=16_000, first_after_s=1000.0)  # nothing seeded for a long while
    phone = PhoneSignals(config, seed=7, index=0, epoch_ns=EPOCH)
    packets = [phone.packet(i) for i in range(int(3 * config.rate))]  # 3 s streamed, audio cut to 3.5 s
    injected = phone.inject(EPOCH + 3 * NS)
    kinds = {a.kind for a in injected}
    assert "magnetic" in kinds and kinds & {"infrasound", "ultrasound", "voice"}
    assert len({a.episode for a in injected}) == 1
    # Not inside the audio chunk already cut for the last packet's peak: from the next chunk on.
    assert min(a.start for a in injected) >= phone.chunk_time(6) == EPOCH + int(3.0 * NS)
    packets += [phone.packet(i) for i in range(len(packets), int(12 * config.rate))]
    spike = next(a for a in injected if a.kind == "magnetic")
    inside = [p["magnetometer"]["magnitude"] for p in packets if spike.start <= p["timestamp"] < spike.end]
    before = [p["magnetometer"]["magnitude"] for p in packets if p["timestamp"] < spike.start]
    assert max(inside) > max(before) + 0.5 * spike.magnitude
    assert {a.episode for a in truth_of(phone, packets, "magnetic")} == {spike.episode}
    # The seeded schedule's next episode waits until the injected one is over.
    assert phone.schedule._next_start_s * NS >= max(a.end for a in injected) - EPOCH + config.min_gap_s * NS


def test_an_injected_single_kind_and_a_kind_the_phone_cannot_have() -> None:
    phone = PhoneSignals(SignalConfig(audio_rate=0, first_after_s=1000.0), seed=3, index=0, epoch_ns=EPOCH)
    [imu] = phone.inject(EPOCH + NS, "imu")
    assert imu.kind == "imu" and imu.start == EPOCH + NS
    with pytest.raises(ValueError, match="correlated episode needs"):
        phone.inject(EPOCH + 2 * NS)  # no audio, so no correlated episode
    with pytest.raises(ValueError, match="kind must be"):
        phone.inject(EPOCH + 2 * NS, "voice")
