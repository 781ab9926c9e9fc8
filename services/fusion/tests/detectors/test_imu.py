"""The IMU detector: a knock (acceleration spike) or a sudden turn (rotation-rate spike) on a
phone lying still or being carried; ordinary handling noise is not an anomaly."""

from __future__ import annotations

import numpy as np

from services.fusion.tests.signals import score
from vigia.fusion.detectors import ImuAnomalyDetector


def still_phone(n: int, seed: int, walking: bool = False) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    acc = np.tile([0.0, 9.81, 0.0], (n, 1)) + rng.normal(0, 0.05, (n, 3))
    gyro = rng.normal(0, 0.01, (n, 3))
    if walking:  # 2 Hz steps at 20 Hz sampling
        t = np.arange(n) / 20
        acc[:, 1] += 1.5 * np.sin(2 * np.pi * 2 * t)
        gyro[:, 2] += 0.3 * np.sin(2 * np.pi * 1 * t)
    return acc, gyro


def inject(acc: np.ndarray, gyro: np.ndarray, count: int, seed: int,
           knock: tuple[float, float] = (6, 15)) -> list[int]:
    rng = np.random.default_rng(seed + 100)
    positions = sorted(rng.choice(np.arange(100, len(acc), 150), size=count, replace=False).tolist())
    for i, p in enumerate(positions):
        if i % 2:
            acc[p] += rng.choice([-1, 1]) * rng.uniform(*knock) * np.array([0.3, 1.0, 0.2])  # a knock
        else:
            gyro[p] += rng.uniform(3, 6) * np.array([0.1, 0.2, 1.0])  # a sudden turn (rad/s)
    return positions


def run(acc: np.ndarray, gyro: np.ndarray) -> list[tuple[int, str]]:
    detector = ImuAnomalyDetector()
    out = []
    for i in range(len(acc)):
        finding = detector.update(tuple(acc[i]), tuple(gyro[i]))
        if finding is not None:
            out.append((i, finding.channel))
    return out


def test_knocks_and_turns_are_found_on_a_still_phone() -> None:
    acc, gyro = still_phone(12_000, seed=1)
    truth = inject(acc, gyro, 60, seed=1)
    found = run(acc, gyro)
    # A one-sample knock changes the acceleration twice (in and out): the fusion gate folds the pair.
    found = [(i, c) for i, c in found if (i - 1, c) not in found]
    recall, precision = score([i for i, _ in found], truth, tolerance=0)
    assert recall >= 0.95 and precision >= 0.9, (recall, precision)
    channels = dict(found)
    assert channels[truth[0]] == "rotation" and channels[truth[1]] == "acceleration"


def test_knocks_are_found_on_a_phone_being_carried() -> None:
    acc, gyro = still_phone(12_000, seed=2, walking=True)
    truth = inject(acc, gyro, 60, seed=2)
    pairs = run(acc, gyro)
    found = [i for i, c in pairs if (i - 1, c) not in pairs]
    recall, precision = score(found, truth, tolerance=0)
    assert recall >= 0.9 and precision >= 0.9, (recall, precision)


def test_missing_sensors_are_skipped() -> None:
    detector = ImuAnomalyDetector(min_samples=5)
    for _ in range(30):
        assert detector.update(None, (0.0, 0.0, 0.01)) is None
    finding = detector.update(None, (0.0, 0.0, 5.0))
    assert finding is not None and finding.channel == "rotation"
